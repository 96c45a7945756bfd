"""Storage: the `Store` is the only way in; SQLite by default, PostgreSQL by URL.

Reads go through `store.queries` (telemetry) and `store.performance` (derived performance),
whose functions take the `Store`; SQL, engines and connections never leave this package.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from tradepulse_backend.clock import Clock
from tradepulse_backend.store import health_tables  # noqa: F401  (registers its table)
from tradepulse_backend.store.dialects import Dialect, dialect_for
from tradepulse_backend.store.migrate import upgrade
from tradepulse_backend.store.retention import CHUNK_ROWS, enforce_retention
from tradepulse_backend.store.writer import BatchWriter

logger = logging.getLogger(__name__)
NS_PER_DAY = 86_400 * 10**9


class StoreUnavailable(Exception):
    """The database cannot be opened; the message says where and why."""


class Store:
    """The database: migrated on open, written in batches, maintained by its dialect."""

    def __init__(self, url: str, *, clock: Clock | None = None,
                 max_new_series_per_request: int = 10_000) -> None:
        self.dialect: Dialect = dialect_for(url)
        self.location = self.dialect.location(url)
        self.engine = self.dialect.make_engine(url)
        self.writer = BatchWriter(self.engine, self.dialect, clock=clock,
                                  max_new_series_per_request=max_new_series_per_request)

    @classmethod
    def open(cls, url: str, data_dir: Path | None = None, *, create: bool = True,
             clock: Clock | None = None, max_new_series_per_request: int = 10_000) -> Store:
        """Open the store at `url` and bring its schema to the newest version, creating the
        data directory (and, if `create`, the database) when needed."""
        dialect = dialect_for(url)
        if not create and not dialect.exists(url):
            raise StoreUnavailable(f"no database at {dialect.location(url)}")
        if data_dir is not None:
            Path(data_dir).mkdir(parents=True, exist_ok=True)
        store = cls(url, clock=clock, max_new_series_per_request=max_new_series_per_request)
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
        with self.engine.begin() as conn:
            last = conn.execute(text("SELECT MAX(id) FROM points_staging")).scalar()
            if last is None:
                return 0
            conn.execute(text(self.dialect.compact_sql()), {"last": last})
            return conn.execute(text("DELETE FROM points_staging WHERE id <= :last"),
                                {"last": last}).rowcount

    def checkpoint(self) -> None:
        """Copy committed WAL pages into the database (where the store owns its WAL), so the
        writer thread never waits on the fsyncs this implies."""
        with self.engine.connect() as conn:
            self.dialect.checkpoint(conn)

    def apply_retention(self, days: float, *, now_ns: int, chunk_rows: int = CHUNK_ROWS
                        ) -> dict[str, int]:
        """Delete telemetry older than `days` before `now_ns` (the runtime clock's now),
        spans and logs `chunk_rows` at a time."""
        self.compact()
        return enforce_retention(self, now_ns - int(days * NS_PER_DAY), chunk_rows=chunk_rows)

    def release(self) -> None:
        """Release the connections without maintenance (a reader's close)."""
        self.engine.dispose()

    def close(self) -> None:
        """Compact and checkpoint so the database is complete, then release connections."""
        self.maintain()
        self.release()


__all__ = ["NS_PER_DAY", "Store", "StoreUnavailable"]
