"""Storage of derived performance: snapshots, the live monitor's state, closed trades, and the
raw trading points the monitor replays or recomputes from. Each function takes the `Store`."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import text

from tradepulse import conventions as conv
from tradepulse_backend.store.chunks import point_before, read_points, sealed_until
from tradepulse_backend.store.queries import DISTRIBUTION_SQL, matching_series
from tradepulse_backend.store.retention import first_id_at_or_after
from tradepulse_backend.store.schema import (
    SNAPSHOT_FIELDS,
    performance_snapshots,
    performance_state,
    trades,
)
from tradepulse_backend.store.steps import sealed_entries, sealed_histogram_entries, step_for
from tradepulse_backend.telemetry.otlp import distribution_from_body, trade_from_body
from tradepulse_backend.telemetry.records import MetricKind, TradeRecord

if TYPE_CHECKING:
    from tradepulse_backend.store import Store


def save(store: Store, snapshots: Sequence[dict[str, Any]],
         states: Sequence[dict[str, Any]]) -> None:
    """Append snapshots (their figures also as columns) and replace each service's state, in
    one transaction."""
    with store.engine.begin() as conn:
        if snapshots:
            conn.execute(performance_snapshots.insert(),
                         [{**row, **snapshot_figures(json.loads(row["body"]))}
                          for row in snapshots])
        for state in states:
            conn.execute(performance_state.delete().where(
                performance_state.c.service_name == state["service_name"]))
            conn.execute(performance_state.insert(), state)


def load_states(store: Store) -> dict[str, dict[str, Any]]:
    """Every service's saved monitor state, with the time it was saved."""
    with store.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT service_name, saved_ns, body FROM performance_state")).all()
    return {name: {"saved_ns": saved, **json.loads(body)} for name, saved, body in rows}


def add_trades(store: Store, rows: Iterable[dict[str, Any]]) -> None:
    """Store closed trades; one already stored (same span) is skipped, so replays are safe."""
    rows = list(rows)
    if rows:
        with store.engine.begin() as conn:
            conn.execute(store.dialect.insert_ignoring_duplicates(trades), rows)


def trade_keys(store: Store) -> list[tuple[str, str, bytes, float]]:
    """(service, portfolio, span key, pnl) of every stored trade, to count them once."""
    with store.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(
            "SELECT service_name, portfolio, span_key, pnl FROM trades ORDER BY id")).all()]


def default_portfolio(store: Store, service: str) -> str:
    """The portfolio a bot's figures mean when none is named: the unnamed one if the bot has
    it, else its first by name."""
    found: set[str] = set()
    with store.engine.connect() as conn:
        for (attrs,) in conn.execute(text(
                "SELECT attributes FROM series WHERE name = :name AND service_name = :service"),
                {"name": conv.METRIC_PORTFOLIO_VALUE, "service": service}):
            found.add(str(json.loads(attrs).get(conv.ATTR_PORTFOLIO, "")))
        found.update(conn.execute(text(
            "SELECT DISTINCT portfolio FROM trades WHERE service_name = :service"),
            {"service": service}).scalars())
    return "" if not found or "" in found else min(found)


def trades_since(store: Store, since_ns: int) -> list[TradeRecord]:
    """Trades of the `trading.trade` spans stored from about `since_ns` on."""
    first = first_id_at_or_after(store, "spans", "start_ns", since_ns)
    with store.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT r.service_name, s.body FROM spans s JOIN resources r ON r.id = s.resource_id "
            "WHERE s.id >= :first AND s.name = :name ORDER BY s.id"),
            {"first": first, "name": conv.SPAN_TRADE}).all()
    return [trade for service, body in rows if (trade := trade_from_body(body, service))]


def trades_between(store: Store, service: str, since_ns: int, until_ns: int,
                   portfolio: str | None = None) -> list[dict[str, Any]]:
    """Trades of a service that closed in [since, until], oldest first."""
    sql = ("SELECT service_name AS service, portfolio, symbol, side, pnl, "
           "trade_return, quantity, entry_ns, exit_ns FROM trades "
           "WHERE service_name = :service AND exit_ns >= :since AND exit_ns <= :until")
    params: dict[str, Any] = {"service": service, "since": since_ns, "until": until_ns}
    if portfolio is not None:
        sql += " AND portfolio = :portfolio"
        params["portfolio"] = portfolio
    with store.engine.connect() as conn:
        return [dict(row) for row in conn.execute(text(sql + " ORDER BY exit_ns, id"),
                                                  params).mappings()]


def snapshot_history(store: Store, service: str, portfolio: str, since_ns: int,
                     until_ns: int, limit: int) -> list[tuple[int, dict[str, Any]]]:
    """Persisted snapshots of one portfolio in [since, until], the newest `limit`, oldest first."""
    with store.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT time_ns, body FROM (SELECT time_ns, body FROM performance_snapshots "
            "WHERE service_name = :service AND portfolio = :portfolio AND time_ns >= :since "
            "AND time_ns <= :until ORDER BY time_ns DESC LIMIT :limit) AS newest "
            "ORDER BY time_ns"),
            {"service": service, "portfolio": portfolio, "since": since_ns,
             "until": until_ns, "limit": limit}).all()
    return [(time_ns, json.loads(body)) for time_ns, body in rows]


def field_history(store: Store, service: str, portfolio: str, field: str, since_ns: int,
                  until_ns: int, limit: int, max_points: int | None = None
                  ) -> tuple[np.ndarray, list[float | None]]:
    """One snapshot figure over time, oldest first, read from its column: (times ns, values).

    The newest `limit` snapshots in [since, until]; with `max_points`, thinned to the last
    snapshot of each step-aligned bucket, the step chosen so at most `max_points` remain.
    """
    if field not in SNAPSHOT_FIELDS:
        raise ValueError(f"field: unknown performance field {field!r}")
    with store.engine.connect() as conn:
        rows = conn.execute(text(
            f"SELECT time_ns, {field} FROM (SELECT time_ns, {field} FROM performance_snapshots "
            "WHERE service_name = :service AND portfolio = :portfolio AND time_ns >= :since "
            "AND time_ns <= :until ORDER BY time_ns DESC LIMIT :limit) AS newest "
            "ORDER BY time_ns"),
            {"service": service, "portfolio": portfolio, "since": since_ns,
             "until": until_ns, "limit": limit}).all()
    times = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    values = [r[1] for r in rows]
    if max_points is not None and times.size > max_points:
        step = step_for(int(times[0]), int(times[-1]), max_points)
        keys = times // step
        last = np.flatnonzero(np.append(keys[1:] != keys[:-1], True))
        times = times[last]
        values = [values[i] for i in last.tolist()]
    return times, values


def snapshot_figures(body: dict[str, Any]) -> dict[str, float | None]:
    """A snapshot's figures as column values: numbers, else None."""
    return {name: float(value) if isinstance(value, int | float)
            and not isinstance(value, bool) else None
            for name in SNAPSHOT_FIELDS for value in (body.get(name),)}


def raw_points(store: Store, names: Iterable[str], since_ns: int, until_ns: int,
               service: str | None = None, *, unsealed_only: bool = False
               ) -> list[dict[str, Any]]:
    """Stored points of the named metrics in [since, until], oldest first, with what the
    monitor needs to read them: service, attributes, kind, temporality, start time. With
    `unsealed_only`, a number series' points start at its sealing watermark (the part
    `sealed_history` does not cover)."""
    found: list[dict[str, Any]] = []
    with store.engine.connect() as conn:
        for meta in matching_series(conn, sorted(names), service):
            since = since_ns
            if unsealed_only and meta["kind"] != MetricKind.EXP_HISTOGRAM:
                since = max(since_ns, sealed_until(conn, meta["id"]))
            found.extend(_series_rows(conn, meta, since, until_ns))
    found.sort(key=lambda row: row["time_ns"])
    return found


def sealed_history(store: Store, names: Iterable[str], since_ns: int, until_ns: int,
                   service: str | None = None) -> list[dict[str, Any]]:
    """Per number series of the named metrics: its rollup entries (minute resolution where
    kept) over [since, its watermark), and the last sealed point before the watermark, so a
    reader continues with `raw_points(..., unsealed_only=True)` where the entries end.

    Each item: {"series": row dict without time and value, "entries": Rollup, "ends": the
    time each entry's last value stands for, "last": row dict of the last sealed point or
    None}.
    """
    found = []
    with store.engine.connect() as conn:
        for meta in matching_series(conn, sorted(names), service):
            if meta["kind"] in _HISTOGRAM_KINDS:
                continue
            end = min(sealed_until(conn, meta["id"]), until_ns + 1)
            if end <= since_ns:
                continue
            entries, ends = sealed_entries(conn, meta["id"], since_ns, end)
            last = point_before(conn, meta["id"], end)
            found.append({"series": _row_dict(meta, 0, 0, None), "entries": entries,
                          "ends": ends,
                          "last": _row_dict(meta, *last) if last is not None else None})
    return found


def sealed_histograms(store: Store, names: Iterable[str], since_ns: int, until_ns: int,
                      service: str | None = None) -> list[dict[str, Any]]:
    """Per explicit-bucket histogram series of the named metrics: its rollup entries over
    [since, its watermark) and its last point before the watermark (a row dict), for a reader
    that continues with `raw_points(..., unsealed_only=True)`."""
    found = []
    with store.engine.connect() as conn:
        for meta in matching_series(conn, sorted(names), service):
            if meta["kind"] != MetricKind.HISTOGRAM:
                continue
            end = min(sealed_until(conn, meta["id"]), until_ns + 1)
            if end <= since_ns:
                continue
            entries = sealed_histogram_entries(conn, meta["id"], since_ns, end)
            last = conn.execute(text(
                "SELECT time_ns, start_ns, body FROM distribution_points WHERE series_id = :sid "
                "AND time_ns < :end ORDER BY time_ns DESC LIMIT 1"),
                {"sid": meta["id"], "end": end}).first()
            found.append({
                "series": _row_dict(meta, 0, 0, None), "entries": entries,
                "last": None if last is None else _row_dict(
                    meta, last[0], last[1], distribution_from_body(meta["kind"], last[2]))})
    return found


def last_points_before(store: Store, name: str, service: str, before_ns: int
                       ) -> list[dict[str, Any]]:
    """The newest stored number point of each series of a metric older than `before_ns`:
    the base a period's first return is measured from."""
    found = []
    with store.engine.connect() as conn:
        for meta in matching_series(conn, [name], service):
            row = point_before(conn, meta["id"], before_ns)
            if row is not None:
                found.append(_row_dict(meta, *row))
    return found


def _row_dict(meta: dict[str, Any], time_ns: int, start_ns: int, value: Any) -> dict[str, Any]:
    return {"name": meta["name"], "service": meta["service_name"],
            "attributes": meta["attributes"], "kind": meta["kind"],
            "temporality": meta["temporality"], "monotonic": meta["monotonic"],
            "time_ns": time_ns, "start_ns": start_ns, "value": value}


_HISTOGRAM_KINDS = frozenset({MetricKind.HISTOGRAM, MetricKind.EXP_HISTOGRAM})
"""Distribution kinds the monitor reads (latency and slippage)."""


def _series_rows(conn, meta: dict[str, Any], since_ns: int, until_ns: int
                 ) -> list[dict[str, Any]]:
    if meta["kind"] in _HISTOGRAM_KINDS:
        rows = conn.execute(text(DISTRIBUTION_SQL), {"sid": meta["id"], "since": since_ns,
                                                     "until": until_ns, "limit": 2**62}).all()
        return [_row_dict(meta, time_ns, start_ns, distribution_from_body(meta["kind"], body))
                for time_ns, start_ns, *_figures, body in rows]
    points = read_points(conn, meta["id"], since_ns, until_ns)
    points = points.take(points.present)
    return [_row_dict(meta, t, s, v) for t, s, v in points.rows()]
