"""The minimal HTTP/1.1 client against scripted raw responses, and TLS through the processor."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from batch_helpers import run_batch
from batch_servers import HttpEcho

from seldon_server.batch.config import ExitCode
from seldon_server.http1 import Connection, HttpError, HttpTimeout, split_host


class Scripted:
    """Answers the n-th request (over any connection) with the n-th raw reply; after a reply
    marked `close` it closes that connection without saying so in a header."""

    def __init__(self, replies: list[tuple[bytes, bool]]) -> None:
        self.replies = list(replies)
        self.requests: list[bytes] = []
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.host = f"127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            data = b""
            while self.replies:
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                head, _, rest = data.partition(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                while len(rest) < length:
                    rest += conn.recv(65536)
                self.requests.append(head + b"\r\n\r\n" + rest[:length])
                data = rest[length:]
                reply, close = self.replies.pop(0)
                conn.sendall(reply)
                if close:
                    return

    def stop(self) -> None:
        self._listener.close()


@pytest.fixture
def scripted() -> Iterator[list[Scripted]]:
    made: list[Scripted] = []
    yield made
    for server in made:
        server.stop()


def _serve(made: list[Scripted], *replies: tuple[bytes, bool]) -> Scripted:
    server = Scripted(list(replies))
    made.append(server)
    return server


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"


def test_one_request_is_one_write_with_the_headers_a_seldon_endpoint_needs(
    scripted: list[Scripted],
) -> None:
    server = _serve(scripted, (OK, False), (OK, False))
    with Connection(server.host, None, 5) as conn:
        assert conn.post("/api/v1.0/predictions", b"X-Extra: 1\r\n", b'{"a":1}').body == b"{}"
        assert conn.post("/p", b"", b"[]").status == 200
    first = server.requests[0]
    assert first.startswith(b"POST /api/v1.0/predictions HTTP/1.1\r\n")
    assert f"Host: {server.host}\r\n".encode() in first and b"X-Extra: 1\r\n" in first
    assert b"Content-Length: 7\r\n" in first and first.endswith(b'\r\n\r\n{"a":1}')
    assert server.connections == 1  # kept alive


def test_chunked_and_interim_and_empty_bodies(scripted: list[Scripted]) -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'4\r\n{"a"\r\n3;x=1\r\n:1}\r\n0\r\nT: v\r\n\r\n'
    )
    interim = b"HTTP/1.1 100 Continue\r\n\r\n" + OK
    empty = b"HTTP/1.1 204 No Content\r\n\r\n"
    server = _serve(scripted, (chunked, False), (interim, False), (empty, False), (OK, False))
    with Connection(server.host, None, 5) as conn:
        assert conn.post("/", b"", b"").body == b'{"a":1}'
        assert conn.post("/", b"", b"").body == b"{}"
        assert conn.post("/", b"", b"").status == 204
        assert conn.post("/", b"", b"").body == b"{}"
    assert server.connections == 1


def test_large_bodies_arrive_whole(scripted: list[Scripted]) -> None:
    big = b"x" * 3_000_000
    server = _serve(scripted, (b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(big) + big,
                               False))  # fmt: skip
    with Connection(server.host, None, 5) as conn:
        assert conn.post("/", b"", b"").body == big


@pytest.mark.parametrize(
    "reply",
    [
        b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{}",  # no length: the body ends at close
        b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}",  # HTTP/1.0 closes by default
    ],
)
def test_a_closing_server_gets_a_new_connection(scripted: list[Scripted], reply: bytes) -> None:
    server = _serve(scripted, (reply, True), (OK, False))
    with Connection(server.host, None, 5) as conn:
        assert conn.post("/", b"", b"").body == b"{}"
        assert conn.post("/", b"", b"").body == b"{}"
    assert server.connections == 2


def test_an_idle_connection_closed_by_the_server_is_reopened_once(
    scripted: list[Scripted],
) -> None:
    server = _serve(scripted, (OK, True), (OK, False))  # closes after answering, silently
    with Connection(server.host, None, 5) as conn:
        conn.post("/", b"", b"")
        assert conn.post("/", b"", b"").status == 200  # the stale socket is replaced silently
    assert len(server.requests) == 2 and server.connections == 2


def test_timeouts_and_broken_answers_raise(scripted: list[Scripted]) -> None:
    silent = socket.create_server(("127.0.0.1", 0))  # accepts (backlog) but never answers
    try:
        started = time.monotonic()
        with pytest.raises(HttpTimeout):
            Connection(f"127.0.0.1:{silent.getsockname()[1]}", None, 0.3).post("/", b"", b"")
        assert time.monotonic() - started < 3
    finally:
        silent.close()
    server = _serve(scripted, (b"SMTP ready\r\n\r\n", True))
    with pytest.raises(HttpError, match="not an HTTP response"):
        Connection(server.host, None, 5).post("/", b"", b"")
    truncated = _serve(scripted, (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}", True))
    with pytest.raises(HttpError, match="middle of the response body"):
        Connection(truncated.host, None, 5).post("/", b"", b"")


def test_split_host() -> None:
    assert split_host("a:81", False) == ("a", 81)
    assert split_host("a", False) == ("a", 80)
    assert split_host("a", True) == ("a", 443)
    assert split_host("[::1]:9000", False) == ("::1", 9000)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)  # fmt: skip
    return cert, key


@pytest.fixture
def https_echo(certificate: tuple[Path, Path]) -> Iterator[HttpEcho]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    server = HttpEcho(tls=context)
    yield server
    server.stop()


def test_tls_with_a_token_and_verification_off(tmp_path: Path, https_echo: HttpEcho) -> None:
    result = run_batch(tmp_path, https_echo.host, "rest", ["[[1]]", "[[2]]"], "-g", "ambassador",
                       "--call-credentials-token", "secret", "--ssl-verify", "false")  # fmt: skip
    assert result.summary.exit_code == ExitCode.OK, result.texts
    for request in https_echo.requests:
        assert request.headers["X-Auth-Token"] == "secret"
        assert request.path == "/seldon/default/dep/api/v1.0/predictions"


def test_tls_verification_trusts_the_system_store_and_refuses_unknown_certificates(
    tmp_path: Path, https_echo: HttpEcho, certificate: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    refused = run_batch(tmp_path / "a", https_echo.host, "rest", ["[[1]]"], "--use-ssl", "true",
                        "-r", "5")  # fmt: skip
    assert refused.summary.exit_code == ExitCode.LINES_FAILED
    assert refused.lines[0]["status"]["reason"].startswith("TLS error: ")
    assert "(after" not in refused.lines[0]["status"]["reason"]  # never retried
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))  # OpenSSL's default CA file
    trusted = run_batch(tmp_path / "b", https_echo.host, "rest", ["[[1]]"], "--use-ssl", "true")
    assert trusted.summary.exit_code == ExitCode.OK, trusted.texts


def test_post_many_pipelines_requests_and_reads_answers_in_order(
    scripted: list[Scripted],
) -> None:
    replies = [
        (b"HTTP/1.1 20%d OK\r\nContent-Length: 1\r\n\r\n%d" % (i, i), False) for i in range(3)
    ]
    server = _serve(scripted, *replies)
    with Connection(server.host, None, 5) as conn:
        answers = conn.post_many("/log", [(b"A: %d\r\n" % i, b"body%d" % i) for i in range(3)])
    assert [(a.status, a.body) for a in answers] == [(200, b"0"), (201, b"1"), (202, b"2")]
    assert [r.rsplit(b"\r\n\r\n", 1)[1] for r in server.requests] == [b"body0", b"body1", b"body2"]
    assert all(r.startswith(b"POST /log HTTP/1.1\r\n") for r in server.requests)
    assert server.connections == 1


def test_post_many_reports_the_answers_before_the_connection_dropped(
    scripted: list[Scripted],
) -> None:
    server = _serve(scripted, (OK, False), (OK, True))  # closes after the second answer
    with Connection(server.host, None, 5) as conn, pytest.raises(HttpError) as info:
        conn.post_many("/log", [(b"", b"x")] * 4)
    assert len(info.value.answers) == 2


def test_post_many_tells_repeated_answers_from_different_ones(scripted: list[Scripted]) -> None:
    error = b"HTTP/1.1 503 Busy\r\nContent-Length: 4\r\n\r\nbusy"
    replies = [OK, OK, OK, error, OK, error, error]
    server = _serve(scripted, *[(reply, False) for reply in replies])
    with Connection(server.host, None, 5) as conn:
        answers = conn.post_many("/log", [(b"", b"%d" % i) for i in range(len(replies))])
    assert [(a.status, a.body) for a in answers] == [
        (200, b"{}"), (200, b"{}"), (200, b"{}"), (503, b"busy"), (200, b"{}"), (503, b"busy"),
        (503, b"busy"),
    ]  # fmt: skip


def test_the_response_keeps_its_header_fields(scripted: list[Scripted]) -> None:
    refusal = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 2\r\n\r\n{}"
    server = _serve(scripted, (refusal, False))
    with Connection(server.host, None, 5.0) as conn:
        response = conn.post("/p", b"", b"x")
    assert (response.status, response.body) == (503, b"{}")
    assert response.headers[b"retry-after"] == b"1"  # names lowercased, values stripped
