"""The alertmanager channel against a real Prometheus Alertmanager on loopback: a forwarded
alert is visible in its /api/v2/alerts, and our resolve makes Alertmanager notify it resolved."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import urllib.request
from datetime import UTC, datetime

import pytest

from tests.backend.alerting.channels.notifications import USER_AGENT, make_notification
from tests.support import wait_until
from tradepulse_backend.alerting.channels import build_channels
from tradepulse_backend.config.channels import parse_channels

BINARY = "prometheus-alertmanager"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


@pytest.fixture
def alertmanager(tmp_path, receiver):
    """A real Alertmanager whose one receiver is a webhook to the local receiver (with
    send_resolved), stopped after the test whatever happened."""
    binary = shutil.which(BINARY, path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/bin"]))
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail(f"{BINARY} not installed; .ci/run installs the Debian package")
        pytest.skip(f"{BINARY} not installed (apt-get install prometheus-alertmanager)")
    config = tmp_path / "alertmanager.yml"
    config.write_text(json.dumps({
        "route": {"receiver": "relay", "group_by": ["alertname"], "group_wait": "0s",
                  "group_interval": "1s", "repeat_interval": "1h"},
        "receivers": [{"name": "relay", "webhook_configs": [
            {"url": receiver.url("/am-hook"), "send_resolved": True}]}],
    }))
    port = free_port()
    log = (tmp_path / "alertmanager.log").open("wb")
    process = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
        stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: process.poll() is None and urllib.request.urlopen(
            f"{base}/-/ready", timeout=2).status == 200, what="alertmanager ready")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_forwarded_alert_is_active_in_alertmanager_then_resolved(alertmanager, receiver):
    channel = build_channels(parse_channels({"am": {"type": "alertmanager", "url": alertmanager}}),
                             user_agent=USER_AGENT)["am"]
    started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    firing = make_notification()
    alert = {**firing.alerts[0], "startsAt": started}
    assert channel.send(make_notification(alerts=(alert,))).ok

    [active] = wait_until(lambda: get_json(f"{alertmanager}/api/v2/alerts"), what="alert")
    assert active["labels"]["alertname"] == "portfolio_loss_alert"
    assert active["labels"]["trading_broker"] == "alpaca"
    assert active["annotations"]["summary"] == "Portfolio Loss Alert"
    assert active["generatorURL"] == "http://127.0.0.1:8080/alerts/abc123"
    assert active["status"]["state"] == "active"

    resolved_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    resolved = {**alert, "status": "resolved", "endsAt": resolved_at}
    assert channel.send(make_notification(status="resolved", alerts=(resolved,),
                                          key="grp:portfolio_loss_alert/am/2")).ok

    wait_until(lambda: get_json(f"{alertmanager}/api/v2/alerts") == [], what="alert resolved")
    hook = wait_until(lambda: [r.json() for r in receiver.requests
                               if r.json()["status"] == "resolved"], what="resolved webhook")
    [gone] = hook[0]["alerts"]
    assert gone["labels"]["alertname"] == "portfolio_loss_alert"
    assert gone["status"] == "resolved"
    assert any(r.json()["status"] == "firing" for r in receiver.requests)
