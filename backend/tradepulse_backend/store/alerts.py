"""Storage of the alerting engine: rules, alert state and history, silences, acks, groups and
the outbox. Each function takes the `Store`; bodies are JSON text."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, delete, func, insert, select, update

from tradepulse_backend.store.alerting_tables import (
    alert_acks,
    alert_groups,
    alert_history,
    alert_outbox,
    alert_rules,
    alert_silences,
    alert_states,
)

if TYPE_CHECKING:
    from tradepulse_backend.store import Store

OUTBOX_STATUSES = ("pending", "sent", "failed", "suppressed")


def _dumps(body: Any) -> str:
    return json.dumps(body, sort_keys=True, default=str)


# --- rules --------------------------------------------------------------------------------

def load_rules(store: Store) -> dict[str, dict[str, Any]]:
    """Rules added at run time, by name, as their specs."""
    with store.engine.connect() as conn:
        rows = conn.execute(select(alert_rules.c.name, alert_rules.c.spec)
                            .order_by(alert_rules.c.name)).all()
    return {name: json.loads(spec) for name, spec in rows}


def save_rule(store: Store, name: str, spec: dict[str, Any], now_ns: int) -> None:
    with store.engine.begin() as conn:
        conn.execute(delete(alert_rules).where(alert_rules.c.name == name))
        conn.execute(insert(alert_rules).values(name=name, spec=_dumps(spec), updated_ns=now_ns))


def delete_rule(store: Store, name: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(delete(alert_rules).where(alert_rules.c.name == name))


# --- alert state and history ---------------------------------------------------------------

def load_states(store: Store) -> list[dict[str, Any]]:
    """Every stored alert instance (pending, firing, recently resolved)."""
    with store.engine.connect() as conn:
        return [json.loads(body) for (body,) in conn.execute(
            select(alert_states.c.body).order_by(alert_states.c.fingerprint))]


def record_changes(store: Store, states: Sequence[dict[str, Any]],
                   removed: Iterable[str], history: Sequence[dict[str, Any]],
                   now_ns: int) -> None:
    """Replace changed alert instances, drop removed ones and append history, in one
    transaction. `states` items are instance bodies with `fingerprint`, `rule`, `state`;
    `history` items are alert dicts with `fingerprint`, `rule`, `service`, `severity`,
    `state` and `time_ns`."""
    removed = list(removed)
    keys = [s["fingerprint"] for s in states] + removed
    with store.engine.begin() as conn:
        if keys:
            conn.execute(delete(alert_states).where(alert_states.c.fingerprint.in_(keys)))
        if states:
            conn.execute(insert(alert_states), [
                {"fingerprint": s["fingerprint"], "rule": s["rule"], "state": s["state"],
                 "body": _dumps(s), "updated_ns": now_ns} for s in states])
        if history:
            conn.execute(insert(alert_history), [
                {"fingerprint": h["fingerprint"], "rule": h["rule"],
                 "service": h.get("service") or "", "severity": h["severity"],
                 "state": h["state"], "time_ns": h["time_ns"], "body": _dumps(h["alert"])}
                for h in history])


def history(store: Store, *, service: str | None = None, severity: str | None = None,
            since_ns: int | None = None, limit: int = 100, before_id: int | None = None,
            ) -> tuple[list[dict[str, Any]], int | None]:
    """History entries newest first, filtered; returns (alerts, id to continue before)."""
    query = select(alert_history.c.id, alert_history.c.time_ns, alert_history.c.body)
    conditions = []
    if service:
        conditions.append(alert_history.c.service == service)
    if severity:
        conditions.append(alert_history.c.severity == severity)
    if since_ns is not None:
        conditions.append(alert_history.c.time_ns >= since_ns)
    if before_id is not None:
        conditions.append(alert_history.c.id < before_id)
    if conditions:
        query = query.where(and_(*conditions))
    query = query.order_by(alert_history.c.id.desc()).limit(limit + 1)
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    more = len(rows) > limit
    rows = rows[:limit]
    found = [{**json.loads(body), "history_id": row_id} for row_id, _t, body in rows]
    return found, (rows[-1][0] if more else None)


# --- silences and acks ---------------------------------------------------------------------

def save_silence(store: Store, silence: dict[str, Any]) -> None:
    with store.engine.begin() as conn:
        conn.execute(delete(alert_silences).where(alert_silences.c.id == silence["id"]))
        conn.execute(insert(alert_silences).values(
            id=silence["id"], body=_dumps(silence), ends_ns=silence["ends_ns"]))


def load_silences(store: Store, *, ended_after_ns: int = 0) -> list[dict[str, Any]]:
    """Silences that end after `ended_after_ns` (all with 0), oldest first by end."""
    with store.engine.connect() as conn:
        return [json.loads(body) for (body,) in conn.execute(
            select(alert_silences.c.body).where(alert_silences.c.ends_ns > ended_after_ns)
            .order_by(alert_silences.c.ends_ns))]


def save_ack(store: Store, fingerprint: str, by: str, comment: str, now_ns: int) -> None:
    with store.engine.begin() as conn:
        conn.execute(delete(alert_acks).where(alert_acks.c.fingerprint == fingerprint))
        conn.execute(insert(alert_acks).values(fingerprint=fingerprint, acknowledged_by=by,
                                               comment=comment, time_ns=now_ns))


def delete_acks(store: Store, fingerprints: Iterable[str]) -> None:
    keys = list(fingerprints)
    if keys:
        with store.engine.begin() as conn:
            conn.execute(delete(alert_acks).where(alert_acks.c.fingerprint.in_(keys)))


def load_acks(store: Store) -> dict[str, dict[str, Any]]:
    with store.engine.connect() as conn:
        rows = conn.execute(select(alert_acks)).mappings().all()
    return {row["fingerprint"]: {"by": row["acknowledged_by"], "comment": row["comment"],
                                 "time_ns": row["time_ns"]} for row in rows}


# --- groups and the outbox -----------------------------------------------------------------

def load_groups(store: Store) -> dict[str, dict[str, Any]]:
    with store.engine.connect() as conn:
        return {key: json.loads(body) for key, body in conn.execute(
            select(alert_groups.c.key, alert_groups.c.body))}


def commit_flush(store: Store, groups: Sequence[tuple[str, dict[str, Any] | None]],
                 rows: Sequence[dict[str, Any]], now_ns: int) -> list[int]:
    """Save group states (None deletes) and queue outbox rows in one transaction, so a crash
    either loses both (the flush runs again) or keeps both (nothing is notified twice).
    Returns the new rows' ids."""
    with store.engine.begin() as conn:
        keys = [key for key, _ in groups]
        if keys:
            conn.execute(delete(alert_groups).where(alert_groups.c.key.in_(keys)))
        kept = [{"key": key, "body": _dumps(body), "updated_ns": now_ns}
                for key, body in groups if body is not None]
        if kept:
            conn.execute(insert(alert_groups), kept)
        ids = []
        for row in rows:
            result = conn.execute(insert(alert_outbox).values(
                key=row["key"], channel=row["channel"], group_key=row["group_key"],
                status=row["status"], severity=row["severity"], title=row["title"],
                body=_dumps(row["body"]), attempts=0, next_attempt_ns=now_ns,
                created_ns=now_ns, updated_ns=now_ns, last_error=row.get("last_error")))
            ids.append(result.inserted_primary_key[0])
        return ids


def due(store: Store, channel: str, now_ns: int, limit: int) -> list[dict[str, Any]]:
    """Pending rows of `channel` whose next attempt is due, oldest first."""
    with store.engine.connect() as conn:
        rows = conn.execute(select(alert_outbox).where(and_(
            alert_outbox.c.channel == channel, alert_outbox.c.status == "pending",
            alert_outbox.c.next_attempt_ns <= now_ns)).order_by(alert_outbox.c.id)
            .limit(limit)).mappings().all()
    return [_row(row) for row in rows]


def next_due_ns(store: Store, channel: str) -> int | None:
    """When the earliest pending row of `channel` is due, or None."""
    with store.engine.connect() as conn:
        return conn.execute(select(func.min(alert_outbox.c.next_attempt_ns)).where(and_(
            alert_outbox.c.channel == channel, alert_outbox.c.status == "pending"))).scalar()


def update_row(store: Store, row_id: int, **values: Any) -> dict[str, Any]:
    """Change an outbox row; returns it as stored."""
    with store.engine.begin() as conn:
        conn.execute(update(alert_outbox).where(alert_outbox.c.id == row_id).values(**values))
        row = conn.execute(select(alert_outbox).where(alert_outbox.c.id == row_id)
                           ).mappings().one()
    return _row(row)


def notifications(store: Store, *, status: str | None = None, channel: str | None = None,
                  limit: int = 100, before_id: int | None = None,
                  ) -> tuple[list[dict[str, Any]], int | None]:
    """Outbox rows newest first; returns (rows, id to continue before)."""
    query = select(alert_outbox)
    conditions = []
    if status:
        conditions.append(alert_outbox.c.status == status)
    if channel:
        conditions.append(alert_outbox.c.channel == channel)
    if before_id is not None:
        conditions.append(alert_outbox.c.id < before_id)
    if conditions:
        query = query.where(and_(*conditions))
    with store.engine.connect() as conn:
        rows = conn.execute(query.order_by(alert_outbox.c.id.desc()).limit(limit + 1)
                            ).mappings().all()
    more = len(rows) > limit
    rows = rows[:limit]
    return [_row(row) for row in rows], (rows[-1]["id"] if more else None)


def channel_usage(store: Store, since_ns: int) -> list[tuple[str, str, int, str]]:
    """(channel, status, created_ns, title) of rows created since `since_ns`, oldest first:
    what rate limits rebuild their windows and suppressed counts from."""
    with store.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(
            select(alert_outbox.c.channel, alert_outbox.c.status, alert_outbox.c.created_ns,
                   alert_outbox.c.title).where(alert_outbox.c.created_ns >= since_ns)
            .order_by(alert_outbox.c.id))]


def outbox_counts(store: Store) -> dict[str, dict[str, int]]:
    """Rows per channel and status, e.g. {"email": {"sent": 12, "pending": 1}}."""
    with store.engine.connect() as conn:
        rows = conn.execute(select(alert_outbox.c.channel, alert_outbox.c.status,
                                   func.count()).group_by(alert_outbox.c.channel,
                                                          alert_outbox.c.status)).all()
    counts: dict[str, dict[str, int]] = {}
    for channel, status, count in rows:
        counts.setdefault(channel, {})[status] = count
    return counts


def pending_count(store: Store) -> int:
    """Notifications waiting to be sent, on any channel (read every health tick: one count,
    not the per-channel breakdown of the whole outbox history)."""
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(alert_outbox).where(
            alert_outbox.c.status == "pending")).scalar_one()


def pending_channels(store: Store) -> list[str]:
    with store.engine.connect() as conn:
        return list(conn.execute(select(alert_outbox.c.channel).where(
            alert_outbox.c.status == "pending").distinct()).scalars())


def _row(row: Any) -> dict[str, Any]:
    found = dict(row)
    found["body"] = json.loads(found["body"])
    return found
