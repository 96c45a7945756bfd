"""Test helpers: a real `tradepulse serve` in a subprocess on loopback, port 0."""

from __future__ import annotations

import json
import os
import re
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

DIALECTS = ("sqlite", "postgresql")
READY = {
    "otlp": re.compile(r"OTLP/HTTP receiver: (http://\S+)"),
    "grpc": re.compile(r"OTLP/gRPC receiver: (\S+)"),
    "dashboard": re.compile(r"Dashboard: (https?://\S+)"),
}

LOOPBACK_TLS = ssl._create_unverified_context()
"""For a test server's self-signed certificate on 127.0.0.1 (dashboard.tls)."""


class RunningServer:
    """A `tradepulse serve` process with its URLs and captured stderr."""

    def __init__(self, data_dir: Path, monitoring: dict | None = None,
                 env: dict[str, str] | None = None, storage_url: str | None = None) -> None:
        """`storage_url` None keeps the database in `data_dir` (SQLite)."""
        self.data_dir = data_dir
        self.config_path = data_dir.parent / f"{data_dir.name}-config.yaml"
        section = {"ingest": {"port": 0, "grpc_port": 0}, "dashboard": {"port": 0}}
        if storage_url is not None:
            section["storage"] = {"url": storage_url}
        for key, value in (monitoring or {}).items():
            section[key] = {**section.get(key, {}), **value} if isinstance(value, dict) else value
        self.config_path.write_text(yaml.safe_dump({"monitoring": section}))
        self.stderr_lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tradepulse_backend.cli", "serve",
             "--config", str(self.config_path), "--data-dir", str(data_dir)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, **(env or {})},
        )
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        self.urls = self._wait_ready()
        self.otlp = self.urls["otlp"]
        self.grpc = self.urls.get("grpc")
        self.dashboard = self.urls["dashboard"].rstrip("/")
        wait_until(lambda: self.get("/healthz")[0] == 200, what="healthz")

    def _drain_stderr(self) -> None:
        for line in self.process.stderr:
            self.stderr_lines.append(line)

    def _wait_ready(self) -> dict[str, str]:
        urls: dict[str, str] = {}
        while "dashboard" not in urls:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError("server exited:\n" + "".join(self.stderr_lines))
            for key, pattern in READY.items():
                if match := pattern.search(line):
                    urls[key] = match.group(1)
        threading.Thread(target=self.process.stdout.read, daemon=True).start()
        return urls

    def get(self, path: str) -> tuple[int, dict]:
        """GET a dashboard path; returns (status, decoded JSON body)."""
        try:
            context = LOOPBACK_TLS if self.dashboard.startswith("https") else None
            with urllib.request.urlopen(self.dashboard + path, timeout=10,
                                        context=context) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def api(self, path: str) -> dict:
        status, body = self.get("/api/v1" + path)
        assert status == 200, (status, body)
        return body

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    @property
    def stderr(self) -> str:
        return "".join(self.stderr_lines)


def wait_until(condition, *, timeout: float = 15.0, what: str = "condition"):
    """Poll until `condition()` is truthy; returns its value. Not a timing assertion: the
    timeout only bounds a hang."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = condition()
        except (OSError, AssertionError):
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    """POST raw bytes; returns (status, headers, body) for any status."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def storage_url_for(request, dialect: str) -> str | None:
    """None for SQLite (the data directory's file), else a fresh database on the session's
    PostgreSQL (the `postgres_server` fixture)."""
    if dialect == "sqlite":
        return None
    return request.getfixturevalue("postgres_server").create_database()
class InProcessApp:
    """A fresh backend and dashboard app in this process, on a manual clock: REST tests get
    the same answers as from a real server without a subprocess or a socket."""

    def __init__(self, data_dir: Path, monitoring: dict | None = None) -> None:
        from werkzeug.test import Client

        from tradepulse_backend.app import create_app
        from tradepulse_backend.clock import ManualClock
        from tradepulse_backend.config import MonitoringConfig
        from tradepulse_backend.runtime import Backend

        section = {"ingest": {"grpc_port": None}, "storage": {"data_dir": str(data_dir)}}
        for key, value in (monitoring or {}).items():
            section[key] = {**section.get(key, {}), **value} if isinstance(value, dict) else value
        self.clock = ManualClock()
        self.backend = Backend(MonitoringConfig(**section), clock=self.clock)
        self.backend.start()
        self.app = create_app(backend=self.backend)
        self.client = self.app.test_client()
        self._otlp = Client(self.backend.receiver)

    def get(self, path: str) -> tuple[int, dict]:
        """GET a dashboard path; returns (status, decoded JSON body)."""
        response = self.client.get(path)
        return response.status_code, response.get_json(silent=True) or {}

    def api(self, path: str) -> dict:
        status, body = self.get("/api/v1" + path)
        assert status == 200, (status, body)
        return body

    def post_otlp(self, path: str, body: bytes, headers: dict[str, str]
                  ) -> tuple[int, dict[str, str], bytes]:
        """POST to the OTLP receiver; returns (status, headers, body) like `post`."""
        response = self._otlp.post(path, data=body, headers=headers)
        return response.status_code, dict(response.headers), response.get_data()

    def close(self) -> None:
        self.backend.close()
