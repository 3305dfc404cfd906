"""An identity runtime for MLServer: echoes its inputs as outputs without decoding them (the
fastest path MLServer offers, so the comparison favours it)."""

from mlserver import MLModel
from mlserver.types import InferenceRequest, InferenceResponse, ResponseOutput


class Identity(MLModel):
    async def load(self) -> bool:
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        outputs = [
            ResponseOutput(name=i.name, datatype=i.datatype, shape=i.shape, data=i.data)
            for i in payload.inputs
        ]
        return InferenceResponse(model_name=self.name, outputs=outputs)
