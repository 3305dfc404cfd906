"""A CloudEvents sink for bench/request_log.py: `sink.py {healthy,stalled} PORT`.

healthy: every POST is answered `200 OK` with an empty body; pipelined requests are parsed
    together and all the answers to one read go out in one write.
stalled: POSTs are read (so the sender's write completes) and never answered, so the sender
    blocks on its read until its timeout, and the server's queue fills up.

Both count the POSTs they received; any GET is answered with that count as its body. The
parsing is the minimum the request log's sender needs (a head up to CRLFCRLF, then a
Content-Length body): the sink shares the load generator's CPU and must stay cheap.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
_LENGTH = b"content-length:"


class _State:
    received = 0  # POSTs received, over all connections


class _Connection(asyncio.Protocol):
    def __init__(self, state: _State, answer: bool) -> None:
        self.state = state
        self.answer = answer
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        replies: list[bytes] = []
        start = 0
        while (end := buffer.find(b"\r\n\r\n", start)) >= 0:
            head = bytes(buffer[start:end]).lower()
            at = head.find(_LENGTH)
            length = 0
            if at >= 0:
                line_end = head.find(b"\r\n", at)
                length = int(head[at + len(_LENGTH) : line_end if line_end >= 0 else None])
            stop = end + 4 + length
            if len(buffer) < stop:  # the body is still on its way
                break
            start = stop
            if head.startswith(b"get "):
                count = str(self.state.received).encode()
                replies.append(
                    b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(count), count)
                )
                continue
            self.state.received += 1
            if self.answer:
                replies.append(OK)
        del buffer[:start]
        if replies and self.transport is not None:
            self.transport.write(b"".join(replies))


async def _serve(mode: str, port: int) -> None:
    state, answer = _State(), mode == "healthy"
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: _Connection(state, answer), "127.0.0.1", port, backlog=1024
    )
    async with server:
        await server.serve_forever()


def main(argv: list[str]) -> None:
    mode, port = argv[0], int(argv[1])
    if mode not in ("healthy", "stalled"):
        raise SystemExit(f"unknown sink mode {mode!r}")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(mode, port))


if __name__ == "__main__":
    main(sys.argv[1:])
