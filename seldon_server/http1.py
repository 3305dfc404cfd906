"""A minimal HTTP/1.1 client over one kept-alive connection: POST a body, read the answer."""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass

# Why not requests or urllib3: on this workload their per-request bookkeeping (header objects,
# the email-based header parser, retries and pool machinery) cost 0.2-0.4 ms of CPU per row, more
# than the client's whole CPU budget per row. One prebuilt request written with a single sendall
# and a bytes-level response parser cost about 30 us. Only what a Seldon endpoint needs is here:
# POST, Content-Length or chunked or read-to-close bodies, keep-alive, TLS, a per-request deadline.

_MAX_HEAD = 64 * 1024
_RECV = 256 * 1024


class HttpError(OSError):
    """The connection failed or the server broke the HTTP protocol (always worth a retry)."""

    answers: list[Response]  # post_many: the responses read before the failure


class HttpTimeout(HttpError):
    """The per-request deadline passed."""


class HttpTlsError(HttpError):
    """The server's certificate was refused: retrying cannot help."""


@dataclass(slots=True)
class Response:
    status: int
    body: bytes
    # The header fields, names lowercased; the dict the parser builds anyway, so keeping it
    # costs nothing per request (a caller reads e.g. `retry-after` from a refusal).
    headers: dict[bytes, bytes]


def split_host(host: str, tls: bool) -> tuple[str, int]:
    """`name:port`, `[v6]:port` or a bare name (port 80, or 443 with TLS)."""
    default = 443 if tls else 80
    if host.startswith("["):
        name, _, rest = host[1:].partition("]")
        return name, int(rest[1:]) if rest.startswith(":") else default
    name, sep, port = host.rpartition(":")
    return (name, int(port)) if sep else (host, default)


class Connection:
    """One connection, opened on first use and again after the server closes it."""

    def __init__(self, host: str, tls: ssl.SSLContext | None, timeout: float) -> None:
        self._name, self._port = split_host(host, tls is not None)
        self._host_header = host.encode("ascii")
        self._tls = tls
        self._timeout = timeout
        self._sock: socket.socket | None = None
        self._buffer = b""
        self._received = False  # any byte of the current response has arrived
        self._reads = 0  # recv calls so far: tells whether an answer came from the buffer alone

    def post(self, path: str, headers: bytes, body: bytes) -> Response:
        """POST and read the whole response; `headers` are preformatted `Name: value\\r\\n` lines.

        A kept-alive connection the server has meanwhile closed fails before any byte of the
        answer arrives; that one case is retried at once on a new connection, as browsers do.
        """
        head = b"POST %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n%s\r\n" % (
            path.encode("ascii"), self._host_header, len(body), headers
        )  # fmt: skip
        answers: list[Response] = []
        self._exchange_all(head + body, 1, answers)
        return answers[0]

    def post_many(self, path: str, requests: Sequence[tuple[bytes, bytes]]) -> list[Response]:
        """Pipelined POSTs: all written at once, then the answers read in order.

        `requests` are (preformatted headers, body) pairs. One write and one read serve many
        small requests, which is what makes shipping thousands of them a second cheap. Raises
        HttpError when the exchange ends early; its `answers` holds the responses that came
        (the requests after them may or may not have reached the server).
        """
        start = b"POST %s HTTP/1.1\r\nHost: %s\r\n" % (path.encode("ascii"), self._host_header)
        blob = b"".join(
            b"%sContent-Length: %d\r\n%s\r\n%s" % (start, len(body), headers, body)
            for headers, body in requests
        )
        answers: list[Response] = []
        try:
            self._exchange_all(blob, len(requests), answers)
        except HttpError as exc:
            exc.answers = answers
            raise
        return answers

    def _exchange_all(self, request: bytes, count: int, answers: list[Response]) -> None:
        deadline = time.monotonic() + self._timeout
        for fresh in (self._sock is None, True):
            try:
                self._exchange(request, count, answers, deadline)
                return
            except _StaleConnection:
                if fresh:
                    break
        raise HttpError("the server closed the connection without answering")

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock, self._buffer = None, b""

    def _exchange(
        self, request: bytes, count: int, answers: list[Response], deadline: float
    ) -> None:
        self._received = False
        try:
            sock = self._sock or self._connect(deadline)
            sock.settimeout(_remaining(deadline))
            sock.sendall(request)
            while len(answers) < count:
                if self._sock is None:  # it answered, then closed: the rest went unanswered
                    raise HttpError(f"the server closed the connection after {len(answers)} "
                                    f"of {count} pipelined requests")  # fmt: skip
                before, reads = self._buffer, self._reads
                answers.append(self._read_response(deadline))
                if self._reads == reads and len(self._buffer) < len(before) and self._sock:
                    # Read from the buffer alone: repeats of these bytes are the same answer.
                    self._take_repeats(before[: len(before) - len(self._buffer)], count, answers)
        except (_StaleConnection, ConnectionResetError, BrokenPipeError) as exc:
            self.close()
            if not self._received and not answers:
                raise _StaleConnection from None
            raise HttpError(str(exc) or type(exc).__name__) from None
        except TimeoutError:
            self.close()
            raise HttpTimeout(f"timed out after {self._timeout:g} s") from None
        except ssl.SSLCertVerificationError as exc:
            self.close()
            raise HttpTlsError(f"certificate verification failed: {exc.verify_message}") from None
        except (OSError, ValueError) as exc:
            self.close()
            raise HttpError(str(exc) or type(exc).__name__) from None

    def _connect(self, deadline: float) -> socket.socket:
        sock = socket.create_connection((self._name, self._port), _remaining(deadline))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self._tls is not None:
            try:
                sock = self._tls.wrap_socket(sock, server_hostname=self._name)
            except BaseException:
                sock.close()
                raise
        self._sock, self._buffer = sock, b""
        return sock

    def _read_response(self, deadline: float) -> Response:
        while True:
            status, fields = self._read_head(deadline)
            if not 100 <= status < 200:  # skip interim answers such as 100 Continue
                break
        if status in (204, 304):
            body = b""
        elif b"chunked" in fields.get(b"transfer-encoding", b"").lower():
            body = self._read_chunked(deadline)
        elif b"content-length" in fields:
            body = self._read_exact(int(fields[b"content-length"]), deadline)
        else:
            body = self._read_to_close(deadline)
            fields[b"connection"] = b"close"
        if b"close" in fields.get(b"connection", b"").lower():
            self.close()
        return Response(status, body, fields)

    def _read_head(self, deadline: float) -> tuple[int, dict[bytes, bytes]]:
        while (end := self._buffer.find(b"\r\n\r\n")) < 0:
            if len(self._buffer) > _MAX_HEAD:
                raise HttpError("response header too large")
            if not self._fill(deadline):
                if not self._received:
                    raise _StaleConnection
                raise HttpError("connection closed in the middle of the response header")
        head, self._buffer = self._buffer[:end], self._buffer[end + 4 :]
        status_line, *lines = head.split(b"\r\n")
        parts = status_line.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
            raise HttpError(f"not an HTTP response: {status_line[:80]!r}")
        fields: dict[bytes, bytes] = {}
        for line in lines:
            name, _, value = line.partition(b":")
            fields[name.strip().lower()] = value.strip()
        if parts[0] == b"HTTP/1.0" and b"keep-alive" not in fields.get(b"connection", b"").lower():
            fields[b"connection"] = b"close"
        return int(parts[1]), fields

    def _take_repeats(self, raw: bytes, count: int, answers: list[Response]) -> None:
        """Answers byte-identical to the last one, already buffered, taken without parsing
        (a sink answers a pipelined batch with the same few bytes each time)."""
        buffer, size, pos = self._buffer, len(raw), 0
        while len(answers) < count and buffer.startswith(raw, pos):
            answers.append(answers[-1])
            pos += size
        if pos:
            self._buffer = buffer[pos:]

    def _fill(self, deadline: float) -> bool:
        """Read more into the buffer; False at end of stream."""
        assert self._sock is not None
        self._sock.settimeout(_remaining(deadline))
        chunk = self._sock.recv(_RECV)
        self._reads += 1
        if chunk:
            self._buffer += chunk
            self._received = True
        return bool(chunk)

    def _read_exact(self, size: int, deadline: float) -> bytes:
        if len(self._buffer) < size:
            parts, have = [self._buffer], len(self._buffer)
            while have < size:
                assert self._sock is not None
                self._sock.settimeout(_remaining(deadline))
                chunk = self._sock.recv(max(_RECV, size - have))
                self._reads += 1
                if not chunk:
                    raise HttpError("connection closed in the middle of the response body")
                parts.append(chunk)
                have += len(chunk)
            self._buffer = b"".join(parts)
        body, self._buffer = self._buffer[:size], self._buffer[size:]
        return body

    def _read_line(self, deadline: float) -> bytes:
        while (end := self._buffer.find(b"\r\n")) < 0:
            if not self._fill(deadline):
                raise HttpError("connection closed in the middle of a chunked body")
        line, self._buffer = self._buffer[:end], self._buffer[end + 2 :]
        return line

    def _read_chunked(self, deadline: float) -> bytes:
        parts = []
        while size := int(self._read_line(deadline).split(b";", 1)[0], 16):
            parts.append(self._read_exact(size, deadline))
            self._read_exact(2, deadline)  # the CRLF after each chunk
        while self._read_line(deadline):  # trailer fields, up to the empty line
            pass
        return b"".join(parts)

    def _read_to_close(self, deadline: float) -> bytes:
        while self._fill(deadline):
            pass
        body, self._buffer = self._buffer, b""
        return body


class _StaleConnection(Exception):
    """The server had closed the connection before our request reached it."""


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError
    return left
