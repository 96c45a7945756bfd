"""A local HTTP receiver for alert deliveries: records each accepted request, and answers
the next requests as told: a status, a status with headers (429 with Retry-After), or "hang"
(no answer for `hang_s` seconds, past the channel's timeout)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """`http://127.0.0.1:<port>/...`; `requests` holds (path, headers, json body)."""

    def __init__(self, port: int = 0) -> None:
        self.requests: list[tuple[str, dict[str, str], object]] = []
        self.statuses: list = []
        self.attempts = 0
        self.hang_s = 1.5
        self.release = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                owner.attempts += 1
                answer = owner.statuses.pop(0) if owner.statuses else 200
                if answer == "hang":
                    owner.release.wait(owner.hang_s)
                    answer = 200
                status, headers = answer if isinstance(answer, tuple) else (answer, {})
                if status == 200:
                    owner.requests.append((self.path, dict(self.headers), json.loads(raw)))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
