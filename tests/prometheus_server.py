"""A throwaway Prometheus server (Debian's `prometheus`) on 127.0.0.1, scraping given targets
every second, with its config and TSDB in a temporary directory; `stop()` ends it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

import yaml

from tests.postgres_server import free_port
from tests.support import wait_until

PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"


def find_prometheus() -> str | None:
    return PROMETHEUS if os.access(PROMETHEUS, os.X_OK) else shutil.which("prometheus")


def find_promtool() -> str | None:
    return PROMTOOL if os.access(PROMTOOL, os.X_OK) else shutil.which("promtool")


class PrometheusServer:
    """Prometheus scraping `targets` (host:port) at `metrics_path` every second."""

    def __init__(self, binary: str, targets: list[str], metrics_path: str = "/metrics") -> None:
        self.root = Path(tempfile.mkdtemp(prefix="tp-prometheus-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [{
                "job_name": "tradepulse", "scrape_interval": "1s", "scrape_timeout": "1s",
                "metrics_path": metrics_path, "static_configs": [{"targets": targets}],
            }],
        }
        config_path = self.root / "prometheus.yml"
        config_path.write_text(yaml.safe_dump(config))
        self.log = (self.root / "prometheus.log").open("w")
        self.process = subprocess.Popen(
            [binary, f"--config.file={config_path}", f"--storage.tsdb.path={self.root / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT)
        try:
            wait_until(self._ready, timeout=30, what="prometheus /-/ready")
        except AssertionError:
            self.stop()
            raise

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError("prometheus exited:\n" + (self.root / "prometheus.log").read_text())
        with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:
            return response.status == 200

    def query(self, promql: str) -> list[dict]:
        """The instant vector `promql` evaluates to, through Prometheus' HTTP API."""
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        with urllib.request.urlopen(url, timeout=5) as response:
            body = json.load(response)
        assert body["status"] == "success", body
        return body["data"]["result"]

    def targets(self) -> list[dict]:
        with urllib.request.urlopen(f"{self.url}/api/v1/targets", timeout=5) as response:
            return json.load(response)["data"]["activeTargets"]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        shutil.rmtree(self.root, ignore_errors=True)
