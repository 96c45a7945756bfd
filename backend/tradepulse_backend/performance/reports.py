"""Automated performance reports: one bot's day or week as JSON, HTML and CSV, on demand or on
a schedule (daily or weekly, at a set local time)."""

from __future__ import annotations

import csv
import html
import io
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from tradepulse_backend.clock import Clock, SystemClock, utc_datetime
from tradepulse_backend.config import ReportsConfig

if TYPE_CHECKING:
    from tradepulse_backend.performance.monitor import PerformanceMonitor

logger = logging.getLogger(__name__)


class ReportFormat(StrEnum):
    """How a report is delivered: the REST JSON shape, an HTML page, or CSV rows."""

    JSON = "json"
    HTML = "html"
    CSV = "csv"


class ReportPeriod(StrEnum):
    """What a report covers: the current day or week."""

    DAY = "day"
    WEEK = "week"


FORMATS = tuple(ReportFormat)
MIME_TYPES = {ReportFormat.HTML: "text/html; charset=utf-8",
              ReportFormat.CSV: "text/csv; charset=utf-8"}
TOP_TRADES = 5
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

SECTIONS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "Returns": (
        ("portfolio_value", "Portfolio value", "money"), ("total_pnl", "Total P&L", "money"),
        ("pnl_today", "P&L today", "money"), ("daily_return", "Daily return", "pct"),
        ("weekly_return", "Weekly return", "pct"), ("monthly_return", "Monthly return", "pct"),
        ("ytd_return", "Year to date", "pct"), ("total_return", "Total return", "pct"),
        ("annualized_return", "Annualized return", "pct"),
    ),
    "Risk": (
        ("volatility", "Annualized volatility", "pct"), ("sharpe_ratio", "Sharpe", "num"),
        ("sortino_ratio", "Sortino", "num"), ("calmar_ratio", "Calmar", "num"),
        ("max_drawdown", "Max drawdown", "pct"), ("current_drawdown", "Current drawdown", "pct"),
        ("longest_drawdown_days", "Longest drawdown", "days"),
        ("var_95", "VaR 95% (daily)", "pct"), ("cvar_95", "CVaR 95% (daily)", "pct"),
        ("best_day", "Best day", "pct"), ("worst_day", "Worst day", "pct"),
    ),
    "Execution": (
        ("orders", "Orders", "int"), ("order_success_rate", "Order success rate", "rate"),
        ("rejection_rate", "Rejection rate", "rate"), ("fill_rate", "Fill rate", "rate"),
        ("latency_p50_ms", "Latency p50 (ms)", "num"),
        ("latency_p95_ms", "Latency p95 (ms)", "num"),
        ("latency_p99_ms", "Latency p99 (ms)", "num"),
        ("slippage_mean_bps", "Mean slippage (bp)", "num"),
        ("slippage_p95_bps", "Slippage p95 (bp)", "num"),
    ),
    "Trades": (
        ("trades", "Round-trip trades", "int"), ("win_rate", "Win rate", "rate"),
        ("profit_factor", "Profit factor", "num"), ("best_trade", "Best trade", "money"),
        ("worst_trade", "Worst trade", "money"),
    ),
}


@dataclass
class Report:
    """One bot's performance over one period, with its best and worst trades."""

    service: str
    portfolio: str
    period: ReportPeriod
    since_unix_ms: float
    until_unix_ms: float
    day_label: str
    timezone: str
    performance: dict[str, Any]
    best_trades: list[dict[str, Any]]
    worst_trades: list[dict[str, Any]]
    alerts: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in self.__dataclass_fields__}


def build_report(monitor: PerformanceMonitor, service: str,
                 period: ReportPeriod | str = ReportPeriod.DAY, *,
                 portfolio: str | None = None, now_ns: int | None = None,
                 alerts: list[dict[str, Any]] | None = None) -> Report:
    """The report of `service` for the current day or week up to now."""
    period = ReportPeriod(period)
    summary = monitor.get_performance_summary(service, period, portfolio, now_ns=now_ns)
    portfolio = summary["portfolio"]
    closed = sorted(summary["trades"], key=lambda t: t["pnl"])
    until = datetime.fromtimestamp(summary["until_unix_ms"] / 1e3, monitor.calendar.zone)
    return Report(
        service=service, portfolio=portfolio, period=period,
        since_unix_ms=summary["since_unix_ms"], until_unix_ms=summary["until_unix_ms"],
        day_label=until.strftime("%Y-%m-%d"), timezone=monitor.calendar.timezone,
        performance=summary["performance"],
        best_trades=[_trade(t) for t in reversed(closed[-TOP_TRADES:]) if t["pnl"] > 0],
        worst_trades=[_trade(t) for t in closed[:TOP_TRADES] if t["pnl"] < 0],
        alerts=list(alerts or []))


def _trade(row: dict[str, Any]) -> dict[str, Any]:
    return {"symbol": row["symbol"], "side": row["side"], "pnl": row["pnl"],
            "return": row["trade_return"], "quantity": row["quantity"],
            "entry_time_unix_ms": row["entry_ns"] / 1e6, "exit_time_unix_ms": row["exit_ns"] / 1e6}


def render(report: Report, fmt: ReportFormat | str) -> tuple[str, str]:
    """The report as (body, mimetype) in `html` or `csv`."""
    fmt = ReportFormat(fmt)
    if fmt not in MIME_TYPES:
        raise ValueError(f"render makes html or csv, not {fmt}; JSON is Report.to_dict()")
    return (render_html if fmt is ReportFormat.HTML else render_csv)(report), MIME_TYPES[fmt]


def _format(value: Any, kind: str, currency: str | None = None) -> str:
    if value is None:
        return "n/a"
    if kind == "pct":
        return f"{value:+.2%}"
    if kind == "rate":
        return f"{value:.1%}"
    if kind == "days":
        return _duration(value)
    if kind == "money":
        return f"{value:,.2f}" + (f" {currency}" if currency else "")
    if kind == "int":
        return f"{int(value):,}"
    return f"{value:,.3f}"


def _duration(days: float) -> str:
    """Days as the largest sensible unit: 3.2 days, 5.1 hours, 12 minutes."""
    if days >= 1:
        return f"{days:,.1f} days"
    hours = days * 24
    if hours >= 1:
        return f"{hours:.1f} hours"
    return f"{hours * 60:.0f} minutes" if hours * 60 >= 1 else f"{hours * 3600:.0f} seconds"


def render_csv(report: Report) -> str:
    """`section,field,value` rows, then one row per listed trade; values unformatted."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "field", "value"])
    for key in ("service", "portfolio", "period", "timezone", "since_unix_ms", "until_unix_ms"):
        writer.writerow(["report", key, getattr(report, key)])
    for section, rows in SECTIONS.items():
        for key, _label, _kind in rows:
            writer.writerow([section.lower(), key, _csv_value(report.performance.get(key))])
    writer.writerow(["alerts", "fired", len(report.alerts)])
    writer.writerow([])
    writer.writerow(["trade_rank", "symbol", "side", "pnl", "return", "quantity",
                     "entry_time_unix_ms", "exit_time_unix_ms"])
    for rank, trades in (("best", report.best_trades), ("worst", report.worst_trades)):
        for trade in trades:
            writer.writerow([rank, trade["symbol"], trade["side"], trade["pnl"],
                             _csv_value(trade["return"]), _csv_value(trade["quantity"]),
                             trade["entry_time_unix_ms"], trade["exit_time_unix_ms"]])
    return out.getvalue()


def _csv_value(value: Any) -> Any:
    return "" if value is None else value


def render_html(report: Report) -> str:
    """A self-contained page (inline CSS, no external assets) suitable as an email body."""
    perf = report.performance
    currency = perf.get("currency")
    title = f"{report.service} {report.period} report, {report.day_label}"
    sections = "".join(
        f"<h2>{html.escape(section)}</h2><table>" + "".join(
            f"<tr><th>{html.escape(label)}</th><td>{_format(perf.get(key), kind, currency)}"
            f"{_reason(perf, key)}</td></tr>" for key, label, kind in rows) + "</table>"
        for section, rows in SECTIONS.items())
    zone = ZoneInfo(report.timezone)
    trades = _trade_table("Best trades", report.best_trades, currency, zone) + _trade_table(
        "Worst trades", report.worst_trades, currency, zone)
    alerts = "".join(f"<li>{html.escape(str(a.get('title', a)))}</li>" for a in report.alerts)
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>"
        f"<p class='meta'>portfolio {html.escape(report.portfolio or 'default')} &middot; "
        f"{_when(report.since_unix_ms, zone)} to {_when(report.until_unix_ms, zone)}</p>"
        f"{sections}{trades}"
        f"<h2>Alerts fired</h2>{f'<ul>{alerts}</ul>' if alerts else '<p>none</p>'}"
        "</body></html>")


def _reason(perf: dict[str, Any], key: str) -> str:
    reason = perf.get("reasons", {}).get(key)
    return f" <small>({html.escape(reason)})</small>" if reason else ""


def _trade_table(title: str, trades: list[dict[str, Any]], currency: str | None,
                 zone: ZoneInfo) -> str:
    if not trades:
        return f"<h2>{title}</h2><p>none</p>"
    rows = "".join(
        f"<tr><td>{html.escape(t['symbol'])}</td><td>{html.escape(t['side'])}</td>"
        f"<td>{_format(t['pnl'], 'money', currency)}</td><td>{_format(t['return'], 'pct')}</td>"
        f"<td>{_when(t['exit_time_unix_ms'], zone)}</td></tr>" for t in trades)
    return (f"<h2>{title}</h2><table><tr><th>Symbol</th><th>Side</th><th>P&amp;L</th>"
            f"<th>Return</th><th>Closed</th></tr>{rows}</table>")


def _when(unix_ms: float, zone: ZoneInfo) -> str:
    """A time in the report's timezone, the one its days are counted in."""
    return datetime.fromtimestamp(unix_ms / 1e3, zone).strftime("%Y-%m-%d %H:%M %Z")


_CSS = ("body{font-family:system-ui,sans-serif;margin:2em;color:#222}"
        "table{border-collapse:collapse;margin-bottom:1em}"
        "th,td{border-bottom:1px solid #ddd;padding:4px 12px;text-align:left}"
        "th{font-weight:600}small{color:#888}.meta{color:#666}")


def next_run(now: datetime, config: ReportsConfig, zone: ZoneInfo) -> datetime:
    """The next scheduled report time strictly after `now`, in `zone`."""
    local = now.astimezone(zone)
    hour, minute = (int(part) for part in config.time.split(":"))
    candidate = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    step = timedelta(days=1)
    if config.schedule == "weekly":
        candidate += timedelta(days=(WEEKDAYS.index(config.weekday) - local.weekday()) % 7)
        step = timedelta(days=7)
    while candidate <= local:
        candidate = (candidate.replace(tzinfo=None) + step).replace(tzinfo=zone)
    return candidate


class ReportScheduler:
    """Builds every bot's report at the scheduled time, writes HTML and CSV under
    `directory`, and hands each report to `deliver` (the alerting channels, once they exist).

    The runtime's supervisor runs it: wait `seconds_until_due()` on the clock, then
    `run_due()`."""

    def __init__(self, monitor: PerformanceMonitor, config: ReportsConfig, directory: Path,
                 deliver: Callable[[Report], None] | None = None, *,
                 clock: Clock | None = None) -> None:
        self.monitor = monitor
        self.config = config
        self.directory = Path(directory)
        self.deliver = deliver
        self.clock = clock or SystemClock()
        self.zone = ZoneInfo(config.timezone or monitor.config.timezone)
        self._due: datetime | None = None

    def seconds_until_due(self) -> float:
        """Seconds from the clock's now to the next scheduled report time."""
        now = utc_datetime(self.clock)
        self._due = next_run(now, self.config, self.zone)
        return max(0.0, (self._due - now).total_seconds())

    def run_due(self) -> list[Path]:
        """Run the reports of the time `seconds_until_due` announced (now, if none was)."""
        due = self._due or utc_datetime(self.clock)
        return self.run_once(int(due.timestamp() * 1e9))

    def run_once(self, now_ns: int) -> list[Path]:
        """Build, write and deliver the reports of every known bot as of `now_ns`."""
        period = ReportPeriod.DAY if self.config.schedule == "daily" else ReportPeriod.WEEK
        written = []
        for service in self.monitor.services():
            report = build_report(self.monitor, service, period, now_ns=now_ns)
            written.extend(self._write(report))
            if self.deliver is not None:
                self.deliver(report)
        return written

    def _write(self, report: Report) -> list[Path]:
        folder = self.directory / re.sub(r"[^A-Za-z0-9._-]+", "_", report.service).lstrip(".")
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for fmt in (ReportFormat.HTML, ReportFormat.CSV):
            path = folder / f"{report.period}-{report.day_label}.{fmt}"
            path.write_text(render(report, fmt)[0], encoding="utf-8")
            paths.append(path)
        logger.info("performance report for %s written to %s", report.service, folder)
        return paths
