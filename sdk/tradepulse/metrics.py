"""Trading instruments: record portfolio, order, fill, trade, risk and broker figures by name.

Uses only the OpenTelemetry API (metrics, plus trace for closed trades), so calls are no-ops
until ``tradepulse.configure()`` (or any SDK provider) is installed and bind to it afterwards.
Every function checks all its arguments before recording anything: bad input raises ValueError
naming the argument and leaves recorded data untouched.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from numbers import Real

from opentelemetry import metrics as otel_metrics
from opentelemetry import trace
from opentelemetry.metrics import Counter, Histogram, Meter, UpDownCounter, _Gauge
from opentelemetry.util.types import AttributeValue

from tradepulse import _validation as check
from tradepulse import conventions as conv
from tradepulse.conventions import MetricSpec, OrderStatus, OrderType, Side, TradeOutcome
from tradepulse.version import __version__

__all__ = [
    "record_cash_flow",
    "record_fill",
    "record_order",
    "record_rejection",
    "record_trade",
    "set_broker_connected",
    "set_broker_rate_limit",
    "set_pnl",
    "set_portfolio_value",
    "set_position",
    "set_risk",
    "slippage_bps",
]

_Attributes = dict[str, str]


@dataclass(frozen=True, slots=True)
class _Instruments:
    portfolio_value: _Gauge
    portfolio_cash: _Gauge
    cash_flow: UpDownCounter
    pnl_realized: _Gauge
    pnl_unrealized: _Gauge
    position_quantity: _Gauge
    position_market_value: _Gauge
    orders: Counter
    order_duration: Histogram
    fills: Counter
    fill_quantity: Counter
    fill_slippage: Histogram
    rejections: Counter
    trades: Counter
    broker_connected: _Gauge
    broker_rate_limit_headroom: _Gauge
    risk_var: _Gauge
    risk_gross_exposure: _Gauge
    risk_net_exposure: _Gauge
    position_pnl_unrealized: _Gauge


_lock = threading.Lock()
_instruments: _Instruments | None = None
_tracer = trace.get_tracer("tradepulse", __version__)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _gauge(meter: Meter, spec: MetricSpec) -> _Gauge:
    return meter.create_gauge(spec.name, unit=spec.unit, description=spec.description)


def _counter(meter: Meter, spec: MetricSpec) -> Counter:
    return meter.create_counter(spec.name, unit=spec.unit, description=spec.description)


def _histogram(meter: Meter, spec: MetricSpec) -> Histogram:
    return meter.create_histogram(
        spec.name,
        unit=spec.unit,
        description=spec.description,
        explicit_bucket_boundaries_advisory=spec.bucket_boundaries,
    )


def _get() -> _Instruments:
    global _instruments
    if _instruments is None:
        with _lock:
            if _instruments is None:
                meter = otel_metrics.get_meter("tradepulse", __version__)
                _instruments = _Instruments(
                    portfolio_value=_gauge(meter, conv.PORTFOLIO_VALUE),
                    portfolio_cash=_gauge(meter, conv.PORTFOLIO_CASH),
                    cash_flow=meter.create_up_down_counter(
                        conv.PORTFOLIO_CASH_FLOW.name,
                        unit=conv.PORTFOLIO_CASH_FLOW.unit,
                        description=conv.PORTFOLIO_CASH_FLOW.description,
                    ),
                    pnl_realized=_gauge(meter, conv.PNL_REALIZED),
                    pnl_unrealized=_gauge(meter, conv.PNL_UNREALIZED),
                    position_quantity=_gauge(meter, conv.POSITION_QUANTITY),
                    position_market_value=_gauge(meter, conv.POSITION_MARKET_VALUE),
                    orders=_counter(meter, conv.ORDERS),
                    order_duration=_histogram(meter, conv.ORDER_DURATION),
                    fills=_counter(meter, conv.FILLS),
                    fill_quantity=_counter(meter, conv.FILL_QUANTITY),
                    fill_slippage=_histogram(meter, conv.FILL_SLIPPAGE),
                    rejections=_counter(meter, conv.REJECTIONS),
                    trades=_counter(meter, conv.TRADES),
                    broker_connected=_gauge(meter, conv.BROKER_CONNECTED),
                    broker_rate_limit_headroom=_gauge(meter, conv.BROKER_RATE_LIMIT_HEADROOM),
                    risk_var=_gauge(meter, conv.RISK_VAR),
                    risk_gross_exposure=_gauge(meter, conv.RISK_GROSS_EXPOSURE),
                    risk_net_exposure=_gauge(meter, conv.RISK_NET_EXPOSURE),
                    position_pnl_unrealized=_gauge(meter, conv.POSITION_PNL_UNREALIZED),
                )
    return _instruments


def _attributes(**pairs: str | None) -> _Attributes:
    """Build an attribute dict from ``key=value`` pairs, leaving out the ones that are None."""
    return {key: value for key, value in pairs.items() if value is not None}


def _money_attributes(currency: str | None, portfolio: str | None) -> _Attributes:
    return _attributes(
        **{
            conv.ATTR_CURRENCY: check.optional_text("currency", currency),
            conv.ATTR_PORTFOLIO: check.optional_text("portfolio", portfolio),
        }
    )


def _order_type(value: OrderType | str) -> str:
    if isinstance(value, OrderType):
        return value.value
    return check.text("order_type", value).strip().lower()


def slippage_bps(side: Side | str, expected_price: float, fill_price: float) -> float:
    """Slippage of a fill in basis points; positive is adverse, negative is price improvement.

    ``side_sign * (fill - expected) / expected * 1e4``: a buy filled above the expected price
    or a sell filled below it is positive (the trade cost more than expected).
    """
    sign = Side.parse(side).sign
    expected = check.positive("expected_price", expected_price)
    fill = check.finite("price", fill_price)
    return sign * (fill - expected) / expected * 1e4


def set_portfolio_value(
    value: float,
    *,
    cash: float | None = None,
    currency: str | None = None,
    portfolio: str | None = None,
) -> None:
    """Report the portfolio's total value (and optionally its cash) as of now."""
    total = check.finite("value", value)
    cash_amount = check.optional(check.finite, "cash", cash)
    attrs = _money_attributes(currency, portfolio)
    instruments = _get()
    instruments.portfolio_value.set(total, attrs)
    if cash_amount is not None:
        instruments.portfolio_cash.set(cash_amount, attrs)


def set_pnl(
    *,
    realized: float | None = None,
    unrealized: float | None = None,
    currency: str | None = None,
    portfolio: str | None = None,
) -> None:
    """Report realized and/or unrealized profit and loss; None leaves a figure unreported."""
    realized_amount = check.optional(check.finite, "realized", realized)
    unrealized_amount = check.optional(check.finite, "unrealized", unrealized)
    attrs = _money_attributes(currency, portfolio)
    instruments = _get()
    if realized_amount is not None:
        instruments.pnl_realized.set(realized_amount, attrs)
    if unrealized_amount is not None:
        instruments.pnl_unrealized.set(unrealized_amount, attrs)


def set_position(
    symbol: str,
    *,
    quantity: float,
    market_value: float | None = None,
    currency: str | None = None,
    portfolio: str | None = None,
    unrealized_pnl: float | None = None,
) -> None:
    """Report a position's signed size (negative is short), optionally its value and P&L."""
    qty = check.finite("quantity", quantity)
    value = check.optional(check.finite, "market_value", market_value)
    pnl = check.optional(check.finite, "unrealized_pnl", unrealized_pnl)
    base = _attributes(
        **{
            conv.ATTR_SYMBOL: check.text("symbol", symbol),
            conv.ATTR_PORTFOLIO: check.optional_text("portfolio", portfolio),
        }
    )
    value_attrs = {**base, **_money_attributes(currency, None)}
    instruments = _get()
    instruments.position_quantity.set(qty, base)
    if value is not None:
        instruments.position_market_value.set(value, value_attrs)
    if pnl is not None:
        instruments.position_pnl_unrealized.set(pnl, value_attrs)


def record_order(
    *,
    symbol: str,
    side: Side | str,
    order_type: OrderType | str,
    status: OrderStatus | str,
    latency_s: float | None = None,
    broker: str | None = None,
    strategy: str | None = None,
) -> None:
    """Count one order with its outcome, and record its latency in seconds when known."""
    latency = check.optional(check.non_negative, "latency_s", latency_s)
    attrs = _attributes(
        **{
            conv.ATTR_SYMBOL: check.text("symbol", symbol),
            conv.ATTR_SIDE: Side.parse(side).value,
            conv.ATTR_ORDER_TYPE: _order_type(order_type),
            conv.ATTR_ORDER_STATUS: OrderStatus.parse(status).value,
            conv.ATTR_BROKER: check.optional_text("broker", broker),
            conv.ATTR_STRATEGY: check.optional_text("strategy", strategy),
        }
    )
    instruments = _get()
    instruments.orders.add(1, attrs)
    if latency is not None:
        instruments.order_duration.record(latency, attrs)


def record_fill(
    *,
    symbol: str,
    side: Side | str,
    quantity: float,
    price: float,
    expected_price: float | None = None,
    broker: str | None = None,
    strategy: str | None = None,
) -> float | None:
    """Count one fill and its quantity; return its slippage in bps if ``expected_price`` is given.

    The returned slippage follows :func:`slippage_bps`: positive means adverse (paid more on a
    buy, received less on a sell). The histogram records its size, with the sign in
    ``trading.slippage.direction`` (adverse / favorable / none), because OpenTelemetry
    histograms drop negative values.
    """
    parsed_side = Side.parse(side)
    qty = check.positive("quantity", quantity)
    fill_price = check.finite("price", price)
    slippage = (
        None if expected_price is None else slippage_bps(parsed_side, expected_price, fill_price)
    )
    attrs = _attributes(
        **{
            conv.ATTR_SYMBOL: check.text("symbol", symbol),
            conv.ATTR_SIDE: parsed_side.value,
            conv.ATTR_BROKER: check.optional_text("broker", broker),
            conv.ATTR_STRATEGY: check.optional_text("strategy", strategy),
        }
    )
    instruments = _get()
    instruments.fills.add(1, attrs)
    instruments.fill_quantity.add(qty, attrs)
    if slippage is not None:
        direction = conv.SlippageDirection.of(slippage).value
        instruments.fill_slippage.record(
            abs(slippage), {**attrs, conv.ATTR_SLIPPAGE_DIRECTION: direction}
        )
    return slippage


def record_rejection(
    *,
    symbol: str,
    reason: str,
    side: Side | str | None = None,
    order_type: OrderType | str | None = None,
    broker: str | None = None,
    strategy: str | None = None,
) -> None:
    """Count one rejected order by reason; keep ``reason`` to a small set of codes."""
    attrs = _attributes(
        **{
            conv.ATTR_SYMBOL: check.text("symbol", symbol),
            conv.ATTR_REJECT_REASON: check.text("reason", reason),
            conv.ATTR_SIDE: None if side is None else Side.parse(side).value,
            conv.ATTR_ORDER_TYPE: None if order_type is None else _order_type(order_type),
            conv.ATTR_BROKER: check.optional_text("broker", broker),
            conv.ATTR_STRATEGY: check.optional_text("strategy", strategy),
        }
    )
    _get().rejections.add(1, attrs)


def _timestamp_ns(argument: str, value: object) -> int:
    """Nanoseconds since the Unix epoch of a timezone-aware datetime or of Unix seconds."""
    if isinstance(value, datetime):
        if value.utcoffset() is None:
            raise ValueError(f"{argument} must be timezone-aware; got naive {value!r}")
        if value < _EPOCH:
            raise ValueError(f"{argument} must not be before the Unix epoch; got {value!r}")
        return (value - _EPOCH) // timedelta(microseconds=1) * 1_000
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(
            f"{argument} must be a timezone-aware datetime or Unix seconds; got {value!r}"
        )
    seconds = check.non_negative(argument, value)
    whole = math.floor(seconds)
    return whole * 1_000_000_000 + round((seconds - whole) * 1e9)


def record_trade(
    *,
    symbol: str,
    side: Side | str,
    quantity: float,
    entry_price: float,
    exit_price: float,
    pnl: float | None = None,
    fees: float = 0.0,
    entry_time: datetime | float | None = None,
    exit_time: datetime | float | None = None,
    currency: str | None = None,
    portfolio: str | None = None,
    broker: str | None = None,
    strategy: str | None = None,
) -> float:
    """Record one closed round-trip trade as a ``trading.trade`` span and count it; return its pnl.

    ``side`` is the entry side: buy for a long trade, sell for a short one. ``pnl`` defaults to
    ``side_sign * (exit_price - entry_price) * quantity - fees``; a pnl given explicitly is
    used as is (``fees`` are then only reported). Times are timezone-aware datetimes or Unix
    seconds; ``exit_time`` defaults to now and ``entry_time`` to ``exit_time``. The span runs
    from entry to exit and is a root span of its own, whatever span is current.
    """
    symbol_text = check.text("symbol", symbol)
    entry_side = Side.parse(side)
    qty = check.positive("quantity", quantity)
    entry = check.positive("entry_price", entry_price)
    exit_ = check.positive("exit_price", exit_price)
    fee = check.non_negative("fees", fees)
    given_pnl = check.optional(check.finite, "pnl", pnl)
    end_ns = time.time_ns() if exit_time is None else _timestamp_ns("exit_time", exit_time)
    start_ns = end_ns if entry_time is None else _timestamp_ns("entry_time", entry_time)
    if end_ns < start_ns:
        exit_text = "now" if exit_time is None else repr(exit_time)
        raise ValueError(
            f"exit_time must not be before entry_time; got {exit_text} < {entry_time!r}"
        )
    net = check.finite(
        "pnl", entry_side.sign * (exit_ - entry) * qty - fee if given_pnl is None else given_pnl
    )
    outcome = TradeOutcome.of(net).value
    currency_text = check.optional_text("currency", currency)
    portfolio_text = check.optional_text("portfolio", portfolio)
    broker_text = check.optional_text("broker", broker)
    strategy_text = check.optional_text("strategy", strategy)

    span_attrs: dict[str, AttributeValue] = {
        conv.ATTR_SYMBOL: symbol_text,
        conv.ATTR_SIDE: entry_side.value,
        conv.ATTR_TRADE_QUANTITY: qty,
        conv.ATTR_TRADE_ENTRY_PRICE: entry,
        conv.ATTR_TRADE_EXIT_PRICE: exit_,
        conv.ATTR_TRADE_FEES: fee,
        conv.ATTR_TRADE_PNL: net,
        conv.ATTR_TRADE_RETURN: net / (entry * qty),
        conv.ATTR_TRADE_OUTCOME: outcome,
        **_attributes(
            **{
                conv.ATTR_CURRENCY: currency_text,
                conv.ATTR_PORTFOLIO: portfolio_text,
                conv.ATTR_BROKER: broker_text,
                conv.ATTR_STRATEGY: strategy_text,
            }
        ),
    }
    count_attrs = _attributes(
        **{
            conv.ATTR_SYMBOL: symbol_text,
            conv.ATTR_SIDE: entry_side.value,
            conv.ATTR_TRADE_OUTCOME: outcome,
            conv.ATTR_STRATEGY: strategy_text,
            conv.ATTR_PORTFOLIO: portfolio_text,
        }
    )
    span = _tracer.start_span(
        conv.SPAN_TRADE,
        context=trace.set_span_in_context(trace.INVALID_SPAN),
        attributes=span_attrs,
        start_time=start_ns,
    )
    span.end(end_time=end_ns)
    _get().trades.add(1, count_attrs)
    return net


def set_broker_connected(broker: str, connected: bool) -> None:
    """Report whether the connection to ``broker`` is up (1) or down (0)."""
    if not isinstance(connected, bool):
        raise ValueError(f"connected must be a bool; got {connected!r}")
    attrs = {conv.ATTR_BROKER: check.text("broker", broker)}
    _get().broker_connected.set(int(connected), attrs)


def set_broker_rate_limit(broker: str, remaining: float, limit: float) -> float:
    """Report how much of ``broker``'s API rate limit is left; returns the headroom
    (``remaining / limit``, clipped to 0..1) recorded as ``trading.broker.rate_limit.headroom``."""
    limit_value = check.positive("limit", limit)
    remaining_value = check.non_negative("remaining", remaining)
    headroom = min(1.0, remaining_value / limit_value)
    attrs = {conv.ATTR_BROKER: check.text("broker", broker)}
    _get().broker_rate_limit_headroom.set(headroom, attrs)
    return headroom


def set_risk(
    *,
    var: float | None = None,
    gross_exposure: float | None = None,
    net_exposure: float | None = None,
    currency: str | None = None,
    portfolio: str | None = None,
) -> None:
    """Report risk figures: VaR as a positive loss amount, gross (>= 0) and net exposure."""
    var_amount = check.optional(check.non_negative, "var", var)
    gross = check.optional(check.non_negative, "gross_exposure", gross_exposure)
    net = check.optional(check.finite, "net_exposure", net_exposure)
    attrs = _money_attributes(currency, portfolio)
    instruments = _get()
    for gauge, amount in (
        (instruments.risk_var, var_amount),
        (instruments.risk_gross_exposure, gross),
        (instruments.risk_net_exposure, net),
    ):
        if amount is not None:
            gauge.set(amount, attrs)


def record_cash_flow(
    amount: float, *, currency: str | None = None, portfolio: str | None = None
) -> None:
    """Record an external cash flow: a deposit (positive) or a withdrawal (negative).

    Kept apart from P&L so that returns never count a deposit as profit.
    """
    flow = check.finite("amount", amount)
    _get().cash_flow.add(flow, _money_attributes(currency, portfolio))
