"""Storage: SQLite by default (WAL, batch writes), PostgreSQL-ready through SQLAlchemy Core."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from sqlalchemy import Engine, text

from tradepulse_backend.store.dialects import checkpoint_sql, compact_sql, make_engine
from tradepulse_backend.store.migrate import upgrade_to_head
from tradepulse_backend.store.retention import enforce_retention
from tradepulse_backend.store.writer import BatchWriter

logger = logging.getLogger(__name__)
NS_PER_DAY = 86_400 * 10**9


class Store:
    """The database: migrated on open, written in batches, read through `store.queries`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.writer = BatchWriter(engine)

    @classmethod
    def open(cls, url: str, data_dir: Path | None = None) -> Store:
        """Open the store at `url`, creating the data directory and schema if needed."""
        if data_dir is not None:
            Path(data_dir).mkdir(parents=True, exist_ok=True)
        engine = make_engine(url)
        upgrade_to_head(engine)
        logger.info("store open at %s", engine.url.render_as_string(hide_password=True))
        return cls(engine)

    def maintain(self) -> None:
        """The every-second housekeeping: compact staged points, then checkpoint the WAL."""
        self.compact()
        self.checkpoint()

    def compact(self) -> int:
        """Move staged number points into the series-ordered `points` table; returns how many."""
        move, drop = compact_sql(self.engine)
        with self.engine.begin() as conn:
            last = conn.execute(text("SELECT MAX(id) FROM points_staging")).scalar()
            if last is None:
                return 0
            conn.execute(text(move), {"last": last})
            return conn.execute(text(drop), {"last": last}).rowcount

    def checkpoint(self) -> None:
        """Copy committed WAL pages into the database, so the writer thread never waits on the
        fsyncs this implies."""
        statement = checkpoint_sql(self.engine)
        if statement:
            with self.engine.connect() as conn:
                conn.exec_driver_sql(statement)

    def apply_retention(self, days: float, *, now_ns: int | None = None) -> dict[str, int]:
        """Delete telemetry older than `days`."""
        now_ns = time.time_ns() if now_ns is None else now_ns
        self.compact()
        return enforce_retention(self.engine, now_ns - int(days * NS_PER_DAY))

    def close(self) -> None:
        """Compact and checkpoint so the database file is complete, then release connections."""
        self.maintain()
        self.engine.dispose()


__all__ = ["Store"]
