"""Storage of derived performance: snapshots, the live monitor's state, closed trades, and the
raw trading points the monitor replays or recomputes from."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Engine, text

from tradepulse import conventions as conv
from tradepulse_backend.store.dialects import insert_ignoring_duplicates
from tradepulse_backend.store.queries import DISTRIBUTION_SQL, NUMBER_SQL
from tradepulse_backend.store.retention import first_id_at_or_after
from tradepulse_backend.store.schema import performance_snapshots, performance_state, trades
from tradepulse_backend.telemetry.otlp import distribution_from_body, trade_from_body
from tradepulse_backend.telemetry.records import MetricKind, TradeRecord


def save(engine: Engine, snapshots: Sequence[dict[str, Any]],
         states: Sequence[dict[str, Any]]) -> None:
    """Append snapshots and replace each service's state, in one transaction."""
    with engine.begin() as conn:
        if snapshots:
            conn.execute(performance_snapshots.insert(), list(snapshots))
        for state in states:
            conn.execute(performance_state.delete().where(
                performance_state.c.service_name == state["service_name"]))
            conn.execute(performance_state.insert(), state)


def load_states(engine: Engine) -> dict[str, dict[str, Any]]:
    """Every service's saved monitor state, with the time it was saved."""
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT service_name, saved_ns, body FROM performance_state")).all()
    return {name: {"saved_ns": saved, **json.loads(body)} for name, saved, body in rows}


def add_trades(engine: Engine, rows: Iterable[dict[str, Any]]) -> None:
    """Store closed trades; one already stored (same span) is skipped, so replays are safe."""
    rows = list(rows)
    if rows:
        with engine.begin() as conn:
            conn.execute(insert_ignoring_duplicates(engine, trades), rows)


def trade_keys(engine: Engine) -> list[tuple[str, str, bytes, float]]:
    """(service, portfolio, span key, pnl) of every stored trade, to count them once."""
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(
            "SELECT service_name, portfolio, span_key, pnl FROM trades ORDER BY id")).all()]


def default_portfolio(engine: Engine, service: str) -> str:
    """The portfolio a bot's figures mean when none is named: the unnamed one if the bot has
    it, else its first by name."""
    found: set[str] = set()
    with engine.connect() as conn:
        for (attrs,) in conn.execute(text(
                "SELECT attributes FROM series WHERE name = :name AND service_name = :service"),
                {"name": conv.METRIC_PORTFOLIO_VALUE, "service": service}):
            found.add(str(json.loads(attrs).get(conv.ATTR_PORTFOLIO, "")))
        found.update(conn.execute(text(
            "SELECT DISTINCT portfolio FROM trades WHERE service_name = :service"),
            {"service": service}).scalars())
    return "" if not found or "" in found else min(found)


def trades_since(engine: Engine, since_ns: int) -> list[TradeRecord]:
    """Trades of the `trading.trade` spans stored from about `since_ns` on."""
    first = first_id_at_or_after(engine, "spans", "start_ns", since_ns)
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT r.service_name, s.body FROM spans s JOIN resources r ON r.id = s.resource_id "
            "WHERE s.id >= :first AND s.name = :name ORDER BY s.id"),
            {"first": first, "name": conv.SPAN_TRADE}).all()
    return [trade for service, body in rows if (trade := trade_from_body(body, service))]


def trades_between(engine: Engine, service: str, since_ns: int, until_ns: int,
                   portfolio: str | None = None) -> list[dict[str, Any]]:
    """Trades of a service that closed in [since, until], oldest first."""
    sql = ("SELECT service_name AS service, portfolio, symbol, side, pnl, "
           "trade_return, quantity, entry_ns, exit_ns FROM trades "
           "WHERE service_name = :service AND exit_ns >= :since AND exit_ns <= :until")
    params: dict[str, Any] = {"service": service, "since": since_ns, "until": until_ns}
    if portfolio is not None:
        sql += " AND portfolio = :portfolio"
        params["portfolio"] = portfolio
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(text(sql + " ORDER BY exit_ns, id"),
                                                  params).mappings()]


def snapshot_history(engine: Engine, service: str, portfolio: str, since_ns: int,
                     until_ns: int, limit: int) -> list[tuple[int, dict[str, Any]]]:
    """Persisted snapshots of one portfolio in [since, until], the newest `limit`, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT time_ns, body FROM (SELECT time_ns, body FROM performance_snapshots "
            "WHERE service_name = :service AND portfolio = :portfolio AND time_ns >= :since "
            "AND time_ns <= :until ORDER BY time_ns DESC LIMIT :limit) ORDER BY time_ns"),
            {"service": service, "portfolio": portfolio, "since": since_ns,
             "until": until_ns, "limit": limit}).all()
    return [(time_ns, json.loads(body)) for time_ns, body in rows]


def raw_points(engine: Engine, names: Iterable[str], since_ns: int, until_ns: int,
               service: str | None = None) -> list[dict[str, Any]]:
    """Stored points of the named metrics in [since, until], oldest first, with what the
    monitor needs to read them: service, attributes, kind, temporality, start time."""
    names = sorted(names)
    marks = ", ".join(f":n{i}" for i in range(len(names)))
    params: dict[str, Any] = {f"n{i}": name for i, name in enumerate(names)}
    sql = ("SELECT id, name, service_name, kind, temporality, monotonic, attributes "
           f"FROM series WHERE name IN ({marks})")
    if service is not None:
        sql += " AND service_name = :service"
        params["service"] = service
    found: list[dict[str, Any]] = []
    with engine.connect() as conn:
        for meta in conn.execute(text(sql), params).mappings().all():
            found.extend(_series_rows(conn, dict(meta), since_ns, until_ns))
    found.sort(key=lambda row: row["time_ns"])
    return found


def last_points_before(engine: Engine, name: str, service: str, before_ns: int
                       ) -> list[dict[str, Any]]:
    """The newest stored number point of each series of a metric older than `before_ns`:
    the base a period's first return is measured from."""
    found = []
    with engine.connect() as conn:
        metas = conn.execute(text(
            "SELECT id, name, service_name, kind, temporality, monotonic, attributes "
            "FROM series WHERE name = :name AND service_name = :service"),
            {"name": name, "service": service}).mappings().all()
        for meta in metas:
            row = conn.execute(text(
                "SELECT time_ns, start_ns, value FROM (" + _LATEST_BEFORE.format("points") +
                " UNION ALL " + _LATEST_BEFORE.format("points_staging") +
                ") ORDER BY time_ns DESC LIMIT 1"), {"sid": meta["id"], "before": before_ns}
            ).first()
            if row is not None and row[2] is not None:
                found.append(_row_dict(dict(meta), json.loads(meta["attributes"]), *row))
    return found


_LATEST_BEFORE = ("SELECT * FROM (SELECT time_ns, start_ns, value FROM {} WHERE series_id = :sid "
                  "AND time_ns < :before ORDER BY time_ns DESC LIMIT 1)")


def _row_dict(meta: dict[str, Any], attrs: dict[str, Any], time_ns: int, start_ns: int,
              value: Any) -> dict[str, Any]:
    return {"name": meta["name"], "service": meta["service_name"], "attributes": attrs,
            "kind": meta["kind"], "temporality": meta["temporality"],
            "monotonic": bool(meta["monotonic"]), "time_ns": time_ns, "start_ns": start_ns,
            "value": value}


def _series_rows(conn, meta: dict[str, Any], since_ns: int, until_ns: int
                 ) -> list[dict[str, Any]]:
    histogram = meta["kind"] == MetricKind.HISTOGRAM
    rows = conn.execute(text(DISTRIBUTION_SQL if histogram else NUMBER_SQL),
                        {"sid": meta["id"], "since": since_ns, "until": until_ns,
                         "limit": 2**62}).all()
    attrs = json.loads(meta["attributes"])
    out = []
    for time_ns, start_ns, value, *distribution in rows:
        if histogram:
            value = distribution_from_body(MetricKind.HISTOGRAM, distribution[-1])
        elif value is None:
            continue
        out.append(_row_dict(meta, attrs, time_ns, start_ns, value))
    return out
