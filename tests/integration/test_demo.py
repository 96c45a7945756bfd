"""`tradepulse demo`, which `make demo` runs: backend + simulated bot, data visible over REST."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import urllib.request

import psutil
import pytest

from tests.support import wait_until

PORT_LINES = re.compile(r"^\s+(?:Dashboard|OTLP/HTTP|OTLP/gRPC):\s+(?:http://)?([\d.]+):(\d+)")


def _demo(tmp_path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tradepulse_backend.cli", "demo", "--data-dir",
         str(tmp_path / "demo"), "--ingest-port", "0", "--grpc-port", "0",
         "--dashboard-port", "0", *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _read_until_the_bot_trades(demo: subprocess.Popen) -> list[str]:
    lines: list[str] = []
    for line in demo.stdout:
        lines.append(line)
        if line.startswith("[bot] placed"):
            return lines
    raise AssertionError("the demo ended before its bot traded:\n" + "".join(lines))


def _port_is_free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP],
                         ids=lambda s: s.name)
def test_every_stop_signal_stops_the_demo_and_its_backend_leaving_the_ports_free(tmp_path, stop):
    demo = _demo(tmp_path)
    lines = _read_until_the_bot_trades(demo)
    ports = [(m.group(1), int(m.group(2))) for line in lines if (m := PORT_LINES.match(line))]
    assert len(ports) == 3, "".join(lines)
    children = psutil.Process(demo.pid).children(recursive=True)
    assert children, "the backend runs in a child process"

    demo.send_signal(stop)
    try:
        _gone, alive = psutil.wait_procs(children, timeout=30)
    finally:
        for orphan in psutil.wait_procs(children, timeout=0)[1]:
            orphan.kill()      # a failing run must not leave them behind
    assert alive == [], f"orphans left by {stop.name}: {alive}"
    rest, _ = demo.communicate(timeout=60)
    assert demo.returncode == 0, rest
    assert "stopped." in rest
    assert all(_port_is_free(host, port) for host, port in ports), ports
    assert "Traceback" not in "".join(lines) + rest


def test_the_demo_prints_the_dashboard_url_and_its_bot_data_reaches_the_rest_api(tmp_path):
    demo = _demo(tmp_path, "--duration", "30")
    lines = _read_until_the_bot_trades(demo)
    dashboard = next((m.group(1) for line in lines
                      if (m := re.search(r"Dashboard:\s+(http://\S+)", line))), None)
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

    def bot_side_checks_and_broker():
        with urllib.request.urlopen(dashboard + "api/v1/health/components", timeout=5) as response:
            found = {c["name"]: c for c in json.load(response)["components"]}
        return ({"check:demo-bot:market-data", "check:demo-bot:reference-data",
                 "broker:demo-bot:sim-broker", "service:demo-bot"} <= set(found)
                and found["check:demo-bot:market-data"]["status"] == "healthy")

    wait_until(stored_spans_and_portfolio, timeout=30, what="demo data in the REST API")
    wait_until(performance_snapshot, timeout=30, what="demo-bot performance snapshot")
    wait_until(bot_side_checks_and_broker, timeout=30, what="demo-bot health components")
    demo.send_signal(signal.SIGINT)
    rest, _ = demo.communicate(timeout=60)
    assert demo.returncode == 0, rest
    assert "stopped." in rest
    assert re.search(r"^\[health\] (healthy|degraded|unhealthy|unknown) \(", rest, re.M), rest
    assert "Traceback" not in "".join(lines) + rest
