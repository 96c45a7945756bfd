"""The demo's broker-disconnect rule, installed as `tradepulse demo` installs it, fires on a
real server when the broker gauge drops to 0, shows in /api/v1/alerts, prints a console line,
and the demo's printer reports it."""

from __future__ import annotations

import io
import json
import time

from tests.support import RunningServer, post, wait_until
from tradepulse_backend.demo.alerts import AlertPrinter, install_rules


def broker_metric(value: float) -> bytes:
    point = {"timeUnixNano": str(time.time_ns()), "asDouble": value,
             "attributes": [{"key": "trading.broker", "value": {"stringValue": "sim-broker"}}]}
    return json.dumps({"resourceMetrics": [{
        "resource": {"attributes": [{"key": "service.name",
                                     "value": {"stringValue": "demo-bot"}}]},
        "scopeMetrics": [{"scope": {"name": "demo"}, "metrics": [{
            "name": "trading.broker.connected", "unit": "1",
            "gauge": {"dataPoints": [point]}}]}]}]}).encode()


def test_a_broker_disconnect_fires_the_demo_rule(tmp_path):
    server = RunningServer(tmp_path / "data", {"alerting_system": {"group_wait": 0}})
    try:
        api = server.dashboard + "/api/v1"
        assert install_rules(api) == "added"
        assert install_rules(api) == "kept"
        post(server.otlp + "/v1/metrics", broker_metric(1.0),
             {"Content-Type": "application/json"})
        out = io.StringIO()
        printer = AlertPrinter(api, out)
        printer.poll()
        assert out.getvalue() == ""
        post(server.otlp + "/v1/metrics", broker_metric(0.0),
             {"Content-Type": "application/json"})
        (alert,) = wait_until(lambda: server.api("/alerts")["alerts"], what="the alert")
        assert alert["title"] == "Broker sim-broker disconnected"
        assert alert["state"] == "firing" and alert["service"] == "demo-bot"
        printer.poll()
        assert out.getvalue() == "[alert] FIRING warning: Broker sim-broker disconnected\n"
        wait_until(lambda: "WARNING tradepulse.alerts: [FIRING] Broker sim-broker disconnected"
                   in server.stderr, what="the console channel's line")
    finally:
        server.stop()
