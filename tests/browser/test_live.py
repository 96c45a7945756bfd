"""The page's live connection against a real server: an empty server's page says what to do
and fills in live when a bot reports; the WebSocket dropping (server stopped and started again
on the same port) shows reconnecting/offline, then live again with a fresh snapshot; with the
WebSocket refused the page polls REST every `dashboard.auto_refresh_interval` ms and says so."""

from __future__ import annotations

import re
import socket

import pytest
from playwright.sync_api import expect

from tests.browser.otlp import post_portfolio
from tests.support import RunningServer

REFRESH_MS = 500
VALUE = '#figures [data-field="portfolio_value"] dd'
STATE = "#connection"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def fixed_ports():
    """Fixed ports, so a restarted server is reachable at the URL the page already has."""
    return {"ingest": {"port": free_port(), "grpc_port": None},
            "dashboard": {"port": free_port(), "auto_refresh_interval": REFRESH_MS}}


def test_an_empty_page_fills_live_and_survives_a_dropped_websocket(
        watched, tmp_path, fixed_ports):
    server = RunningServer(tmp_path / "data", fixed_ports)
    try:
        view = watched()
        page = view.page
        page.goto(server.dashboard + "/")
        expect(page.locator(STATE)).to_have_attribute("data-state", "live")
        endpoint = f"http://127.0.0.1:{fixed_ports['ingest']['port']}"
        expect(page.locator("#overview .empty")).to_contain_text(
            f"No data yet — point OTEL_EXPORTER_OTLP_ENDPOINT at {endpoint}")
        expect(page.locator("#service-select")).to_be_disabled()

        post_portfolio(server.otlp, "live-bot", 50_000.0, cash=50_000.0)
        expect(page.locator(VALUE)).to_have_text("$50,000.00")
        expect(page.locator("#overview .empty")).to_be_hidden()
        assert view.errors == []
        before = int(page.locator("body").get_attribute("data-snapshots"))

        server.stop()
        expect(page.locator(STATE)).to_have_attribute(
            "data-state", re.compile("^(reconnecting|offline)$"))
        expect(page.locator(STATE)).to_have_text(re.compile("reconnecting|offline"))
        expect(page.locator(STATE)).to_have_attribute("data-state", "offline")

        server = RunningServer(tmp_path / "data", fixed_ports)
        expect(page.locator(STATE)).to_have_attribute("data-state", "live", timeout=30_000)
        expect(page.locator("body")).not_to_have_attribute("data-snapshots", str(before))
        post_portfolio(server.otlp, "live-bot", 51_234.5, cash=50_000.0)
        expect(page.locator(VALUE)).to_have_text("$51,234.50", timeout=5000)
    finally:
        server.stop()


def test_without_a_websocket_the_page_polls_rest_and_says_so(watched, tmp_path, fixed_ports):
    server = RunningServer(tmp_path / "data", fixed_ports)
    try:
        post_portfolio(server.otlp, "poll-bot", 70_000.0, cash=70_000.0)
        view = watched()
        refused: list[str] = []

        def refuse(ws) -> None:
            refused.append(ws.url)
            ws.close(code=1011, reason="blocked by a proxy")

        view.context.route_web_socket(re.compile(r".*/ws(\?.*)?$"), refuse)
        page = view.page
        page.goto(server.dashboard + "/")
        expect(page.locator(STATE)).to_have_attribute("data-state", "polling")
        expect(page.locator(VALUE)).to_have_text("$70,000.00")
        post_portfolio(server.otlp, "poll-bot", 71_500.0, cash=70_000.0)
        expect(page.locator(VALUE)).to_have_text("$71,500.00", timeout=5000)
        expect(page.locator(STATE)).to_have_attribute("data-state", "polling")
        assert refused
    finally:
        server.stop()
