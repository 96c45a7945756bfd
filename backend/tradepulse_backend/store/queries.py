"""Read functions shared by the REST API and the dashboard: plain dicts ready for JSON.

Each takes the `Store`; SQL stays here.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import numpy as np
from opentelemetry.proto.metrics.v1 import metrics_pb2
from sqlalchemy import Connection, text

from tradepulse_backend.store.chunks import TIER_NAMES, point_before, read_points
from tradepulse_backend.store.rollups import AGGREGATES, Aggregate
from tradepulse_backend.store.series_math import deltas, finite, rates
from tradepulse_backend.store.steps import histogram_steps, step_for, step_values
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
"""Points a series read returns when no limit is given."""
MAX_LIMIT = 1_000_000
"""The largest limit a series read takes (a month of 10-second points in one response)."""


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
    """Every series of a metric with its points in [since, until], as values, deltas or rates,
    the oldest `limit` points in all (see `series_query` for the truncation flag and cursor).

    Points are [time_unix_ms, value]; distributions' values are {count, sum, min, max, ...}.
    """
    return series_query(store, name, service=service, attributes=attributes,
                        since_ns=since_ns, until_ns=until_ns, function=function,
                        limit=limit)["series"]


def series_query(
    store: Store,
    name: str,
    *,
    service: str | None = None,
    attributes: dict[str, str] | None = None,
    since_ns: int = 0,
    until_ns: int | None = None,
    function: SeriesFunction | str = SeriesFunction.VALUE,
    step_ns: int | None = None,
    aggregate: Aggregate | str | None = None,
    max_points: int | None = None,
    limit: int = MAX_POINTS,
    cursor: str | None = None,
    columnar: bool = False,
    now_ns: int | None = None,
) -> dict[str, Any]:
    """Series of a metric in [since, until], oldest first: raw values, deltas or rates, or
    with `step_ns` (or `max_points`, which picks the step) one aggregate per bucket.

    At most `limit` points come back in all, series in id order; a response cut short says
    `truncated` and gives `next_cursor`, which the same query takes to continue where it
    stopped (every point exactly once). `columnar` gives each series' points as
    {"t": [unix ms...], "v": [values...]} instead of [[t, v], ...].
    """
    if function not in FUNCTIONS:
        raise ValueError(f"function must be one of {', '.join(FUNCTIONS)}, got {function!r}")
    function = SeriesFunction(function)
    if aggregate is not None and aggregate not in AGGREGATES:
        raise ValueError(f"agg must be one of {', '.join(AGGREGATES)}, got {aggregate!r}")
    until = until_ns if until_ns is not None else 2**63 - 1
    if max_points is not None:
        end = until_ns if until_ns is not None else (now_ns if now_ns is not None else until)
        needed = step_for(since_ns, max(end, since_ns), max_points)
        step_ns = max(step_ns or 0, needed)
    if step_ns is not None:
        aggregate = _aggregate_for(function, aggregate)
    start_sid, start_since = _parse_cursor(cursor)
    result: dict[str, Any] = {"series": [], "truncated": False, "next_cursor": None}
    if step_ns is not None:
        result.update(step_ms=step_ns / 1e6, agg=str(aggregate))
    remaining = limit
    with store.engine.connect() as conn:
        metas = [m for m in matching_series(conn, [name], service, attributes)
                 if m["id"] >= start_sid]
        for index, meta in enumerate(metas):
            since = start_since if meta["id"] == start_sid and cursor else since_ns
            times, values, resume = _series_data(conn, meta, since, until, function, step_ns,
                                                 aggregate, remaining, resumed=since > since_ns)
            entry = _series_header(meta, function)
            if step_ns is not None:
                entry.update(step_ms=step_ns / 1e6, agg=str(aggregate))
            entry["points"] = _shape(times, values, columnar)
            result["series"].append(entry)
            remaining -= len(times)
            if resume is not None:
                result.update(truncated=True, next_cursor=_cursor(meta["id"], resume))
                break
            if remaining <= 0 and index + 1 < len(metas):
                result.update(truncated=True,
                              next_cursor=_cursor(metas[index + 1]["id"], since_ns))
                break
    return result


def _aggregate_for(function: SeriesFunction, aggregate: Aggregate | str | None) -> Aggregate:
    """The step aggregate: as asked, or the one matching the function (value -> last,
    delta -> increase, rate -> rate); a clash of the two is a ValueError."""
    implied = {SeriesFunction.VALUE: None, SeriesFunction.DELTA: Aggregate.INCREASE,
               SeriesFunction.RATE: Aggregate.RATE}[function]
    if aggregate is None:
        return implied or Aggregate.LAST
    aggregate = Aggregate(aggregate)
    if implied is not None and aggregate is not implied:
        raise ValueError(f"fn={function.value} with a step means agg={implied.value}; "
                         f"got agg={aggregate.value}")
    return aggregate


def _series_data(conn: Connection, meta: dict[str, Any], since: int, until: int,
                 function: SeriesFunction, step_ns: int | None, aggregate: Aggregate | None,
                 limit: int, *, resumed: bool) -> tuple[Any, Any, int | None]:
    """(times ns, values, where to resume or None) of one series, at most `limit` points."""
    distribution = MetricKind(meta["kind"]).is_distribution
    if distribution:
        if step_ns is None:
            return _distribution_data(conn, meta, since, until, function, limit)
        if meta["kind"] != MetricKind.HISTOGRAM:
            raise ValueError(f"{meta['name']} is a {meta['kind']}: step queries cover gauges, "
                             "sums and explicit-bucket histograms; ask for its raw points")
        entries = histogram_steps(conn, meta, since, until, step_ns)
        times, values = entries.time_ns, entries.to_values()
        if len(times) > limit:
            return times[:limit], values[:limit], int(times[limit])
        return times, values, None
    if step_ns is not None:
        times, values = step_values(conn, meta, since, until, step_ns, aggregate)
    elif function is SeriesFunction.VALUE:
        points = read_points(conn, meta["id"], since, until)
        times, values = points.times, np.where(points.present, points.values, np.nan)
    else:
        points = read_points(conn, meta["id"], since, until)
        rows = points.rows()
        if resumed:
            previous = point_before(conn, meta["id"], since)
            rows = ([previous] if previous is not None else []) + rows
        shape = {"kind": meta["kind"], "temporality": meta["temporality"],
                 "monotonic": meta["monotonic"]}
        pairs = (deltas if function is SeriesFunction.DELTA else rates)(rows, **shape)
        times = np.array([t for t, _ in pairs if t >= since], dtype=np.int64)
        values = np.array([v for t, v in pairs if t >= since], dtype=np.float64)
    if len(times) > limit:
        return times[:limit], values[:limit], int(times[limit])
    return times, values, None


def _distribution_data(conn: Connection, meta: dict[str, Any], since: int, until: int,
                       function: SeriesFunction, limit: int) -> tuple[list, list, int | None]:
    rows = conn.execute(text(DISTRIBUTION_SQL), {"sid": meta["id"], "since": since,
                                                 "until": until, "limit": limit + 1}).all()
    resume = rows[limit][0] if len(rows) > limit else None
    rows = rows[:limit]
    if function is SeriesFunction.VALUE:
        return ([r[0] for r in rows], [_distribution_value(meta["kind"], r[1:]) for r in rows],
                resume)
    numbers = [(r[0], r[1], float(r[2])) for r in rows]
    shape = {"kind": "sum", "temporality": meta["temporality"], "monotonic": True}
    pairs = (deltas if function is SeriesFunction.DELTA else rates)(numbers, **shape)
    return [t for t, _ in pairs], [v for _, v in pairs], resume


def _series_header(meta: dict[str, Any], function: SeriesFunction) -> dict[str, Any]:
    return {
        "series_id": meta["id"], "name": meta["name"], "service": meta["service_name"],
        "attributes": meta["attributes"], "kind": meta["kind"], "unit": meta["unit"],
        "temporality": _TEMPORALITY.get(meta["temporality"], "unspecified"),
        "monotonic": meta["monotonic"], "function": function.value,
    }


def _shape(times, values, columnar: bool) -> Any:
    """Points as JSON wants them: unix ms, and null for a missing or non-finite value."""
    if isinstance(values, np.ndarray):
        t = (np.asarray(times, dtype=np.int64) / 1e6).tolist()
        v = values.tolist()
        for i in np.flatnonzero(~np.isfinite(values)).tolist():
            v[i] = None
    else:
        t = [time / 1e6 for time in times]
        v = [value if isinstance(value, dict) else finite(value) for value in values]
    if columnar:
        return {"t": t, "v": v}
    return [[a, b] for a, b in zip(t, v, strict=True)]


def _cursor(sid: int, since_ns: int) -> str:
    return f"{sid}.{since_ns}"


def _parse_cursor(cursor: str | None) -> tuple[int, int]:
    """(series id, since ns) of a cursor; ValueError names a malformed one."""
    if not cursor:
        return 0, 0
    try:
        sid, since = (int(part) for part in cursor.split("."))
    except ValueError:
        raise ValueError(f"cursor: not a cursor this API returned: {cursor[:40]!r}") from None
    if sid < 0 or not 0 <= since < 2**63:
        raise ValueError(f"cursor: out of range: {cursor[:40]!r}")
    return sid, since


def latest_values(store: Store, *, service: str | None = None,
                  names: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The newest point of every matching series (one service's, optionally of some metric
    names), from the table the writer keeps current: one query, no scan of points."""
    sql = ("SELECT s.id, s.name, s.service_name, s.kind, s.unit, s.attributes, l.time_ns, "
           "l.value, l.count, l.sum, l.min, l.max FROM latest_values l "
           "JOIN series s ON s.id = l.series_id WHERE 1 = 1")
    params: dict[str, Any] = {}
    if service:
        sql += " AND s.service_name = :service"
        params["service"] = service
    if names:
        sql += f" AND s.name IN ({', '.join(f':n{i}' for i in range(len(names)))})"
        params.update({f"n{i}": name for i, name in enumerate(names)})
    with store.engine.connect() as conn:
        rows = conn.execute(text(sql + " ORDER BY s.name, s.id"), params).all()
    out = []
    for sid, name, svc, kind, unit, attrs, time_ns, value, count, total, low, high in rows:
        entry: dict[str, Any] = {"series_id": sid, "name": name, "service": svc, "kind": kind,
                                 "unit": unit, "attributes": json.loads(attrs),
                                 "time_unix_ms": time_ns / 1e6}
        if MetricKind(kind).is_distribution:
            entry["value"] = {"count": count, "sum": finite(total), "min": finite(low),
                              "max": finite(high)}
        else:
            entry["value"] = finite(value)
        out.append(entry)
    return out


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


_RANGE = "WHERE series_id = :sid AND time_ns >= :since AND time_ns <= :until"
DISTRIBUTION_SQL = (
    "SELECT time_ns, start_ns, count, sum, min, max, body FROM distribution_points "
    f"{_RANGE} ORDER BY time_ns LIMIT :limit")
"""The oldest :limit distribution points of a series in range."""


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


def tier_stats(store: Store) -> dict[str, dict[str, Any]]:
    """Per storage tier of number series: chunks, the raw samples they stand for, their
    compressed bytes and bytes per sample (rollup tiers: per raw sample they summarize), plus
    the unsealed points still in tables (`open`)."""
    with store.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT tier, COUNT(*), SUM(count), SUM(LENGTH(body)) FROM series_chunks "
            "WHERE flags < 4 GROUP BY tier ORDER BY tier")).all()
        unsealed = sum(conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar() or 0
                       for table in ("points", "points_staging"))
    found: dict[str, dict[str, Any]] = {}
    for tier, chunk_count, samples, size in rows:
        found[TIER_NAMES.get(tier, str(tier))] = {
            "chunks": chunk_count, "samples": int(samples or 0), "bytes": int(size or 0),
            "bytes_per_sample": round(size / samples, 3) if samples else None}
    found["open"] = {"points": unsealed}
    return found
