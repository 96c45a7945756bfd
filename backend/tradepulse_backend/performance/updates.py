"""`PerformanceMonitor.update_portfolio_data(data)`: the direct feed, validated by pydantic and
turned into the same observations the OTLP path produces."""

from __future__ import annotations

import os
from collections import defaultdict
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from tradepulse import conventions as conv
from tradepulse_backend.performance import exponential
from tradepulse_backend.performance.inputs import Observation, Trade

_BASE = ConfigDict(extra="forbid", allow_inf_nan=False)


def _aware(moment: datetime | float) -> datetime | float:
    if isinstance(moment, datetime) and moment.tzinfo is None:
        raise ValueError("needs a timezone (or unix seconds)")
    return moment


Moment = Annotated[datetime | float, AfterValidator(_aware)]


class PositionIn(BaseModel):
    model_config = _BASE
    quantity: float
    market_value: float | None = None
    unrealized_pnl: float | None = None


class OrderIn(BaseModel):
    model_config = _BASE
    status: conv.OrderStatus
    latency_s: float | None = Field(None, ge=0)
    symbol: str | None = None
    broker: str | None = None


class FillIn(BaseModel):
    model_config = _BASE
    slippage_bps: float
    symbol: str | None = None
    broker: str | None = None


class TradeIn(BaseModel):
    model_config = _BASE
    pnl: float
    symbol: str = ""
    side: str = ""
    quantity: float | None = None
    trade_return: float | None = Field(None, alias="return")
    entry_time: Moment | None = None
    exit_time: Moment | None = None


class PortfolioUpdate(BaseModel):
    """One update of a bot's portfolio as of `timestamp` (default: now)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, populate_by_name=True)

    service: str = Field("unknown_service", min_length=1)
    portfolio: str = ""
    timestamp: Moment | None = None
    currency: str | None = None
    portfolio_value: float | None = Field(
        None, validation_alias=AliasChoices("portfolio_value", "total_value"))
    cash: float | None = None
    cash_flow: float | None = None
    realized_pnl: float | None = None
    unrealized_pnl: float | None = None
    positions: dict[str, PositionIn] = Field(default_factory=dict)
    position_limits: dict[str, float] = Field(default_factory=dict)
    var: float | None = None
    var_limit: float | None = None
    gross_exposure: float | None = None
    net_exposure: float | None = None
    orders: list[OrderIn] = Field(default_factory=list)
    fills: list[FillIn] = Field(default_factory=list)
    trades: list[TradeIn] = Field(default_factory=list)

    @field_validator("positions", mode="before")
    @classmethod
    def _plain_quantities(cls, value: Any) -> Any:
        """Accept {symbol: quantity} as well as {symbol: {quantity, market_value, ...}}."""
        if isinstance(value, dict):
            return {k: {"quantity": v} if isinstance(v, int | float) else v
                    for k, v in value.items()}
        return value

    @property
    def time_ns(self) -> int:
        """When the update happened; `parse_update` dates an undated one."""
        if self.timestamp is None:
            raise ValueError("an update needs a timestamp: read it through parse_update")
        return _ns(self.timestamp)

    def observations(self) -> list[Observation]:
        """The update as observations; counters and histograms as increases (delta)."""
        now = self.time_ns
        base = {conv.ATTR_PORTFOLIO: self.portfolio} if self.portfolio else {}
        money = {**base, **({conv.ATTR_CURRENCY: self.currency} if self.currency else {})}
        out = [self._point(name, money, now, value) for name, value in self._levels()
               if value is not None]
        for symbol, position in self.positions.items():
            attrs = {**base, conv.ATTR_SYMBOL: symbol}
            out.append(self._point(conv.METRIC_POSITION_QUANTITY, attrs, now, position.quantity))
            if position.market_value is not None:
                out.append(self._point(conv.METRIC_POSITION_MARKET_VALUE, attrs, now,
                                       position.market_value))
            if position.unrealized_pnl is not None:
                out.append(self._point(conv.METRIC_POSITION_PNL_UNREALIZED, attrs, now,
                                       position.unrealized_pnl))
        for symbol, limit in self.position_limits.items():
            out.append(self._point(conv.METRIC_RISK_POSITION_LIMIT,
                                   {**base, conv.ATTR_SYMBOL: symbol}, now, limit))
        return out + self._order_observations(now) + self._fill_observations(now)

    def _levels(self) -> list[tuple[str, float | None]]:
        return [(conv.METRIC_PORTFOLIO_CASH_FLOW, self.cash_flow),
                (conv.METRIC_PORTFOLIO_VALUE, self.portfolio_value),
                (conv.METRIC_PORTFOLIO_CASH, self.cash),
                (conv.METRIC_PNL_REALIZED, self.realized_pnl),
                (conv.METRIC_PNL_UNREALIZED, self.unrealized_pnl),
                (conv.METRIC_RISK_VAR, self.var), (conv.METRIC_RISK_VAR_LIMIT, self.var_limit),
                (conv.METRIC_RISK_GROSS_EXPOSURE, self.gross_exposure),
                (conv.METRIC_RISK_NET_EXPOSURE, self.net_exposure)]

    def _point(self, name: str, attrs: dict[str, Any], now: int, value: Any) -> Observation:
        return Observation(self.service, name, attrs, now, now, value, delta=True)

    def _order_observations(self, now: int) -> list[Observation]:
        counts: dict[str, float] = defaultdict(float)
        latencies: dict[str, list[float]] = defaultdict(list)
        for order in self.orders:
            attrs = _attrs(order.symbol, order.broker)
            counts[_key(attrs, order.status.value)] += 1
            if order.latency_s is not None:
                latencies[_key(attrs)].append(order.latency_s)
        out = [self._point(conv.METRIC_ORDERS, _unkey(key), now, n) for key, n in counts.items()]
        out += [self._point(conv.METRIC_ORDER_DURATION, _unkey(key), now,
                            exponential.from_values(values))
                for key, values in latencies.items()]
        return out

    def _fill_observations(self, now: int) -> list[Observation]:
        groups: dict[str, list[float]] = defaultdict(list)
        for fill in self.fills:
            direction = conv.SlippageDirection.of(fill.slippage_bps).value
            attrs = {**_attrs(fill.symbol, fill.broker), conv.ATTR_SLIPPAGE_DIRECTION: direction}
            groups[_key(attrs)].append(abs(fill.slippage_bps))
        return [self._point(conv.METRIC_FILL_SLIPPAGE, _unkey(key), now,
                            exponential.from_values(values))
                for key, values in groups.items()]

    def trades_closed(self) -> list[Trade]:
        now = self.time_ns
        return [Trade(self.service, self.portfolio, t.symbol, t.side, t.pnl,
                      _ns(t.entry_time) if t.entry_time is not None else now,
                      _ns(t.exit_time) if t.exit_time is not None else now,
                      t.quantity, t.trade_return, os.urandom(24)) for t in self.trades]




def _attrs(symbol: str | None, broker: str | None) -> dict[str, str]:
    return {key: value for key, value in ((conv.ATTR_SYMBOL, symbol), (conv.ATTR_BROKER, broker))
            if value}


def _key(attrs: dict[str, str], status: str | None = None) -> str:
    items = sorted(attrs.items()) + ([(conv.ATTR_ORDER_STATUS, status)] if status else [])
    return "\x1f".join(f"{k}\x1e{v}" for k, v in items)


def _unkey(key: str) -> dict[str, str]:
    return dict(part.split("\x1e", 1) for part in key.split("\x1f") if part)


def _ns(moment: datetime | float) -> int:
    if isinstance(moment, datetime):
        return int(moment.timestamp() * 1e9)
    return int(moment * 1e9)


def parse_update(data: PortfolioUpdate | dict[str, Any], *, now_ns: int) -> PortfolioUpdate:
    """Validate an update, dated `now_ns` when it names no timestamp (one moment for all its
    points and trades); a ValueError names each bad field and nothing is absorbed."""
    if not isinstance(data, PortfolioUpdate | dict):
        raise ValueError(f"portfolio data must be a mapping, got {type(data).__name__}")
    try:
        update = data if isinstance(data, PortfolioUpdate) else PortfolioUpdate.model_validate(
            data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'data'}: {e['msg']}"
            for e in error.errors(include_url=False))
        raise ValueError(f"invalid portfolio data: {problems}") from None
    if update.timestamp is None:
        update = update.model_copy(update={"timestamp": now_ns / 1e9})
    return update
