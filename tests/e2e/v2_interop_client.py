"""Open Inference Protocol (V2) calls made with tritonclient, for the e2e tests.

Runs in .venv-interop (scripts/setup-interop), never in the project's venv: tritonclient needs
protobuf < 7 and brings its own `inference` proto. Reads one JSON job a line on stdin and answers
each with one JSON line on stdout, until stdin closes:

    {"op": "infer", "transport": "http" | "grpc", "url": "127.0.0.1:PORT", "model": NAME,
     "version": "", "inputs": [TENSOR + {"binary": bool}],
     "outputs": null | [{"name": ..., "binary": bool}], "parameters": {...}}
        -> {"ok": {"model_name", "model_version", "parameters", "outputs": [TENSOR + metadata]}}
    {"op": "server_live" | "server_ready" | "server_metadata", "transport", "url"}
    {"op": "model_ready" | "model_metadata", "transport", "url", "model", "version"}
        -> {"ok": value}
    a refusal -> {"error": {"status": "404" | "StatusCode.NOT_FOUND" | ..., "message": ...}}
    anything else raised -> {"crash": "the traceback"}

A TENSOR is {"name", "datatype", "shape", "raw": base64 of its little-endian bytes} or, for
BYTES, {"elements": [base64 of each element]}. An output also gives what as_numpy() made of it:
"dtype" and, for BYTES, "element_types" (str or bytes), and its "datatype", "shape" and
"parameters" as the response stated them.
"""

from __future__ import annotations

import base64
import json
import sys
import traceback
from typing import Any

import numpy as np

_clients: dict[tuple[str, str], Any] = {}


def client(transport: str, url: str) -> Any:
    """One client per server and transport, so that calls reuse their connection."""
    key = (transport, url)
    if key not in _clients:
        if transport == "http":
            import tritonclient.http as module
        else:
            import tritonclient.grpc as module  # type: ignore[no-redef]
        _clients[key] = module.InferenceServerClient(url=url)
    return _clients[key]


def to_numpy(tensor: dict[str, Any]) -> np.ndarray:
    from tritonclient.utils import triton_to_np_dtype

    shape = tensor["shape"]
    if tensor["datatype"] == "BYTES":
        array = np.empty(len(tensor["elements"]), dtype=object)
        array[:] = [base64.b64decode(element) for element in tensor["elements"]]
        return array.reshape(shape)
    dtype = np.dtype(triton_to_np_dtype(tensor["datatype"])).newbyteorder("<")
    return np.frombuffer(base64.b64decode(tensor["raw"]), dtype=dtype).reshape(shape)


def from_numpy(array: np.ndarray) -> dict[str, Any]:
    if array.dtype == object:
        elements = [e if isinstance(e, bytes) else e.encode() for e in array.ravel().tolist()]
        return {
            "dtype": "object",
            "elements": [base64.b64encode(element).decode() for element in elements],
            "element_types": sorted({type(e).__name__ for e in array.ravel().tolist()}),
            "numpy_shape": list(array.shape),
        }
    little = array.astype(array.dtype.newbyteorder("<"), copy=False)
    return {
        "dtype": array.dtype.name,
        "raw": base64.b64encode(little.tobytes()).decode(),
        "numpy_shape": list(array.shape),
    }


def grpc_parameters(parameters: Any) -> dict[str, Any]:
    out = {}
    for key, parameter in parameters.items():
        which = parameter.WhichOneof("parameter_choice")
        out[key] = None if which is None else getattr(parameter, which)
    return out


def infer(job: dict[str, Any]) -> dict[str, Any]:
    transport = job["transport"]
    if transport == "http":
        import tritonclient.http as module
    else:
        import tritonclient.grpc as module  # type: ignore[no-redef]
    inputs = []
    for tensor in job["inputs"]:
        entry = module.InferInput(tensor["name"], tensor["shape"], tensor["datatype"])
        if transport == "http":
            entry.set_data_from_numpy(to_numpy(tensor), binary_data=tensor["binary"])
        else:
            entry.set_data_from_numpy(to_numpy(tensor))
        inputs.append(entry)
    outputs = None
    if job.get("outputs") is not None:
        if transport == "http":
            outputs = [
                module.InferRequestedOutput(o["name"], binary_data=o["binary"])
                for o in job["outputs"]
            ]
        else:
            outputs = [module.InferRequestedOutput(o["name"]) for o in job["outputs"]]
    result = client(transport, job["url"]).infer(
        job["model"],
        inputs,
        model_version=job.get("version", ""),
        outputs=outputs,
        parameters=job.get("parameters") or None,
    )
    response = result.get_response()
    if transport == "http":
        heads = response["outputs"]
        parameters = response.get("parameters", {})
        name, version = response["model_name"], response.get("model_version", "")
    else:
        heads = [
            {
                "name": o.name,
                "datatype": o.datatype,
                "shape": list(o.shape),
                "parameters": grpc_parameters(o.parameters),
            }
            for o in response.outputs
        ]
        parameters = grpc_parameters(response.parameters)
        name, version = response.model_name, response.model_version
    outputs_out = []
    for head in heads:
        head = {key: head[key] for key in ("name", "datatype", "shape") if key in head} | {
            "parameters": head.get("parameters", {})
        }
        outputs_out.append(head | from_numpy(result.as_numpy(head["name"])))
    return {
        "model_name": name,
        "model_version": version,
        "parameters": parameters,
        "outputs": outputs_out,
    }


def metadata(job: dict[str, Any]) -> Any:
    target = client(job["transport"], job["url"])
    if job["op"] == "server_metadata":
        reply = target.get_server_metadata()
        if job["transport"] == "http":
            return reply
        return {"name": reply.name, "version": reply.version, "extensions": list(reply.extensions)}
    reply = target.get_model_metadata(job["model"], job.get("version", ""))
    if job["transport"] == "http":
        return reply
    specs = {
        side: [
            {"name": t.name, "datatype": t.datatype, "shape": list(t.shape)}
            for t in getattr(reply, side)
        ]
        for side in ("inputs", "outputs")
    }
    return {
        "name": reply.name,
        "versions": list(reply.versions),
        "platform": reply.platform,
        **specs,
    }


def run(job: dict[str, Any]) -> Any:
    op = job["op"]
    if op == "infer":
        return infer(job)
    if op in ("server_metadata", "model_metadata"):
        return metadata(job)
    target = client(job["transport"], job["url"])
    if op == "server_live":
        return target.is_server_live()
    if op == "server_ready":
        return target.is_server_ready()
    if op == "model_ready":
        return target.is_model_ready(job["model"], job.get("version", ""))
    raise ValueError(f"unknown op {op!r}")


def main() -> None:
    from tritonclient.utils import InferenceServerException

    for line in sys.stdin:
        job = json.loads(line)
        try:
            answer: dict[str, Any] = {"ok": run(job)}
        except InferenceServerException as exc:
            answer = {"error": {"status": str(exc.status()), "message": exc.message()}}
        except Exception:  # a mistake in this script or the job: the test shows it
            answer = {"crash": traceback.format_exc()}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
