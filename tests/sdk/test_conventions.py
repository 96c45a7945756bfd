"""Tests that trading telemetry names follow OpenTelemetry's naming rules and ours."""

from __future__ import annotations

import re

import pytest

from tradepulse import conventions as conv

_NAME = re.compile(r"^trading(\.[a-z][a-z0-9_]*)+$")
_CURRENCY_CODES = ("usd", "eur", "gbp", "jpy", "btc")


def _constants(prefix: str) -> dict[str, str]:
    return {k: v for k, v in vars(conv).items() if k.startswith(prefix) and isinstance(v, str)}


@pytest.mark.parametrize("prefix", ["METRIC_", "ATTR_", "SPAN_"])
def test_names_are_lowercase_dotted_and_under_trading(prefix: str):
    names = _constants(prefix)

    assert names
    assert [n for n in names.values() if not _NAME.match(n)] == []
    assert len(set(names.values())) == len(names)


def test_no_metric_name_contains_a_currency():
    assert [
        name for name in conv.METRICS
        if any(code in name.split(".") or code in name for code in _CURRENCY_CODES)
    ] == []


def test_every_metric_constant_has_a_spec_and_every_spec_a_constant():
    assert set(_constants("METRIC_").values()) == set(conv.METRICS)
    assert all(spec.name == name for name, spec in conv.METRICS.items())


def test_required_names_and_attribute_keys():
    assert conv.METRIC_PORTFOLIO_VALUE == "trading.portfolio.value"
    assert conv.METRIC_ORDER_DURATION == "trading.order.duration"
    assert conv.METRIC_PORTFOLIO_CASH_FLOW == "trading.portfolio.cash_flow"
    assert {
        conv.ATTR_SYMBOL, conv.ATTR_SIDE, conv.ATTR_ORDER_TYPE, conv.ATTR_ORDER_STATUS,
        conv.ATTR_BROKER, conv.ATTR_STRATEGY, conv.ATTR_CURRENCY, conv.ATTR_REJECT_REASON,
        conv.ATTR_PORTFOLIO,
    } == {
        "trading.symbol", "trading.side", "trading.order.type", "trading.order.status",
        "trading.broker", "trading.strategy", "trading.currency", "trading.reject.reason",
        "trading.portfolio",
    }


def test_units_are_ucum():
    units = {spec.name: spec.unit for spec in conv.METRICS.values()}

    assert units[conv.METRIC_ORDER_DURATION] == "s"
    assert units[conv.METRIC_ORDERS] == "{order}"
    assert units[conv.METRIC_FILL_SLIPPAGE] == "{bp}"
    assert units[conv.METRIC_BROKER_CONNECTED] == "1"
    assert all(re.fullmatch(r"s|1|\{[a-z_]+\}", unit) for unit in units.values())


def test_cash_flow_is_an_up_down_counter_so_withdrawals_can_be_negative():
    assert conv.PORTFOLIO_CASH_FLOW.kind is conv.InstrumentKind.UP_DOWN_COUNTER


def test_order_latency_buckets_span_100_microseconds_to_10_seconds():
    assert conv.ORDER_LATENCY_BUCKETS_S == (
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
        1, 2.5, 5, 10,
    )
    assert conv.ORDER_DURATION.bucket_boundaries == conv.ORDER_LATENCY_BUCKETS_S


def test_slippage_buckets_are_sorted_and_non_negative_as_histograms_require():
    buckets = conv.SLIPPAGE_BUCKETS_BPS

    assert list(buckets) == sorted(buckets)
    assert min(buckets) == 0


@pytest.mark.parametrize(("bps", "direction"), [(2.5, "adverse"), (-0.1, "favorable"), (0, "none")])
def test_slippage_direction_follows_the_sign(bps: float, direction: str):
    assert conv.SlippageDirection.of(bps) == direction


@pytest.mark.parametrize(("text", "side"), [("buy", conv.Side.BUY), (" SELL ", conv.Side.SELL)])
def test_side_parses_case_insensitively_and_has_a_sign(text: str, side: conv.Side):
    assert conv.Side.parse(text) is side
    assert conv.Side.BUY.sign == 1 and conv.Side.SELL.sign == -1


def test_unknown_closed_set_value_names_the_argument_and_the_choices():
    with pytest.raises(ValueError, match="side must be one of buy, sell; got 'long'"):
        conv.Side.parse("long")
    with pytest.raises(ValueError, match=r"^status must be one of submitted"):
        conv.OrderStatus.parse("done")
