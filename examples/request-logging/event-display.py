"""A tiny CloudEvents display: prints each event POSTed to it (binary mode), one line each.

    python event-display.py PORT

A stand-in for Knative's event_display or the seldon-request-logger while trying request
logging on one machine.
"""

from __future__ import annotations

import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Display(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the server's senders reuse their connection

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
        kind = self.headers.get("Ce-Type", "?").rsplit(".", 1)[-1]
        print(f"{kind:8} id={self.headers.get('Ce-Id')} {body.decode(errors='replace').strip()}")
        sys.stdout.flush()

    def log_message(self, format: str, *args: object) -> None:
        return None


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Display)
    server.serve_forever()
