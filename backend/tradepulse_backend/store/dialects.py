"""Everything that differs between database engines lives here, so PostgreSQL reuses the rest."""

from __future__ import annotations

from sqlalchemy import Engine, Insert, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite

from tradepulse_backend.store.schema import INSERT_COLUMNS


def make_engine(url: str) -> Engine:
    """An engine tuned for its dialect (WAL and batch-friendly pragmas on SQLite)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in (
        "PRAGMA journal_mode=WAL",
        "PRAGMA synchronous=NORMAL",
        "PRAGMA foreign_keys=ON",
        "PRAGMA busy_timeout=5000",
        "PRAGMA cache_size=-65536",
        "PRAGMA temp_store=MEMORY",
        # The maintenance thread checkpoints every second (Store.maintain); this bounds the
        # WAL should that thread ever fall behind.
        "PRAGMA wal_autocheckpoint=10000",
    ):
        cursor.execute(pragma)
    cursor.close()


def compact_sql(engine: Engine) -> tuple[str, str]:
    """Move staged points up to id `:last` into `points` (series-sorted), then drop them."""
    ignore = "OR IGNORE " if engine.dialect.name == "sqlite" else ""
    conflict = "" if engine.dialect.name == "sqlite" else " ON CONFLICT DO NOTHING"
    move = (f"INSERT {ignore}INTO points (series_id, time_ns, start_ns, value) "
            "SELECT series_id, time_ns, start_ns, value FROM points_staging "
            f"WHERE id <= :last ORDER BY series_id, time_ns{conflict}")
    return move, "DELETE FROM points_staging WHERE id <= :last"


def checkpoint_sql(engine: Engine) -> str | None:
    """The statement that moves committed WAL pages into the database file, if the engine
    has a WAL to checkpoint."""
    return "PRAGMA wal_checkpoint(PASSIVE)" if engine.dialect.name == "sqlite" else None


def insert_sql(engine: Engine, table: str, *, ignore_duplicates: bool = False) -> str:
    """Positional INSERT text for the DB-API's executemany, the fast batch path."""
    columns = INSERT_COLUMNS[table]
    marks = ",".join(_placeholder(engine, i) for i in range(len(columns)))
    names = ",".join(columns)
    if not ignore_duplicates:
        return f"INSERT INTO {table} ({names}) VALUES ({marks})"
    if engine.dialect.name == "sqlite":
        return f"INSERT OR IGNORE INTO {table} ({names}) VALUES ({marks})"
    return f"INSERT INTO {table} ({names}) VALUES ({marks}) ON CONFLICT DO NOTHING"


def touch_resources_sql(engine: Engine) -> str:
    """UPDATE moving a resource's last_seen_ns forward only: params (time_ns, resource_id)."""
    mark = _placeholder(engine, 0)
    latest = "MAX" if engine.dialect.name == "sqlite" else "GREATEST"
    return f"UPDATE resources SET last_seen_ns = {latest}(last_seen_ns, {mark}) WHERE id = {mark}"


def _placeholder(engine: Engine, _index: int) -> str:
    style = engine.dialect.paramstyle
    return {"qmark": "?", "format": "%s", "pyformat": "%s"}.get(style, "?")


def insert_ignoring_duplicates(engine: Engine, table: Table) -> Insert:
    """An INSERT that skips rows whose unique keys are already stored."""
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing()
