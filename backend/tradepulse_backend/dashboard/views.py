"""The JSON shapes of the dashboard: one function per view, called by REST and the WebSocket.

A REST endpoint returns exactly what its function here returns, and the WebSocket message of
the same type carries it as `data`, so the page parses one shape per view whichever way it came.
Views owned by other packages (health, alerts) are read through their REST endpoint in-process
(`rest_json`), so there too one serializer serves both.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from flask import Flask
from werkzeug.exceptions import MethodNotAllowed, NotFound

from tradepulse_backend.health import BACKEND_SERVICE
from tradepulse_backend.store import queries
from tradepulse_backend.store.series_math import finite
from tradepulse_backend.telemetry.otlp import span_dict
from tradepulse_backend.telemetry.records import DecodedBatch, MetricKind

if TYPE_CHECKING:
    from tradepulse_backend.performance import PerformanceMonitor, PerformanceSnapshot

logger = logging.getLogger(__name__)
EXECUTION_FIELDS = ("orders", "order_success_rate", "rejection_rate", "fill_rate",
                    "latency_p50_ms", "latency_p95_ms", "latency_p99_ms",
                    "slippage_mean_bps", "slippage_p95_bps", "by_broker", "by_symbol")
"""The execution-quality figures of a snapshot (per service: every portfolio shares them)."""


def _snapshots(monitor: PerformanceMonitor, service: str | None, portfolio: str | None
               ) -> list[PerformanceSnapshot]:
    found = monitor.snapshots(service)
    return [s for s in found if portfolio is None or s.portfolio == portfolio]


def performance(monitor: PerformanceMonitor, service: str | None = None,
                portfolio: str | None = None) -> dict[str, Any]:
    """`GET /api/v1/performance?service=&portfolio=`: every matching portfolio's snapshot."""
    return {"performance": [s.to_dict() for s in _snapshots(monitor, service, portfolio)]}


def positions(monitor: PerformanceMonitor, service: str | None = None,
              portfolio: str | None = None) -> dict[str, Any]:
    """`GET /api/v1/positions`: one row per open position, with its share of the portfolio."""
    rows = []
    for snap in _snapshots(monitor, service, portfolio):
        for symbol, entry in snap.positions.items():
            value = entry.get("market_value")
            share = (value / snap.portfolio_value
                     if value is not None and snap.portfolio_value else None)
            rows.append({"service": snap.service, "portfolio": snap.portfolio,
                         "currency": snap.currency, "symbol": symbol, **entry,
                         "allocation": share, "timestamp": snap.timestamp})
    return {"positions": rows}


def execution(monitor: PerformanceMonitor, service: str | None = None) -> dict[str, Any]:
    """`GET /api/v1/execution`: order flow quality per service over the execution window."""
    seen: dict[str, dict[str, Any]] = {}
    for snap in _snapshots(monitor, service, None):
        if snap.service not in seen:
            seen[snap.service] = {"service": snap.service, "timestamp": snap.timestamp,
                                  **{name: getattr(snap, name) for name in EXECUTION_FIELDS}}
    return {"execution": list(seen.values())}


def services(store) -> dict[str, Any]:
    """`GET /api/v1/services`: every service that has sent telemetry, each with its `role`:
    `backend` for the backend's own host samples, `bot` for everything else."""
    return {"services": [{**entry, "role": "backend" if entry["name"] == BACKEND_SERVICE
                          else "bot"} for entry in queries.services(store)]}


def spans(records: Iterable) -> dict[str, Any]:
    """`GET /api/v1/spans`' shape for freshly stored span records, newest first."""
    return {"spans": [span_dict(r.body, service=r.resource.service_name)
                      for r in reversed(list(records))]}


def metric_series(series, points: list) -> dict[str, Any]:
    """One series of `GET /api/v1/metrics?name=` (fn=value) from a stored batch's points."""
    kind = MetricKind(series.kind)
    return {
        "series_id": series.id, "name": series.name, "service": series.resource.service_name,
        "attributes": series.attributes, "kind": str(series.kind), "unit": series.unit,
        "temporality": _TEMPORALITY.get(int(series.temporality), "unspecified"),
        "monotonic": bool(series.monotonic), "function": queries.SeriesFunction.VALUE.value,
        "points": [[p.time_ns / 1e6, _distribution(kind, p)] if kind.is_distribution
                   else [p[0] / 1e6, finite(p[2])] for p in points],
    }


def metrics(batch: DecodedBatch, names: frozenset[str] | None = None
            ) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(service, metric name, `GET /api/v1/metrics?name=` body) for each metric of a stored
    batch, limited to `names` when given."""
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for item in batch.metrics:
        if names is not None and item.series.name not in names:
            continue
        key = (item.series.resource.service_name, item.series.name)
        grouped.setdefault(key, []).append(metric_series(item.series, item.points))
    for (service, name), found in grouped.items():
        yield service, name, {"name": name, "series": found, "truncated": False,
                              "next_cursor": None}


def rest_json(app: Flask, path: str, query: str = "") -> Any | None:
    """The JSON body a GET of `path` returns on this app, computed in-process (whatever its
    status: a 503 health report is still the report); None when no such endpoint exists (its
    package is not installed) or it answered no JSON."""
    adapter = app.url_map.bind("localhost")
    try:
        endpoint, args = adapter.match(path, method="GET")
    except (NotFound, MethodNotAllowed):
        return None
    try:
        with app.test_request_context(path, query_string=query):
            response = app.make_response(app.view_functions[endpoint](**args))
    except Exception:
        logger.exception("GET %s failed while building a dashboard snapshot", path)
        return None
    return response.get_json(silent=True)


def _distribution(kind: MetricKind, point) -> dict[str, Any]:
    """A distribution point as `queries.series_points` shows it, per kind."""
    value: dict[str, Any] = {"count": point.count, "sum": finite(point.sum),
                             "min": finite(point.min), "max": finite(point.max)}
    if kind is MetricKind.HISTOGRAM:
        value.update(bounds=list(point.bounds), bucket_counts=list(point.bucket_counts))
    elif kind is MetricKind.EXP_HISTOGRAM:
        value.update(scale=point.scale, zero_count=point.zero_count,
                     positive={"offset": point.positive_offset,
                               "bucket_counts": list(point.positive_counts)},
                     negative={"offset": point.negative_offset,
                               "bucket_counts": list(point.negative_counts)})
    else:
        value["quantiles"] = [{"quantile": q, "value": finite(v)} for q, v in point.quantiles]
    return value


_TEMPORALITY = {0: "unspecified", 1: "delta", 2: "cumulative"}
