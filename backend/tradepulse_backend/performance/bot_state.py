"""One bot's live state (its portfolios, execution window and counter cursors) and what each
monitored metric does to it: the dispatch table of the performance monitor."""

from __future__ import annotations

from typing import Any

from tradepulse import conventions as conv
from tradepulse_backend.performance.account import PortfolioAccount, ReturnSettings
from tradepulse_backend.performance.calendar import TradingCalendar
from tradepulse_backend.performance.execution import (
    LATENCY_BOUNDS_S,
    ExecutionCounts,
    ExecutionWindow,
    rebin,
    signed_slippage,
)
from tradepulse_backend.performance.exponential import ExponentialHistogram, negated
from tradepulse_backend.performance.inputs import (
    Histogram,
    IncreaseCursor,
    Observation,
    value_of,
)
from tradepulse_backend.telemetry.records import Temporality

_LEVELS = {
    conv.METRIC_PORTFOLIO_CASH: "cash",
    conv.METRIC_PNL_REALIZED: "realized_pnl",
    conv.METRIC_PNL_UNREALIZED: "unrealized_pnl",
    conv.METRIC_RISK_VAR: "var",
    conv.METRIC_RISK_VAR_LIMIT: "var_limit",
    conv.METRIC_RISK_GROSS_EXPOSURE: "gross_exposure",
    conv.METRIC_RISK_NET_EXPOSURE: "net_exposure",
}
_POSITION_FIGURES = {
    conv.METRIC_POSITION_QUANTITY: "quantity",
    conv.METRIC_POSITION_MARKET_VALUE: "market_value",
    conv.METRIC_POSITION_PNL_UNREALIZED: "unrealized_pnl",
}


class BotState:
    """Everything the monitor knows about one bot."""

    def __init__(self, settings: ReturnSettings, calendar: TradingCalendar,
                 window_s: float) -> None:
        self.settings = settings
        self.calendar = calendar
        self.accounts: dict[str, PortfolioAccount] = {}
        self.execution = ExecutionWindow(window_s)
        self.cursor = IncreaseCursor()
        self.last_ns = 0
        self.trade_keys: set[bytes] = set()

    def count_trade(self, portfolio: str, key: bytes, pnl: float) -> bool:
        """Count a closed trade once, however often it is read (replays, restarts)."""
        if key in self.trade_keys:
            return False
        self.trade_keys.add(key)
        self.account(portfolio).trades.add(pnl)
        return True

    def account(self, portfolio: str) -> PortfolioAccount:
        found = self.accounts.get(portfolio)
        if found is None:
            found = self.accounts[portfolio] = PortfolioAccount(self.settings, self.calendar)
        return found

    def to_dict(self) -> dict[str, Any]:
        return {"accounts": {name: a.to_dict() for name, a in self.accounts.items()},
                "execution": self.execution.to_dict(), "cursor": self.cursor.last,
                "last_ns": self.last_ns}

    @classmethod
    def from_dict(cls, data: dict[str, Any], settings: ReturnSettings,
                  calendar: TradingCalendar, window_s: float) -> BotState:
        state = cls(settings, calendar, window_s)
        state.accounts = {name: PortfolioAccount.from_dict(a, settings, calendar)
                          for name, a in data["accounts"].items()}
        state.execution = ExecutionWindow.from_dict(data["execution"], window_s)
        state.cursor = IncreaseCursor(data["cursor"])
        state.last_ns = data["last_ns"]
        return state


def observation_from_row(row: dict[str, Any]) -> Observation:
    return Observation(row["service"], row["name"], row["attributes"], row["time_ns"],
                       row["start_ns"], value_of(row["kind"], row["value"]),
                       row["temporality"] == Temporality.DELTA, row["monotonic"])


def _on_value(state: BotState, obs: Observation, value: float) -> None:
    account = state.account(obs.portfolio)
    account.add_value(obs.time_ns, value)
    currency = obs.attributes.get(conv.ATTR_CURRENCY)
    if currency:
        account.currency = str(currency)


def _on_flow(state: BotState, obs: Observation, value: float) -> None:
    if value:
        state.account(obs.portfolio).add_flow(value)


def _on_level(state: BotState, obs: Observation, value: float) -> None:
    state.account(obs.portfolio).set_level(_LEVELS[obs.name], value)


def _on_position(state: BotState, obs: Observation, value: float) -> None:
    symbol = str(obs.attributes.get(conv.ATTR_SYMBOL, ""))
    state.account(obs.portfolio).set_position(
        symbol, obs.time_ns, **{_POSITION_FIGURES[obs.name]: value})


def _on_limit(state: BotState, obs: Observation, value: float) -> None:
    symbol = str(obs.attributes.get(conv.ATTR_SYMBOL, ""))
    state.account(obs.portfolio).limits[symbol] = value


def _on_orders(state: BotState, obs: Observation, value: float) -> None:
    if value > 0:
        status = str(obs.attributes.get(conv.ATTR_ORDER_STATUS, "unknown"))
        state.execution.add(obs.time_ns, obs.attributes, ExecutionCounts(orders={status: value}))


def _on_latency(state: BotState, obs: Observation,
                value: Histogram | ExponentialHistogram) -> None:
    if value.count <= 0:
        return
    if isinstance(value, ExponentialHistogram):
        counts = ExecutionCounts(latency_exp=value)
    else:
        counts = ExecutionCounts(latency=rebin(value.bounds, value.counts, LATENCY_BOUNDS_S))
    state.execution.add(obs.time_ns, obs.attributes, counts)


def _on_slippage(state: BotState, obs: Observation,
                 value: Histogram | ExponentialHistogram) -> None:
    if value.count <= 0:
        return
    direction = str(obs.attributes.get(conv.ATTR_SLIPPAGE_DIRECTION, "adverse"))
    favorable = direction == conv.SlippageDirection.FAVORABLE.value
    sign = -1.0 if favorable else 1.0
    if isinstance(value, ExponentialHistogram):
        counts = ExecutionCounts(slippage_exp=negated(value) if favorable else value,
                                 slippage_sum=sign * value.sum, slippage_count=value.count)
    else:
        magnitudes = rebin(value.bounds, value.counts, conv.SLIPPAGE_BUCKETS_BPS)
        counts = ExecutionCounts(slippage=signed_slippage(direction, magnitudes),
                                 slippage_sum=sign * value.sum, slippage_count=value.count)
    state.execution.add(obs.time_ns, obs.attributes, counts)


HANDLERS = {
    conv.METRIC_PORTFOLIO_VALUE: _on_value,
    conv.METRIC_PORTFOLIO_CASH_FLOW: _on_flow,
    **dict.fromkeys(_LEVELS, _on_level),
    **dict.fromkeys(_POSITION_FIGURES, _on_position),
    conv.METRIC_RISK_POSITION_LIMIT: _on_limit,
    conv.METRIC_ORDERS: _on_orders,
    conv.METRIC_ORDER_DURATION: _on_latency,
    conv.METRIC_FILL_SLIPPAGE: _on_slippage,
}
EXECUTION_INPUTS = frozenset({conv.METRIC_ORDERS, conv.METRIC_ORDER_DURATION,
                        conv.METRIC_FILL_SLIPPAGE})
