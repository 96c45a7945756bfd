"""The one place naming trading telemetry: metrics, spans, attribute keys, units and buckets.

Names follow OpenTelemetry's rules (lowercase, dot-separated, under ``trading.``; UCUM units).
Currency is always an attribute (``trading.currency``), never part of a name. The SDK records
with these names and the backend reads with them: nobody spells them twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum, StrEnum
from types import MappingProxyType
from typing import Final, TypeVar

# --- attribute keys -------------------------------------------------------------------------

ATTR_SYMBOL: Final = "trading.symbol"
ATTR_SIDE: Final = "trading.side"
ATTR_ORDER_TYPE: Final = "trading.order.type"
ATTR_ORDER_STATUS: Final = "trading.order.status"
ATTR_ORDER_ID: Final = "trading.order.id"
ATTR_ORDER_QUANTITY: Final = "trading.order.quantity"
ATTR_ORDER_PRICE: Final = "trading.order.price"
ATTR_BROKER: Final = "trading.broker"
ATTR_STRATEGY: Final = "trading.strategy"
ATTR_CURRENCY: Final = "trading.currency"
ATTR_REJECT_REASON: Final = "trading.reject.reason"
ATTR_PORTFOLIO: Final = "trading.portfolio"
ATTR_SLIPPAGE_DIRECTION: Final = "trading.slippage.direction"
ATTR_COMPONENT: Final = "trading.component"
"""String: the name of a bot component a health check reports on (``database``, ``feed``)."""
ATTR_HEALTH_STATUS: Final = "trading.health.status"
"""String: ``healthy``, ``degraded`` or ``unhealthy`` (see HealthStatus)."""
ATTR_HEALTH_MESSAGE: Final = "trading.health.message"
"""String: why a health check gave its status."""

# attributes of a closed round-trip trade (the SPAN_TRADE span)
ATTR_TRADE_PNL: Final = "trading.trade.pnl"
"""Double: the trade's profit or loss net of fees, in the currency of ``trading.currency``."""
ATTR_TRADE_QUANTITY: Final = "trading.trade.quantity"
"""Double: instrument units opened and closed by the trade (always positive)."""
ATTR_TRADE_ENTRY_PRICE: Final = "trading.trade.entry_price"
"""Double: average price at which the trade's position was opened."""
ATTR_TRADE_EXIT_PRICE: Final = "trading.trade.exit_price"
"""Double: price at which the trade's position was closed."""
ATTR_TRADE_FEES: Final = "trading.trade.fees"
"""Double: fees and commissions paid on the trade (zero or more), in ``trading.currency``."""
ATTR_TRADE_RETURN: Final = "trading.trade.return"
"""Double: ``pnl / (entry_price * quantity)``, a ratio (0.02 is a 2% gain)."""
ATTR_TRADE_OUTCOME: Final = "trading.trade.outcome"
"""String: ``win``, ``loss`` or ``breakeven`` by the sign of the pnl (see TradeOutcome)."""

# --- units (UCUM; curly braces annotate dimensionless counts) --------------------------------

UNIT_SECONDS: Final = "s"
UNIT_RATIO: Final = "1"
UNIT_QUANTITY: Final = "1"
UNIT_ORDER: Final = "{order}"
UNIT_FILL: Final = "{fill}"
UNIT_TRADE: Final = "{trade}"
UNIT_BASIS_POINT: Final = "{bp}"
UNIT_CURRENCY: Final = "{currency}"
"""An amount of money in the currency named by the ``trading.currency`` attribute."""

# --- bucket boundaries ------------------------------------------------------------------------

ORDER_LATENCY_BUCKETS_S: Final[tuple[float, ...]] = (
    0.0001, 0.00025, 0.0005,
    0.001, 0.0025, 0.005,
    0.01, 0.025, 0.05,
    0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
"""Order round-trip latency boundaries in seconds: 100 µs to 10 s."""

SLIPPAGE_BUCKETS_BPS: Final[tuple[float, ...]] = (
    0.0, 0.5, 1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0,
)
"""Slippage magnitude boundaries in basis points (the sign goes in trading.slippage.direction)."""

# --- metric names -----------------------------------------------------------------------------

METRIC_PORTFOLIO_VALUE: Final = "trading.portfolio.value"
METRIC_PORTFOLIO_CASH: Final = "trading.portfolio.cash"
METRIC_PORTFOLIO_CASH_FLOW: Final = "trading.portfolio.cash_flow"
METRIC_PNL_REALIZED: Final = "trading.pnl.realized"
METRIC_PNL_UNREALIZED: Final = "trading.pnl.unrealized"
METRIC_POSITION_QUANTITY: Final = "trading.position.quantity"
METRIC_POSITION_MARKET_VALUE: Final = "trading.position.market_value"
METRIC_ORDERS: Final = "trading.orders"
METRIC_ORDER_DURATION: Final = "trading.order.duration"
METRIC_OPEN_ORDERS: Final = "trading.open_orders"
METRIC_FILLS: Final = "trading.fills"
METRIC_FILL_QUANTITY: Final = "trading.fill.quantity"
METRIC_FILL_SLIPPAGE: Final = "trading.fill.slippage"
METRIC_REJECTIONS: Final = "trading.rejections"
METRIC_TRADES: Final = "trading.trades"
METRIC_BROKER_CONNECTED: Final = "trading.broker.connected"
METRIC_BROKER_RATE_LIMIT_HEADROOM: Final = "trading.broker.rate_limit.headroom"
METRIC_RISK_VAR: Final = "trading.risk.var"
METRIC_RISK_VAR_LIMIT: Final = "trading.risk.var_limit"
METRIC_RISK_GROSS_EXPOSURE: Final = "trading.risk.gross_exposure"
METRIC_RISK_NET_EXPOSURE: Final = "trading.risk.net_exposure"
METRIC_RISK_POSITION_LIMIT: Final = "trading.risk.position_limit"
METRIC_POSITION_PNL_UNREALIZED: Final = "trading.position.pnl.unrealized"

# --- span names -------------------------------------------------------------------------------

SPAN_STRATEGY_STEP: Final = "trading.strategy.step"
SPAN_ORDER_SUBMIT: Final = "trading.order.submit"
SPAN_ORDER_CANCEL: Final = "trading.order.cancel"
SPAN_RISK_CHECK: Final = "trading.risk.check"
SPAN_TRADE: Final = "trading.trade"
"""One closed round-trip trade, a root span: start = entry time, end = exit time."""
SPAN_HEALTH_CHECK: Final = "trading.health.check"
"""One run of a bot-side health check, a root span lasting as long as the check; its
``trading.component``, ``trading.health.status`` and ``trading.health.message`` say the outcome."""


# --- closed sets ------------------------------------------------------------------------------


_E = TypeVar("_E", bound=StrEnum)


class Side(StrEnum):
    """Order side; ``sign`` is +1 for a buy and -1 for a sell."""

    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        """+1 for a buy, -1 for a sell: the direction of the position change."""
        return 1 if self is Side.BUY else -1

    @classmethod
    def parse(cls, value: Side | str, *, argument: str = "side") -> Side:
        """Read a side case-insensitively; raise ValueError naming ``argument`` if unknown."""
        return _parse_enum(cls, value, argument)


class OrderStatus(StrEnum):
    """Lifecycle state of an order as reported in ``trading.order.status``."""

    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @classmethod
    def parse(cls, value: OrderStatus | str, *, argument: str = "status") -> OrderStatus:
        """Read a status case-insensitively; raise ValueError naming ``argument`` if unknown."""
        return _parse_enum(cls, value, argument)


class SlippageDirection(StrEnum):
    """Whether a fill was worse (adverse) or better (favorable) than expected, or exact."""

    ADVERSE = "adverse"
    FAVORABLE = "favorable"
    NONE = "none"

    @classmethod
    def of(cls, slippage_bps: float) -> SlippageDirection:
        """Direction of a signed slippage (positive is adverse)."""
        if slippage_bps > 0:
            return cls.ADVERSE
        return cls.FAVORABLE if slippage_bps < 0 else cls.NONE


class TradeOutcome(StrEnum):
    """Result of a closed trade as reported in ``trading.trade.outcome``."""

    WIN = "win"
    LOSS = "loss"
    BREAKEVEN = "breakeven"

    @classmethod
    def of(cls, pnl: float) -> TradeOutcome:
        """Outcome of a trade's net pnl: positive wins, negative loses, exactly zero breaks even."""
        if pnl > 0:
            return cls.WIN
        return cls.LOSS if pnl < 0 else cls.BREAKEVEN


class HealthStatus(StrEnum):
    """Outcome of a bot-side health check as reported in ``trading.health.status``."""

    HEALTHY = "healthy"
    DEGRADED = "degraded"
    UNHEALTHY = "unhealthy"

    @classmethod
    def parse(cls, value: HealthStatus | str, *, argument: str = "status") -> HealthStatus:
        """Read a status case-insensitively; raise ValueError naming ``argument`` if unknown."""
        return _parse_enum(cls, value, argument)


class OrderType(StrEnum):
    """Common order types for ``trading.order.type``; brokers' other types pass through as text."""

    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"
    TRAILING_STOP = "trailing_stop"


def _parse_enum(cls: type[_E], value: _E | str, argument: str) -> _E:
    if isinstance(value, cls):
        return value
    if isinstance(value, str):
        try:
            return cls(value.strip().lower())
        except ValueError:
            pass
    allowed = ", ".join(member.value for member in cls)
    raise ValueError(f"{argument} must be one of {allowed}; got {value!r}")


# --- metric catalogue -------------------------------------------------------------------------


class InstrumentKind(Enum):
    """How a metric is recorded; gauges may be synchronous or observed through callbacks."""

    COUNTER = "counter"
    UP_DOWN_COUNTER = "up_down_counter"
    HISTOGRAM = "histogram"
    GAUGE = "gauge"


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """Everything needed to create (SDK) or interpret (backend) one trading metric."""

    name: str
    kind: InstrumentKind
    unit: str
    description: str
    attributes: tuple[str, ...] = ()
    bucket_boundaries: tuple[float, ...] | None = None


_MONEY_ATTRS = (ATTR_CURRENCY, ATTR_PORTFOLIO)
_ORDER_ATTRS = (ATTR_SYMBOL, ATTR_SIDE, ATTR_ORDER_TYPE, ATTR_ORDER_STATUS, ATTR_BROKER,
                ATTR_STRATEGY)
_FILL_ATTRS = (ATTR_SYMBOL, ATTR_SIDE, ATTR_BROKER, ATTR_STRATEGY)

PORTFOLIO_VALUE = MetricSpec(
    METRIC_PORTFOLIO_VALUE, InstrumentKind.GAUGE, UNIT_CURRENCY,
    "Total portfolio value (cash plus market value of positions).", _MONEY_ATTRS)
PORTFOLIO_CASH = MetricSpec(
    METRIC_PORTFOLIO_CASH, InstrumentKind.GAUGE, UNIT_CURRENCY,
    "Cash held by the portfolio.", _MONEY_ATTRS)
PORTFOLIO_CASH_FLOW = MetricSpec(
    METRIC_PORTFOLIO_CASH_FLOW, InstrumentKind.UP_DOWN_COUNTER, UNIT_CURRENCY,
    "Net external cash flows: deposits positive, withdrawals negative; not profit.",
    _MONEY_ATTRS)
PNL_REALIZED = MetricSpec(
    METRIC_PNL_REALIZED, InstrumentKind.GAUGE, UNIT_CURRENCY,
    "Realized profit and loss of closed trades.", _MONEY_ATTRS)
PNL_UNREALIZED = MetricSpec(
    METRIC_PNL_UNREALIZED, InstrumentKind.GAUGE, UNIT_CURRENCY,
    "Unrealized profit and loss of open positions at current prices.", _MONEY_ATTRS)
POSITION_QUANTITY = MetricSpec(
    METRIC_POSITION_QUANTITY, InstrumentKind.GAUGE, UNIT_QUANTITY,
    "Signed position size in instrument units: negative is short.",
    (ATTR_SYMBOL, ATTR_PORTFOLIO))
POSITION_MARKET_VALUE = MetricSpec(
    METRIC_POSITION_MARKET_VALUE, InstrumentKind.GAUGE, UNIT_CURRENCY,
    "Signed market value of a position.", (ATTR_SYMBOL, ATTR_CURRENCY, ATTR_PORTFOLIO))
ORDERS = MetricSpec(
    METRIC_ORDERS, InstrumentKind.COUNTER, UNIT_ORDER,
    "Orders by symbol, side, type and resulting status.", _ORDER_ATTRS)
ORDER_DURATION = MetricSpec(
    METRIC_ORDER_DURATION, InstrumentKind.HISTOGRAM, UNIT_SECONDS,
    "Order latency from submission to broker acknowledgement.", _ORDER_ATTRS,
    ORDER_LATENCY_BUCKETS_S)
OPEN_ORDERS = MetricSpec(
    METRIC_OPEN_ORDERS, InstrumentKind.GAUGE, UNIT_ORDER,
    "Orders submitted and not yet in a final state.", (ATTR_BROKER,))
FILLS = MetricSpec(
    METRIC_FILLS, InstrumentKind.COUNTER, UNIT_FILL,
    "Executions (full or partial fills).", _FILL_ATTRS)
FILL_QUANTITY = MetricSpec(
    METRIC_FILL_QUANTITY, InstrumentKind.COUNTER, UNIT_QUANTITY,
    "Filled quantity in instrument units.", _FILL_ATTRS)
FILL_SLIPPAGE = MetricSpec(
    METRIC_FILL_SLIPPAGE, InstrumentKind.HISTOGRAM, UNIT_BASIS_POINT,
    "Size of fill slippage against the expected price; trading.slippage.direction tells "
    "adverse from favorable (OpenTelemetry histograms take no negative values).",
    (*_FILL_ATTRS, ATTR_SLIPPAGE_DIRECTION), SLIPPAGE_BUCKETS_BPS)
REJECTIONS = MetricSpec(
    METRIC_REJECTIONS, InstrumentKind.COUNTER, UNIT_ORDER,
    "Orders rejected, by reason.",
    (ATTR_SYMBOL, ATTR_REJECT_REASON, ATTR_SIDE, ATTR_ORDER_TYPE, ATTR_BROKER, ATTR_STRATEGY))
TRADES = MetricSpec(
    METRIC_TRADES, InstrumentKind.COUNTER, UNIT_TRADE,
    "Closed round-trip trades by symbol, entry side and outcome; each is also a trading.trade "
    "span carrying its P&L.",
    (ATTR_SYMBOL, ATTR_SIDE, ATTR_TRADE_OUTCOME, ATTR_STRATEGY, ATTR_PORTFOLIO))
BROKER_CONNECTED = MetricSpec(
    METRIC_BROKER_CONNECTED, InstrumentKind.GAUGE, UNIT_RATIO,
    "Broker connectivity: 1 connected, 0 disconnected.", (ATTR_BROKER,))
BROKER_RATE_LIMIT_HEADROOM = MetricSpec(
    METRIC_BROKER_RATE_LIMIT_HEADROOM, InstrumentKind.GAUGE, UNIT_RATIO,
    "Share of the broker API's rate limit still available: remaining / limit, 0 to 1.",
    (ATTR_BROKER,))
RISK_VAR = MetricSpec(
    METRIC_RISK_VAR, InstrumentKind.GAUGE, UNIT_CURRENCY,
    "Value at risk, as a positive loss amount.", _MONEY_ATTRS)
RISK_VAR_LIMIT = MetricSpec(
    METRIC_RISK_VAR_LIMIT, InstrumentKind.GAUGE, UNIT_CURRENCY,
    "Maximum value at risk allowed.", _MONEY_ATTRS)
RISK_GROSS_EXPOSURE = MetricSpec(
    METRIC_RISK_GROSS_EXPOSURE, InstrumentKind.GAUGE, UNIT_CURRENCY,
    "Sum of absolute position market values.", _MONEY_ATTRS)
RISK_NET_EXPOSURE = MetricSpec(
    METRIC_RISK_NET_EXPOSURE, InstrumentKind.GAUGE, UNIT_CURRENCY,
    "Sum of signed position market values.", _MONEY_ATTRS)
RISK_POSITION_LIMIT = MetricSpec(
    METRIC_RISK_POSITION_LIMIT, InstrumentKind.GAUGE, UNIT_QUANTITY,
    "Maximum absolute position size allowed per symbol.", (ATTR_SYMBOL, ATTR_PORTFOLIO))
POSITION_PNL_UNREALIZED = MetricSpec(
    METRIC_POSITION_PNL_UNREALIZED, InstrumentKind.GAUGE, UNIT_CURRENCY,
    "Unrealized profit and loss of one open position at current prices.",
    (ATTR_SYMBOL, ATTR_CURRENCY, ATTR_PORTFOLIO))

METRICS: Final[Mapping[str, MetricSpec]] = MappingProxyType({
    spec.name: spec
    for spec in (
        PORTFOLIO_VALUE, PORTFOLIO_CASH, PORTFOLIO_CASH_FLOW, PNL_REALIZED, PNL_UNREALIZED,
        POSITION_QUANTITY, POSITION_MARKET_VALUE, ORDERS, ORDER_DURATION, OPEN_ORDERS, FILLS,
        FILL_QUANTITY, FILL_SLIPPAGE, REJECTIONS, TRADES, BROKER_CONNECTED, RISK_VAR,
        RISK_VAR_LIMIT, RISK_GROSS_EXPOSURE, RISK_NET_EXPOSURE, RISK_POSITION_LIMIT,
        BROKER_RATE_LIMIT_HEADROOM, POSITION_PNL_UNREALIZED,
    )
})
"""Every trading metric by name."""
