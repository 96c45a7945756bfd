"""The health and alerts panels against the REST contract of the health and alerting packages,
served by a stand-in in the browser (the WebSocket is refused, so the page polls): status
lights with reasons, bot processes, host charts, severity colours, acknowledge and silence
calls, and paginated history. With those packages present, test_alerts.py runs end to end."""

from __future__ import annotations

import json
import re
import time

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.support import RunningServer

NOW = time.time()
ALERT = {
    "fingerprint": "a1b2c3", "rule": "max_drawdown", "state": "firing", "severity": "critical",
    "title": "Drawdown beyond 5%", "message": "max_drawdown -6.1% < -5%", "service": "bot-a",
    "labels": {"rule": "max_drawdown", "service": "bot-a"}, "annotations": {},
    "value": -0.061, "threshold": -0.05, "since": NOW - 120, "starts_at": NOW - 120,
    "ends_at": None, "acknowledged": False, "silenced": False,
}
HEALTH = {
    "status": "degraded",
    "reasons": [{"source": "component", "name": "broker", "status": "degraded",
                 "message": "no heartbeat for 45 s"}],
    "counts": {"ok": 1, "degraded": 1},
    "metrics": {"cpu_percent": 23.0, "memory_percent": 61.5},
    "components": [
        {"name": "database", "kind": "check", "status": "ok", "last_seen": NOW,
         "response_time_ms": 2.1, "message": "", "since": NOW - 600, "transitions": 0},
        {"name": "broker", "kind": "heartbeat", "status": "degraded", "last_seen": NOW - 45,
         "response_time_ms": None, "message": "", "since": NOW - 30, "transitions": 1},
    ],
    "bots": [{"service": "bot-a", "cpu_percent": 12.5, "rss_bytes": 150 * 2**20, "threads": 9,
              "open_fds": 40, "last_seen": NOW}],
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    running = RunningServer(tmp_path_factory.mktemp("data"),
                            {"dashboard": {"auto_refresh_interval": 400}})
    try:
        yield running
    finally:
        running.stop()


class StandIn:
    """REST answers of the alerting and health packages, and the calls the page made."""

    def __init__(self, context) -> None:
        self.alert = dict(ALERT)
        self.acks: list[str] = []
        self.silences: list[dict] = []
        self.history_cursors: list[str | None] = []
        context.route_web_socket(re.compile(r".*/ws(\?.*)?$"), lambda ws: ws.close())
        context.route(re.compile(r".*/api/v1/alerts(\?.*)?$"),
                      lambda r: r.fulfill(json={"alerts": [self.alert]}))
        context.route(re.compile(r".*/api/v1/alerts/[^/]+/ack$"), self._ack)
        context.route(re.compile(r".*/api/v1/silences$"), self._silence)
        context.route(re.compile(r".*/api/v1/alerts/history\?.*"), self._history)
        context.route(re.compile(r".*/api/v1/health(\?.*)?$"), lambda r: r.fulfill(json=HEALTH))
        context.route(re.compile(r".*/api/v1/health/history\?.*"), self._health_history)

    def _ack(self, route) -> None:
        assert route.request.method == "POST"
        self.acks.append(route.request.url.rsplit("/", 2)[-2])
        self.alert["acknowledged"] = True
        route.fulfill(json={"acknowledged": True})

    def _silence(self, route) -> None:
        self.silences.append(json.loads(route.request.post_data))
        self.alert["silenced"] = True
        route.fulfill(status=201, json={"id": "s1"})

    def _history(self, route) -> None:
        cursor = re.search(r"cursor=([^&]+)", route.request.url)
        self.history_cursors.append(cursor.group(1) if cursor else None)
        older = {**ALERT, "fingerprint": "old1", "title": "Older alert", "state": "resolved",
                 "severity": "warning"}
        if cursor is None:
            route.fulfill(json={"alerts": [{**ALERT, "state": "resolved"}], "next_cursor": "p2"})
        else:
            route.fulfill(json={"alerts": [older], "next_cursor": None})

    def _health_history(self, route) -> None:
        figure = re.search(r"figure=([a-z_]+)", route.request.url).group(1)
        route.fulfill(json={"figure": figure, "unit": "%", "t": [NOW - 60, NOW - 30, NOW],
                            "v": [20.0, 25.0, 23.0]})


def test_health_and_alert_panels_render_the_contract_and_call_the_api(watched, server):
    view = watched()
    stand_in = StandIn(view.context)
    page = view.page
    page.goto(server.dashboard + "/")
    expect(page.locator("#connection")).to_have_attribute("data-state", "polling")

    alert = page.locator('#alert-list li[data-fingerprint="a1b2c3"]')
    expect(alert).to_have_attribute("data-severity", "critical")
    expect(alert).to_contain_text("Drawdown beyond 5%")
    expect(page.locator("#alerts-count")).to_have_text("1 firing")
    alert.locator('[data-action="ack"]').click()
    expect(alert.locator(".tag", has_text="acknowledged")).to_be_visible()
    assert stand_in.acks == ["a1b2c3"]

    alert.locator('[data-action="silence"]').click()
    alert.locator('select[name="duration"]').select_option("4h")
    alert.locator('input[name="comment"]').fill("known broker issue")
    alert.locator('button[type="submit"]').click()
    expect(alert.locator(".tag", has_text="silenced")).to_be_visible()
    assert stand_in.silences == [{
        "matchers": [{"name": "rule", "value": "max_drawdown", "op": "="},
                     {"name": "service", "value": "bot-a", "op": "="}],
        "created_by": "dashboard", "comment": "known broker issue", "duration": "4h"}]

    page.locator("#alert-history summary").click()
    expect(page.locator("#alert-history-list li.alert")).to_have_count(1)
    page.click("#alert-history-more")
    expect(page.locator("#alert-history-list li.alert")).to_have_count(2)
    expect(page.locator("#alert-history-more")).to_be_hidden()
    assert stand_in.history_cursors == [None, "p2"]

    expect(page.locator("#health-status")).to_have_text("degraded")
    broker = page.locator('#components li[data-status="degraded"]')
    expect(broker).to_contain_text("broker")
    expect(broker.locator(".light-reason")).to_have_text("no heartbeat for 45 s")
    expect(page.locator('#components li[data-status="ok"]')).to_contain_text("database")
    expect(page.locator("#processes tbody tr")).to_contain_text("150.0 MiB")
    expect(page.locator("#chart-cpu.has-chart")).to_have_count(1)
    expect(page.locator("#chart-memory.has-chart")).to_have_count(1)
    screenshot(page, "desktop-health-alerts")
    assert view.foreign == []
