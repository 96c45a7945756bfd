"""PostgreSQL through psycopg 3: the server owns its WAL and runs writers side by side."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, Insert, Table, create_engine, text
from sqlalchemy.dialects import postgresql

from tradepulse_backend.store.dialects.base import Dialect
from tradepulse_backend.store.schema import INSERT_COLUMNS

DRIVER = "postgresql+psycopg"


class PostgreSQLDialect(Dialect):
    """A PostgreSQL server database; plain `postgresql://` URLs get the psycopg 3 driver."""

    name = "postgresql"
    mark = "%s"
    writer_threads = 4

    def make_engine(self, url: str, *, journal_size_limit: int | None = None) -> Engine:
        return create_engine(driver_url(url), pool_pre_ping=True)

    def insert_ignoring_duplicates(self, table: Table) -> Insert:
        return postgresql.insert(table).on_conflict_do_nothing()

    def insert_rows(self, cursor: Any, table: str, rows: Sequence[tuple],
                    ignore_duplicates: bool = False) -> None:
        """COPY, about five times executemany's rows per second; executemany where duplicates
        must be skipped (COPY cannot)."""
        if ignore_duplicates:
            super().insert_rows(cursor, table, rows, ignore_duplicates)
            return
        with cursor.copy(f"COPY {table} ({', '.join(INSERT_COLUMNS[table])}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def size_report(self, engine: Engine) -> dict[str, int | None]:
        """The database's bytes; the WAL is the whole server's, so it is not reported."""
        with engine.connect() as conn:
            size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar()
        return {"database_bytes": size, "wal_bytes": None}


def driver_url(url: str) -> str:
    """`url` with the psycopg 3 driver named, as SQLAlchemy needs it."""
    scheme, rest = url.split("://", 1)
    return f"{DRIVER}://{rest}" if scheme in ("postgresql", "postgres") else url
