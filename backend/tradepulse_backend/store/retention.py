"""Retention: drop stored telemetry older than the configured number of days, in short chunks."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import text

from tradepulse_backend.store.chunks import TIER_NAMES

if TYPE_CHECKING:
    from tradepulse_backend.store import Store

logger = logging.getLogger(__name__)
CHUNK_ROWS = 20_000


def enforce_retention(store: Store, cutoff_ns: int, *, chunk_rows: int = CHUNK_ROWS,
                      raw_cutoff_ns: int | None = None) -> dict[str, int]:
    """Delete unsealed points older than `raw_cutoff_ns` (default cutoff_ns), and
    distributions, spans, logs and trades older than cutoff_ns, spans and logs `chunk_rows`
    per transaction; return rows deleted per table."""
    raw_cutoff_ns = cutoff_ns if raw_cutoff_ns is None else raw_cutoff_ns
    deleted = {
        "points": _delete_points(store, "points", raw_cutoff_ns),
        "distribution_points": _delete_points(store, "distribution_points", cutoff_ns),
        "spans": _delete_by_id(store, "spans", "start_ns", cutoff_ns, chunk_rows),
        "logs": _delete_by_id(store, "logs", "time_ns", cutoff_ns, chunk_rows),
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


def enforce_tiers(store: Store, cutoffs: dict[int, int]) -> dict[str, int]:
    """Delete whole chunks of each tier whose newest point is older than the tier's cutoff;
    snapshots follow the coarsest tier. Returns chunks deleted per tier."""
    deleted: dict[str, int] = {}
    with store.engine.begin() as conn:
        for tier, cutoff in cutoffs.items():
            deleted[f"chunks_{TIER_NAMES[tier]}"] = conn.execute(text(
                "DELETE FROM series_chunks WHERE tier = :tier AND max_time_ns < :cutoff"),
                {"tier": tier, "cutoff": cutoff}).rowcount
    deleted["performance_snapshots"] = _delete_older(
        store, "performance_snapshots", "time_ns", min(cutoffs.values()))
    return deleted


def thin_snapshots(store: Store, now_ns: int, rules: tuple[tuple[int, int], ...]) -> int:
    """Keep one snapshot per (service, portfolio) and bucket (the newest) among those older
    than each rule's age: ((age_ns, bucket_ns), ...). Returns rows deleted."""
    total = 0
    for age_ns, bucket_ns in rules:
        with store.engine.begin() as conn:
            total += conn.execute(text(
                "DELETE FROM performance_snapshots WHERE time_ns < :cutoff AND id NOT IN ("
                "SELECT MAX(id) FROM performance_snapshots WHERE time_ns < :cutoff "
                "GROUP BY service_name, portfolio, time_ns / :bucket)"),
                {"cutoff": now_ns - age_ns, "bucket": bucket_ns}).rowcount
    return total
