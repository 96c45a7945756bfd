"""Full recomputation of performance figures over stored history, vectorized with numpy.

`recompute` gives the same figures as the live `PortfolioAccount` fed the same points one by
one (a test holds them equal); it serves period summaries, reports and the benchmark.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

import numpy as np

from tradepulse import conventions as conv
from tradepulse_backend.clock import MAX_DURATION_NS, duration_ns
from tradepulse_backend.performance import stats as ps
from tradepulse_backend.performance.account import ReturnSettings, step_index
from tradepulse_backend.performance.bot_state import (
    EXECUTION_INPUTS,
    HANDLERS,
    BotState,
    observation_from_row,
)
from tradepulse_backend.performance.calendar import TradingCalendar
from tradepulse_backend.performance.execution import ExecutionWindow
from tradepulse_backend.performance.inputs import Histogram, IncreaseCursor, Observation
from tradepulse_backend.performance.snapshot import PerformanceSnapshot
from tradepulse_backend.store import performance as stored
from tradepulse_backend.telemetry.records import Temporality

if TYPE_CHECKING:
    from tradepulse_backend.performance.monitor import PerformanceMonitor



class SummaryPeriod(StrEnum):
    """The named periods of a summary: the current day, week, month, year, or everything."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YTD = "ytd"
    ALL = "all"


PERIODS = tuple(SummaryPeriod)


def recompute(times_ns: np.ndarray, values: np.ndarray, flows: np.ndarray,
              settings: ReturnSettings, calendar: TradingCalendar) -> dict[str, Any]:
    """Return and drawdown figures of a value series with the external flow applied at each
    point (`flows[i]` arrived since point i-1); times strictly increasing."""
    times = np.asarray(times_ns, dtype=np.int64)
    values = np.asarray(values, dtype=np.float64)
    flows = np.asarray(flows, dtype=np.float64)
    if times.size == 0:
        return {}
    index, undefined = _index(values, flows)
    days = calendar.days(times)
    last_of_day = np.flatnonzero(np.append(days[1:] != days[:-1], True))
    closes = index[last_of_day]
    previous = np.concatenate(([1.0], closes[:-1]))
    defined = previous > 0
    defined[0] &= bool(last_of_day[0] > 0)  # a first day with one value has no return
    daily = closes[defined] / previous[defined] - 1.0
    stats = ps.summary(daily, risk_free=settings.risk_free_rate,
                       annualization=settings.annualization)
    peaks = np.maximum.accumulate(index)
    drawdown = index / peaks - 1.0
    longest, current = ps.drawdown_durations(times / 1e9, index)
    today_start = last_of_day[-2] + 1 if last_of_day.size > 1 else 0
    prev_close_value = values[last_of_day[-2]] if last_of_day.size > 1 else values[0]
    max_dd = float(drawdown.min())
    return {
        "portfolio_value": float(values[-1]),
        "total_pnl": float(values[-1] - values[0] - flows[1:].sum()),
        "pnl_today": float(values[-1] - prev_close_value - flows[max(today_start, 1):].sum()),
        "daily_return": float(closes[-1] / previous[-1] - 1.0) if previous[-1] > 0 else None,
        "weekly_return": _since_base(index, closes, days[last_of_day], TradingCalendar.week),
        "monthly_return": _since_base(index, closes, days[last_of_day], TradingCalendar.month),
        "ytd_return": _since_base(index, closes, days[last_of_day], TradingCalendar.year),
        "total_return": float(index[-1] - 1.0),
        "annualized_return": stats["annual_return"],
        "volatility": stats["annual_volatility"],
        "sharpe_ratio": stats["sharpe_ratio"],
        "sortino_ratio": stats["sortino_ratio"],
        "calmar_ratio": stats["annual_return"] / -max_dd if max_dd < 0 else None,
        "max_drawdown": max_dd,
        "current_drawdown": float(drawdown[-1]),
        "longest_drawdown_days": longest / 86_400,
        "current_drawdown_days": current / 86_400,
        "var_95": stats["var"],
        "cvar_95": stats["cvar"],
        "best_day": stats["best"],
        "worst_day": stats["worst"],
        "days": int(daily.size),
        "undefined_returns": undefined,
    }


def _index(values: np.ndarray, flows: np.ndarray) -> tuple[np.ndarray, int]:
    """Time-weighted index from 1.0 (each step (v_i - flow_i) / v_{i-1}, floored at -100%) and
    how many periods had no defined return, by the rule of `step_index`."""
    before = values[:-1]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        growth = np.where(before > 0, np.maximum((values[1:] - flows[1:]) / before, 0.0), 1.0)
        index = np.concatenate(([1.0], np.cumprod(growth)))
    if np.isfinite(index).all():
        return index, int(np.count_nonzero(~(before > 0)))
    return _index_stepwise(values, flows)


def _index_stepwise(values: np.ndarray, flows: np.ndarray) -> tuple[np.ndarray, int]:
    """The same index one step at a time, for the rare series whose growth overflows."""
    index, undefined = np.ones(values.size), 0
    for i in range(1, values.size):
        step = step_index(float(index[i - 1]), float(values[i - 1]), float(values[i]),
                          float(flows[i]))
        undefined += step is None
        index[i] = index[i - 1] if step is None else step
    return index, undefined


def _since_base(index: np.ndarray, closes: np.ndarray, close_days: np.ndarray, key) -> float:
    """Return since the last close of an earlier week, month or year (else since the start)."""
    current = key(int(close_days[-1]))
    earlier = [i for i in range(close_days.size - 1, -1, -1) if key(int(close_days[i])) != current]
    base = closes[earlier[0]] if earlier else 1.0
    return float(index[-1] / base - 1.0) if base > 0 else None


def align_flows(value_times: np.ndarray, flow_times: np.ndarray, amounts: np.ndarray
                ) -> np.ndarray:
    """Each flow added to the first value at or after it; flows before the first value are
    part of the starting capital and dropped."""
    flows = np.zeros(value_times.size)
    at = np.searchsorted(value_times, flow_times, side="left")
    keep = (at < value_times.size) & (at > 0)
    np.add.at(flows, at[keep], amounts[keep])
    return flows


def parse_period(period: str) -> SummaryPeriod | int:
    """A named period, or the nanoseconds of a duration back from now (`36h`, `30d`, `2w`,
    at most 100 years); ValueError naming the choices otherwise."""
    if period in PERIODS:
        return SummaryPeriod(period)
    back = duration_ns(period)
    if back is None or back <= 0:
        raise ValueError(
            f"period must be one of {', '.join(PERIODS)} or a duration like 30d, got "
            f"{period[:40]!r}")
    if back > MAX_DURATION_NS:
        raise ValueError(f"period {period[:40]!r} is longer than 100 years")
    return back


def period_bounds(period: str, now_ns: int, calendar: TradingCalendar) -> int:
    """Start of a named period or a duration back from now, never before 1970."""
    parsed = parse_period(period)
    if parsed is SummaryPeriod.ALL:
        return 0
    if isinstance(parsed, SummaryPeriod):
        return calendar.period_start_ns(parsed, now_ns)
    return max(now_ns - parsed, 0)


def summarize_period(monitor: PerformanceMonitor, service: str, period: str, portfolio: str,
                     *, now_ns: int) -> dict[str, Any]:
    """Every figure of one bot's portfolio over a period, from stored points and trades.

    Sealed history comes as rollup entries (minute closes and minute flow and order
    increases) into numpy arrays, the unsealed recent hours as points, so a long period
    reads tens of thousands of entries, never millions of per-point objects. Returns are
    measured from the last value before the period (the previous close for `day`), or from
    the period's first value when there is none.
    """
    store = monitor.store
    since = period_bounds(period, now_ns, monitor.calendar)
    sealed = stored.sealed_history(store, _NUMBER_INPUTS, since, now_ns, service=service)
    rows = stored.raw_points(store, _INPUTS, since, now_ns, service=service,
                             unsealed_only=True)
    base = stored.last_points_before(store, conv.METRIC_PORTFOLIO_VALUE, service, since)
    mine = [r for r in base + rows if _portfolio(r) == portfolio]
    mine_sealed = [h for h in sealed if _portfolio(h["series"]) == portfolio]
    figures = _return_figures(mine, mine_sealed, monitor)
    histograms = stored.sealed_histograms(store, _HISTOGRAM_INPUTS, since, now_ns,
                                          service=service)
    figures.update(execution_figures(rows, since, monitor.config.execution_window,
                                     sealed=sealed + histograms))
    closed = stored.trades_between(store, service, since, now_ns, portfolio)
    figures.update(_trade_figures(closed))
    currencies = {r["attributes"].get(conv.ATTR_CURRENCY)
                  for r in [*mine, *(h["series"] for h in mine_sealed)]} - {None}
    snapshot = PerformanceSnapshot.from_figures(
        figures, timestamp=now_ns / 1e9, service=service, portfolio=portfolio,
        currency=min(currencies) if currencies else None)
    return {"service": service, "portfolio": portfolio, "period": period,
            "since_unix_ms": since / 1e6, "until_unix_ms": now_ns / 1e6,
            "performance": snapshot.to_dict(), "trades": closed}


_INPUTS = (conv.METRIC_PORTFOLIO_VALUE, conv.METRIC_PORTFOLIO_CASH_FLOW, conv.METRIC_ORDERS,
           conv.METRIC_ORDER_DURATION, conv.METRIC_FILL_SLIPPAGE)
_NUMBER_INPUTS = (conv.METRIC_PORTFOLIO_VALUE, conv.METRIC_PORTFOLIO_CASH_FLOW,
                  conv.METRIC_ORDERS)
_HISTOGRAM_INPUTS = (conv.METRIC_ORDER_DURATION, conv.METRIC_FILL_SLIPPAGE)


def _portfolio(row: dict[str, Any]) -> str:
    return str(row["attributes"].get(conv.ATTR_PORTFOLIO, ""))


def _return_figures(rows: list[dict[str, Any]], sealed: list[dict[str, Any]],
                    monitor: PerformanceMonitor) -> dict[str, Any]:
    values = [h for h in sealed if h["series"]["name"] == conv.METRIC_PORTFOLIO_VALUE
              and len(h["entries"])]
    raw = [(r["time_ns"], r["value"]) for r in rows
           if r["name"] == conv.METRIC_PORTFOLIO_VALUE]
    # Each sealed bucket's close at its end, and the first bucket's opening value at its start.
    times = np.concatenate([np.array([t for t, _ in raw], dtype=np.int64),
                            *(np.concatenate((h["entries"].time_ns[:1], h["ends"]))
                              for h in values)])
    amounts = np.concatenate([np.array([v for _, v in raw], dtype=np.float64),
                              *(np.concatenate((h["entries"].first[:1], h["entries"].last))
                                for h in values)])
    if times.size == 0:
        return {}
    order = np.argsort(times, kind="stable")
    times, amounts = times[order], amounts[order]
    keep = np.concatenate(([True], times[1:] > times[:-1]))
    times, amounts = times[keep], amounts[keep]
    flow_series = [h for h in sealed if h["series"]["name"] == conv.METRIC_PORTFOLIO_CASH_FLOW]
    flow_rows = [r for r in rows if r["name"] == conv.METRIC_PORTFOLIO_CASH_FLOW]
    flow_times, flow_amounts = _flow_increases(flow_rows, [h["last"] for h in flow_series
                                                           if h["last"] is not None])
    flow_times = np.concatenate([flow_times, *(h["ends"] for h in flow_series)])
    flow_amounts = np.concatenate([flow_amounts, *(h["entries"].increase for h in flow_series)])
    flows = align_flows(times, flow_times, flow_amounts)
    return recompute(times, amounts, flows, monitor.settings, monitor.calendar)


def _flow_increases(rows: list[dict[str, Any]], baselines: list[dict[str, Any]] = ()
                    ) -> tuple[np.ndarray, np.ndarray]:
    cursor = IncreaseCursor()
    for row in baselines:
        cursor.increase(observation_from_row(row), horizon_ns=0)
    times, amounts = [], []
    for row in rows:
        obs = observation_from_row(row)
        change = cursor.increase(obs, horizon_ns=0)
        if change:
            times.append(obs.time_ns)
            amounts.append(change)
    return np.array(times, dtype=np.int64), np.array(amounts, dtype=np.float64)


def execution_figures(rows: list[dict[str, Any]], since_ns: int, window_s: float, *,
                      sealed: list[dict[str, Any]] = ()) -> dict[str, Any]:
    """Execution quality of stored order and fill points in a period: order counters'
    sealed increases summed per series, then the points after them."""
    state = BotState(ReturnSettings(), TradingCalendar(), float("inf"))
    state.execution = ExecutionWindow(window_s=1e18, slots=1)
    for history in sealed:
        name, entries = history["series"]["name"], history["entries"]
        if name not in EXECUTION_INPUTS or len(entries) == 0:
            continue
        if name == conv.METRIC_ORDERS:
            total = float(entries.increase.sum())
        else:
            total = Histogram(entries.bounds, tuple(entries.buckets.sum(axis=0).tolist()),
                              float(entries.sum.sum()), float(entries.count.sum()))
        series = history["series"]
        obs = Observation(series["service"], name, series["attributes"],
                          int(entries.time_ns[-1]), 0, total,
                          series["temporality"] == Temporality.DELTA, series["monotonic"])
        HANDLERS[name](state, obs, total)
        if history["last"] is not None:
            state.cursor.increase(observation_from_row(history["last"]), since_ns)
    for row in rows:
        if row["name"] in EXECUTION_INPUTS:
            obs = observation_from_row(row)
            change = state.cursor.increase(obs, since_ns)
            if change is not None:
                HANDLERS[obs.name](state, obs, change)
    return state.execution.figures()



def _trade_figures(closed: list[dict[str, Any]]) -> dict[str, Any]:
    stats = ps.trade_statistics(np.array([t["pnl"] for t in closed], dtype=np.float64))
    return {"trades": len(closed), "win_rate": stats["win_rate"],
            "profit_factor": stats["profit_factor"],
            "best_trade": stats["best_trade"] if closed else None,
            "worst_trade": stats["worst_trade"] if closed else None}
