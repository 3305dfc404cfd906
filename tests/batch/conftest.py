"""Fixtures for the batch processor tests: a clean environment and echo servers on free ports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from batch_servers import GrpcEcho, HttpEcho

from seldon_server.batch.config import OPTIONS


@pytest.fixture(autouse=True)
def _no_batch_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No SELDON_BATCH_* variable leaks in from the developer's shell."""
    for option in OPTIONS:
        monkeypatch.delenv(option.env, raising=False)


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
