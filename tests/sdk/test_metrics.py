"""Tests of the trading instruments in tradepulse.metrics, read back through a real SDK reader.

Counters and gauges are shared by the whole session, so each test uses its own symbol,
portfolio or broker name.
"""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap

import pytest

from tests.sdk.conftest import MetricsReader
from tradepulse import conventions as conv
from tradepulse import metrics


def test_portfolio_value_and_cash_are_gauges_with_currency_and_portfolio(
    exported: MetricsReader,
):
    metrics.set_portfolio_value(100_000.0, cash=25_000.0, currency="USD", portfolio="pv-test")
    metrics.set_portfolio_value(101_500.5, currency="USD", portfolio="pv-test")

    where = {conv.ATTR_PORTFOLIO: "pv-test", conv.ATTR_CURRENCY: "USD"}
    [value] = exported.points(conv.METRIC_PORTFOLIO_VALUE, where)
    [cash] = exported.points(conv.METRIC_PORTFOLIO_CASH, where)
    assert value.value == 101_500.5
    assert cash.value == 25_000.0
    assert exported.metric(conv.METRIC_PORTFOLIO_VALUE).unit == conv.UNIT_CURRENCY


def test_pnl_sets_only_the_figures_given(exported: MetricsReader):
    metrics.set_pnl(realized=120.0, unrealized=-30.0, portfolio="pnl-test")
    metrics.set_pnl(unrealized=-10.0, portfolio="pnl-test")

    where = {conv.ATTR_PORTFOLIO: "pnl-test"}
    assert [p.value for p in exported.points(conv.METRIC_PNL_REALIZED, where)] == [120.0]
    assert [p.value for p in exported.points(conv.METRIC_PNL_UNREALIZED, where)] == [-10.0]


def test_positions_are_reported_per_symbol_and_may_be_short(exported: MetricsReader):
    metrics.set_position("POS1", quantity=10, market_value=1_500.0, portfolio="pos-test")
    metrics.set_position("POS2", quantity=-4, market_value=-800.0, portfolio="pos-test")

    quantities = {
        p.attributes[conv.ATTR_SYMBOL]: p.value
        for p in exported.points(conv.METRIC_POSITION_QUANTITY, {conv.ATTR_PORTFOLIO: "pos-test"})
    }
    values = {
        p.attributes[conv.ATTR_SYMBOL]: p.value
        for p in exported.points(
            conv.METRIC_POSITION_MARKET_VALUE, {conv.ATTR_PORTFOLIO: "pos-test"}
        )
    }
    assert quantities == {"POS1": 10, "POS2": -4}
    assert values == {"POS1": 1_500.0, "POS2": -800.0}


def test_position_unrealized_pnl_is_a_currency_gauge_by_symbol_currency_and_portfolio(
    exported: MetricsReader,
):
    metrics.set_position("UPL1", quantity=5, market_value=600.0, unrealized_pnl=-42.5,
                         currency="EUR", portfolio="upl-test")
    metrics.set_position("UPL2", quantity=3, portfolio="upl-test")

    [point] = exported.points(
        conv.METRIC_POSITION_PNL_UNREALIZED, {conv.ATTR_PORTFOLIO: "upl-test"}
    )
    assert point.value == -42.5
    assert point.attributes == {
        conv.ATTR_SYMBOL: "UPL1", conv.ATTR_CURRENCY: "EUR", conv.ATTR_PORTFOLIO: "upl-test",
    }
    assert exported.metric(conv.METRIC_POSITION_PNL_UNREALIZED).unit == conv.UNIT_CURRENCY
    with pytest.raises(ValueError, match="unrealized_pnl"):
        metrics.set_position("UPL3", quantity=1, unrealized_pnl=math.nan)


def test_orders_are_counted_by_side_type_and_status(exported: MetricsReader):
    for status in ("filled", "filled", "rejected"):
        metrics.record_order(
            symbol="ORD1", side="BUY", order_type=conv.OrderType.LIMIT, status=status,
            broker="alpaca", strategy="mac",
        )

    counts = {
        p.attributes[conv.ATTR_ORDER_STATUS]: p.value
        for p in exported.points(conv.METRIC_ORDERS, {conv.ATTR_SYMBOL: "ORD1"})
    }
    assert counts == {"filled": 2, "rejected": 1}
    [point] = exported.points(
        conv.METRIC_ORDERS, {conv.ATTR_SYMBOL: "ORD1", conv.ATTR_ORDER_STATUS: "filled"}
    )
    assert point.attributes == {
        conv.ATTR_SYMBOL: "ORD1", conv.ATTR_SIDE: "buy", conv.ATTR_ORDER_TYPE: "limit",
        conv.ATTR_ORDER_STATUS: "filled", conv.ATTR_BROKER: "alpaca", conv.ATTR_STRATEGY: "mac",
    }
    assert exported.metric(conv.METRIC_ORDERS).unit == "{order}"


def test_order_latency_histogram_uses_the_order_latency_buckets(exported: MetricsReader):
    for latency in (0.0002, 0.042, 0.042, 3.0):
        metrics.record_order(
            symbol="LAT1", side="sell", order_type="market", status="filled", latency_s=latency
        )

    [point] = exported.points(conv.METRIC_ORDER_DURATION, {conv.ATTR_SYMBOL: "LAT1"})
    histogram = point.data
    assert tuple(histogram.explicit_bounds) == conv.ORDER_LATENCY_BUCKETS_S
    assert histogram.count == 4
    assert histogram.sum == pytest.approx(3.0842)
    bucket_of_42ms = conv.ORDER_LATENCY_BUCKETS_S.index(0.05)
    assert histogram.bucket_counts[bucket_of_42ms] == 2
    assert exported.metric(conv.METRIC_ORDER_DURATION).unit == "s"


def test_fill_counts_fills_and_quantity(exported: MetricsReader):
    metrics.record_fill(symbol="FIL1", side="buy", quantity=10, price=100.0)
    metrics.record_fill(symbol="FIL1", side="buy", quantity=2.5, price=101.0)

    [fills] = exported.points(conv.METRIC_FILLS, {conv.ATTR_SYMBOL: "FIL1"})
    [quantity] = exported.points(conv.METRIC_FILL_QUANTITY, {conv.ATTR_SYMBOL: "FIL1"})
    assert fills.value == 2
    assert quantity.value == 12.5
    assert exported.points(conv.METRIC_FILL_SLIPPAGE, {conv.ATTR_SYMBOL: "FIL1"}) == []


@pytest.mark.parametrize(
    ("side", "expected", "fill", "bps"),
    [
        ("buy", 100.0, 100.10, 10.0),    # paid more than expected: adverse
        ("buy", 100.0, 99.95, -5.0),     # paid less: price improvement
        ("sell", 100.0, 99.90, 10.0),    # received less: adverse
        ("sell", 200.0, 200.20, -10.0),  # received more: improvement
    ],
)
def test_slippage_is_positive_when_adverse_for_either_side(side, expected, fill, bps):
    assert metrics.slippage_bps(side, expected, fill) == pytest.approx(bps)


def test_fill_returns_signed_slippage_and_records_its_size_by_direction(
    exported: MetricsReader,
):
    adverse = metrics.record_fill(
        symbol="SLP1", side="sell", quantity=1, price=99.5, expected_price=100.0
    )
    favorable = metrics.record_fill(
        symbol="SLP1", side="buy", quantity=1, price=99.8, expected_price=100.0
    )
    exact = metrics.record_fill(
        symbol="SLP1", side="buy", quantity=1, price=100.0, expected_price=100.0
    )

    assert (adverse, favorable, exact) == (pytest.approx(50.0), pytest.approx(-20.0), 0.0)
    points = {
        p.attributes[conv.ATTR_SLIPPAGE_DIRECTION]: p.data
        for p in exported.points(conv.METRIC_FILL_SLIPPAGE, {conv.ATTR_SYMBOL: "SLP1"})
    }
    assert {d: (h.count, pytest.approx(h.sum)) for d, h in points.items()} == {
        "adverse": (1, 50.0), "favorable": (1, 20.0), "none": (1, 0.0),
    }
    assert tuple(points["adverse"].explicit_bounds) == conv.SLIPPAGE_BUCKETS_BPS
    assert exported.metric(conv.METRIC_FILL_SLIPPAGE).unit == "{bp}"


def test_rejections_are_counted_by_reason(exported: MetricsReader):
    metrics.record_rejection(symbol="REJ1", reason="insufficient_funds", broker="ib")
    metrics.record_rejection(symbol="REJ1", reason="insufficient_funds", broker="ib")
    metrics.record_rejection(symbol="REJ1", reason="market_closed", broker="ib")

    counts = {
        p.attributes[conv.ATTR_REJECT_REASON]: p.value
        for p in exported.points(conv.METRIC_REJECTIONS, {conv.ATTR_SYMBOL: "REJ1"})
    }
    assert counts == {"insufficient_funds": 2, "market_closed": 1}


def test_broker_connectivity_is_a_zero_or_one_gauge(exported: MetricsReader):
    metrics.set_broker_connected("conn-a", True)
    metrics.set_broker_connected("conn-b", True)
    metrics.set_broker_connected("conn-b", False)

    states = {
        p.attributes[conv.ATTR_BROKER]: p.value
        for p in exported.points(conv.METRIC_BROKER_CONNECTED)
        if p.scope == "tradepulse"
    }
    assert states["conn-a"] == 1
    assert states["conn-b"] == 0


def test_risk_figures_are_gauges(exported: MetricsReader):
    metrics.set_risk(var=5_000.0, gross_exposure=80_000.0, net_exposure=-12_000.0,
                     portfolio="risk-test")

    where = {conv.ATTR_PORTFOLIO: "risk-test"}
    assert [p.value for p in exported.points(conv.METRIC_RISK_VAR, where)] == [5_000.0]
    assert [p.value for p in exported.points(conv.METRIC_RISK_GROSS_EXPOSURE, where)] == [
        80_000.0
    ]
    assert [p.value for p in exported.points(conv.METRIC_RISK_NET_EXPOSURE, where)] == [
        -12_000.0
    ]


def test_cash_flows_add_up_deposits_and_withdrawals(exported: MetricsReader):
    metrics.record_cash_flow(10_000.0, currency="EUR", portfolio="flow-test")
    metrics.record_cash_flow(-2_500.0, currency="EUR", portfolio="flow-test")

    [point] = exported.points(conv.METRIC_PORTFOLIO_CASH_FLOW, {conv.ATTR_PORTFOLIO: "flow-test"})
    assert point.value == 7_500.0
    assert point.attributes[conv.ATTR_CURRENCY] == "EUR"


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda: metrics.set_portfolio_value(math.nan, portfolio="bad"), "value"),
        (lambda: metrics.set_portfolio_value(1.0, cash=math.inf, portfolio="bad"), "cash"),
        (lambda: metrics.set_pnl(realized="12", portfolio="bad"), "realized"),
        (lambda: metrics.set_position("", quantity=1), "symbol"),
        (lambda: metrics.set_position("BAD", quantity=math.nan), "quantity"),
        (lambda: metrics.record_order(symbol="BAD", side="long", order_type="market",
                                      status="filled"), "side"),
        (lambda: metrics.record_order(symbol="BAD", side="buy", order_type="market",
                                      status="done"), "status"),
        (lambda: metrics.record_order(symbol="BAD", side="buy", order_type="market",
                                      status="filled", latency_s=-0.1), "latency_s"),
        (lambda: metrics.record_fill(symbol="BAD", side="buy", quantity=-1, price=10.0),
         "quantity"),
        (lambda: metrics.record_fill(symbol="BAD", side="buy", quantity=1, price=math.nan),
         "price"),
        (lambda: metrics.record_fill(symbol="BAD", side="buy", quantity=1, price=10.0,
                                     expected_price=0.0), "expected_price"),
        (lambda: metrics.record_fill(symbol="BAD", side="hold", quantity=1, price=10.0),
         "side"),
        (lambda: metrics.record_rejection(symbol="BAD", reason=""), "reason"),
        (lambda: metrics.set_broker_connected("BAD", 1), "connected"),
        (lambda: metrics.set_risk(var=-1.0, portfolio="bad"), "var"),
        (lambda: metrics.set_risk(gross_exposure=math.nan, portfolio="bad"), "gross_exposure"),
        (lambda: metrics.record_cash_flow(math.inf), "amount"),
        (lambda: metrics.record_cash_flow(True), "amount"),
    ],
)
def test_bad_input_raises_value_error_naming_the_argument(call, argument):
    with pytest.raises(ValueError, match=rf"^{argument}\b"):
        call()


def test_bad_input_leaves_already_recorded_data_untouched(exported: MetricsReader):
    metrics.set_portfolio_value(1_000.0, cash=400.0, portfolio="keep-test")
    metrics.record_fill(symbol="KEEP1", side="buy", quantity=3, price=10.0, expected_price=10.0)

    with pytest.raises(ValueError):
        metrics.set_portfolio_value(2_000.0, cash=math.nan, portfolio="keep-test")
    with pytest.raises(ValueError):
        metrics.record_fill(symbol="KEEP1", side="buy", quantity=3, price=10.0,
                            expected_price=-1.0)

    where = {conv.ATTR_PORTFOLIO: "keep-test"}
    assert [p.value for p in exported.points(conv.METRIC_PORTFOLIO_VALUE, where)] == [1_000.0]
    assert [p.value for p in exported.points(conv.METRIC_PORTFOLIO_CASH, where)] == [400.0]
    [fills] = exported.points(conv.METRIC_FILLS, {conv.ATTR_SYMBOL: "KEEP1"})
    [quantity] = exported.points(conv.METRIC_FILL_QUANTITY, {conv.ATTR_SYMBOL: "KEEP1"})
    [slippage] = exported.points(conv.METRIC_FILL_SLIPPAGE, {conv.ATTR_SYMBOL: "KEEP1"})
    assert (fills.value, quantity.value, slippage.data.count) == (1, 3, 1)


def test_instruments_used_before_a_provider_exists_bind_to_it_once_set():
    script = textwrap.dedent(
        """
        from opentelemetry import metrics as otel_metrics
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from tradepulse import metrics

        metrics.record_order(symbol="EARLY", side="buy", order_type="market", status="filled")
        reader = InMemoryMetricReader()
        otel_metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
        metrics.record_order(symbol="LATE", side="buy", order_type="market", status="filled")

        data = reader.get_metrics_data()
        symbols = sorted(
            point.attributes["trading.symbol"]
            for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics
            if m.name == "trading.orders" for point in m.data.data_points
        )
        print(symbols)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )

    assert result.stdout.strip() == "['LATE']"
