"""The names of every health figure alert rules can read through
`SystemHealthMonitor.figures()`, and how a duration figure reads to a person."""

from __future__ import annotations

HOST_FIGURES = frozenset({
    "cpu_usage", "memory_usage", "disk_usage", "swap_usage", "load_per_core", "open_fds",
    "backend_cpu_usage", "backend_rss_bytes",
    "cpu_usage_rate_per_h", "memory_usage_rate_per_h", "disk_usage_rate_per_h",
    "disk_full_eta_s", "memory_full_eta_s",
    "health_status", "health_status_level", "components_unhealthy", "components_degraded",
    "bots_leaking",
})
"""Figures of the host as a whole (`figures()` without a service)."""

BOT_FIGURES = frozenset({
    "component_status", "component_status_level", "broker_connected",
    "broker_rate_limit_headroom", "heartbeat_age_s", "export_interval_s", "error_rate",
    "latency_p99_ms", "bot_rss_bytes", "bot_cpu_usage", "bot_threads", "bot_open_fds",
    "rss_growth_bytes_per_h", "rss_leaking",
})
"""Figures of one bot (`figures(service)`); without a service, the worst over all bots."""

BACKEND_FIGURES = frozenset({
    "ingest_queue_depth", "ingest_queue_fill", "commit_latency_ms", "bus_dropped", "bus_lag",
    "workers_dead", "websocket_clients", "outbox_backlog",
})
"""The backend's own parts (`figures()` without a service)."""

HEALTH_FIGURES = HOST_FIGURES | BOT_FIGURES | BACKEND_FIGURES
"""Every health figure name. String-valued: `component_status` and `health_status`
(healthy, unknown, degraded, unhealthy); their `_level` twins are 0-3 numbers."""


def duration_text(seconds: float) -> str:
    """`3 h 20 min`, `12 min`, `45 s`: an ETA as a person reads it."""
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min" if minutes else f"{secs} s"
