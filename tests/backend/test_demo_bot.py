"""Tests of the demo bot's simulation: prices, strategy, portfolio accounting, and a real run."""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
import textwrap

import pytest

from tests.sdk.otlp_recorder import OtlpRecorder
from tradepulse import conventions as conv
from tradepulse.conventions import Side
from tradepulse_backend.demo.bot import (
    INITIAL_CASH,
    START_PRICES,
    TICK_VOLATILITY,
    ClosedTrade,
    CrossoverStrategy,
    DemoBot,
    Portfolio,
    PriceWalk,
    SimBroker,
)


def test_round_trip_long_realizes_the_price_difference():
    portfolio = Portfolio(cash=10_000.0)

    assert portfolio.apply_fill("AAPL", Side.BUY, 10, 100.0) == 0.0
    realized = portfolio.apply_fill("AAPL", Side.SELL, 10, 110.0)

    assert realized == pytest.approx(100.0)
    assert portfolio.realized_pnl == pytest.approx(100.0)
    assert portfolio.cash == pytest.approx(10_100.0)
    assert portfolio.quantity("AAPL") == 0
    assert portfolio.total_value == pytest.approx(10_100.0)


def test_round_trip_short_profits_when_price_falls():
    portfolio = Portfolio(cash=10_000.0)

    portfolio.apply_fill("MSFT", Side.SELL, 5, 50.0)
    assert portfolio.cash == pytest.approx(10_250.0)
    portfolio.apply_fill("MSFT", Side.BUY, 5, 40.0)

    assert portfolio.realized_pnl == pytest.approx(50.0)
    assert portfolio.cash == pytest.approx(10_050.0)


def test_adding_to_a_position_averages_its_entry_price():
    portfolio = Portfolio(cash=10_000.0)

    portfolio.apply_fill("NVDA", Side.BUY, 10, 100.0)
    portfolio.apply_fill("NVDA", Side.BUY, 30, 120.0)

    position = portfolio.positions["NVDA"]
    assert position.quantity == 40
    assert position.average_price == pytest.approx(115.0)
    assert portfolio.realized_pnl == 0.0


def test_selling_through_a_long_position_realizes_it_and_opens_a_short_at_the_fill():
    portfolio = Portfolio(cash=10_000.0)
    portfolio.apply_fill("AAPL", Side.BUY, 10, 100.0)

    portfolio.apply_fill("AAPL", Side.SELL, 15, 120.0)

    position = portfolio.positions["AAPL"]
    assert portfolio.realized_pnl == pytest.approx(200.0)
    assert (position.quantity, position.average_price) == (-5, pytest.approx(120.0))


def test_value_is_cash_plus_positions_and_initial_plus_pnl_after_a_seeded_run():
    bot = DemoBot(seed=7)
    for tick in range(400):
        bot.tick(tick * 0.3)

    portfolio = bot.portfolio
    positions_value = sum(p.market_value for p in portfolio.positions.values())
    assert portfolio.realized_pnl != 0.0
    assert portfolio.total_value == pytest.approx(portfolio.cash + positions_value)
    assert portfolio.total_value == pytest.approx(
        INITIAL_CASH + portfolio.realized_pnl + portfolio.unrealized_pnl
    )
    assert bot.risk.gross_exposure >= abs(bot.risk.net_exposure)


def test_same_seed_gives_the_same_trading_session():
    def session(seed: int) -> list[str]:
        bot = DemoBot(seed=seed)
        return [event for tick in range(300) for event in bot.tick(tick * 0.3)]

    first = session(11)

    assert first == session(11)
    assert first != session(12)
    assert any(event.startswith("placed") for event in first)


def test_price_walk_stays_positive_and_reproducible():
    def walk(seed: int) -> list[dict[str, float]]:
        prices = PriceWalk(START_PRICES, TICK_VOLATILITY, random.Random(seed))
        return [prices.step() for _ in range(1_000)]

    path = walk(3)

    assert path == walk(3)
    assert all(price > 0 and math.isfinite(price) for step in path for price in step.values())


def test_crossover_buys_when_the_short_average_rises_above_the_long_one():
    strategy = CrossoverStrategy(short=2, long=4)
    signals = [strategy.update("X", price) for price in (10, 9, 8, 7, 6, 9, 12, 6, 3)]

    assert signals == [None, None, None, None, None, None, Side.BUY, None, Side.SELL]


def test_broker_disconnects_and_reconnects_on_schedule():
    broker = SimBroker(random.Random(5))
    first_change = broker.next_change_at
    assert 30 <= first_change <= 60

    assert broker.update(first_change - 0.1) is None
    assert broker.update(first_change) == "broker sim-broker disconnected"
    assert broker.reject_reason() == "broker_disconnected"
    reconnect_at = broker.next_change_at
    assert 3 <= reconnect_at - first_change <= 8
    assert broker.update(reconnect_at) == "broker sim-broker reconnected"
    assert broker.connected


def test_the_flaky_bot_side_check_fails_now_and_then_and_the_other_stays_healthy():
    bot = DemoBot(seed=11)
    outcomes = []
    for _ in range(40):
        try:
            outcomes.append(bot.check_reference_data())
        except ConnectionError as error:
            outcomes.append(str(error))
    assert True in outcomes
    assert "reference data service did not answer" in outcomes
    assert bot.check_market_data() == ("healthy", "4 symbols priced")


def test_run_bot_exports_spans_and_trading_metrics_and_reports_events():
    with OtlpRecorder() as server:
        result = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(f"""
                import json, threading
                from tradepulse_backend.demo.bot import run_bot
                events = []
                run_bot(duration_s=1.0, stop_event=threading.Event(), endpoint={server.url!r},
                        seed=1, on_event=events.append)
                print(json.dumps(events))
            """)],
            capture_output=True, text=True, timeout=90,
        )
    assert result.returncode == 0, result.stderr

    events = json.loads(result.stdout)
    assert events[0].startswith("started with")
    assert events[-1].startswith("stopping: portfolio")
    assert server.span_services()["trading.strategy.step"] == "demo-bot"
    assert server.span_services()[conv.SPAN_HEALTH_CHECK] == "demo-bot"
    metric_names = set(server.metric_services())
    assert {
        "trading.portfolio.value", "trading.portfolio.cash", "trading.pnl.realized",
        "trading.risk.var", "trading.broker.connected", "trading.portfolio.cash_flow",
    } <= metric_names


def test_a_fill_that_reduces_a_position_returns_the_trade_it_closed_since_opening():
    portfolio = Portfolio(cash=10_000.0)
    assert portfolio.book_fill("AAPL", Side.BUY, 10, 100.0, at=1_000.0) is None
    assert portfolio.book_fill("AAPL", Side.BUY, 10, 110.0, at=1_030.0) is None

    partial = portfolio.book_fill("AAPL", Side.SELL, 5, 120.0, at=1_060.0)
    flip = portfolio.book_fill("AAPL", Side.SELL, 20, 100.0, at=1_090.0)
    cover = portfolio.book_fill("AAPL", Side.BUY, 5, 90.0, at=1_120.0)

    assert partial == ClosedTrade("AAPL", Side.BUY, 5, pytest.approx(105.0), 120.0,
                                  pytest.approx(75.0), 1_000.0, 1_060.0)
    assert flip == ClosedTrade("AAPL", Side.BUY, 15, pytest.approx(105.0), 100.0,
                               pytest.approx(-75.0), 1_000.0, 1_090.0)
    assert cover == ClosedTrade("AAPL", Side.SELL, 5, 100.0, 90.0, pytest.approx(50.0),
                                1_090.0, 1_120.0)
    assert portfolio.realized_pnl == pytest.approx(75.0 - 75.0 + 50.0)


def test_a_closing_fill_records_a_trade_span_with_the_realized_pnl():
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent("""
            import json
            from opentelemetry import trace
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import SimpleSpanProcessor
            from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
                InMemorySpanExporter,
            )
            from tradepulse.conventions import SPAN_TRADE, Side
            from tradepulse_backend.demo.bot import DemoBot

            exporter = InMemorySpanExporter()
            provider = TracerProvider()
            provider.add_span_processor(SimpleSpanProcessor(exporter))
            trace.set_tracer_provider(provider)
            bot = DemoBot(seed=1, clock=iter([1_000.0, 1_060.0]).__next__)
            opened = bot.submit_order("AAPL", Side.BUY, 10, 187.0)
            closed = bot.submit_order("AAPL", Side.SELL, 10, 190.0)
            trades = [
                {"start": s.start_time, "end": s.end_time, "parent": s.parent is not None,
                 "attributes": dict(s.attributes)}
                for s in exporter.get_finished_spans() if s.name == SPAN_TRADE
            ]
            print(json.dumps({
                "events": [opened.describe(), closed.describe()], "trades": trades,
                "fills": [opened.fill_price, closed.fill_price],
                "realized": bot.portfolio.realized_pnl,
            }))
        """)],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr

    out = json.loads(result.stdout)
    entry, exit_ = out["fills"]
    [trade] = out["trades"]
    assert out["realized"] == pytest.approx((exit_ - entry) * 10)
    assert out["events"][1].endswith(f"(trade {out['realized']:+,.2f} USD)")
    assert (trade["start"], trade["end"], trade["parent"]) == (1_000 * 10**9, 1_060 * 10**9,
                                                               False)
    assert trade["attributes"] == {
        conv.ATTR_SYMBOL: "AAPL", conv.ATTR_SIDE: "buy", conv.ATTR_TRADE_QUANTITY: 10.0,
        conv.ATTR_TRADE_ENTRY_PRICE: pytest.approx(entry),
        conv.ATTR_TRADE_EXIT_PRICE: pytest.approx(exit_),
        conv.ATTR_TRADE_FEES: 0.0, conv.ATTR_TRADE_PNL: pytest.approx(out["realized"]),
        conv.ATTR_TRADE_RETURN: pytest.approx(out["realized"] / (entry * 10)),
        conv.ATTR_TRADE_OUTCOME: conv.TradeOutcome.of(out["realized"]).value,
        conv.ATTR_CURRENCY: "USD", conv.ATTR_PORTFOLIO: "demo",
        conv.ATTR_BROKER: "sim-broker", conv.ATTR_STRATEGY: "ma_crossover",
    }


def test_the_demo_portfolio_reports_each_positions_unrealized_pnl():
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent("""
            import json
            from opentelemetry import metrics
            from opentelemetry.sdk.metrics import MeterProvider
            from opentelemetry.sdk.metrics.export import InMemoryMetricReader
            import tradepulse
            from tradepulse.conventions import METRIC_POSITION_PNL_UNREALIZED, Side
            from tradepulse_backend.demo.bot import DemoBot

            reader = InMemoryMetricReader()
            metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
            bot = DemoBot(seed=1, clock=iter([1_000.0, 1_060.0]).__next__)
            bot.submit_order("AAPL", Side.BUY, 10, 187.0)
            bot.submit_order("MSFT", Side.SELL, 4, 410.0)
            for symbol, position in bot.portfolio.positions.items():
                position.last_price = position.average_price + (2.5 if symbol == "AAPL" else 5.0)
            tradepulse.observe_portfolio_manager(bot.portfolio)
            points = [
                {"attributes": dict(p.attributes), "value": p.value}
                for rm in reader.get_metrics_data().resource_metrics
                for sm in rm.scope_metrics for m in sm.metrics
                if m.name == METRIC_POSITION_PNL_UNREALIZED for p in m.data.data_points
            ]
            print(json.dumps(points))
        """)],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr

    points = {p["attributes"][conv.ATTR_SYMBOL]: p for p in json.loads(result.stdout)}
    assert points["AAPL"]["value"] == pytest.approx(25.0)
    assert points["MSFT"]["value"] == pytest.approx(-20.0)
    assert points["AAPL"]["attributes"][conv.ATTR_CURRENCY] == "USD"
