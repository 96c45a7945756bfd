"""Tests of ``metrics.record_trade``: one closed round-trip trade as a span and a count.

Read back through the session's real SDK providers; each test uses its own symbol or portfolio
because the ``trading.trades`` counter is shared by the whole session.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from opentelemetry import trace

from tests.sdk.conftest import MetricsReader, SpanRecorder
from tradepulse import conventions as conv
from tradepulse import metrics

ENTRY = datetime(2024, 3, 4, 14, 30, tzinfo=UTC)
EXIT = ENTRY + timedelta(minutes=42, microseconds=250)
ENTRY_NS = 1_709_562_600 * 10**9


def _trade_counts(exported: MetricsReader) -> dict[tuple[tuple[str, object], ...], float]:
    return {
        tuple(sorted(p.attributes.items())): p.value
        for p in exported.points(conv.METRIC_TRADES)
    }


def test_trade_is_a_span_from_entry_to_exit_with_its_figures(spans: SpanRecorder):
    pnl = metrics.record_trade(
        symbol="TRD1", side="BUY", quantity=10, entry_price=100.0, exit_price=103.0, fees=2.0,
        entry_time=ENTRY, exit_time=EXIT, currency="USD", portfolio="trd-p", broker="ib",
        strategy="mac",
    )

    span = spans.named(conv.SPAN_TRADE)
    assert pnl == pytest.approx(28.0)
    assert span.start_time == ENTRY_NS
    assert span.end_time == ENTRY_NS + (42 * 60 * 10**6 + 250) * 1_000
    assert dict(span.attributes) == {
        conv.ATTR_SYMBOL: "TRD1",
        conv.ATTR_SIDE: "buy",
        conv.ATTR_TRADE_QUANTITY: 10.0,
        conv.ATTR_TRADE_ENTRY_PRICE: 100.0,
        conv.ATTR_TRADE_EXIT_PRICE: 103.0,
        conv.ATTR_TRADE_FEES: 2.0,
        conv.ATTR_TRADE_PNL: pytest.approx(28.0),
        conv.ATTR_TRADE_RETURN: pytest.approx(0.028),
        conv.ATTR_TRADE_OUTCOME: "win",
        conv.ATTR_CURRENCY: "USD",
        conv.ATTR_PORTFOLIO: "trd-p",
        conv.ATTR_BROKER: "ib",
        conv.ATTR_STRATEGY: "mac",
    }


def test_optional_attributes_are_left_out_when_not_given(spans: SpanRecorder):
    metrics.record_trade(symbol="TRD2", side="sell", quantity=1, entry_price=5.0, exit_price=5.0)

    attributes = spans.named(conv.SPAN_TRADE).attributes
    assert attributes[conv.ATTR_TRADE_OUTCOME] == "breakeven"
    assert attributes[conv.ATTR_TRADE_FEES] == 0.0
    assert not {conv.ATTR_CURRENCY, conv.ATTR_PORTFOLIO, conv.ATTR_BROKER,
                conv.ATTR_STRATEGY} & set(attributes)


def test_trade_is_a_root_span_even_inside_another_span(spans: SpanRecorder):
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("outer") as outer:
        metrics.record_trade(symbol="TRD3", side="buy", quantity=1, entry_price=10.0,
                             exit_price=11.0, entry_time=ENTRY, exit_time=EXIT)
        assert trace.get_current_span() is outer

    span = spans.named(conv.SPAN_TRADE)
    assert span.parent is None
    assert span.context.trace_id != spans.named("outer").context.trace_id


def test_unix_seconds_are_accepted_and_times_default_to_now(spans: SpanRecorder):
    metrics.record_trade(symbol="TRD4", side="buy", quantity=1, entry_price=10.0,
                         exit_price=11.0, entry_time=1_700_000_000.25, exit_time=1_700_000_060)
    before = time.time_ns()
    metrics.record_trade(symbol="TRD5", side="buy", quantity=1, entry_price=10.0,
                         exit_price=11.0)
    after = time.time_ns()

    dated = next(s for s in spans.all() if s.attributes[conv.ATTR_SYMBOL] == "TRD4")
    now = next(s for s in spans.all() if s.attributes[conv.ATTR_SYMBOL] == "TRD5")
    assert (dated.start_time, dated.end_time) == (1_700_000_000_250_000_000,
                                                   1_700_000_060_000_000_000)
    assert before <= now.start_time == now.end_time <= after


def test_any_timezone_gives_the_same_instant(spans: SpanRecorder):
    tokyo = ENTRY.astimezone(timezone(timedelta(hours=9)))
    metrics.record_trade(symbol="TRD6", side="buy", quantity=1, entry_price=10.0,
                         exit_price=11.0, entry_time=tokyo, exit_time=tokyo)

    assert spans.named(conv.SPAN_TRADE).start_time == ENTRY_NS


@pytest.mark.parametrize(
    ("side", "entry", "exit", "pnl", "ret"),
    [
        ("buy", 100.0, 110.0, 50.0, 0.1),     # long, price rose: win
        ("buy", 100.0, 90.0, -50.0, -0.1),    # long, price fell: loss
        ("sell", 100.0, 90.0, 50.0, 0.1),     # short, price fell: win
        ("sell", 100.0, 110.0, -50.0, -0.1),  # short, price rose: loss
    ],
)
def test_pnl_defaults_to_the_price_move_signed_by_the_entry_side(
    spans: SpanRecorder, side, entry, exit, pnl, ret
):
    result = metrics.record_trade(symbol="TRD7", side=side, quantity=5, entry_price=entry,
                                  exit_price=exit)

    attributes = spans.named(conv.SPAN_TRADE).attributes
    assert result == pytest.approx(pnl)
    assert attributes[conv.ATTR_TRADE_PNL] == pytest.approx(pnl)
    assert attributes[conv.ATTR_TRADE_RETURN] == pytest.approx(ret)
    assert attributes[conv.ATTR_TRADE_OUTCOME] == ("win" if pnl > 0 else "loss")


def test_fees_are_subtracted_and_can_turn_a_win_into_a_loss(spans: SpanRecorder):
    pnl = metrics.record_trade(symbol="TRD8", side="sell", quantity=2, entry_price=50.0,
                               exit_price=49.0, fees=3.0)

    attributes = spans.named(conv.SPAN_TRADE).attributes
    assert pnl == pytest.approx(-1.0)
    assert attributes[conv.ATTR_TRADE_OUTCOME] == "loss"
    assert attributes[conv.ATTR_TRADE_FEES] == 3.0


def test_an_explicit_pnl_wins_over_prices_and_fees(spans: SpanRecorder):
    pnl = metrics.record_trade(symbol="TRD9", side="buy", quantity=4, entry_price=25.0,
                               exit_price=20.0, fees=1.5, pnl=7.25)

    attributes = spans.named(conv.SPAN_TRADE).attributes
    assert pnl == 7.25
    assert attributes[conv.ATTR_TRADE_PNL] == 7.25
    assert attributes[conv.ATTR_TRADE_RETURN] == pytest.approx(7.25 / 100.0)
    assert attributes[conv.ATTR_TRADE_OUTCOME] == "win"
    assert attributes[conv.ATTR_TRADE_FEES] == 1.5


def test_trades_are_counted_by_symbol_side_and_outcome(exported: MetricsReader):
    for exit_price in (11.0, 12.0, 9.0, 10.0):
        metrics.record_trade(symbol="CNT1", side="buy", quantity=1, entry_price=10.0,
                             exit_price=exit_price, strategy="mac", portfolio="cnt-p",
                             broker="ib", currency="USD")
    metrics.record_trade(symbol="CNT1", side="sell", quantity=1, entry_price=10.0,
                         exit_price=9.0, strategy="mac", portfolio="cnt-p")

    counts = {
        (p.attributes[conv.ATTR_SIDE], p.attributes[conv.ATTR_TRADE_OUTCOME]): p.value
        for p in exported.points(conv.METRIC_TRADES, {conv.ATTR_SYMBOL: "CNT1"})
    }
    assert counts == {("buy", "win"): 2, ("buy", "loss"): 1, ("buy", "breakeven"): 1,
                      ("sell", "win"): 1}
    [point] = exported.points(
        conv.METRIC_TRADES, {conv.ATTR_SYMBOL: "CNT1", conv.ATTR_TRADE_OUTCOME: "loss"}
    )
    assert point.attributes == {
        conv.ATTR_SYMBOL: "CNT1", conv.ATTR_SIDE: "buy", conv.ATTR_TRADE_OUTCOME: "loss",
        conv.ATTR_STRATEGY: "mac", conv.ATTR_PORTFOLIO: "cnt-p",
    }
    assert exported.metric(conv.METRIC_TRADES).unit == "{trade}"


_GOOD = {"symbol": "BADT", "side": "buy", "quantity": 1.0, "entry_price": 10.0,
         "exit_price": 11.0, "entry_time": ENTRY, "exit_time": EXIT}


@pytest.mark.parametrize(
    ("bad", "argument"),
    [
        ({"symbol": ""}, "symbol"),
        ({"side": "long"}, "side"),
        ({"quantity": 0}, "quantity"),
        ({"quantity": -1.0}, "quantity"),
        ({"quantity": math.nan}, "quantity"),
        ({"entry_price": 0.0}, "entry_price"),
        ({"entry_price": math.inf}, "entry_price"),
        ({"exit_price": -1.0}, "exit_price"),
        ({"exit_price": math.nan}, "exit_price"),
        ({"fees": -0.01}, "fees"),
        ({"fees": math.inf}, "fees"),
        ({"pnl": math.nan}, "pnl"),
        ({"pnl": "12"}, "pnl"),
        ({"entry_time": datetime(2024, 3, 4, 14, 30)}, "entry_time"),
        ({"exit_time": datetime(2024, 3, 4, 15, 0)}, "exit_time"),
        ({"entry_time": "2024-03-04"}, "entry_time"),
        ({"entry_time": math.nan}, "entry_time"),
        ({"exit_time": -1.0}, "exit_time"),
        ({"exit_time": ENTRY - timedelta(seconds=1)}, "exit_time"),
        ({"entry_time": time.time() + 3_600, "exit_time": None}, "exit_time"),
        ({"currency": ""}, "currency"),
        ({"portfolio": 7}, "portfolio"),
        ({"broker": " "}, "broker"),
        ({"strategy": ""}, "strategy"),
    ],
)
def test_bad_input_raises_value_error_naming_it_and_records_nothing(
    spans: SpanRecorder, exported: MetricsReader, bad, argument
):
    counts_before = _trade_counts(exported)

    with pytest.raises(ValueError, match=rf"^{argument}\b"):
        metrics.record_trade(**{**_GOOD, **bad})

    assert spans.all() == []
    assert _trade_counts(exported) == counts_before


def test_naive_datetime_is_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="entry_time must be timezone-aware"):
        metrics.record_trade(**{**_GOOD, "entry_time": datetime(2024, 3, 4, 14, 30)})


def test_exit_before_entry_is_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="exit_time must not be before entry_time"):
        metrics.record_trade(**{**_GOOD, "entry_time": EXIT, "exit_time": ENTRY})
