"""An MLServer runtime for tests/e2e/test_batch_v2_mlserver.py: doubles numeric inputs and echoes
the request's parameters, which MLServer itself never copies into a response."""

from __future__ import annotations

import json

from mlserver import MLModel
from mlserver.codecs import NumpyCodec
from mlserver.errors import InferenceError
from mlserver.types import Datatype, InferenceRequest, InferenceResponse, Parameters

NUMERIC = {"INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64",
           "FP16", "FP32", "FP64"}  # fmt: skip
# What MLServer puts among a request's parameters itself, not echoed: `headers` (the HTTP headers
# or gRPC metadata, which MLServer's REST front would send back as response headers) and
# `content_type` (which MLServer reads as the codec of the whole request).
NOT_ECHOED = {"headers", "content_type"}


class Doubler(MLModel):
    """Every input doubled, as `output-<k>`, by MLServer's numpy codec; a non-numeric input is
    refused with MLServer's InferenceError (HTTP 400, gRPC INVALID_ARGUMENT).

    The response's parameters are the request's, plus `request_parameters`: the same as one JSON
    string, which shows what reached the model whatever gRPC can carry back.
    """

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        outputs = []
        for k, tensor in enumerate(payload.inputs):
            datatype = Datatype(tensor.datatype).value  # MLServer may keep the enum's value
            if datatype not in NUMERIC:
                raise InferenceError(f"input {tensor.name!r}: cannot double {datatype} values")
            doubled = NumpyCodec.decode_input(tensor) * 2
            outputs.append(NumpyCodec.encode_output(f"output-{k}", doubled))
        seen = {}
        if payload.parameters is not None:
            seen = payload.parameters.model_dump(exclude=NOT_ECHOED, exclude_none=True)
        return InferenceResponse(
            model_name=self.name,
            id=payload.id,
            parameters=Parameters(**seen, request_parameters=json.dumps(seen)),
            outputs=outputs,
        )
