"""An alert appears on the page live, coloured by severity, and is acknowledged from it
(`GET /api/v1/alerts`, `POST /api/v1/alerts/<fingerprint>/ack`): the demo's broker rule fires
when a broker gauge posted over OTLP drops to 0."""

from __future__ import annotations

import json

from playwright.sync_api import expect

from tests.backend.alerting.test_demo_alert import broker_metric
from tests.support import post, wait_until
from tradepulse_backend.demo.alerts import install_rules


def test_an_alert_appears_live_and_is_acknowledged_from_the_page(server, watched):
    view = watched()
    page = view.page
    page.goto(server.dashboard + "/")
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    expect(page.locator("#alerts .empty")).to_be_visible()

    install_rules(server.dashboard + "/api/v1")
    status, _, body = post(server.otlp + "/v1/metrics", broker_metric(0.0),
                           {"Content-Type": "application/json"})
    assert status == 200, (status, body)
    item = page.locator("#alert-list li.alert").first
    expect(item).to_be_visible()
    fingerprint = item.get_attribute("data-fingerprint")
    assert item.get_attribute("data-severity") in ("info", "warning", "critical")

    item.locator('[data-action="ack"]').click()
    expect(item.locator(".tag", has_text="acknowledged")).to_be_visible()
    wait_until(lambda: next(a for a in server.api("/alerts")["alerts"]
                            if a["fingerprint"] == fingerprint)["acknowledged"],
               what="the alert acknowledged over REST")
    assert json.dumps(view.errors) == "[]"
