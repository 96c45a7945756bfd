"""The dashboard's REST views in-process: positions with their share of the portfolio and
execution per service, as the page and the WebSocket receive them."""

from __future__ import annotations

import json

import pytest

from tests.support import InProcessApp, wait_until
from tradepulse import conventions as conv


@pytest.fixture
def app(tmp_path):
    running = InProcessApp(tmp_path)
    yield running
    running.close()


def test_positions_carry_their_share_of_the_portfolio(app):
    app.backend.performance.update_portfolio_data({
        "service": "pos-bot", "currency": "USD", "portfolio_value": 10_000.0,
        "timestamp": app.clock.now_ns() / 1e9,
        "positions": {"AAPL": {"quantity": 10, "market_value": 1_800.0},
                      "MSFT": {"quantity": -2, "market_value": -600.0}}})
    rows = {row["symbol"]: row for row in app.api("/positions?service=pos-bot")["positions"]}
    assert rows["AAPL"]["quantity"] == 10 and rows["AAPL"]["market_value"] == 1_800.0
    assert rows["AAPL"]["allocation"] == pytest.approx(0.18)
    assert rows["MSFT"]["allocation"] == pytest.approx(-0.06)
    assert rows["AAPL"]["currency"] == "USD" and rows["AAPL"]["service"] == "pos-bot"
    assert app.api("/positions?service=nobody") == {"positions": []}


def _otlp_gauges(service: str, time_ns: int, gauges: list[tuple[str, float, dict]]) -> bytes:
    def attributes(attrs: dict) -> list[dict]:
        return [{"key": k, "value": {"stringValue": v}} for k, v in attrs.items()]

    metrics = [{"name": name, "gauge": {"dataPoints": [{
        "asDouble": value, "timeUnixNano": str(time_ns), "attributes": attributes(attrs)}]}}
        for name, value, attrs in gauges]
    return json.dumps({"resourceMetrics": [{
        "resource": {"attributes": attributes({"service.name": service})},
        "scopeMetrics": [{"scope": {"name": "tests"}, "metrics": metrics}]}]}).encode()


def test_a_posted_position_unrealized_pnl_appears_in_the_positions_rows(app):
    money = {conv.ATTR_CURRENCY: "USD"}
    aapl, msft = {conv.ATTR_SYMBOL: "AAPL"}, {conv.ATTR_SYMBOL: "MSFT"}
    body = _otlp_gauges("upl-bot", app.clock.now_ns(), [
        (conv.METRIC_PORTFOLIO_VALUE, 10_000.0, money),
        (conv.METRIC_POSITION_QUANTITY, 10, aapl),
        (conv.METRIC_POSITION_MARKET_VALUE, 1_800.0, {**aapl, **money}),
        (conv.METRIC_POSITION_PNL_UNREALIZED, 125.5, {**aapl, **money}),
        (conv.METRIC_POSITION_QUANTITY, -2, msft),
        (conv.METRIC_POSITION_MARKET_VALUE, -600.0, {**msft, **money}),
        (conv.METRIC_POSITION_PNL_UNREALIZED, -30.0, {**msft, **money}),
    ])
    status, _, answer = app.post_otlp("/v1/metrics", body, {"Content-Type": "application/json"})
    assert status == 200, answer

    def rows() -> dict:
        return {row["symbol"]: row for row in app.api("/positions?service=upl-bot")["positions"]}

    wait_until(lambda: "unrealized_pnl" in rows().get("MSFT", {}), what="positions absorbed")
    assert rows()["AAPL"]["unrealized_pnl"] == 125.5
    assert rows()["MSFT"]["unrealized_pnl"] == -30.0
    [snapshot] = app.backend.performance.snapshots(service="upl-bot")
    assert snapshot.positions["AAPL"]["unrealized_pnl"] == 125.5


def test_a_position_update_may_carry_its_unrealized_pnl(app):
    app.backend.performance.update_portfolio_data({
        "service": "upd-bot", "portfolio_value": 5_000.0, "timestamp": app.clock.now_ns() / 1e9,
        "positions": {"AAPL": {"quantity": 5, "market_value": 900.0, "unrealized_pnl": -12.0},
                      "MSFT": {"quantity": 1, "market_value": 300.0}}})
    rows = {row["symbol"]: row for row in app.api("/positions?service=upd-bot")["positions"]}
    assert rows["AAPL"]["unrealized_pnl"] == -12.0
    assert "unrealized_pnl" not in rows["MSFT"]


def test_execution_is_one_row_per_service_with_its_figures(app):
    now = app.clock.now_ns() / 1e9
    app.backend.performance.update_portfolio_data({
        "service": "exec-bot", "timestamp": now, "portfolio_value": 1.0,
        "orders": [{"symbol": "AAPL", "status": "filled", "latency_s": 0.02,
                    "broker": "paper"},
                   {"symbol": "AAPL", "status": "rejected", "latency_s": 0.01,
                    "broker": "paper"}]})
    [row] = app.api("/execution?service=exec-bot")["execution"]
    assert row["service"] == "exec-bot" and row["orders"] == 2
    assert row["rejection_rate"] == pytest.approx(0.5)
    assert set(row["by_broker"]) == {"paper"}
    assert app.api("/performance?service=exec-bot")["performance"][0]["orders"] == 2
