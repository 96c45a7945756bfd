"""The alerting REST API on an in-process backend (manual clock): alerts, history, acks,
rules, silences, notifications and test alerts, with 400s that name the fault."""

from __future__ import annotations

import pytest

from tests.support import InProcessApp
from tradepulse_backend.performance.snapshot import PerformanceSnapshot


@pytest.fixture
def app(tmp_path):
    running = InProcessApp(tmp_path / "data", {"alerting_system": {"group_wait": 0}})
    yield running
    running.close()


def loss(app, service="bot", value=-0.06):
    return app.backend.alerting.evaluate_alerts(PerformanceSnapshot(
        timestamp=0, service=service, daily_return=value))


RULE = {"name": "portfolio_loss_alert",
        "conditions": [{"field": "daily_return", "operator": "lt", "value": -0.05}],
        "severity": "critical", "title": "Portfolio Loss Alert",
        "message": "Daily return is {daily_return:.2%}", "channels": ["console"]}


def test_rules_are_created_listed_replaced_and_deleted(app):
    client = app.client
    created = client.post("/api/v1/rules", json=RULE)
    assert created.status_code == 201, created.get_json()
    assert [r["name"] for r in app.api("/rules")["rules"]] == ["portfolio_loss_alert"]
    again = client.post("/api/v1/rules", json=RULE)
    assert again.status_code == 400 and "exists" in again.get_json()["error"]
    replaced = client.put("/api/v1/rules/portfolio_loss_alert", json={**RULE, "severity": "info"})
    assert replaced.status_code == 200 and replaced.get_json()["severity"] == "info"
    assert client.delete("/api/v1/rules/portfolio_loss_alert").status_code == 200
    assert client.delete("/api/v1/rules/portfolio_loss_alert").status_code == 404


def test_a_bad_rule_is_a_400_naming_the_key_path(app):
    bad = {**RULE, "conditions": [{"field": "daily_return", "operator": "lessthan",
                                   "value": 1}]}
    response = app.client.post("/api/v1/rules", json=bad)
    assert response.status_code == 400
    assert response.get_json()["errors"][0].startswith(
        "rules.portfolio_loss_alert.conditions[0].operator: 'lessthan' is not one of")
    assert app.client.post("/api/v1/rules", data="[1]",
                           content_type="application/json").status_code == 400


def test_alerts_history_and_ack_have_the_shared_shapes(app):
    app.client.post("/api/v1/rules", json=RULE)
    loss(app)
    (alert,) = app.api("/alerts")["alerts"]
    assert set(alert) == {"fingerprint", "rule", "state", "severity", "title", "message",
                          "service", "labels", "annotations", "value", "threshold", "since",
                          "starts_at", "ends_at", "acknowledged", "silenced"}
    assert alert["state"] == "firing" and alert["message"] == "Daily return is -6.00%"
    assert alert["since"].endswith("Z")
    acked = app.client.post(f"/api/v1/alerts/{alert['fingerprint']}/ack", json={"by": "ann"})
    assert acked.status_code == 200 and acked.get_json()["acknowledged"] is True
    assert app.client.post("/api/v1/alerts/nope/ack").status_code == 404
    loss(app, "other")
    page = app.api("/alerts/history?limit=1")
    assert len(page["alerts"]) == 1 and page["next_cursor"]
    rest = app.api(f"/alerts/history?limit=5&cursor={page['next_cursor']}")
    assert [a["service"] for a in page["alerts"] + rest["alerts"]] == ["other", "bot"]
    assert rest["next_cursor"] is None
    assert app.api("/alerts/history?service=bot&severity=critical")["alerts"][0]["service"] \
        == "bot"
    assert app.get("/api/v1/alerts/history?severity=loud")[0] == 400


def test_silences_are_created_listed_and_expired(app):
    response = app.client.post("/api/v1/silences", json={
        "matchers": [{"name": "service", "value": "bot", "op": "="}],
        "created_by": "ann", "comment": "deploy", "duration": "2h"})
    assert response.status_code == 201, response.get_json()
    silence = response.get_json()
    assert silence["state"] == "active"
    assert [s["id"] for s in app.api("/silences")["silences"]] == [silence["id"]]
    expired = app.client.delete(f"/api/v1/silences/{silence['id']}")
    assert expired.get_json()["state"] == "expired"
    bad = app.client.post("/api/v1/silences", json={"matchers": [{"name": "x", "value": "(",
                                                                   "op": "=~"}],
                                                    "created_by": "a", "duration": 60})
    assert bad.status_code == 400 and "matchers[0]" in bad.get_json()["error"]


def test_notifications_list_the_outbox_and_test_alert_reports_per_channel(app):
    app.client.post("/api/v1/rules", json=RULE)
    loss(app)
    app.backend.alerting.tick()
    rows = app.api("/notifications")["notifications"]
    assert rows and rows[0]["channel"] == "console"
    assert rows[0]["status"] in ("pending", "sent")
    result = app.client.post("/api/v1/test-alert", json={"channel": "console"}).get_json()
    assert result["ok"] is True and result["results"]["console"]["status"] == "ok"
    assert app.client.post("/api/v1/test-alert", json={"channel": "pager"}).status_code == 400
    status = app.api("/alerting/status")
    assert status["rules"] == 1 and status["alerts"] == {"firing": 1}
    assert sum(status["outbox"]["console"].values()) == 1
    assert app.backend.alerting.outbox_backlog() in (0, 1)


@pytest.mark.parametrize("body, fault", [
    ({"created_by": "me", "duration": "1h"}, "matchers: expected a non-empty list"),
    ({"matchers": "service=bot", "created_by": "me", "duration": "1h"}, "matchers:"),
    ({"matchers": [{"name": "service", "value": "bot", "op": "="}], "created_by": "me",
      "duration": "99999999999d"}, "duration: a silence lasts at most 10 years"),
    ({"matchers": [{"name": "service", "value": "bot", "op": "="}], "created_by": "me",
      "ends_at": "2000-01-01T00:00:00Z"}, "ends_at: must be in the future"),
])
def test_a_silence_without_matchers_or_with_an_endless_end_is_a_400_naming_it(app, body, fault):
    response = app.client.post("/api/v1/silences", json=body)
    assert response.status_code == 400, response.get_data()
    assert fault in response.get_json()["error"]
    assert app.api("/silences")["silences"] == []
