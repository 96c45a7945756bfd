"""A real `tradepulse serve` killed with SIGKILL while its webhook channel is down: after a
restart the channel recovers, the notification arrives exactly once, and the still-firing
rule notifies nothing new."""

from __future__ import annotations

import json
import socket
import time

from tests.backend.alerting.receiver import Receiver
from tests.support import RunningServer, post, wait_until


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def broker_metric(value: float) -> bytes:
    point = {"timeUnixNano": str(time.time_ns()), "asDouble": value,
             "attributes": [{"key": "trading.broker", "value": {"stringValue": "alpaca"}}]}
    return json.dumps({"resourceMetrics": [{
        "resource": {"attributes": [{"key": "service.name",
                                     "value": {"stringValue": "bot"}}]},
        "scopeMetrics": [{"scope": {"name": "test"}, "metrics": [{
            "name": "trading.broker.connected", "unit": "1",
            "gauge": {"dataPoints": [point]}}]}]}]}).encode()


def timer_runs(server: RunningServer) -> int:
    """How many times the alerting timer has evaluated every rule."""
    workers = server.api("/status")["workers"]
    return next(w["runs"] for w in workers if w["name"] == "alerting")


def monitoring(port: int) -> dict:
    return {"alerting_system": {
        "evaluation_interval": 0.2, "group_wait": 0,
        "outbox": {"backoff_base": 0.2, "backoff_max": 0.5},
        "channels": {"console": {}, "webhook": {"url": f"http://127.0.0.1:{port}/hook",
                                                "timeout": 2}},
        "rules": {"broker_down": {
            "conditions": ['trading.broker.connected{trading.broker="alpaca"} lt 1'],
            "severity": "critical", "title": "Broker {trading_broker} disconnected",
            "channels": ["webhook"]}}}}


def test_sigkill_while_the_channel_is_down_delivers_exactly_once_after_restart(tmp_path):
    port = free_port()
    data = tmp_path / "data"
    server = RunningServer(data, monitoring(port))
    receiver = None
    try:
        status, _, _ = post(server.otlp + "/v1/metrics", broker_metric(0.0),
                            {"Content-Type": "application/json"})
        assert status == 200

        def retrying():
            rows = server.api("/notifications?channel=webhook")["notifications"]
            return rows and rows[0]["attempts"] >= 2 and rows[0]["status"] == "pending"

        wait_until(retrying, what="the down webhook to be retried")
        server.process.kill()                      # SIGKILL: no shutdown code runs
        server.process.wait()

        receiver = Receiver(port)
        server = RunningServer(data, monitoring(port))
        wait_until(lambda: receiver.requests, what="the webhook delivery after restart")
        rows = wait_until(lambda: [r for r in server.api("/notifications")["notifications"]
                                   if r["status"] == "sent"], what="the row marked sent")
        assert [r["channel"] for r in rows] == ["webhook"]
        (alert,) = server.api("/alerts")["alerts"]
        assert alert["state"] == "firing" and alert["title"] == "Broker alpaca disconnected"
        runs = timer_runs(server)
        wait_until(lambda: timer_runs(server) >= runs + 5, what="five more evaluation rounds")
        assert len(receiver.requests) == 1
        assert len(server.api("/notifications")["notifications"]) == 1
        (_path, headers, body) = receiver.requests[0]
        assert headers["Idempotency-Key"] == rows[0]["key"]
        assert body["status"] == "firing" and body["alerts"][0]["labels"]["service"] == "bot"
    finally:
        server.stop()
        if receiver is not None:
            receiver.close()
