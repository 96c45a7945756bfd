"""Read functions shared by the REST API and the dashboard: plain dicts ready for JSON.

Each takes the `Store`; SQL stays here.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from opentelemetry.proto.metrics.v1 import metrics_pb2
from sqlalchemy import Connection, text

from tradepulse_backend.store.series_math import deltas, finite, rates
from tradepulse_backend.telemetry.otlp import log_dict, span_dict
from tradepulse_backend.telemetry.records import MetricKind

if TYPE_CHECKING:
    from tradepulse_backend.store import Store


class SeriesFunction(StrEnum):
    """What `series_points` returns for each point: the value, the change, or the rate."""

    VALUE = "value"
    DELTA = "delta"
    RATE = "rate"


FUNCTIONS = tuple(SeriesFunction)
MAX_POINTS = 10_000


def services(store: Store) -> list[dict[str, Any]]:
    """Every service that has sent telemetry: when it was first and last seen, and the
    attributes of each of its resources (service.version, host.name, ...)."""
    with store.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT service_name, first_seen_ns, last_seen_ns, attributes FROM resources "
            "ORDER BY service_name, id")).all()
    found: dict[str, dict[str, Any]] = {}
    for name, first, last, attrs in rows:
        entry = found.setdefault(name, {"name": name, "first_seen_unix_nano": first,
                                        "last_seen_unix_nano": last, "resources": []})
        entry["first_seen_unix_nano"] = min(entry["first_seen_unix_nano"], first)
        entry["last_seen_unix_nano"] = max(entry["last_seen_unix_nano"], last)
        entry["resources"].append(json.loads(attrs))
    return list(found.values())


def metric_names(store: Store, service: str | None = None) -> list[dict[str, Any]]:
    """Metric names with their kind, unit, number of series and services."""
    where, params = ("WHERE service_name = :service", {"service": service}) if service else ("", {})
    with store.engine.connect() as conn:
        rows = conn.execute(text(
            f"SELECT name, kind, unit, service_name, COUNT(*) FROM series {where} "
            "GROUP BY name, kind, unit, service_name ORDER BY name, kind, unit, service_name"),
            params).all()
    found: dict[tuple, dict[str, Any]] = {}
    for name, kind, unit, service_name, count in rows:
        entry = found.setdefault((name, kind, unit), {
            "name": name, "kind": kind, "unit": unit, "series": 0, "services": []})
        entry["series"] += count
        entry["services"].append(service_name)
    return list(found.values())


def series_points(
    store: Store,
    name: str,
    *,
    service: str | None = None,
    attributes: dict[str, str] | None = None,
    since_ns: int = 0,
    until_ns: int | None = None,
    function: SeriesFunction | str = SeriesFunction.VALUE,
    limit: int = MAX_POINTS,
) -> list[dict[str, Any]]:
    """Every series of a metric with its points in [since, until], as values, deltas or rates.

    Points are [time_unix_ms, value]; distributions' values are {count, sum, min, max, ...}.
    """
    if function not in FUNCTIONS:
        raise ValueError(f"function must be one of {', '.join(FUNCTIONS)}, got {function!r}")
    function = SeriesFunction(function)
    until_ns = until_ns if until_ns is not None else 2**63 - 1
    with store.engine.connect() as conn:
        metas = matching_series(conn, [name], service, attributes)
        return [
            _series_result(conn, meta, since_ns, until_ns, function, limit) for meta in metas
        ]


def matching_series(conn: Connection, names: Sequence[str], service: str | None = None,
                    wanted: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """The series of the named metrics (of one service, whose attributes include `wanted`),
    in id order, with attributes decoded and `monotonic` a bool."""
    marks = ", ".join(f":n{i}" for i in range(len(names)))
    params: dict[str, Any] = {f"n{i}": name for i, name in enumerate(names)}
    sql = ("SELECT id, name, service_name, kind, temporality, monotonic, unit, description, "
           f"attributes FROM series WHERE name IN ({marks})")
    if service:
        sql += " AND service_name = :service"
        params["service"] = service
    found = []
    for row in conn.execute(text(sql + " ORDER BY id"), params).mappings():
        attrs = json.loads(row["attributes"])
        if all(str(attrs.get(k)) == v for k, v in (wanted or {}).items()):
            found.append({**row, "attributes": attrs, "monotonic": bool(row["monotonic"])})
    return found


def _series_result(conn, meta: dict, since_ns: int, until_ns: int, function: SeriesFunction,
                   limit: int) -> dict[str, Any]:
    distribution = MetricKind(meta["kind"]).is_distribution
    rows = conn.execute(text(DISTRIBUTION_SQL if distribution else NUMBER_SQL),
                        {"sid": meta["id"], "since": since_ns, "until": until_ns,
                         "limit": limit}).all()
    result = {
        "series_id": meta["id"], "name": meta["name"], "service": meta["service_name"],
        "attributes": meta["attributes"], "kind": meta["kind"], "unit": meta["unit"],
        "temporality": _TEMPORALITY.get(meta["temporality"], "unspecified"),
        "monotonic": meta["monotonic"], "function": function.value,
    }
    if distribution and function is SeriesFunction.VALUE:
        result["points"] = [[t / 1e6, _distribution_value(meta["kind"], r)] for t, *r in rows]
        return result
    numbers = [(r[0], r[1], r[2] if not distribution else float(r[2])) for r in rows]
    if function is SeriesFunction.VALUE:
        pairs = [(t, v) for t, _s, v in numbers]
    else:
        shape = {"kind": "sum" if distribution else meta["kind"],
                 "temporality": meta["temporality"],
                 "monotonic": meta["monotonic"] or distribution}
        pairs = (deltas if function is SeriesFunction.DELTA else rates)(numbers, **shape)
    result["points"] = [[t / 1e6, finite(v)] for t, v in pairs]
    return result


_RANGE = "WHERE series_id = :sid AND time_ns >= :since AND time_ns <= :until"
# Number points live in `points` and, until the next compaction, in `points_staging`; UNION
# also folds a retried export whose copies have not been compacted yet.
# Shared with store.performance: the newest :limit points of a series in range, oldest first.
NUMBER_SQL = (
    "SELECT time_ns, start_ns, value FROM ("
    f"SELECT time_ns, start_ns, value FROM points {_RANGE} UNION "
    f"SELECT time_ns, start_ns, value FROM points_staging {_RANGE} "
    "ORDER BY time_ns DESC LIMIT :limit) AS newest ORDER BY time_ns")
DISTRIBUTION_SQL = (
    "SELECT time_ns, start_ns, count, sum, min, max, body FROM ("
    f"SELECT * FROM distribution_points {_RANGE} ORDER BY time_ns DESC LIMIT :limit) "
    "AS newest ORDER BY time_ns")


def _distribution_value(kind: str, row: tuple) -> dict[str, Any]:
    _start, count, total, low, high, body = row
    value: dict[str, Any] = {"count": count, "sum": finite(total), "min": finite(low),
                             "max": finite(high)}
    if kind == MetricKind.HISTOGRAM:
        point = metrics_pb2.HistogramDataPoint.FromString(body)
        value["bounds"] = list(point.explicit_bounds)
        value["bucket_counts"] = list(point.bucket_counts)
    elif kind == MetricKind.EXP_HISTOGRAM:
        point = metrics_pb2.ExponentialHistogramDataPoint.FromString(body)
        value.update(scale=point.scale, zero_count=point.zero_count,
                     positive={"offset": point.positive.offset,
                               "bucket_counts": list(point.positive.bucket_counts)},
                     negative={"offset": point.negative.offset,
                               "bucket_counts": list(point.negative.bucket_counts)})
    else:
        point = metrics_pb2.SummaryDataPoint.FromString(body)
        value["quantiles"] = [
            {"quantile": q.quantile, "value": finite(q.value)} for q in point.quantile_values
        ]
    return value


_TEMPORALITY = {0: "unspecified", 1: "delta", 2: "cumulative"}


def recent_spans(store: Store, *, service: str | None = None, name: str | None = None,
                 limit: int = 100) -> list[dict[str, Any]]:
    """The newest spans, newest first."""
    sql = ("SELECT s.body, r.service_name FROM spans s JOIN resources r ON r.id = s.resource_id"
           " WHERE 1 = 1")
    params: dict[str, Any] = {"limit": limit}
    if service:
        sql += " AND r.service_name = :service"
        params["service"] = service
    if name:
        sql += " AND s.name = :name"
        params["name"] = name
    with store.engine.connect() as conn:
        rows = conn.execute(text(sql + " ORDER BY s.id DESC LIMIT :limit"), params).all()
    return [span_dict(body, service=svc) for body, svc in rows]


def recent_traces(store: Store, *, service: str | None = None, limit: int = 50,
                  scan_spans: int = 2000) -> list[dict[str, Any]]:
    """Summaries of the traces seen in the newest spans: root name, duration, span count, error."""
    traces: OrderedDict[str, list[dict]] = OrderedDict()
    for span in recent_spans(store, service=service, limit=scan_spans):
        traces.setdefault(span["trace_id"], []).append(span)
    return [_trace_summary(tid, spans) for tid, spans in list(traces.items())[:limit]]


def _trace_summary(trace_id: str, spans: list[dict]) -> dict[str, Any]:
    ids = {s["span_id"] for s in spans}
    roots = [s for s in spans if not s["parent_span_id"] or s["parent_span_id"] not in ids]
    root = min(roots or spans, key=lambda s: s["start_time_unix_nano"])
    start = min(s["start_time_unix_nano"] for s in spans)
    end = max(s["end_time_unix_nano"] for s in spans)
    return {
        "trace_id": trace_id, "root_name": root["name"], "service": root["service"],
        "start_time_unix_nano": start, "duration_ms": (end - start) / 1e6,
        "span_count": len(spans), "error": any(s["status"]["code"] == "error" for s in spans),
    }


def trace(store: Store, trace_id_hex: str) -> list[dict[str, Any]]:
    """Every stored span of one trace, in start order; empty when unknown."""
    trace_id = bytes.fromhex(trace_id_hex)
    if len(trace_id) != 16:
        raise ValueError("trace id must be 32 hex characters")
    key = int.from_bytes(trace_id[:8], "big", signed=True)
    with store.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT s.body, r.service_name FROM spans s JOIN resources r ON r.id = s.resource_id "
            "WHERE s.trace_key = :key AND s.trace_id = :tid ORDER BY s.start_ns, s.id"),
            {"key": key, "tid": trace_id}).all()
    return [span_dict(body, service=svc) for body, svc in rows]


def recent_logs(store: Store, *, service: str | None = None, min_severity: int = 0,
                contains: str | None = None, since_ns: int = 0, limit: int = 100
                ) -> list[dict[str, Any]]:
    """The newest log records matching the filters, newest first."""
    sql = ("SELECT l.body, r.service_name FROM logs l JOIN resources r ON r.id = l.resource_id "
           "WHERE l.severity_number >= :sev AND l.time_ns >= :since")
    params: dict[str, Any] = {"sev": min_severity, "since": since_ns, "limit": limit}
    if service:
        sql += " AND r.service_name = :service"
        params["service"] = service
    if contains:
        sql += " AND l.body_text LIKE :pattern ESCAPE '\\'"
        escaped = contains.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params["pattern"] = f"%{escaped}%"
    with store.engine.connect() as conn:
        rows = conn.execute(text(sql + " ORDER BY l.id DESC LIMIT :limit"), params).all()
    return [log_dict(body, service=svc) for body, svc in rows]


def storage_counts(store: Store) -> dict[str, int]:
    """Cheap size figures: series and services exactly, spans and logs by their highest id."""
    with store.engine.connect() as conn:
        return {
            "services": conn.execute(
                text("SELECT COUNT(DISTINCT service_name) FROM resources")).scalar() or 0,
            "series": conn.execute(text("SELECT COUNT(*) FROM series")).scalar() or 0,
            "spans_written": conn.execute(text("SELECT MAX(id) FROM spans")).scalar() or 0,
            "logs_written": conn.execute(text("SELECT MAX(id) FROM logs")).scalar() or 0,
        }
