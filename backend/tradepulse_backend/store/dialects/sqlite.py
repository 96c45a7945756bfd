"""SQLite: one file in WAL mode, one writer, the store checkpoints its own WAL."""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path

from sqlalchemy import Connection, Engine, Insert, Table, create_engine, event, make_url
from sqlalchemy.dialects import sqlite

from tradepulse_backend.store.dialects.base import Dialect

JOURNAL_SIZE_LIMIT = 2**20
"""Bytes the WAL file is truncated to after a checkpoint (else it stays at its peak size)."""
NEW_DATABASE_PRAGMAS = ("PRAGMA auto_vacuum=INCREMENTAL",)
"""Only before the first table exists: a new database frees retention's pages on request."""
PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
    "PRAGMA cache_size=-65536",
    "PRAGMA temp_store=MEMORY",
    # The maintenance thread checkpoints every second (Store.maintain); this bounds the
    # WAL should that thread ever fall behind.
    "PRAGMA wal_autocheckpoint=10000",
)


class SQLiteDialect(Dialect):
    """A single database file: WAL and batch-friendly pragmas, one writer thread."""

    name = "sqlite"
    mark = "?"
    writer_threads = 1
    greatest = "MAX"

    def make_engine(self, url: str, *, journal_size_limit: int | None = None) -> Engine:
        engine = create_engine(url, connect_args={"check_same_thread": False})
        limit = JOURNAL_SIZE_LIMIT if journal_size_limit is None else journal_size_limit
        path = database_path(url)
        first = NEW_DATABASE_PRAGMAS if path is None or not path.exists() else ()
        event.listen(engine, "connect", partial(_pragmas, journal_size_limit=limit,
                                                first=first))
        return engine

    def insert_ignoring_duplicates(self, table: Table) -> Insert:
        return sqlite.insert(table).on_conflict_do_nothing()

    def exists(self, url: str) -> bool:
        path = database_path(url)
        return path is None or path.exists()

    def location(self, url: str) -> str:
        path = database_path(url)
        return str(path) if path is not None else url

    def checkpoint(self, connection: Connection) -> None:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

    def release_free_pages(self, connection: Connection) -> None:
        """Free pages back to the file system (databases created with incremental
        auto-vacuum; older ones reuse their free pages), then copy the WAL into the database
        and truncate it. The vacuum frees one page per step, and the driver's execute steps
        once, so it runs as a script (stepped to its end)."""
        connection.connection.driver_connection.executescript("PRAGMA incremental_vacuum;")
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    def reclaim(self, connection: Connection) -> None:
        self.release_free_pages(connection)

    def size_report(self, engine: Engine) -> dict[str, int | None]:
        path = database_path(str(engine.url))
        if path is None:
            return {"database_bytes": None, "wal_bytes": None}
        return {"database_bytes": _file_size(path),
                "wal_bytes": _file_size(Path(f"{path}-wal"))}

    def _insert(self, table: str, columns: str, rows: str, ignore_duplicates: bool) -> str:
        verb = "INSERT OR IGNORE" if ignore_duplicates else "INSERT"
        return f"{verb} INTO {table} ({columns}) {rows}"


def database_path(url: str) -> Path | None:
    """The database file of a SQLite URL; None for an in-memory database."""
    database = make_url(url).database
    return Path(database) if database and database != ":memory:" else None


def _file_size(path: Path) -> int | None:
    try:
        return os.path.getsize(path)
    except OSError:
        return None


def _pragmas(dbapi_connection, _record, *, journal_size_limit: int,
             first: tuple[str, ...] = ()) -> None:
    cursor = dbapi_connection.cursor()
    if first and cursor.execute("PRAGMA page_count").fetchone()[0] == 0:
        for pragma in first:
            cursor.execute(pragma)
    for pragma in PRAGMAS:
        cursor.execute(pragma)
    cursor.execute(f"PRAGMA journal_size_limit={int(journal_size_limit)}")
    cursor.close()
