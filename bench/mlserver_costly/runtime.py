"""The load-control benchmark's model for MLServer: 2 ms per call plus 5 us per row, spinning as
bench/models/costly.py does, then its inputs echoed as outputs."""

import time

from mlserver import MLModel
from mlserver.types import InferenceRequest, InferenceResponse, ResponseOutput

CALL_SECONDS = 0.002
ROW_SECONDS = 0.000005


class Costly(MLModel):
    async def load(self) -> bool:
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        rows = payload.inputs[0].shape[0] if payload.inputs[0].shape else 1
        until = time.perf_counter() + CALL_SECONDS + ROW_SECONDS * rows
        while time.perf_counter() < until:
            pass
        outputs = [
            ResponseOutput(name="output-0", datatype=i.datatype, shape=i.shape, data=i.data)
            for i in payload.inputs
        ]
        return InferenceResponse(model_name=self.name, outputs=outputs)
