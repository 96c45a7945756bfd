"""Storage: SQLite by default (WAL, batch writes), PostgreSQL-ready through SQLAlchemy Core."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from sqlalchemy import Engine

from .dialects import make_engine
from .migrate import upgrade_to_head
from .retention import enforce_retention
from .writer import BatchWriter

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

    def apply_retention(self, days: float, *, now_ns: int | None = None) -> dict[str, int]:
        """Delete telemetry older than `days`."""
        now_ns = time.time_ns() if now_ns is None else now_ns
        return enforce_retention(self.engine, now_ns - int(days * NS_PER_DAY))

    def close(self) -> None:
        self.engine.dispose()


__all__ = ["Store"]
