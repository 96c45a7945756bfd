"""One portfolio's live performance state, updated in O(1) per observed value.

Returns are time-weighted: each new value is compared with the previous one net of the
external cash flows reported since (deposits are not profit), and chained into an index that
starts at 1.0. Daily returns are the index's closes per local trading day; the current day
counts with its latest value as a provisional close, and the first day counts only if it has
more than one value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from tradepulse_backend.performance import running_stats as rs
from tradepulse_backend.performance.calendar import TradingCalendar

POSITION_TOLERANCE_NS = 1_000_000_000
"""Positions reported more than this before the newest position report have been closed."""


@dataclass(frozen=True, slots=True)
class ReturnSettings:
    """How returns are annualized and what a period's risk-free return is."""

    annualization: int = 252
    risk_free_rate: float = 0.0


class TradeTally:
    """Round-trip trade counts and sums for win rate and profit factor."""

    __slots__ = ("best", "count", "gross_loss", "gross_profit", "wins", "worst")

    def __init__(self) -> None:
        self.count = 0
        self.wins = 0
        self.gross_profit = 0.0
        self.gross_loss = 0.0
        self.best = -math.inf
        self.worst = math.inf

    def add(self, pnl: float) -> None:
        self.count += 1
        if pnl > 0:
            self.wins += 1
            self.gross_profit += pnl
        elif pnl < 0:
            self.gross_loss += pnl
        self.best = max(self.best, pnl)
        self.worst = min(self.worst, pnl)

    def figures(self) -> dict[str, float | None]:
        return {
            "trades": self.count,
            "win_rate": self.wins / self.count if self.count else None,
            "profit_factor": self.gross_profit / -self.gross_loss if self.gross_loss else None,
            "best_trade": self.best if self.count else None,
            "worst_trade": self.worst if self.count else None,
        }


class PortfolioAccount:
    """Value, returns, drawdown, P&L, positions, risk and trades of one (service, portfolio)."""

    def __init__(self, settings: ReturnSettings, calendar: TradingCalendar) -> None:
        self.settings = settings
        self.calendar = calendar
        self.first_ns: int | None = None
        self.first_value: float | None = None
        self.last_ns: int | None = None
        self.value: float | None = None
        self.index = 1.0
        self.pending_flow = 0.0
        self.net_flows = 0.0
        self.flows_today = 0.0
        self.day: int | None = None
        self.day_points = 0
        self.closes = 0
        self.prev_close_index = 1.0
        self.prev_close_value: float | None = None
        self.bases = {"week": 1.0, "month": 1.0, "year": 1.0}
        self.days = rs.RunningMoments(required_return=settings.risk_free_rate)
        self.sorted_days = rs.SortedReturns()
        self.drawdown = rs.RunningDrawdown()
        self.undefined_returns = 0
        self.late_points = 0
        self.levels: dict[str, float] = {}
        self.currency: str | None = None
        self.positions: dict[str, dict[str, Any]] = {}
        self.positions_ns = 0
        self.limits: dict[str, float] = {}
        self.trades = TradeTally()

    # --- absorbing -----------------------------------------------------------------------

    def add_flow(self, amount: float) -> None:
        """An external cash flow, applied to the next portfolio value observed."""
        self.pending_flow += amount

    def add_value(self, time_ns: int, value: float) -> None:
        """Absorb one portfolio value; an older or repeated timestamp is skipped."""
        if self.last_ns is not None and time_ns <= self.last_ns:
            self.late_points += time_ns < self.last_ns
            return
        day = self.calendar.day(time_ns)
        if self.first_ns is None:
            self._start(time_ns, value, day)
            return
        if day != self.day:
            self._close_day(day)
        flow, self.pending_flow = self.pending_flow, 0.0
        step = step_index(self.index, self.value, value, flow)
        if step is None:
            self.undefined_returns += 1
        else:
            self.index = step
        self.net_flows += flow
        self.flows_today += flow
        self.value, self.last_ns = value, time_ns
        self.day_points += 1
        self.drawdown.add(time_ns / 1e9, self.index)

    def _start(self, time_ns: int, value: float, day: int) -> None:
        self.first_ns = self.last_ns = time_ns
        self.first_value = self.value = self.prev_close_value = value
        self.pending_flow = 0.0
        self.day, self.day_points = day, 1
        self.drawdown.add(time_ns / 1e9, self.index)

    def _close_day(self, new_day: int) -> None:
        if self.prev_close_index > 0 and self._day_has_return():
            daily = self.index / self.prev_close_index - 1.0
            self.days.add(daily)
            self.sorted_days.add(daily)
        for period, key in (("week", TradingCalendar.week), ("month", TradingCalendar.month),
                            ("year", TradingCalendar.year)):
            if key(new_day) != key(self.day):
                self.bases[period] = self.index
        self.prev_close_index, self.prev_close_value = self.index, self.value
        self.flows_today = 0.0
        self.day, self.day_points = new_day, 0
        self.closes += 1

    def set_level(self, name: str, value: float) -> None:
        """The latest value of a portfolio-level gauge (cash, P&L, VaR, exposure, ...)."""
        self.levels[name] = value

    def set_position(self, symbol: str, time_ns: int, **figures: float) -> None:
        entry = self.positions.setdefault(symbol, {})
        entry.update(figures, time_ns=max(time_ns, entry.get("time_ns", 0)))
        self.positions_ns = max(self.positions_ns, time_ns)

    # --- reading --------------------------------------------------------------------------

    def figures(self) -> dict[str, Any]:
        """Every field of the snapshot this account contributes, with None where undefined."""
        returns = self._returns() if self.first_ns is not None else {}
        return {**returns, **self._risk(), **self.trades.figures()}

    def _day_has_return(self) -> bool:
        """A day's return needs an earlier value: the previous close or, on the first day,
        an earlier value that day (a bot reporting once a day starts with its second day)."""
        return self.closes > 0 or self.day_points > 1

    def daily_return_now(self) -> float | None:
        return self.index / self.prev_close_index - 1.0 if self.prev_close_index > 0 else None

    def _returns(self) -> dict[str, Any]:
        s = self.settings
        today = self.daily_return_now()
        counted = today is not None and self._day_has_return()
        days = self.days.plus(today) if counted else self.days
        ordered = self.sorted_days.plus(today) if counted else self.sorted_days
        dd = self.drawdown
        annual = rs.cagr(days, s.annualization)
        return {
            "portfolio_value": self.value,
            "total_pnl": self.value - self.first_value - self.net_flows,
            "pnl_today": self.value - self.prev_close_value - self.flows_today,
            "daily_return": today,
            "weekly_return": _growth(self.index, self.bases["week"]),
            "monthly_return": _growth(self.index, self.bases["month"]),
            "ytd_return": _growth(self.index, self.bases["year"]),
            "total_return": self.index - 1.0,
            "annualized_return": annual,
            "volatility": rs.volatility(days, s.annualization),
            "sharpe_ratio": rs.sharpe(days, s.risk_free_rate, s.annualization),
            "sortino_ratio": rs.sortino(days, s.risk_free_rate, s.annualization),
            "calmar_ratio": annual / -dd.max_drawdown if dd.max_drawdown < 0 else None,
            "max_drawdown": dd.max_drawdown if dd.max_drawdown <= 0 else 0.0,
            "current_drawdown": dd.current_drawdown,
            "longest_drawdown_days": dd.longest_duration_s / 86_400,
            "current_drawdown_days": dd.current_duration_s / 86_400,
            "var_95": ordered.var(0.05),
            "cvar_95": ordered.cvar(0.05),
            "best_day": days.best if days.count else None,
            "worst_day": days.worst if days.count else None,
            "days": days.count,
            "late_points": self.late_points,
            "undefined_returns": self.undefined_returns,
        }

    def current_positions(self) -> dict[str, dict[str, Any]]:
        """Positions still reported in the newest report, without flat ones."""
        cutoff = self.positions_ns - POSITION_TOLERANCE_NS
        return {symbol: entry for symbol, entry in self.positions.items()
                if entry["time_ns"] >= cutoff and entry.get("quantity", 1.0) != 0}

    def _risk(self) -> dict[str, Any]:
        positions = self.current_positions()
        values = [abs(p["market_value"]) for p in positions.values() if "market_value" in p]
        gross = sum(values) if values else self.levels.get("gross_exposure")
        net = (sum(p["market_value"] for p in positions.values() if "market_value" in p)
               if values else self.levels.get("net_exposure"))
        shares = [v / gross for v in values] if values and gross else []
        breached = sorted(
            symbol for symbol, limit in self.limits.items()
            if abs(positions.get(symbol, {}).get("quantity", 0.0)) > limit)
        var, var_limit = self.levels.get("var"), self.levels.get("var_limit")
        return {
            "cash": self.levels.get("cash"),
            "realized_pnl": self.levels.get("realized_pnl"),
            "unrealized_pnl": self.levels.get("unrealized_pnl"),
            "gross_exposure": gross,
            "net_exposure": net,
            "largest_position_share": max(shares) if shares else None,
            "herfindahl_index": sum(x * x for x in shares) if shares else None,
            "position_limit_breaches": len(breached),
            "breached_symbols": breached,
            "reported_var": var,
            "var_limit": var_limit,
            "var_limit_usage": var / var_limit if var is not None and var_limit else None,
            "positions": {
                symbol: {key: value for key, value in entry.items() if key != "time_ns"}
                | {"limit": self.limits.get(symbol)}
                for symbol, entry in sorted(positions.items())},
        }

    # --- persistence ----------------------------------------------------------------------

    _SCALARS = ("first_ns", "first_value", "last_ns", "value", "index", "pending_flow",
                "net_flows", "flows_today", "day", "day_points", "closes", "prev_close_index",
                "prev_close_value",
                "undefined_returns", "late_points", "currency", "positions_ns")

    def to_dict(self) -> dict[str, Any]:
        data = {key: getattr(self, key) for key in self._SCALARS}
        data.update(bases=self.bases, days=self.days.to_dict(),
                    sorted_days=self.sorted_days.to_list(), drawdown=self.drawdown.to_dict(),
                    levels=self.levels, positions=self.positions, limits=self.limits)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], settings: ReturnSettings,
                  calendar: TradingCalendar) -> PortfolioAccount:
        account = cls(settings, calendar)
        for key in cls._SCALARS:
            setattr(account, key, data[key])
        account.bases = dict(data["bases"])
        account.days = rs.RunningMoments.from_dict(data["days"])
        account.sorted_days = rs.SortedReturns.from_list(data["sorted_days"])
        account.drawdown = rs.RunningDrawdown.from_dict(data["drawdown"])
        account.levels = dict(data["levels"])
        account.positions = {k: dict(v) for k, v in data["positions"].items()}
        account.limits = dict(data["limits"])
        return account


def step_index(index: float, previous: float, value: float, flow: float) -> float | None:
    """The index after one period, or None when the period has no defined return: it started
    at a zero or negative value, or its growth overflows (a near-zero start)."""
    if not previous > 0:
        return None
    growth = max((value - flow) / previous, 0.0)
    stepped = index * growth
    return stepped if math.isfinite(stepped) else None


def _growth(level: float, base: float) -> float | None:
    return level / base - 1.0 if base > 0 else None

