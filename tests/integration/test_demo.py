"""`tradepulse demo`, which `make demo` runs: backend + simulated bot, data visible over REST."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import urllib.request

from tests.support import wait_until


def _demo(tmp_path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tradepulse_backend.cli", "demo", "--data-dir",
         str(tmp_path / "demo"), *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_the_demo_prints_the_dashboard_url_and_its_bot_data_reaches_the_rest_api(tmp_path):
    demo = _demo(tmp_path, "--duration", "30")
    lines: list[str] = []
    dashboard = None
    for line in demo.stdout:
        lines.append(line)
        if match := re.search(r"Dashboard:\s+(http://\S+)", line):
            dashboard = match.group(1)
        if line.startswith("[bot] placed"):
            break
    assert dashboard, "".join(lines)
    assert any(re.match(r"\s+OTLP/gRPC:\s+127\.0\.0\.1:\d+", line) for line in lines)

    def stored_spans_and_portfolio():
        with urllib.request.urlopen(dashboard + "api/v1/status", timeout=5) as response:
            status = json.load(response)
        url = dashboard + "api/v1/metrics?name=trading.portfolio.value&service=demo-bot"
        with urllib.request.urlopen(url, timeout=5) as response:
            series = json.load(response)["series"]
        return status["ingest"]["accepted"]["traces"] > 0 and series and series[0]["points"]

    def performance_snapshot():
        url = dashboard + "api/v1/performance?service=demo-bot"
        with urllib.request.urlopen(url, timeout=5) as response:
            found = json.load(response)["performance"]
        return found and found[0]["portfolio_value"] and found[0]["orders"] > 0

    wait_until(stored_spans_and_portfolio, timeout=30, what="demo data in the REST API")
    wait_until(performance_snapshot, timeout=30, what="demo-bot performance snapshot")
    demo.send_signal(signal.SIGINT)
    rest, _ = demo.communicate(timeout=60)
    assert demo.returncode == 0, rest
    assert "stopped." in rest
    assert "Traceback" not in "".join(lines) + rest
