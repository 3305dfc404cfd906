"""Helpers for the --protocol v2 tests: echo servers of either transport and a V2 run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from batch_helpers import BatchRun, run_batch, without_instance_ids
from batch_servers import FaultPlan, GrpcEcho, HttpEcho, Recorded, no_faults

V2 = ("--protocol", "v2")
TAGS = ("batch_id", "batch_index", "batch_instance_id")


def v2_server(
    transport: str,
    plan: FaultPlan = no_faults,
    *,
    echo_parameters: bool = False,
    raw_output: bool = False,
) -> HttpEcho | GrpcEcho:
    """An identity V2 model on `transport`; raw_output (gRPC only) answers in raw contents."""
    if transport == "rest":
        return HttpEcho(plan, echo_parameters=echo_parameters)
    return GrpcEcho(plan, echo_parameters=echo_parameters, raw_output=raw_output)


def run_v2(
    tmp_path: Path, host: str, transport: str, lines: list[str] | None, *flags: str
) -> BatchRun:
    """run_batch with --protocol v2."""
    return run_batch(tmp_path, host, transport, lines, *V2, *flags)


def line_ids(line: dict[str, Any]) -> dict[str, Any]:
    """An output line's identifiers: a V2 line's parameters, an error line's meta."""
    return line["meta"] if "status" in line else line["parameters"]


def sent_parameters(request: Recorded) -> dict[str, Any]:
    """The parameters a V2 request carried (either transport records them as plain values)."""
    parameters: dict[str, Any] = request.body.get("parameters", {})
    return parameters


def request_for(server: HttpEcho | GrpcEcho, index: int) -> list[Recorded]:
    """The requests that carried line `index` alone."""
    return [r for r in server.requests if sent_parameters(r).get("batch_index") == index]


def tensor_view(output: dict[str, Any]) -> dict[str, Any]:
    """What identifies an output tensor, whichever transport (and key order) carried it."""
    return {key: output[key] for key in ("name", "datatype", "shape", "data")}


def comparable(transport: str, text: str) -> Any:
    """REST lines compare byte for byte; gRPC parameter maps come in hash order, so as objects."""
    masked = without_instance_ids(text)
    return json.loads(masked) if transport == "grpc" else masked
