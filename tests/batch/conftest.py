"""Fixtures for the batch processor tests: a clean environment, echo servers, the real server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from batch_servers import GrpcEcho, HttpEcho
from model_server import Server, identity_server

from seldon_server.batch.config import OPTIONS
from seldon_server.batch.shard import JOB_INDEX_ENV


@pytest.fixture(autouse=True)
def _no_batch_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No SELDON_BATCH_* (or JOB_COMPLETION_INDEX) variable leaks in from the developer's shell."""
    for option in OPTIONS:
        monkeypatch.delenv(option.env, raising=False)
    monkeypatch.delenv(JOB_INDEX_ENV, raising=False)


@pytest.fixture
def http_echo() -> Iterator[HttpEcho]:
    server = HttpEcho()
    yield server
    server.stop()


@pytest.fixture
def grpc_echo() -> Iterator[GrpcEcho]:
    server = GrpcEcho()
    yield server
    server.stop()


@pytest.fixture(params=["rest", "grpc"])
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def echo(transport: str) -> Iterator[HttpEcho | GrpcEcho]:
    """An echo server for the `transport` parameter."""
    server: HttpEcho | GrpcEcho = HttpEcho() if transport == "rest" else GrpcEcho()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The real `seldon-microservice` with an identity model, one per test module using it."""
    with identity_server(tmp_path_factory.mktemp("identity")) as started:
        yield started
