"""A local HTTP receiver for alert deliveries: records each request, and can be told to
answer with a given status (or to be down: connection refused) for a while."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """`http://127.0.0.1:<port>/...`; `requests` holds (path, headers, json body)."""

    def __init__(self, port: int = 0) -> None:
        self.requests: list[tuple[str, dict[str, str], object]] = []
        self.statuses: list[int] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                status = owner.statuses.pop(0) if owner.statuses else 200
                if status == 200:
                    owner.requests.append((self.path, dict(self.headers), json.loads(raw)))
                self.send_response(status)
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
