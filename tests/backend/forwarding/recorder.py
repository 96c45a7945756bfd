"""A real HTTP server on 127.0.0.1 that records forwarded requests and fails on demand: it can
answer a status of choice (503 with Retry-After, 400, ...) or stop listening altogether
(connections refused) and come back on the same port."""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    """One POST as it arrived: path, headers (lower-case names) and raw body bytes."""

    path: str
    headers: dict[str, str]
    body: bytes


class Recorder:
    """Records 2xx-answered POSTs in arrival order; `fail_with` makes it refuse them."""

    def __init__(self, port: int = 0) -> None:
        self.received: list[Received] = []
        self.refused = 0
        self.failure: tuple[int, dict[str, str]] | None = None
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._server: ThreadingHTTPServer | None = None
        self.port = port
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _handler(self):
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with recorder._lock:
                    recorder._connections.add(self.connection)

            def finish(self) -> None:
                with recorder._lock:
                    recorder._connections.discard(self.connection)
                super().finish()

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with recorder._lock:
                    failure = recorder.failure
                    if failure is None:
                        recorder.received.append(Received(
                            self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                    else:
                        recorder.refused += 1
                status, headers = failure or (200, {})
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return None

        return Handler

    def fail_with(self, status: int | None, headers: dict[str, str] | None = None) -> None:
        """Answer every POST with `status` (None: record and answer 200 again)."""
        with self._lock:
            self.failure = None if status is None else (status, headers or {})

    def start(self) -> None:
        """Listen (again, on the same port after `stop`)."""
        server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()

    def stop(self) -> None:
        """Stop listening: new connections are refused."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self._lock:
            open_connections, self._connections = list(self._connections), set()
        for connection in open_connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def count(self) -> int:
        with self._lock:
            return len(self.received)
