"""Storage of component health transitions: appended as they happen, read back per component
(newest last) so a restarted backend shows each component's recent history and `since`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select

from tradepulse_backend.store.health_tables import health_transitions

if TYPE_CHECKING:
    from tradepulse_backend.store import Store


def add_transitions(store: Store, rows: Sequence[dict[str, Any]]) -> None:
    """Append transitions: dicts of component, kind, at_ns, from_status, to_status, message."""
    if rows:
        with store.engine.begin() as conn:
            conn.execute(health_transitions.insert(), list(rows))


def recent_transitions(store: Store, per_component: int) -> dict[str, list[dict[str, Any]]]:
    """Each component's newest `per_component` transitions, oldest first, with its kind."""
    ranked = select(
        health_transitions,
        func.row_number().over(partition_by=health_transitions.c.component,
                               order_by=health_transitions.c.id.desc()).label("rank"),
    ).subquery()
    query = (select(ranked).where(ranked.c.rank <= per_component)
             .order_by(ranked.c.component, ranked.c.id))
    found: dict[str, list[dict[str, Any]]] = {}
    with store.engine.connect() as conn:
        for row in conn.execute(query).mappings():
            found.setdefault(row["component"], []).append(
                {key: row[key] for key in ("kind", "at_ns", "from_status", "to_status",
                                           "message")})
    return found


def prune_transitions(store: Store, cutoff_ns: int) -> int:
    """Delete transitions older than `cutoff_ns`; returns how many."""
    with store.engine.begin() as conn:
        return conn.execute(delete(health_transitions)
                            .where(health_transitions.c.at_ns < cutoff_ns)).rowcount
