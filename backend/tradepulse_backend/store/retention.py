"""Retention: drop stored telemetry older than the configured number of days, in short chunks."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import text

if TYPE_CHECKING:
    from tradepulse_backend.store import Store

logger = logging.getLogger(__name__)
CHUNK_ROWS = 20_000


def enforce_retention(store: Store, cutoff_ns: int, *, chunk_rows: int = CHUNK_ROWS
                      ) -> dict[str, int]:
    """Delete points, spans and logs older than cutoff_ns, spans and logs `chunk_rows` per
    transaction; return rows deleted per table."""
    deleted = {
        "points": _delete_points(store, "points", cutoff_ns),
        "distribution_points": _delete_points(store, "distribution_points", cutoff_ns),
        "spans": _delete_by_id(store, "spans", "start_ns", cutoff_ns, chunk_rows),
        "logs": _delete_by_id(store, "logs", "time_ns", cutoff_ns, chunk_rows),
        "performance_snapshots": _delete_older(store, "performance_snapshots", "time_ns",
                                               cutoff_ns),
        "trades": _delete_older(store, "trades", "exit_ns", cutoff_ns),
    }
    if any(deleted.values()):
        logger.info("retention removed %s", deleted)
    return deleted


def _delete_points(store: Store, table: str, cutoff_ns: int) -> int:
    """Per series, so each delete is a primary-key range scan rather than a table scan."""
    with store.engine.connect() as conn:
        series_ids = conn.execute(text("SELECT id FROM series")).scalars().all()
    total = 0
    for sid in series_ids:
        with store.engine.begin() as conn:
            total += conn.execute(
                text(f"DELETE FROM {table} WHERE series_id = :sid AND time_ns < :cutoff"),
                {"sid": sid, "cutoff": cutoff_ns},
            ).rowcount
    return total


def _delete_older(store: Store, table: str, column: str, cutoff_ns: int) -> int:
    """Small derived tables: one statement."""
    with store.engine.begin() as conn:
        return conn.execute(text(f"DELETE FROM {table} WHERE {column} < :cutoff"),
                            {"cutoff": cutoff_ns}).rowcount


def _delete_by_id(store: Store, table: str, column: str, cutoff_ns: int, chunk_rows: int
                  ) -> int:
    """Rows arrive in time order, so ids are searched for the cutoff instead of a time index."""
    boundary = first_id_at_or_after(store, table, column, cutoff_ns)
    delete = text(store.dialect.delete_chunk_sql(table, column, chunk_rows))
    total = 0
    while True:
        with store.engine.begin() as conn:
            removed = conn.execute(delete, {"boundary": boundary, "cutoff": cutoff_ns}).rowcount
        total += removed
        if removed < chunk_rows:
            return total


def first_id_at_or_after(store: Store, table: str, column: str, cutoff_ns: int) -> int:
    """Binary search of the first row id whose `column` is at or after cutoff_ns (rows of the
    spans and logs tables arrive roughly in time order); 0 for an empty table."""
    with store.engine.connect() as conn:
        low, high = conn.execute(text(f"SELECT MIN(id), MAX(id) FROM {table}")).one()
        if low is None:
            return 0
        high += 1
        probe = text(f"SELECT {column} FROM {table} WHERE id >= :id ORDER BY id LIMIT 1")
        while low < high:
            middle = (low + high) // 2
            value = conn.execute(probe, {"id": middle}).scalar()
            if value is not None and value < cutoff_ns:
                low = middle + 1
            else:
                high = middle
        return low
