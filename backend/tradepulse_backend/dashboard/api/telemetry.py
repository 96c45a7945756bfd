"""REST API under /api/v1 plus /healthz; every handler reads through store.queries."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, current_app, jsonify, request

from tradepulse_backend.config import redacted
from tradepulse_backend.dashboard import params, views
from tradepulse_backend.dashboard.params import BadParameter
from tradepulse_backend.store import queries

if TYPE_CHECKING:
    from tradepulse_backend.runtime import Backend

api = Blueprint("api", __name__, url_prefix="/api/v1")
health = Blueprint("health", __name__)
DAY_NS = 86_400 * 10**9


def backend() -> Backend:
    return current_app.extensions["tradepulse"]


ENDPOINTS = {
    "status": "/api/v1/status",
    "services": "/api/v1/services",
    "metrics": "/api/v1/metrics?name=&service=&since=&fn=value|delta|rate&attr.KEY=VALUE",
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
    series = queries.series_points(
        store, name,
        service=args.get("service"),
        attributes=params.attribute_filters(args),
        since_ns=params.time_ns(args, "since", default=now_ns - DAY_NS, now_ns=now_ns),
        until_ns=params.time_ns(args, "until", default=None, now_ns=now_ns),
        function=params.choice(args, "fn", queries.SeriesFunction,
                               queries.SeriesFunction.VALUE),
        limit=params.integer(args, "limit", default=queries.MAX_POINTS, low=1,
                             high=queries.MAX_POINTS),
    )
    return jsonify(name=name, series=series)


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


