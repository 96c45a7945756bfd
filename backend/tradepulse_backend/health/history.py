"""History of health figures from the stored metric series: each figure maps to its
semantic-convention metric (host figures under the backend's service, bot figures under the
bot's), read through `store.queries` and thinned to at most `max_points` points."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from opentelemetry.semconv._incubating.attributes import system_attributes as sys_attrs
from opentelemetry.semconv._incubating.metrics import process_metrics as pm
from opentelemetry.semconv._incubating.metrics import system_metrics as sm

from tradepulse import conventions as conv
from tradepulse_backend.health.samples import LOAD_AVERAGE_1M, USED
from tradepulse_backend.store import Store, queries


@dataclass(frozen=True)
class FigureSource:
    """Where a figure's history is stored: metric, attributes, unit, scale, and whether it
    is a bot's (read under the `service` asked for) rather than the backend host's."""

    metric: str
    unit: str
    scale: float = 1.0
    attributes: dict[str, str] = field(default_factory=dict)
    per_bot: bool = False
    divide_by: str | None = None


HISTORY_SOURCES: dict[str, FigureSource] = {
    "cpu_usage": FigureSource(sm.SYSTEM_CPU_UTILIZATION, "%", 100),
    "memory_usage": FigureSource(sm.SYSTEM_MEMORY_UTILIZATION, "%", 100,
                                 {sys_attrs.SYSTEM_MEMORY_STATE: USED}),
    "swap_usage": FigureSource(sm.SYSTEM_PAGING_UTILIZATION, "%", 100,
                               {sys_attrs.SYSTEM_PAGING_STATE: USED}),
    "disk_usage": FigureSource(sm.SYSTEM_FILESYSTEM_UTILIZATION, "%", 100,
                               {sys_attrs.SYSTEM_FILESYSTEM_STATE: USED}),
    "load_per_core": FigureSource(LOAD_AVERAGE_1M, "1", divide_by=sm.SYSTEM_CPU_LOGICAL_COUNT),
    "backend_rss_bytes": FigureSource(pm.PROCESS_MEMORY_USAGE, "By"),
    "bot_rss_bytes": FigureSource(pm.PROCESS_MEMORY_USAGE, "By", per_bot=True),
    "bot_cpu_usage": FigureSource(pm.PROCESS_CPU_UTILIZATION, "%", 100, per_bot=True),
    "bot_threads": FigureSource(pm.PROCESS_THREAD_COUNT, "{thread}", per_bot=True),
    "bot_open_fds": FigureSource(pm.PROCESS_OPEN_FILE_DESCRIPTOR_COUNT, "{file_descriptor}",
                                 per_bot=True),
    "broker_connected": FigureSource(conv.METRIC_BROKER_CONNECTED, "1", per_bot=True),
}


READ_LIMIT = 5_000_000
"""Points read per series before thinning: every sample of a long range (90 days of 30 s
samples is 259,200), never silently only the newest ones."""


def stored_points(store: Store, metric: str, *, service: str, attributes: dict[str, str],
                  since_ns: int, until_ns: int | None, max_points: int) -> list[dict]:
    """The one call into the stored series (switch to the store's own `step`/`max_points`
    thinning here once `queries.series_points` has it, and drop `thin` below)."""
    return queries.series_points(store, metric, service=service, attributes=attributes,
                                 since_ns=since_ns, until_ns=until_ns, limit=READ_LIMIT)


def figure_history(store: Store, figure: str, *, host_service: str, service: str | None,
                   since_ns: int, until_ns: int | None = None, max_points: int = 500,
                   attributes: dict[str, str] | None = None) -> dict:
    """{"figure", "unit", "t": [unix ms], "v": [values]}; several series (mounts, brokers) are
    merged by taking the highest value at each time (the figure is the worst of them). Raises
    KeyError for a figure without history, ValueError when a bot figure names no service."""
    source = HISTORY_SOURCES[figure]
    owner = service if source.per_bot else host_service
    if source.per_bot and not service:
        raise ValueError(f"figure {figure!r} is per bot: name its service")
    wanted = {**source.attributes, **(attributes or {})}
    series = stored_points(store, source.metric, service=owner, attributes=wanted,
                           since_ns=since_ns, until_ns=until_ns, max_points=max_points)
    merged: dict[float, float] = {}
    for entry in series:
        for t, v in entry["points"]:
            if isinstance(v, int | float):
                merged[t] = max(merged.get(t, v), v)
    times = np.array(sorted(merged), dtype=float)
    values = np.array([merged[t] for t in times], dtype=float) * source.scale
    if source.divide_by is not None and len(values):
        divisor = _latest(store, source.divide_by, owner)
        values = values / divisor if divisor else values * np.nan
    times, values = thin(times, values, max_points)
    return {"figure": figure, "unit": source.unit, "t": [float(t) for t in times],
            "v": [None if not np.isfinite(v) else float(v) for v in values]}


def _latest(store: Store, metric: str, service: str) -> float | None:
    found = queries.series_points(store, metric, service=service, limit=1)
    points = [p for s in found for p in s["points"]]
    return float(points[-1][1]) if points and points[-1][1] else None


def thin(times: np.ndarray, values: np.ndarray, max_points: int
         ) -> tuple[np.ndarray, np.ndarray]:
    """At most `max_points` points: equal-width time buckets, each the mean time and the
    highest value of its samples (a spike stays visible on a long chart)."""
    if len(times) <= max_points:
        return times, values
    edges = np.linspace(times[0], times[-1], max_points + 1)
    index = np.clip(np.searchsorted(edges, times, side="right") - 1, 0, max_points - 1)
    kept_t, kept_v = [], []
    for bucket in np.unique(index):
        mask = index == bucket
        kept_t.append(times[mask].mean())
        kept_v.append(np.nanmax(values[mask]) if np.isfinite(values[mask]).any() else np.nan)
    return np.array(kept_t), np.array(kept_v)
