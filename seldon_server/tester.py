"""`seldon-microservice-tester`: random requests from a contract.json, sent to a microservice."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import grpc
import numpy as np
import requests
from google.protobuf import json_format

from seldon_server.proto import prediction_pb2, prediction_pb2_grpc
from seldon_server.tester_contract import Contract, ContractError, load_contract

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILED_CALLS = 1  # at least one request failed
EXIT_USAGE = 2  # bad arguments or contract, nothing sent

Endpoint = Literal["predict", "send-feedback", "transform-input"]
ENDPOINTS: tuple[Endpoint, ...] = ("predict", "send-feedback", "transform-input")
TIMEOUT_SECONDS = 60.0
FEEDBACK_REWARD = 1.0


@dataclass(frozen=True, slots=True)
class Reply:
    """One call's outcome: `ok` (HTTP 200 / gRPC OK), the response as JSON, or an error text."""

    ok: bool
    body: dict[str, Any] | None
    error: str = ""


class Client(Protocol):
    def call(self, endpoint: str, message: dict[str, Any]) -> Reply: ...

    def close(self) -> None: ...


class RestClient:
    """POSTs form-encoded `json=<message>` to `http://HOST:PORT/<endpoint>` (one session)."""

    def __init__(self, host: str, port: int) -> None:
        self.base = f"http://{host}:{port}"
        self.session = requests.Session()

    def call(self, endpoint: str, message: dict[str, Any]) -> Reply:
        url = f"{self.base}/{endpoint}"
        try:
            response = self.session.post(
                url, data={"json": json.dumps(message)}, timeout=TIMEOUT_SECONDS
            )
        except requests.RequestException as exc:
            return Reply(False, None, f"{url}: {exc}")
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code != 200:
            return Reply(False, body, f"{response.status_code}:{response.reason} {response.text}")
        return Reply(True, body)

    def close(self) -> None:
        self.session.close()


class GrpcClient:
    """Calls Model/Predict, Generic/TransformInput and Generic/SendFeedback on one channel."""

    def __init__(self, host: str, port: int) -> None:
        self.channel = grpc.insecure_channel(f"{host}:{port}")
        model = prediction_pb2_grpc.ModelStub(self.channel)
        generic = prediction_pb2_grpc.GenericStub(self.channel)
        self.methods = {
            "predict": (model.Predict, prediction_pb2.SeldonMessage),
            "transform-input": (generic.TransformInput, prediction_pb2.SeldonMessage),
            "send-feedback": (generic.SendFeedback, prediction_pb2.Feedback),
        }

    def call(self, endpoint: str, message: dict[str, Any]) -> Reply:
        method, message_type = self.methods[endpoint]
        request = json_format.ParseDict(message, message_type())
        try:
            response = method(request, timeout=TIMEOUT_SECONDS)
        except grpc.RpcError as exc:
            if isinstance(exc, grpc.Call):
                return Reply(False, None, f"{exc.code().name}: {exc.details()}")
            return Reply(False, None, str(exc))
        return Reply(True, json_format.MessageToDict(response))

    def close(self) -> None:
        self.channel.close()


def build_message(batch: np.ndarray, names: list[str], tensor: bool) -> dict[str, Any]:
    """A SeldonMessage (JSON form) with `data` as a tensor or an ndarray."""
    if not tensor:
        return {"data": {"names": names, "ndarray": batch.tolist()}}
    try:
        values = batch.astype(np.float64).ravel().tolist()
    except (TypeError, ValueError) as exc:
        raise ContractError("--tensor needs numeric features; use ndarray for categorical") from exc
    return {"data": {"names": names, "tensor": {"shape": list(batch.shape), "values": values}}}


def run_request(
    client: Client, endpoint: str, message: dict[str, Any]
) -> tuple[dict[str, Any], Reply]:
    """One tester request; send-feedback first predicts, then rewards that prediction."""
    if endpoint != "send-feedback":
        return message, client.call(endpoint, message)
    prediction = client.call("predict", message)
    if not prediction.ok:
        return message, prediction
    data = {key: value for key, value in message["data"].items() if key != "names"}
    feedback = {"request": {"data": data}, "response": prediction.body, "reward": FEEDBACK_REWARD}
    return feedback, client.call("send-feedback", feedback)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="seldon-microservice-tester",
        description="Send random requests generated from a contract.json to a Seldon microservice.",
    )
    p.add_argument("contract", help="contract.json describing the features")
    p.add_argument("host", help="microservice host")
    p.add_argument("port", type=int, help="microservice port (REST, or gRPC with --grpc)")
    p.add_argument("--endpoint", choices=ENDPOINTS, default="predict", help="default: predict")
    p.add_argument("-b", "--batch-size", type=_positive, default=1, help="rows per request")
    p.add_argument("-n", "--n-requests", type=_positive, default=1, help="number of requests")
    p.add_argument("--grpc", action="store_true", help="use gRPC instead of REST")
    p.add_argument("-t", "--tensor", action="store_true", help="send a tensor, not an ndarray")
    p.add_argument("-p", "--prnt", action="store_true", help="print each request and response")
    p.add_argument(
        "--log-level", choices=("DEBUG", "INFO", "ERROR"), default="ERROR", help="default: ERROR"
    )
    return p


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def run(args: argparse.Namespace, contract: Contract) -> int:
    """Send the requests; the exit code says whether every one succeeded."""
    rng = np.random.default_rng()
    names = contract.feature_names
    client: Client = (
        GrpcClient(args.host, args.port) if args.grpc else RestClient(args.host, args.port)
    )
    failed = 0
    try:
        for index in range(args.n_requests):
            message = build_message(contract.batch(args.batch_size, rng), names, args.tensor)
            sent, reply = run_request(client, args.endpoint, message)
            if args.prnt:
                _show(sent, reply)
            if not reply.ok:
                failed += 1
                logger.error("request %d failed: %s", index + 1, reply.error)
    finally:
        client.close()
    print(f"{args.n_requests - failed} ok, {failed} failed", file=sys.stderr)
    return EXIT_FAILED_CALLS if failed else EXIT_OK


def _show(request: dict[str, Any], reply: Reply) -> None:
    print("-" * 40)
    print("REQUEST:")
    print(json.dumps(request))
    print("RESPONSE:" if reply.ok else f"FAILED: {reply.error}")
    if reply.body is not None:
        print(json.dumps(reply.body))


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(levelname)s %(name)s: %(message)s")
    try:
        contract = load_contract(args.contract)
        return run(args, contract)
    except ContractError as exc:
        print(f"seldon-microservice-tester: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
