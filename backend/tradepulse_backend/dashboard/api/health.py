"""REST endpoints of system health: the summary with host metrics, components, bots and trends;
one component; and the stored history of a health figure. The bus events `HealthChanged` and
`HealthSampled` carry the same component and metrics shapes."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify, request

from tradepulse_backend.dashboard import params
from tradepulse_backend.dashboard.params import BadParameter
from tradepulse_backend.health import SystemHealthMonitor
from tradepulse_backend.health.history import HISTORY_SOURCES, figure_history

health_api = Blueprint("system_health", __name__, url_prefix="/api/v1/health")
DAY_NS = 86_400 * 10**9
MAX_HISTORY_POINTS = 10_000


def _monitor() -> SystemHealthMonitor:
    return current_app.extensions["tradepulse"].health


@health_api.get("")
def overview():
    return jsonify(_monitor().to_dict())


@health_api.get("/components")
def components():
    return jsonify(components=[c.to_dict() for c in _monitor().components()])


@health_api.get("/components/<path:name>")
def component(name: str):
    found = _monitor().get_component_health(name)
    if found is None:
        abort(404, description=f"no component named {name!r}")
    return jsonify(found.to_dict())


@health_api.get("/history")
def history():
    args = request.args
    figure = args.get("figure") or ""
    if figure not in HISTORY_SOURCES:
        raise BadParameter(f"figure: {'required' if not figure else f'no history of {figure!r}'}"
                           f"; one of {', '.join(sorted(HISTORY_SOURCES))}")
    backend = current_app.extensions["tradepulse"]
    now_ns = backend.clock.now_ns()
    monitor = _monitor()
    try:
        found = figure_history(
            monitor.store, figure, host_service=monitor.service_name,
            service=args.get("service") or None,
            since_ns=params.time_ns(args, "since", default=now_ns - DAY_NS, now_ns=now_ns),
            until_ns=params.time_ns(args, "until", default=None, now_ns=now_ns),
            max_points=params.integer(args, "max_points", default=500, low=1,
                                      high=MAX_HISTORY_POINTS),
            attributes=params.attribute_filters(args))
    except ValueError as error:
        if isinstance(error, BadParameter):
            raise
        raise BadParameter(f"service: {error}") from None
    return jsonify(found)
