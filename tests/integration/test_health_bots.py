"""Real bot processes exporting through the SDK's `configure()` to a real `tradepulse serve`:
a killed bot goes degraded then unhealthy at the configured multiples of its observed export
interval and recovers when a new process with the same service.name exports; a broker
disconnect reported through the SDK turns that broker's component unhealthy, then healthy."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support import wait_until

SDK = Path(__file__).resolve().parents[2] / "sdk"
EXPORT_INTERVAL_MS = 300
BOT = textwrap.dedent("""
    import pathlib, sys, time
    import tradepulse
    from tradepulse import metrics

    endpoint, service, control = sys.argv[1:4]
    tradepulse.configure(service, endpoint=endpoint, export_interval_ms=int(sys.argv[4]))
    path = pathlib.Path(control)
    while True:
        text = path.read_text().strip() if path.exists() else ""
        if text in ("0", "1"):
            metrics.set_broker_connected("paper-broker", text == "1")
        time.sleep(0.05)
""")
HEALTH = {"system_health": {
    "heartbeat": {"degraded_after": 5, "unhealthy_after": 10, "min_interval": 0.1},
    "checkers": {"tick": 0.1}}}


@pytest.fixture
def bots(tmp_path):
    """Start bot processes (`start(service)`); every one still running is killed after."""
    script = tmp_path / "bot.py"
    script.write_text(BOT)
    control = tmp_path / "broker"
    started: list[subprocess.Popen] = []

    def start(server, service: str) -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, str(script), server.otlp, service, str(control),
             str(EXPORT_INTERVAL_MS)],
            env={**os.environ, "PYTHONPATH": os.pathsep.join([str(SDK), *sys.path])},
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        started.append(process)
        return process

    start.control = control
    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait()


def component(server, name: str) -> dict | None:
    status, body = server.get(f"/api/v1/health/components/{name}")
    return body if status == 200 else None


def status_is(server, name: str, wanted: str) -> bool:
    found = component(server, name)
    return found is not None and found["status"] == wanted


def test_a_killed_bot_goes_degraded_then_unhealthy_and_recovers_with_a_new_process(
        start_server, bots):
    server = start_server(HEALTH)
    name = "service:kill-bot"
    first = bots(server, "kill-bot")
    wait_until(lambda: status_is(server, name, "healthy"), timeout=60, what="first exports")
    wait_until(lambda: component(server, name)["message"].find("observed") > 0, timeout=30,
               what="a learned interval")
    bot = wait_until(lambda: [b for b in server.api("/health")["bots"]
                              if b["service"] == "kill-bot" and b["rss_bytes"]],
                     timeout=30, what="process metrics")[0]
    assert bot["rss_bytes"] > 1_000_000 and bot["threads"] >= 1

    first.kill()
    first.wait()
    wait_until(lambda: status_is(server, name, "unhealthy"), timeout=30, what="unhealthy")
    found = component(server, name)
    assert [(t["from"], t["to"]) for t in found["transitions"]][-2:] == [
        ("healthy", "degraded"), ("degraded", "unhealthy")]
    degraded_msg = found["transitions"][-2]["message"]
    assert "x its observed export interval" in degraded_msg
    assert found["message"].startswith("no telemetry for")
    summary = server.api("/health")
    assert summary["status"] == "unhealthy"
    assert ("component", "unhealthy") in [(r["source"], r["status"])
                                          for r in summary["reasons"] if r["name"] == name]

    bots(server, "kill-bot")
    wait_until(lambda: status_is(server, name, "healthy"), timeout=60, what="recovery")
    assert [t["to"] for t in component(server, name)["transitions"]][-1] == "healthy"


def test_a_broker_disconnect_through_the_sdk_turns_its_component_unhealthy_then_healthy(
        start_server, bots):
    server = start_server(HEALTH)
    name = "broker:broker-bot:paper-broker"
    bots.control.write_text("1")
    bots(server, "broker-bot")
    wait_until(lambda: status_is(server, name, "healthy"), timeout=60, what="connected")
    bots.control.write_text("0")
    wait_until(lambda: status_is(server, name, "unhealthy"), timeout=30, what="disconnect")
    assert component(server, name)["message"] == "paper-broker disconnected"
    assert any(r["name"] == name for r in server.api("/health")["reasons"])
    bots.control.write_text("1")
    wait_until(lambda: status_is(server, name, "healthy"), timeout=30, what="reconnect")
    assert [t["to"] for t in component(server, name)["transitions"]][-3:] == [
        "healthy", "unhealthy", "healthy"]
