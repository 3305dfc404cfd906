"""Shared fixtures: env reset; model -> dispatcher -> REST client, or gRPC server -> stub."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
from flask.testing import FlaskClient
from hypothesis import settings as hypothesis_settings

from seldon_server.dispatch import DispatchConfig, Dispatcher, MetricsSink
from seldon_server.grpc.server import GrpcOptions, GrpcServer, build_server
from seldon_server.metadata import build_metadata
from seldon_server.model.adapter import UserModel
from seldon_server.proto import prediction_pb2_grpc
from seldon_server.rest.app import RestOptions, create_app
from seldon_server.settings import OPTIONS

# Real servers and numpy make single examples slow now and then; a deadline only adds flakiness.
hypothesis_settings.register_profile("seldon", deadline=None)
hypothesis_settings.load_profile("seldon")

# What the server answers on /metadata for a model with nothing configured, as the original.
DEFAULT_METADATA: dict[str, Any] = build_metadata(None, "", "").value or {}


@pytest.fixture(autouse=True)
def _reset_server_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No env var the settings table reads leaks in from the developer's shell or another test."""
    for option in OPTIONS:
        for name in option.env:
            monkeypatch.delenv(name, raising=False)


def make_dispatcher(
    obj: Any,
    config: DispatchConfig | None = None,
    metrics: MetricsSink | None = None,
    *,
    load: bool = True,
) -> Dispatcher:
    """model -> UserModel (inspected once) -> load() -> Dispatcher."""
    model = UserModel(obj)
    if load:
        model.load()
    return Dispatcher(model, config or DispatchConfig(), metrics)


def make_rest_client(dispatcher: Dispatcher, **options: Any) -> FlaskClient:
    """dispatcher -> Flask app -> test client; metadata defaults to the unconfigured document."""
    options.setdefault("metadata", DEFAULT_METADATA)
    return create_app(dispatcher, RestOptions(**options)).test_client()


@dataclass
class GrpcHandle:
    """A started server on a free port with a channel to it, and one stub per service."""

    server: GrpcServer
    channel: grpc.Channel
    stubs: dict[str, Any] = field(default_factory=dict)

    def stub(self, service: str) -> Any:
        if service not in self.stubs:
            self.stubs[service] = getattr(prediction_pb2_grpc, f"{service}Stub")(self.channel)
        return self.stubs[service]

    @property
    def model(self) -> Any:
        return self.stub("Model")

    def close(self) -> None:
        # Server first: closing a channel that a ready-future watched first blocks ~0.2 s.
        self.server.server.stop(None).wait(5)
        self.channel.close()


def start_grpc(dispatcher: Dispatcher, **options: Any) -> GrpcHandle:
    """dispatcher -> bound server -> started -> SERVING -> channel ready (polled, no sleeps)."""
    options.setdefault("metadata", DEFAULT_METADATA)
    grpc_options = GrpcOptions(address="127.0.0.1:0", threads=4, reuse_port=False, **options)
    server = build_server(dispatcher, grpc_options)
    server.server.start()
    server.mark_serving()
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    handle = GrpcHandle(server, channel)
    try:
        grpc.channel_ready_future(channel).result(timeout=10)
    except grpc.FutureTimeoutError:
        handle.close()
        raise
    return handle


class _Servers:
    """Starts gRPC servers on demand and stops them all when its fixture ends."""

    def __init__(self) -> None:
        self.handles: list[GrpcHandle] = []

    def __call__(
        self,
        obj: Any,
        config: DispatchConfig | None = None,
        metrics: MetricsSink | None = None,
        **options: Any,
    ) -> GrpcHandle:
        """A model object (or a ready Dispatcher) served on a free port."""
        dispatcher = obj if isinstance(obj, Dispatcher) else make_dispatcher(obj, config, metrics)
        handle = start_grpc(dispatcher, **options)
        self.handles.append(handle)
        return handle

    def close(self) -> None:
        for handle in self.handles:
            handle.close()


def _rest(
    obj: Any,
    config: DispatchConfig | None = None,
    metrics: MetricsSink | None = None,
    **options: Any,
) -> FlaskClient:
    dispatcher = obj if isinstance(obj, Dispatcher) else make_dispatcher(obj, config, metrics)
    return make_rest_client(dispatcher, **options)


@pytest.fixture(scope="session")
def dispatcher() -> Callable[..., Dispatcher]:
    """dispatcher(model, config=None, metrics=None, load=True) -> Dispatcher."""
    return make_dispatcher


@pytest.fixture(scope="session")
def rest() -> Callable[..., FlaskClient]:
    """rest(model or Dispatcher, config=None, metrics=None, **RestOptions) -> Flask test client."""
    return _rest


@pytest.fixture
def grpc_server() -> Iterator[_Servers]:
    """grpc_server(model or Dispatcher, config, metrics, **GrpcOptions) -> a started GrpcHandle."""
    servers = _Servers()
    yield servers
    servers.close()


@pytest.fixture(scope="module")
def module_grpc_server() -> Iterator[_Servers]:
    """As grpc_server, shared by a module (hypothesis re-runs one test body many times)."""
    servers = _Servers()
    yield servers
    servers.close()
