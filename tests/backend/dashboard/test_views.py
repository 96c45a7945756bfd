"""The dashboard's REST views in-process: positions with their share of the portfolio and
execution per service, as the page and the WebSocket receive them."""

from __future__ import annotations

import pytest

from tests.support import InProcessApp


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
