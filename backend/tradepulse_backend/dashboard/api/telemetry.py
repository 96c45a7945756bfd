"""REST API under /api/v1 plus /healthz; every handler reads through store.queries."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from flask import Blueprint, current_app, jsonify, request

from tradepulse_backend.clock import duration_ns
from tradepulse_backend.config import redacted
from tradepulse_backend.dashboard import params, views
from tradepulse_backend.dashboard.params import BadParameter
from tradepulse_backend.store import queries
from tradepulse_backend.store.rollups import Aggregate

if TYPE_CHECKING:
    from tradepulse_backend.runtime import Backend

api = Blueprint("api", __name__, url_prefix="/api/v1")
health = Blueprint("health", __name__)
DAY_NS = 86_400 * 10**9
DEFAULT_CHART_POINTS = 1000
MIN_STEP_NS, MAX_STEP_NS = 10**9, 366 * DAY_NS


def backend() -> Backend:
    return current_app.extensions["tradepulse"]


ENDPOINTS = {
    "status": "/api/v1/status",
    "services": "/api/v1/services",
    "metrics": "/api/v1/metrics?name=&service=&since=&until=&fn=value|delta|rate"
               "&step=60s|1h|auto&agg=last|avg|min|max|sum|count|increase|rate&max_points="
               "&limit=&cursor=&format=columnar&attr.KEY=VALUE",
    "metrics_latest": "/api/v1/metrics/latest?service=&name=",
    "traces": "/api/v1/traces",
    "trace": "/api/v1/traces/<trace_id>",
    "spans": "/api/v1/spans?service=&name=",
    "logs": "/api/v1/logs?service=&severity=&contains=",
    "performance": "/api/v1/performance?service=&portfolio=",
    "performance_history": "/api/v1/performance/history?service=&field=&since=&max_points=",
    "performance_summary": "/api/v1/performance/summary?service=&period=day|week|month|ytd|all",
    "reports": "/api/v1/reports?service=&period=day|week&format=json|html|csv",
    "health": "/healthz",
    "system_health": "/api/v1/health",
    "alerts": "/api/v1/alerts",
    "alert_history": "/api/v1/alerts/history?service=&severity=&since=&limit=&cursor=",
    "rules": "/api/v1/rules",
    "silences": "/api/v1/silences",
    "notifications": "/api/v1/notifications?status=&channel=",
    "test_alert": "POST /api/v1/test-alert",
    "dashboard_config": "/api/v1/dashboard-config",
    "page": "/",
    "positions": "/api/v1/positions?service=&portfolio=",
    "execution": "/api/v1/execution?service=",
    "layouts": "/api/v1/layouts",
    "layout": "/api/v1/layouts/<name>",
    "websocket": "/ws?service=&layout=",
    "login": "/login",
}


@api.get("/")
def index():
    """What this port serves, so the URL the CLI prints leads somewhere useful."""
    return jsonify(service="tradepulse", version=backend().version, endpoints=ENDPOINTS)


@health.get("/healthz")
def healthz():
    """200 while every background worker runs; 503 naming the dead ones otherwise."""
    b = backend()
    if b.healthy:
        return jsonify(status="ok"), 200
    return jsonify(status="unavailable", dead_workers=b.workers.dead), 503


@api.get("/status")
def status():
    b = backend()
    stats = b.pipeline.stats
    return jsonify(
        version=b.version,
        uptime_s=round(b.uptime_s, 3),
        healthy=b.healthy,
        endpoints=b.urls,
        workers=b.workers.status(),
        bus=b.bus.stats(),
        websockets=b.dashboard.stats(),
        thread_pools=b.server_stats() if b.server_stats else None,
        ingest={
            "accepted": stats.accepted, "rejected": stats.rejected,
            "transactions": stats.transactions, "write_failures": stats.write_failures,
            "refused_queue_full": stats.refused_full, "commit_timeouts": stats.commit_timeouts,
            "queue_depth": b.pipeline.depth, "queue_capacity": b.pipeline.capacity,
        },
        storage={
            **queries.storage_counts(b.store),
            **b.store.size_report(),
            "tiers": queries.tier_stats(b.store),
        },
        performance={"services": len(b.performance.services()),
                     "restoring": b.performance.restoring,
                     "backlog": b.performance.backlog,
                     "skipped_points": b.performance.skipped_points},
        forwarding=b.forwarding.stats(),
        alerting=b.alerting.stats(),
        config=redacted(b.config),
    )


@api.get("/services")
def services():
    return jsonify(views.services(backend().store))


@api.get("/metrics")
def metrics():
    store = backend().store
    now_ns = backend().clock.now_ns()
    args = request.args
    name = args.get("name")
    if not name:
        return jsonify(metrics=queries.metric_names(store, args.get("service")))
    step_ns, max_points = _step(args)
    try:
        result = queries.series_query(
            store, name,
            service=args.get("service"),
            attributes=params.attribute_filters(args),
            since_ns=params.time_ns(args, "since", default=now_ns - DAY_NS, now_ns=now_ns),
            until_ns=params.time_ns(args, "until", default=None, now_ns=now_ns),
            function=params.choice(args, "fn", queries.SeriesFunction,
                                   queries.SeriesFunction.VALUE),
            step_ns=step_ns,
            aggregate=params.choice(args, "agg", Aggregate, None),
            max_points=max_points,
            limit=params.integer(args, "limit", default=queries.MAX_POINTS, low=1,
                                 high=queries.MAX_LIMIT),
            cursor=args.get("cursor"),
            columnar=params.choice(args, "format", SeriesFormat, SeriesFormat.ROWS)
            is SeriesFormat.COLUMNAR,
            now_ns=now_ns,
        )
    except ValueError as error:
        raise BadParameter(str(error)) from None
    return jsonify(name=name, **result)


class SeriesFormat(StrEnum):
    """How a series' points are shaped: [[t, v], ...] (deprecated) or {"t": [...], "v": [...]}."""

    ROWS = "rows"
    COLUMNAR = "columnar"


def _step(args) -> tuple[int | None, int | None]:
    """(step ns or None, max points or None) from `step` (a duration or `auto`) and
    `max_points`; `auto` without `max_points` aims at DEFAULT_CHART_POINTS."""
    max_points = params.integer(args, "max_points", default=0, low=1,
                                high=queries.MAX_POINTS) or None
    raw = (args.get("step") or "").strip()
    if not raw:
        return None, max_points
    if raw == "auto":
        return None, max_points or DEFAULT_CHART_POINTS
    step = duration_ns(raw)
    if step is None or not MIN_STEP_NS <= step <= MAX_STEP_NS:
        raise BadParameter(f"step: a duration from 1s to 366d (e.g. 60s, 1h) or auto, "
                           f"got {raw[:40]!r}")
    return step, max_points


@api.get("/metrics/latest")
def latest():
    """The newest value of every matching series, in one request."""
    args = request.args
    names = [n for raw in args.getlist("name") for n in raw.split(",") if n]
    return jsonify(latest=queries.latest_values(backend().store, service=args.get("service"),
                                                names=names or None))


@api.get("/traces")
def traces():
    args = request.args
    return jsonify(traces=queries.recent_traces(
        backend().store, service=args.get("service"),
        limit=params.integer(args, "limit", default=50, low=1, high=1000)))


@api.get("/traces/<trace_id>")
def trace(trace_id: str):
    try:
        spans = queries.trace(backend().store, trace_id)
    except ValueError:
        raise BadParameter(f"trace id must be 32 hex characters, got {trace_id!r}") from None
    if not spans:
        return jsonify(error=f"no trace {trace_id}"), 404
    return jsonify(trace_id=trace_id.lower(), spans=spans)


@api.get("/spans")
def spans():
    args = request.args
    return jsonify(spans=queries.recent_spans(
        backend().store, service=args.get("service"), name=args.get("name"),
        limit=params.integer(args, "limit", default=100, low=1, high=5000)))


@api.get("/logs")
def logs():
    args = request.args
    return jsonify(logs=queries.recent_logs(
        backend().store, service=args.get("service"),
        min_severity=params.integer(args, "severity", default=0, low=0, high=24),
        contains=args.get("contains"),
        since_ns=params.time_ns(args, "since", default=0, now_ns=backend().clock.now_ns()),
        limit=params.integer(args, "limit", default=100, low=1, high=5000)))


