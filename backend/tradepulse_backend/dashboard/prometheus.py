"""The Prometheus view of a running backend: a `prometheus_client` Collector that reads live
figures at scrape time (nothing is copied into Prometheus objects between scrapes).

Every exported family is declared once in `FAMILIES`: the Grafana dashboard test checks its
queries against these names. Parts that land separately (health, alerting, forwarding) are
read only when the backend has them, through the methods their issues name.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

PERFORMANCE_LABELS = ("service", "portfolio")


@dataclass(frozen=True)
class Family:
    """One exported metric family: its name (without `_total` for counters, as
    prometheus_client wants it), type, help text and label names."""

    name: str
    kind: str
    documentation: str
    labels: tuple[str, ...] = ()

    @property
    def series_names(self) -> tuple[str, ...]:
        """The sample names Prometheus stores for this family (what PromQL queries name)."""
        if self.kind == "counter":
            return (f"{self.name}_total",)
        if self.kind == "histogram":
            return tuple(f"{self.name}{suffix}" for suffix in ("_bucket", "_sum", "_count"))
        return (self.name,)

    def new(self) -> Metric:
        builder = _BUILDERS[self.kind]
        return builder(self.name, self.documentation, labels=self.labels)


_BUILDERS: dict[str, Callable[..., Metric]] = {
    "gauge": GaugeMetricFamily,
    "counter": CounterMetricFamily,
    "histogram": HistogramMetricFamily,
}

# --- derived performance, one gauge per snapshot figure ------------------------------------

SNAPSHOT_GAUGES: dict[str, tuple[str, str]] = {
    # snapshot field: (metric name, help). Counts of
    # trading days are "trading_sessions": a `_days` suffix would claim a time unit.
    "portfolio_value": ("tradepulse_portfolio_value", "Portfolio value in its currency."),
    "cash": ("tradepulse_portfolio_cash", "Cash balance in the portfolio's currency."),
    "total_pnl": ("tradepulse_total_pnl", "P&L since the first value, net of cash flows."),
    "realized_pnl": ("tradepulse_realized_pnl", "Realized P&L as reported by the bot."),
    "unrealized_pnl": ("tradepulse_unrealized_pnl", "Unrealized P&L as reported by the bot."),
    "pnl_today": ("tradepulse_pnl_today", "P&L of the current trading day."),
    "daily_return": ("tradepulse_daily_return", "Return of the current trading day (ratio)."),
    "weekly_return": ("tradepulse_weekly_return", "Return of the current week (ratio)."),
    "monthly_return": ("tradepulse_monthly_return", "Return of the current month (ratio)."),
    "ytd_return": ("tradepulse_ytd_return", "Year-to-date return (ratio)."),
    "total_return": ("tradepulse_total_return", "Time-weighted return since start (ratio)."),
    "annualized_return": ("tradepulse_annualized_return", "Annualized return (ratio)."),
    "volatility": ("tradepulse_volatility", "Annualized volatility of daily returns (ratio)."),
    "sharpe_ratio": ("tradepulse_sharpe_ratio", "Annualized Sharpe ratio."),
    "sortino_ratio": ("tradepulse_sortino_ratio", "Annualized Sortino ratio."),
    "calmar_ratio": ("tradepulse_calmar_ratio", "Calmar ratio."),
    "max_drawdown": ("tradepulse_max_drawdown", "Deepest drawdown so far (ratio, <= 0)."),
    "current_drawdown": ("tradepulse_current_drawdown", "Drawdown from the peak (ratio)."),
    "longest_drawdown_days": ("tradepulse_longest_drawdown_trading_sessions",
                              "Longest drawdown in trading days."),
    "current_drawdown_days": ("tradepulse_current_drawdown_trading_sessions",
                              "Trading days in the current drawdown."),
    "var_95": ("tradepulse_var_95", "Historical 95% value at risk of daily returns (ratio)."),
    "cvar_95": ("tradepulse_cvar_95", "Historical 95% expected shortfall (ratio)."),
    "best_day": ("tradepulse_best_day_return", "Best daily return (ratio)."),
    "worst_day": ("tradepulse_worst_day_return", "Worst daily return (ratio)."),
    "win_rate": ("tradepulse_win_rate", "Share of closed trades with positive P&L."),
    "profit_factor": ("tradepulse_profit_factor", "Gross profit over gross loss."),
    "best_trade": ("tradepulse_best_trade_pnl", "P&L of the best closed trade."),
    "worst_trade": ("tradepulse_worst_trade_pnl", "P&L of the worst closed trade."),
    "gross_exposure": ("tradepulse_gross_exposure", "Sum of absolute position values."),
    "net_exposure": ("tradepulse_net_exposure", "Sum of signed position values."),
    "largest_position_share": ("tradepulse_largest_position_share",
                               "Largest position's share of gross exposure (ratio)."),
    "herfindahl_index": ("tradepulse_herfindahl_index", "Position concentration (0-1)."),
    "reported_var": ("tradepulse_reported_var", "Value at risk reported by the risk manager."),
    "var_limit": ("tradepulse_var_limit", "VaR limit reported by the risk manager."),
    "var_limit_usage": ("tradepulse_var_limit_usage_ratio", "Reported VaR over its limit."),
    "order_success_rate": ("tradepulse_order_success_rate",
                           "Share of orders filled in the execution window."),
    "rejection_rate": ("tradepulse_order_rejection_rate",
                       "Share of orders rejected in the execution window."),
    "fill_rate": ("tradepulse_fill_rate", "Filled over ordered quantity in the window."),
    "days": ("tradepulse_trading_sessions", "Trading days with a closing value."),
    "orders": ("tradepulse_orders_in_window", "Orders in the execution window."),
    "position_limit_breaches": ("tradepulse_position_limit_breaches",
                                "Symbols over their position limit."),
}
LATENCY_PERCENTILES = {"latency_p50_ms": "50", "latency_p95_ms": "95", "latency_p99_ms": "99"}
SLIPPAGE_STATISTICS = {"slippage_mean_bps": "mean", "slippage_p95_bps": "p95"}

ORDER_LATENCY = Family("tradepulse_order_latency_seconds", "gauge",
                       "Order latency percentile (50, 95, 99) over the execution window; a "
                       "gauge, so the label is not `quantile` (reserved for summaries).",
                       (*PERFORMANCE_LABELS, "percentile"))
FILL_SLIPPAGE = Family("tradepulse_fill_slippage_ratio", "gauge",
                       "Fill slippage against the expected price (mean, p95) over the window.",
                       (*PERFORMANCE_LABELS, "statistic"))
TRADES = Family("tradepulse_trades", "counter", "Closed trades.", PERFORMANCE_LABELS)
POSITION_QUANTITY = Family("tradepulse_position_quantity", "gauge",
                           "Position quantity per symbol.", (*PERFORMANCE_LABELS, "symbol"))
POSITION_VALUE = Family("tradepulse_position_market_value", "gauge",
                        "Position market value per symbol.", (*PERFORMANCE_LABELS, "symbol"))
SNAPSHOT_TIME = Family("tradepulse_performance_timestamp_seconds", "gauge",
                       "Time of the latest figures (Unix seconds).", PERFORMANCE_LABELS)

PERFORMANCE_FAMILIES = (
    *(Family(name, "gauge", doc, PERFORMANCE_LABELS) for name, doc in SNAPSHOT_GAUGES.values()),
    ORDER_LATENCY, FILL_SLIPPAGE, TRADES, POSITION_QUANTITY, POSITION_VALUE, SNAPSHOT_TIME,
)

# --- the backend's own figures ----------------------------------------------------------------

BUILD_INFO = Family("tradepulse_build_info", "gauge", "Always 1; the version as a label.",
                    ("version",))
UP = Family("tradepulse_backend_healthy", "gauge",
            "1 while every background worker runs and the writer takes writes.")
UPTIME = Family("tradepulse_uptime_seconds", "gauge", "Seconds since the backend started.")
ACCEPTED = Family("tradepulse_ingest_accepted_records", "counter",
                  "Spans, metric points and log records committed.", ("signal",))
REJECTED = Family("tradepulse_ingest_rejected_records", "counter",
                  "Records rejected through OTLP partial_success.", ("signal",))
TRANSACTIONS = Family("tradepulse_ingest_transactions", "counter", "Write transactions committed.")
WRITE_FAILURES = Family("tradepulse_ingest_write_failures", "counter", "Failed transactions.")
REFUSED = Family("tradepulse_ingest_refused_requests", "counter",
                 "Requests answered 503 (queue full or commit timeout).", ("reason",))
QUEUE_DEPTH = Family("tradepulse_ingest_queue_depth", "gauge", "Batches waiting for the writer.")
QUEUE_CAPACITY = Family("tradepulse_ingest_queue_capacity", "gauge", "Write queue capacity.")
COMMIT_DURATION = Family("tradepulse_ingest_commit_duration_seconds", "histogram",
                         "Duration of each write transaction.")
BUS_DELIVERED = Family("tradepulse_bus_delivered_events", "counter",
                       "Events handled by each bus subscriber.", ("subscriber", "event"))
BUS_DROPPED = Family("tradepulse_bus_dropped_events", "counter",
                     "Events dropped by a full subscriber queue.", ("subscriber", "event"))
BUS_FAILURES = Family("tradepulse_bus_handler_failures", "counter",
                      "Subscriber handler errors.", ("subscriber", "event"))
BUS_DEPTH = Family("tradepulse_bus_queue_depth", "gauge", "Events queued per subscriber.",
                   ("subscriber", "event"))
WEBSOCKETS = Family("tradepulse_websocket_clients", "gauge", "Open dashboard WebSockets.")
WEBSOCKETS_REFUSED = Family("tradepulse_websocket_refused", "counter",
                            "WebSockets refused at the limit.")
WEBSOCKET_COUNTERS = {
    # DashboardServer.stats() key: family
    "connections_total": Family("tradepulse_websocket_connections", "counter",
                                "WebSocket connections accepted."),
    "messages_sent": Family("tradepulse_websocket_messages_sent", "counter",
                            "Messages pushed to WebSocket clients."),
    "dropped_messages": Family("tradepulse_websocket_dropped_messages", "counter",
                               "Messages dropped by full client queues (clients resync)."),
    "resyncs": Family("tradepulse_websocket_resyncs", "counter",
                      "Full resyncs sent to clients that fell behind."),
}
WEBSOCKET_QUEUED = Family("tradepulse_websocket_queued_messages", "gauge",
                          "Messages waiting in the clients' queues.")
PERF_BACKLOG = Family("tradepulse_performance_backlog_batches", "gauge",
                      "Stored batches the performance monitor has yet to absorb.")
PERF_SKIPPED = Family("tradepulse_performance_skipped_points", "counter",
                      "Non-finite trading points the monitor skipped.")
WORKER_UP = Family("tradepulse_worker_up", "gauge", "1 while a background worker is running.",
                   ("worker",))

BACKEND_FAMILIES = (BUILD_INFO, UP, UPTIME, ACCEPTED, REJECTED, TRANSACTIONS, WRITE_FAILURES,
                    REFUSED, QUEUE_DEPTH, QUEUE_CAPACITY, COMMIT_DURATION, BUS_DELIVERED,
                    BUS_DROPPED, BUS_FAILURES, BUS_DEPTH, WEBSOCKETS, WEBSOCKETS_REFUSED,
                    *WEBSOCKET_COUNTERS.values(), WEBSOCKET_QUEUED, PERF_BACKLOG, PERF_SKIPPED,
                    WORKER_UP)

# --- parts read when present -----------------------------------------------------------------

HOST_GAUGES = {
    # health figure (percent): (metric name, help)
    "cpu_usage": ("tradepulse_host_cpu_usage_ratio", "Host CPU utilization (0-1)."),
    "memory_usage": ("tradepulse_host_memory_usage_ratio", "Host memory in use (0-1)."),
    "swap_usage": ("tradepulse_host_swap_usage_ratio", "Host swap in use (0-1)."),
    "disk_usage": ("tradepulse_host_disk_usage_ratio", "Fullest filesystem's use (0-1)."),
}
HEALTH_STATUS = Family("tradepulse_health_status", "gauge",
                       "1 for the overall health status, 0 for the others.", ("status",))
BOT_GAUGES = {
    # per-service health figure: family
    "heartbeat_age_s": Family("tradepulse_bot_heartbeat_age_seconds", "gauge",
                              "Seconds since the bot's last telemetry export.", ("service",)),
    "broker_connected": Family("tradepulse_bot_broker_connected", "gauge",
                               "1 while every broker of the bot is connected.", ("service",)),
    "error_rate": Family("tradepulse_bot_error_rate", "gauge",
                         "Share of the bot's recent spans with an error status.", ("service",)),
}
COMPONENT_STATUS = Family("tradepulse_component_status", "gauge",
                          "1 for a component's current health status, 0 for the others.",
                          ("component", "status"))
COMPONENT_STATUSES = ("healthy", "degraded", "unhealthy", "unknown")
ALERTS = Family("ALERTS", "gauge",
                "Active alerts (pending or firing), as Prometheus' own ALERTS series.",
                ("alertname", "alertstate", "severity", "service", "portfolio"))
OUTBOX_BACKLOG = Family("tradepulse_alert_outbox_backlog", "gauge",
                        "Notifications waiting in the outbox (pending), per channel.",
                        ("channel",))
OUTBOX_ROWS = Family("tradepulse_alert_outbox_notifications", "gauge",
                     "Outbox rows per channel and status (pending, sent, failed, suppressed).",
                     ("channel", "status"))
ALERT_RULES = Family("tradepulse_alert_rules", "gauge", "Alert rules loaded.")
FORWARDING_COUNTERS = {
    # forwarding.stats() key per destination: family
    "queued": Family("tradepulse_forwarding_enqueued_requests", "counter",
                     "Committed requests queued for a forwarding destination.", ("destination",)),
    "sent": Family("tradepulse_forwarding_sent_requests", "counter",
                   "Requests a forwarding destination accepted.", ("destination",)),
    "retried": Family("tradepulse_forwarding_retried_attempts", "counter",
                      "Send attempts that will be retried (408, 429, 5xx, network errors).",
                      ("destination",)),
    "failed": Family("tradepulse_forwarding_failed_requests", "counter",
                     "Requests given up (permanent 4xx, max_attempts or max_age).",
                     ("destination",)),
    "dropped": Family("tradepulse_forwarding_dropped_requests", "counter",
                      "Requests not queued because the queue was full or the disk failed.",
                      ("destination",)),
    "filtered": Family("tradepulse_forwarding_filtered_requests", "counter",
                       "Requests with no data for the destination's services or signals.",
                       ("destination",)),
}
FORWARDING_GAUGES = {
    "queue_requests": Family("tradepulse_forwarding_queue_requests", "gauge",
                             "Requests waiting to be forwarded.", ("destination",)),
    "queue_bytes": Family("tradepulse_forwarding_queue_bytes", "gauge",
                          "Bytes of requests waiting to be forwarded.", ("destination",)),
    "oldest_age_s": Family("tradepulse_forwarding_oldest_queued_age_seconds", "gauge",
                           "Age of the oldest request waiting to be forwarded.",
                           ("destination",)),
}

OPTIONAL_FAMILIES = (
    *(Family(name, "gauge", doc) for name, doc in HOST_GAUGES.values()),
    COMPONENT_STATUS, HEALTH_STATUS, *BOT_GAUGES.values(), ALERTS, OUTBOX_BACKLOG, OUTBOX_ROWS,
    ALERT_RULES,
    *FORWARDING_COUNTERS.values(),
    *FORWARDING_GAUGES.values(),
)

FAMILIES: tuple[Family, ...] = (*PERFORMANCE_FAMILIES, *BACKEND_FAMILIES, *OPTIONAL_FAMILIES)
"""Every family /metrics can export, in one place."""


def exported_series_names() -> frozenset[str]:
    """Every sample name /metrics can hold (counters with `_total`, histogram parts)."""
    return frozenset(name for family in FAMILIES for name in family.series_names)


class BackendCollector(Collector):
    """Reads a `runtime.Backend` (or anything with the same parts) at each scrape."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend

    def describe(self) -> Iterable[Metric]:
        """Nothing: describing would run a full collect at registration."""
        return []

    def collect(self) -> Iterator[Metric]:
        for part in (self._performance, self._backend, self._health, self._alerting,
                     self._forwarding):
            try:
                yield from part()
            except Exception:
                logger.exception("/metrics: %s could not be read; its families are skipped",
                                 part.__name__.lstrip("_"))

    # --- performance ------------------------------------------------------------------------

    def _performance(self) -> Iterator[Metric]:
        gauges = {field: Family(name, "gauge", doc, PERFORMANCE_LABELS).new()
                  for field, (name, doc) in SNAPSHOT_GAUGES.items()}
        latency, slippage = ORDER_LATENCY.new(), FILL_SLIPPAGE.new()
        trades, quantity, value, stamp = (TRADES.new(), POSITION_QUANTITY.new(),
                                          POSITION_VALUE.new(), SNAPSHOT_TIME.new())
        for snapshot in self.backend.performance.snapshots():
            labels = [snapshot.service, snapshot.portfolio]
            for field, gauge in gauges.items():
                if (number := _finite(getattr(snapshot, field))) is not None:
                    gauge.add_metric(labels, number)
            for field, percentile in LATENCY_PERCENTILES.items():
                if (ms := _finite(getattr(snapshot, field))) is not None:
                    latency.add_metric([*labels, percentile], ms / 1000)
            for field, statistic in SLIPPAGE_STATISTICS.items():
                if (bps := _finite(getattr(snapshot, field))) is not None:
                    slippage.add_metric([*labels, statistic], bps / 10_000)
            trades.add_metric(labels, snapshot.trades)
            stamp.add_metric(labels, snapshot.timestamp)
            for symbol, entry in snapshot.positions.items():
                if (q := _finite(entry.get("quantity"))) is not None:
                    quantity.add_metric([*labels, symbol], q)
                if (v := _finite(entry.get("market_value"))) is not None:
                    value.add_metric([*labels, symbol], v)
        yield from gauges.values()
        yield from (latency, slippage, trades, quantity, value, stamp)

    # --- the backend itself -----------------------------------------------------------------

    def _backend(self) -> Iterator[Metric]:
        b = self.backend
        yield _single(BUILD_INFO, 1, [b.version])
        yield _single(UP, 1 if b.healthy else 0)
        yield _single(UPTIME, b.uptime_s)
        stats = b.pipeline.stats
        accepted, rejected = ACCEPTED.new(), REJECTED.new()
        for signal in sorted(stats.accepted):
            accepted.add_metric([signal], stats.accepted[signal])
            rejected.add_metric([signal], stats.rejected[signal])
        yield from (accepted, rejected)
        yield _single(TRANSACTIONS, stats.transactions)
        yield _single(WRITE_FAILURES, stats.write_failures)
        refused = REFUSED.new()
        refused.add_metric(["queue_full"], stats.refused_full)
        refused.add_metric(["commit_timeout"], stats.commit_timeouts)
        yield refused
        yield _single(QUEUE_DEPTH, b.pipeline.depth)
        yield _single(QUEUE_CAPACITY, b.pipeline.capacity)
        durations = stats.commit_seconds
        commit = COMMIT_DURATION.new()
        commit.add_metric([], durations.cumulative(), durations.sum)
        yield commit
        yield from self._bus()
        yield from self._websockets()
        yield _single(PERF_BACKLOG, b.performance.backlog)
        yield _single(PERF_SKIPPED, b.performance.skipped_points)
        workers = WORKER_UP.new()
        for worker in b.workers.status():
            workers.add_metric([worker["name"]], 1 if worker["state"] == "running" else 0)
        yield workers

    def _websockets(self) -> Iterator[Metric]:
        sockets = self.backend.websockets.stats()
        yield _single(WEBSOCKETS, sockets["open"])
        yield _single(WEBSOCKETS_REFUSED, sockets["refused"])
        dashboard = getattr(self.backend, "dashboard", None)
        if dashboard is None:
            return
        stats = dashboard.stats()
        for key, family in WEBSOCKET_COUNTERS.items():
            yield _single(family, stats[key])
        yield _single(WEBSOCKET_QUEUED, stats["queued"])

    def _bus(self) -> Iterator[Metric]:
        families = {key: family.new() for key, family in (
            ("delivered", BUS_DELIVERED), ("dropped", BUS_DROPPED),
            ("failures", BUS_FAILURES), ("depth", BUS_DEPTH))}
        for subscriber in self.backend.bus.stats():
            labels = [subscriber["name"], subscriber["event"]]
            for key, family in families.items():
                family.add_metric(labels, subscriber[key])
        yield from families.values()

    # --- parts present once their branches land ----------------------------------------------

    def _health(self) -> Iterator[Metric]:
        health = getattr(self.backend, "health", None)
        if health is None:
            return
        figures = health.figures()
        for field, (name, doc) in HOST_GAUGES.items():
            if (percent := _finite(figures.get(field))) is not None:
                yield _single(Family(name, "gauge", doc), percent / 100)
        status = COMPONENT_STATUS.new()
        for component in health.components():
            current = _status_name(component.status)
            for candidate in COMPONENT_STATUSES:
                status.add_metric([component.name, candidate], 1 if candidate == current else 0)
        yield status
        overall = _status_name(health.get_system_summary()["status"])
        yield _state_set(HEALTH_STATUS, overall)
        bots = {key: family.new() for key, family in BOT_GAUGES.items()}
        for service in sorted(health.heartbeats.services()):
            per_bot = health.figures(service)
            for key, family in bots.items():
                if (number := _finite(per_bot.get(key))) is not None:
                    family.add_metric([service], number)
        yield from bots.values()

    def _alerting(self) -> Iterator[Metric]:
        alerting = getattr(self.backend, "alerting", None)
        if alerting is None:
            return
        alerts = ALERTS.new()
        for alert in alerting.get_active_alerts():
            data = _as_mapping(alert)
            state = str(data.get("state", "firing")).lower()
            if state not in ("pending", "firing"):
                continue
            labels = _as_mapping(data.get("labels") or {})
            alerts.add_metric([
                str(data.get("rule") or data.get("name") or data.get("alertname", "")),
                state,
                str(data.get("severity", "")).lower(),
                str(data.get("service") or labels.get("service", "")),
                str(data.get("portfolio") or labels.get("portfolio", "")),
            ], 1)
        yield alerts
        stats = alerting.stats()
        yield _single(ALERT_RULES, stats["rules"])
        backlog, rows = OUTBOX_BACKLOG.new(), OUTBOX_ROWS.new()
        for channel, by_status in sorted(stats["outbox"].items()):
            backlog.add_metric([channel], by_status.get("pending", 0))
            for status, count in sorted(by_status.items()):
                rows.add_metric([channel, status], count)
        yield from (backlog, rows)

    def _forwarding(self) -> Iterator[Metric]:
        forwarding = getattr(self.backend, "forwarding", None)
        if forwarding is None:
            return
        families = {key: family.new() for key, family in
                    (*FORWARDING_COUNTERS.items(), *FORWARDING_GAUGES.items())}
        for destination, stats in sorted(forwarding.stats().items()):
            for key, family in families.items():
                if (number := _finite(stats.get(key))) is not None:
                    family.add_metric([destination], number)
        yield from families.values()


def _single(family: Family, value: float, labels: list[str] | None = None) -> Metric:
    metric = family.new()
    metric.add_metric(labels or [], value)
    return metric


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _as_mapping(value: Any) -> Mapping[str, Any]:
    if isinstance(value, Mapping):
        return value
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    return vars(value) if hasattr(value, "__dict__") else {}


def _status_name(status: Any) -> str:
    """A health status (enum or text) as one of COMPONENT_STATUSES."""
    name = str(getattr(status, "value", status)).lower()
    return name if name in COMPONENT_STATUSES else "unknown"


def _state_set(family: Family, current: str) -> Metric:
    metric = family.new()
    for candidate in COMPONENT_STATUSES:
        metric.add_metric([candidate], 1 if candidate == current else 0)
    return metric
