"""PostgreSQL through psycopg 3: the server owns its WAL and runs writers side by side."""

from __future__ import annotations

from sqlalchemy import Engine, Insert, Table, create_engine, text
from sqlalchemy.dialects import postgresql

from tradepulse_backend.store.dialects.base import Dialect

DRIVER = "postgresql+psycopg"


class PostgreSQLDialect(Dialect):
    """A PostgreSQL server database; plain `postgresql://` URLs get the psycopg 3 driver."""

    name = "postgresql"
    mark = "%s"
    writer_threads = 4

    def make_engine(self, url: str) -> Engine:
        return create_engine(driver_url(url), pool_pre_ping=True)

    def insert_ignoring_duplicates(self, table: Table) -> Insert:
        return postgresql.insert(table).on_conflict_do_nothing()

    def size_report(self, engine: Engine) -> dict[str, int | None]:
        """The database's bytes; the WAL is the whole server's, so it is not reported."""
        with engine.connect() as conn:
            size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar()
        return {"database_bytes": size, "wal_bytes": None}


def driver_url(url: str) -> str:
    """`url` with the psycopg 3 driver named, as SQLAlchemy needs it."""
    scheme, rest = url.split("://", 1)
    return f"{DRIVER}://{rest}" if scheme in ("postgresql", "postgres") else url
