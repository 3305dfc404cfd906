"""Adaptive batching, overload shedding and deadlines through the real CLI, over real sockets."""

from __future__ import annotations

import json
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import pytest
import requests
from google.protobuf import json_format
from serverproc import Launcher, Server, grpc_channel, json_data, seldon_message, wait_until

from seldon_server.proto import prediction_pb2_grpc
from seldon_server.proto.prediction_pb2 import SeldonMessage

CLIENTS = 32
PER_CLIENT = 8


def _rows(client: int, i: int) -> list[list[float]]:
    """Rows no other request sends: the client, the request and the row number."""
    return [[float(client), float(i), float(r)] for r in range(1 + (client + i) % 3)]


def _rest_predict(server: Server, session: requests.Session, body: Any) -> requests.Response:
    return session.post(server.url("/api/v1.0/predictions"), json=body, timeout=30)


def _metric(server: Server, name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include `labels`."""
    from prometheus_client.parser import text_string_to_metric_families

    text = requests.get(server.metrics_url(), timeout=10).text
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and labels.items() <= sample.labels.items():
                total += sample.value
    return total


# -- batching ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def batching(module_launch: Launcher) -> Server:
    server = module_launch(
        "--threads", "4", "--max-batch-size", "16", "--max-batch-time", "20",
        interface="LoadModels.RowModel",
    )  # fmt: skip
    server.wait_ready()
    return server


def _rest_client(server: Server, client: int) -> list[tuple[int, list[Any], dict[str, Any]]]:
    seen = []
    with requests.Session() as session:
        for i in range(PER_CLIENT):
            body = {"data": {"ndarray": _rows(client, i)}, "meta": {"tags": {"client": client}}}
            response = _rest_predict(server, session, body)
            assert response.status_code == 200, response.text
            answer = response.json()
            seen.append((i, answer["data"]["ndarray"], answer["meta"]["tags"]))
    return seen


def _grpc_client(server: Server, client: int) -> list[tuple[int, list[Any], dict[str, Any]]]:
    seen = []
    with grpc_channel(server.grpc_port, own_connection=True) as channel:
        stub = prediction_pb2_grpc.ModelStub(channel)
        for i in range(PER_CLIENT):
            body = {"data": {"ndarray": _rows(client, i)}, "meta": {"tags": {"client": client}}}
            reply = stub.Predict(json_format.ParseDict(body, SeldonMessage()), timeout=30)
            answer = json_format.MessageToDict(reply)
            seen.append((i, answer["data"]["ndarray"], answer["meta"]["tags"]))
    return seen


@pytest.mark.parametrize("client_of", [_rest_client, _grpc_client], ids=["rest", "grpc"])
def test_concurrent_requests_share_calls_and_get_their_own_rows(batching: Server, client_of: Any):
    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(lambda c: client_of(batching, c), range(CLIENTS)))
    call_rows = []
    for client, seen in enumerate(results):
        assert [i for i, _, _ in seen] == list(range(PER_CLIENT))
        for i, rows, tags in seen:
            assert rows == [[2 * v for v in row] for row in _rows(client, i)]
            assert tags["client"] == client  # each request keeps its own meta
            assert tags["call_rows"] >= len(rows)
            call_rows.append(tags["call_rows"])
    shared = sum(1 for rows in call_rows if rows > 3)  # more rows than one request ever has
    assert shared >= len(call_rows) // 2, f"calls were not batched: {sorted(call_rows)}"
    assert _metric(batching, "seldon_batch_size_count") > 0


def test_incompatible_requests_run_alone_and_right(batching: Server):
    bodies = [
        {"data": {"ndarray": [[1, 2, 3]]}},  # int64: not joined with floats
        {"data": {"ndarray": [[1.5, 2.5]]}},  # another trailing shape
        {"data": {"tensor": {"shape": [2, 3], "values": [1.0, 2, 3, 4, 5, 6]}}},
        {"data": {"names": ["a", "b", "c"], "ndarray": [[1.0, 2.0, 3.0]]}},  # its own names
        {"strData": "hello"},
        {"jsonData": {"k": [1, 2]}},
        {"data": {"ndarray": [["a", "b"]]}},
    ]
    expected = [
        {"data": {"names": ["t:0", "t:1", "t:2"], "ndarray": [[2, 4, 6]]}},
        {"data": {"names": ["t:0", "t:1"], "ndarray": [[3.0, 5.0]]}},
        {
            "data": {
                "names": ["t:0", "t:1", "t:2"],
                "tensor": {"shape": [2, 3], "values": [2.0, 4.0, 6.0, 8.0, 10.0, 12.0]},
            }
        },
        {"data": {"names": ["t:0", "t:1", "t:2"], "ndarray": [[2.0, 4.0, 6.0]]}},
        {"strData": "hello"},
        {"jsonData": {"k": [1, 2]}},
        {"data": {"names": ["t:0", "t:1"], "ndarray": [["a", "b"]]}},
    ]

    def send(pair: tuple[dict[str, Any], dict[str, Any]]) -> None:
        body, want = pair
        with requests.Session() as session:
            for _ in range(5):
                response = _rest_predict(batching, session, body)
                assert response.status_code == 200, response.text
                answer = response.json()
                answer.pop("meta")
                assert answer == want

    with ThreadPoolExecutor(len(bodies) * 2) as pool:
        pairs = list(zip(bodies, expected, strict=True))
        list(pool.map(send, pairs * 2))


def test_a_raising_model_fails_only_its_batch(batching: Server):
    def client(c: int) -> list[int]:
        codes = []
        with requests.Session() as session:
            for i in range(4):
                first = -1.0 if (c, i) == (0, 2) else float(c)
                body = {"data": {"ndarray": [[first, float(i), 0.0]]}}
                response = _rest_predict(batching, session, body)
                if response.status_code != 200:
                    status = response.json()["status"]
                    assert (response.status_code, status["info"]) == (500, "asked to fail")
                codes.append(response.status_code)
        return codes

    with ThreadPoolExecutor(CLIENTS) as pool:
        codes = [code for codes in pool.map(client, range(CLIENTS)) for code in codes]
    failed = codes.count(500)
    assert 1 <= failed <= 16  # the asked-to-fail request's batch, at most --max-batch-size
    assert codes.count(200) == len(codes) - failed
    body = {"data": {"ndarray": [[1.0, 2.0, 3.0]]}}
    assert _rest_predict(batching, requests.Session(), body).status_code == 200


def test_a_result_that_cannot_be_split_is_a_500_for_its_batch(launch: Launcher):
    server = launch("--threads", "8", "--max-batch-size", "8", "--max-batch-time", "200",
                    interface="LoadModels.WrongRows")  # fmt: skip
    server.wait_ready()

    def send(c: int) -> tuple[int, Any]:
        body = {"data": {"ndarray": [[float(c), 1.0], [2.0, 3.0]]}}
        response = _rest_predict(server, requests.Session(), body)
        return response.status_code, response.json()

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, range(8)))
    batched = [body for code, body in answers if code == 500]
    assert batched, "no request was batched"
    for body in batched:
        assert body["status"]["reason"] == "MICROSERVICE_INTERNAL_ERROR"
        assert "one row per input row" in body["status"]["info"]
    for code, body in answers:
        if code == 200:  # called alone: its answer is the model's own
            assert body["data"]["ndarray"] == [[2.0, 3.0]]


# -- overload -------------------------------------------------------------------------------------

HOLD = 0.2


def _hold_rest(server: Server) -> tuple[int, float, requests.Response]:
    started = time.monotonic()
    response = requests.post(
        server.url("/api/v1.0/predictions"), json={"jsonData": {"hold": HOLD}}, timeout=30
    )
    return response.status_code, time.monotonic() - started, response


def test_rest_past_capacity_answers_fast_503s_and_stays_healthy(launch: Launcher):
    server = launch("--threads", "2", "--max-admitted", "4", "--grpc-workers", "0")
    server.wait_ready(grpc_health=False)
    ready_times: list[float] = []

    def probe() -> None:
        for _ in range(10):
            started = time.monotonic()
            assert requests.get(server.url("/ready"), timeout=10).status_code == 200
            ready_times.append(time.monotonic() - started)

    with ThreadPoolExecutor(41) as pool:
        probing = pool.submit(probe)
        results = list(pool.map(lambda _: _hold_rest(server), range(200)))
        probing.result()
    ok = [seconds for code, seconds, _ in results if code == 200]
    refused = [(seconds, r) for code, seconds, r in results if code == 503]
    assert len(ok) + len(refused) == len(results), {code for code, _, _ in results}
    assert ok and len(refused) > len(results) // 2
    # admitted: 2 run and 2 wait, so an answer takes at most about 2 holds (plus slack)
    assert max(ok) < 2 * HOLD + 1.0
    for seconds, response in refused:
        assert seconds < 1.0
        assert response.headers["Retry-After"] == "1"
        assert response.json()["status"]["reason"] == "MICROSERVICE_OVERLOADED"
    assert max(ready_times) < 1.0  # readiness is never shed nor queued behind the model
    code, _, response = _hold_rest(server)
    assert code == 200, response.text
    rejected = _metric(server, "seldon_requests_rejected_total", reason="overloaded")
    assert rejected == len(refused)
    assert "Overloaded:" in server.log()


def test_grpc_past_capacity_answers_resource_exhausted(launch: Launcher):
    server = launch("--grpc-threads", "2", "--max-admitted", "4")
    server.wait_ready()

    def call(_: int) -> tuple[Any, float]:
        started = time.monotonic()
        with grpc_channel(server.grpc_port, own_connection=True) as channel:
            stub = prediction_pb2_grpc.ModelStub(channel)
            try:
                stub.Predict(seldon_message({"hold": HOLD}), timeout=30)
                code = grpc.StatusCode.OK
            except grpc.RpcError as exc:
                code = exc.code()
                assert "overloaded" in exc.details()
        return code, time.monotonic() - started

    with ThreadPoolExecutor(40) as pool:
        results = list(pool.map(call, range(120)))
    codes = {code for code, _ in results}
    assert codes == {grpc.StatusCode.OK, grpc.StatusCode.RESOURCE_EXHAUSTED}
    assert all(s < 2 * HOLD + 1.0 for code, s in results if code == grpc.StatusCode.OK)
    assert server.grpc_health() == 1  # SERVING
    with grpc_channel(server.grpc_port, own_connection=True) as channel:
        answer = prediction_pb2_grpc.ModelStub(channel).Predict(
            seldon_message({"a": 1}), timeout=10
        )
    assert json_data(answer) == {"a": 1}


# -- deadlines ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def timed(module_launch: Launcher) -> Server:
    server = module_launch("--threads", "2", "--grpc-threads", "2", "--request-timeout", "1")
    server.wait_ready()
    return server


def test_rest_request_past_its_timeout_is_a_504_at_the_deadline(timed: Server):
    started = time.monotonic()
    response = requests.post(
        timed.url("/api/v1.0/predictions"), json={"jsonData": {"hold": 10}}, timeout=30
    )
    took = time.monotonic() - started
    assert response.status_code == 504
    assert 0.9 <= took < 3.0
    status = response.json()["status"]
    assert status["reason"] == "MICROSERVICE_TIMEOUT"
    assert "--request-timeout" in status["info"]
    quick = requests.post(timed.url("/predict"), json={"jsonData": {"a": 1}}, timeout=10)
    assert (quick.status_code, quick.json()["jsonData"]) == (200, {"a": 1})
    assert _metric(timed, "seldon_requests_timed_out_total", stage="running") >= 1


def test_grpc_request_past_its_timeout_is_deadline_exceeded(timed: Server):
    with grpc_channel(timed.grpc_port, own_connection=True) as channel:
        stub = prediction_pb2_grpc.ModelStub(channel)
        started = time.monotonic()
        with pytest.raises(grpc.RpcError) as raised:
            stub.Predict(seldon_message({"hold": 10}), timeout=30)
        took = time.monotonic() - started
        assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        assert 0.9 <= took < 3.0
        answer = stub.Predict(seldon_message({"a": 1}), timeout=10)
        assert json_data(answer) == {"a": 1}


def test_waiting_requests_whose_client_left_are_not_run(launch: Launcher):
    server = launch("--threads", "2", "--grpc-threads", "1")
    server.wait_ready()
    with ThreadPoolExecutor(4) as pool:
        holds = [pool.submit(_hold_long, server) for _ in range(2)]
        wait_until(lambda: _admitted(server, "rest") >= 2, "both REST threads busy")
        _send_and_leave(server.http_port, {"jsonData": {"block": True}})
        with grpc_channel(server.grpc_port, own_connection=True) as channel:
            stub = prediction_pb2_grpc.ModelStub(channel)
            grpc_hold = pool.submit(stub.Predict, seldon_message({"hold": LONG_HOLD}), timeout=30)
            wait_until(lambda: _admitted(server, "grpc") >= 1, "the gRPC thread busy")
            with pytest.raises(grpc.RpcError) as raised:
                stub.Predict(seldon_message({"block": True}), timeout=0.5)
            assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
            grpc_hold.result(30)
        for hold in holds:
            assert hold.result(30) == 200
    # both left while waiting: neither blocking call ever started
    assert requests.post(server.url("/predict"), json={"jsonData": {}}, timeout=10).ok
    assert server.markers("started") == []
    assert _metric(server, "seldon_requests_rejected_total", reason="client_gone") >= 1


LONG_HOLD = 3.0  # longer than the admitted gauge's sampling period, so the test sees it


def _hold_long(server: Server) -> int:
    body = {"jsonData": {"hold": LONG_HOLD}}
    return requests.post(server.url("/predict"), json=body, timeout=30).status_code


def _admitted(server: Server, transport: str) -> float:
    return _metric(server, "seldon_requests_admitted", transport=transport)


def _send_and_leave(port: int, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(data)}\r\n\r\n".encode()
            + data
        )
