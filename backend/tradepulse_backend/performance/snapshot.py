"""PerformanceSnapshot: one portfolio's figures at one moment, and why a figure is null."""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from tradepulse_backend.performance.execution import ExecutionCounts
from tradepulse_backend.store.series_math import finite


@dataclass
class PerformanceSnapshot:
    """A portfolio's performance at one moment; field names are what alert rules use."""

    timestamp: float
    service: str
    portfolio: str = ""
    currency: str | None = None
    portfolio_value: float | None = None
    cash: float | None = None
    total_pnl: float | None = None
    realized_pnl: float | None = None
    unrealized_pnl: float | None = None
    pnl_today: float | None = None
    daily_return: float | None = None
    weekly_return: float | None = None
    monthly_return: float | None = None
    ytd_return: float | None = None
    total_return: float | None = None
    annualized_return: float | None = None
    volatility: float | None = None
    sharpe_ratio: float | None = None
    sortino_ratio: float | None = None
    calmar_ratio: float | None = None
    max_drawdown: float | None = None
    current_drawdown: float | None = None
    longest_drawdown_days: float | None = None
    current_drawdown_days: float | None = None
    var_95: float | None = None
    cvar_95: float | None = None
    best_day: float | None = None
    worst_day: float | None = None
    days: int = 0
    win_rate: float | None = None
    profit_factor: float | None = None
    trades: int = 0
    best_trade: float | None = None
    worst_trade: float | None = None
    gross_exposure: float | None = None
    net_exposure: float | None = None
    largest_position_share: float | None = None
    herfindahl_index: float | None = None
    position_limit_breaches: int = 0
    breached_symbols: list[str] = field(default_factory=list)
    reported_var: float | None = None
    var_limit: float | None = None
    var_limit_usage: float | None = None
    orders: int = 0
    order_success_rate: float | None = None
    rejection_rate: float | None = None
    fill_rate: float | None = None
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    latency_p99_ms: float | None = None
    slippage_mean_bps: float | None = None
    slippage_p95_bps: float | None = None
    by_broker: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_symbol: dict[str, dict[str, Any]] = field(default_factory=dict)
    positions: dict[str, dict[str, Any]] = field(default_factory=dict)
    late_points: int = 0
    undefined_returns: int = 0
    reasons: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_figures(cls, figures: dict[str, Any], **identity: Any) -> PerformanceSnapshot:
        """A snapshot from computed figures: non-finite numbers become None with a reason."""
        known = {f.name for f in fields(cls)}
        clean = {k: finite(v) if isinstance(v, float) else v
                 for k, v in figures.items() if k in known}
        if clean.get("days", 0) < MIN_DAYS:
            clean.update(dict.fromkeys(_DAILY_STATS & clean.keys()))
        snapshot = cls(**identity, **clean)
        snapshot.reasons = {name: reason for name in NUMERIC_FIELDS
                            if getattr(snapshot, name) is None
                            and (reason := null_reason(name, snapshot))}
        return snapshot

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def value(self, name: str) -> float | int | None:
        """A figure by the name alert rules use; only figures (FIGURE_FIELDS) are reachable,
        so user text never reaches methods, identity fields or dunder attributes."""
        if name not in _FIGURES:
            close = difflib.get_close_matches(str(name), FIGURE_FIELDS, n=3, cutoff=0.6)
            hint = f"; did you mean {', '.join(close)}?" if close else \
                f"; one of {', '.join(FIGURE_FIELDS)}"
            raise UnknownFigure(f"unknown performance figure {str(name)[:60]!r}{hint}")
        return getattr(self, name)


class UnknownFigure(KeyError, ValueError):
    """A figure name no snapshot has; the message names it and the closest figures."""

    def __str__(self) -> str:
        return str(self.args[0])


MIN_DAYS = 2
"""Daily statistics (annualized figures, ratios, VaR) need this many daily returns: annualizing
or taking a percentile of a single day would print numbers that mean nothing."""
NUMERIC_FIELDS = tuple(
    f.name for f in fields(PerformanceSnapshot)
    if f.type in ("float | None",) and f.name != "timestamp")
FIGURE_FIELDS = NUMERIC_FIELDS + tuple(
    f.name for f in fields(PerformanceSnapshot) if f.type == "int")
"""The snapshot's figures: every number but the timestamp (floats that may be null, and counts)."""
_FIGURES = frozenset(FIGURE_FIELDS)
_DAILY_STATS = frozenset({"annualized_return", "volatility", "sharpe_ratio", "sortino_ratio",
                          "calmar_ratio", "var_95", "cvar_95"})
_REASONS = {
    "sharpe_ratio": "daily returns have zero volatility",
    "sortino_ratio": "no daily return below the risk-free rate, so downside deviation is 0",
    "calmar_ratio": "no drawdown yet",
    "volatility": "needs at least 2 daily returns",
    "win_rate": "no closed trade yet",
    "profit_factor": "no losing trade yet",
    "best_trade": "no closed trade yet",
    "worst_trade": "no closed trade yet",
    "var_limit_usage": "no VaR and VaR limit reported",
    "largest_position_share": "no position market values reported",
    "herfindahl_index": "no position market values reported",
}


_EXECUTION_FIELDS = frozenset(ExecutionCounts().figures())


def null_reason(name: str, snapshot: PerformanceSnapshot) -> str | None:
    """Why a figure is null, in words for the API and the page."""
    if snapshot.portfolio_value is None and name not in _EXECUTION_FIELDS:
        return "no portfolio value reported yet"
    if name in _DAILY_STATS and snapshot.days < MIN_DAYS:
        return f"needs at least {MIN_DAYS} daily returns"
    if snapshot.undefined_returns and name in _DAILY_STATS | {"daily_return", "total_return"}:
        return "portfolio value was zero or negative, so returns from there are undefined"
    if name in _EXECUTION_FIELDS:
        return f"no {'fills with slippage' if 'slippage' in name else 'orders'} in the window"
    return _REASONS.get(name)
