"""REST endpoints of derived performance: current snapshots, field history, period summaries
and reports. Current figures come from `dashboard.views`, which the WebSocket sends too."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, jsonify, request

from tradepulse_backend.dashboard import params, views
from tradepulse_backend.dashboard.params import BadParameter
from tradepulse_backend.performance import NUMERIC_FIELDS, reports
from tradepulse_backend.performance.history import parse_period
from tradepulse_backend.performance.reports import ReportFormat, ReportPeriod
from tradepulse_backend.store import performance as stored
from tradepulse_backend.store import queries
from tradepulse_backend.store.series_math import finite

performance_api = Blueprint("performance", __name__, url_prefix="/api/v1")
HISTORY_FIELDS = frozenset(NUMERIC_FIELDS) | {"days", "trades", "orders",
                                              "position_limit_breaches"}
DAY_NS = 86_400 * 10**9


def _monitor():
    return current_app.extensions["tradepulse"].performance


@performance_api.get("/performance")
def current():
    args = request.args
    return jsonify(views.performance(_monitor(), args.get("service") or None,
                                     args.get("portfolio") or None))


@performance_api.get("/positions")
def positions():
    args = request.args
    return jsonify(views.positions(_monitor(), args.get("service") or None,
                                   args.get("portfolio") or None))


@performance_api.get("/execution")
def execution():
    return jsonify(views.execution(_monitor(), request.args.get("service") or None))


@performance_api.get("/performance/history")
def history():
    args = request.args
    service = _required(args, "service")
    name = _required(args, "field")
    if name not in HISTORY_FIELDS:
        raise BadParameter(f"field: unknown performance field {name!r}; one of "
                           f"{', '.join(sorted(HISTORY_FIELDS))}")
    portfolio = args.get("portfolio")
    if portfolio is None:
        portfolio = stored.default_portfolio(_monitor().store, service)
    now_ns = current_app.extensions["tradepulse"].clock.now_ns()
    max_points = params.integer(args, "max_points", default=0, low=1, high=100_000) or None
    times, values = stored.field_history(
        _monitor().store, service, portfolio, name,
        since_ns=params.time_ns(args, "since", default=now_ns - DAY_NS, now_ns=now_ns),
        until_ns=params.time_ns(args, "until", default=2**63 - 1, now_ns=now_ns),
        limit=params.integer(args, "limit", default=10_000 if max_points is None else 10**7,
                             low=1, high=10**7),
        max_points=max_points)
    points = [[t / 1e6, finite(v)] for t, v in zip(times.tolist(), values, strict=True)]
    return jsonify(service=service, portfolio=portfolio, field=name, points=points)


@performance_api.get("/performance/summary")
def summary():
    args = request.args
    service = _known_service(args)
    period = args.get("period") or "all"
    try:
        parse_period(period)
    except ValueError as error:
        raise BadParameter(f"period: {error}") from None
    return jsonify(_monitor().get_performance_summary(service, period, args.get("portfolio")))


@performance_api.get("/reports")
def report():
    args = request.args
    service = _known_service(args)
    period = params.choice(args, "period", ReportPeriod, ReportPeriod.DAY)
    fmt = params.choice(args, "format", ReportFormat, ReportFormat.JSON)
    built = reports.build_report(_monitor(), service, period, portfolio=args.get("portfolio"))
    if fmt is ReportFormat.JSON:
        return jsonify(built.to_dict())
    body, mimetype = reports.render(built, fmt)
    filename = f"tradepulse-{service}-{period}-{built.day_label}.{fmt}"
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f'inline; filename="{filename}"'})


def _required(args, name: str) -> str:
    value = args.get(name)
    if not value:
        raise BadParameter(f"{name}: required")
    return value


def _known_service(args) -> str:
    """The `service` parameter, which must name a bot that has sent telemetry (else 404)."""
    service = _required(args, "service")
    if service not in {s["name"] for s in queries.services(_monitor().store)}:
        abort(404, description=f"no telemetry from service {service!r}")
    return service

