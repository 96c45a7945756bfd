"""Storage: the `Store` is the only way in; SQLite by default, PostgreSQL by URL.

Reads go through `store.queries` (telemetry) and `store.performance` (derived performance),
whose functions take the `Store`; SQL, engines and connections never leave this package.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from tradepulse_backend.clock import Clock
from tradepulse_backend.store import (
    chunks,
    health_tables,  # noqa: F401  (registers its table)
)
from tradepulse_backend.store.chunks import ChunkSettings
from tradepulse_backend.store.dialects import Dialect, dialect_for
from tradepulse_backend.store.migrate import upgrade
from tradepulse_backend.store.retention import (
    CHUNK_ROWS,
    enforce_retention,
    enforce_tiers,
    thin_snapshots,
)
from tradepulse_backend.store.writer import BatchWriter

logger = logging.getLogger(__name__)
NS_PER_DAY = 86_400 * 10**9
SNAPSHOT_THINNING = ((7 * NS_PER_DAY, 3600 * 10**9), (90 * NS_PER_DAY, NS_PER_DAY))
"""Snapshots older than a week are thinned to one per hour, older than 90 days to one a day."""


@dataclass(frozen=True)
class TierRetention:
    """Days each tier of number points is kept."""

    raw_days: float = 7
    minute_days: float = 90
    hour_days: float = 730


class StoreUnavailable(Exception):
    """The database cannot be opened; the message says where and why."""


class Store:
    """The database: migrated on open, written in batches, maintained by its dialect."""

    def __init__(self, url: str, *, clock: Clock | None = None,
                 max_new_series_per_request: int = 10_000,
                 chunk_settings: ChunkSettings | None = None,
                 journal_size_limit: int | None = None) -> None:
        self.dialect: Dialect = dialect_for(url)
        self.location = self.dialect.location(url)
        self.engine = self.dialect.make_engine(url, journal_size_limit=journal_size_limit)
        self.chunk_settings = chunk_settings or ChunkSettings()
        self._maintenance = threading.Lock()
        self.writer = BatchWriter(self.engine, self.dialect, clock=clock,
                                  max_new_series_per_request=max_new_series_per_request)

    @classmethod
    def open(cls, url: str, data_dir: Path | None = None, *, create: bool = True,
             clock: Clock | None = None, max_new_series_per_request: int = 10_000,
             chunk_settings: ChunkSettings | None = None,
             journal_size_limit: int | None = None) -> Store:
        """Open the store at `url` and bring its schema to the newest version, creating the
        data directory (and, if `create`, the database) when needed."""
        dialect = dialect_for(url)
        if not create and not dialect.exists(url):
            raise StoreUnavailable(f"no database at {dialect.location(url)}")
        if data_dir is not None:
            Path(data_dir).mkdir(parents=True, exist_ok=True)
        store = cls(url, clock=clock, max_new_series_per_request=max_new_series_per_request,
                    chunk_settings=chunk_settings, journal_size_limit=journal_size_limit)
        try:
            upgrade(store.engine)
        except SQLAlchemyError as error:
            store.engine.dispose()
            raise StoreUnavailable(f"cannot open {store.location}: {error}") from None
        logger.info("store open at %s", store.location)
        return store

    @property
    def writer_threads(self) -> int:
        """How many threads may write at once (1 for SQLite)."""
        return self.dialect.writer_threads

    def size_report(self) -> dict[str, int | None]:
        """Bytes on disk: {"database_bytes", "wal_bytes"}, None where the database has none."""
        return self.dialect.size_report(self.engine)

    def maintain(self) -> None:
        """The every-second housekeeping: compact staged points, then checkpoint the WAL."""
        self.compact()
        self.checkpoint()

    def compact(self) -> int:
        """Move staged number points into the series-ordered `points` table; returns how many."""
        with self._maintenance, self.engine.begin() as conn:
            last = conn.execute(text("SELECT MAX(id) FROM points_staging")).scalar()
            if last is None:
                return 0
            conn.execute(text(self.dialect.compact_sql()), {"last": last})
            return conn.execute(text("DELETE FROM points_staging WHERE id <= :last"),
                                {"last": last}).rowcount

    def seal(self, now_ns: int) -> int:
        """Seal finished windows of number points into compressed chunks and rollups (the
        compaction worker's job); returns how many series windows were sealed."""
        self.compact()
        with self._maintenance:
            sealed = chunks.seal(self, now_ns, self.chunk_settings)
        if sealed:
            with self.engine.connect() as conn:
                self.dialect.release_free_pages(conn)
        return sealed

    def append_points(self, series_id: int, times_ns, starts_ns, values) -> int:
        """Bulk-load a series' history straight into sealed chunks and rollups (arrays of
        times, start times and values, NaN for a point without a value where `values` is a
        masked array); returns how many windows were written."""
        masked = np.ma.asarray(values, dtype=np.float64)
        points = chunks.Points(np.asarray(times_ns, dtype=np.int64),
                               np.asarray(starts_ns, dtype=np.int64),
                               masked.filled(np.nan),
                               ~np.ma.getmaskarray(masked))
        with self._maintenance:
            return chunks.append(self, series_id, points, self.chunk_settings)

    def checkpoint(self) -> None:
        """Copy committed WAL pages into the database (where the store owns its WAL), so the
        writer thread never waits on the fsyncs this implies."""
        with self.engine.connect() as conn:
            self.dialect.checkpoint(conn)

    def apply_retention(self, days: float, *, now_ns: int, chunk_rows: int = CHUNK_ROWS,
                        tiers: TierRetention | None = None) -> dict[str, int]:
        """Delete telemetry older than `days` before `now_ns` (the runtime clock's now),
        spans and logs `chunk_rows` at a time; number points by tier (`tiers`, whose raw
        tier defaults to `days`), whole chunks at a time; then reclaim free pages."""
        self.compact()
        tiers = tiers or TierRetention(raw_days=days)
        with self._maintenance:
            deleted = enforce_retention(self, now_ns - int(days * NS_PER_DAY),
                                        chunk_rows=chunk_rows,
                                        raw_cutoff_ns=now_ns - int(tiers.raw_days * NS_PER_DAY))
            deleted.update(enforce_tiers(self, {
                chunks.TIER_RAW: now_ns - int(tiers.raw_days * NS_PER_DAY),
                chunks.TIER_MINUTE: now_ns - int(tiers.minute_days * NS_PER_DAY),
                chunks.TIER_HOUR: now_ns - int(tiers.hour_days * NS_PER_DAY)}))
            deleted["thinned_snapshots"] = thin_snapshots(self, now_ns, SNAPSHOT_THINNING)
        with self.engine.connect() as conn:
            self.dialect.reclaim(conn)
        return deleted

    def release(self) -> None:
        """Release the connections without maintenance (a reader's close)."""
        self.engine.dispose()

    def close(self) -> None:
        """Compact and checkpoint so the database is complete, then release connections."""
        self.maintain()
        self.release()


__all__ = ["NS_PER_DAY", "ChunkSettings", "Store", "StoreUnavailable", "TierRetention"]
