"""What every database engine must say about itself; one subclass per database."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, Insert, Table, make_url

from tradepulse_backend.store.schema import INSERT_COLUMNS


class Dialect(ABC):
    """The one object that knows a database's engine options, SQL spellings, maintenance and
    size figures; the rest of `store/` is written once for every database."""

    name: str
    mark: str
    """The DB-API placeholder of the driver, for the positional executemany batch inserts."""
    writer_threads: int
    """How many threads may write at once."""
    greatest = "GREATEST"
    """The SQL function of the larger of two values."""

    @abstractmethod
    def make_engine(self, url: str, *, journal_size_limit: int | None = None) -> Engine:
        """An engine for `url`, tuned for this database (`journal_size_limit`: bytes the
        store's own write-ahead log is truncated to after a checkpoint, where it has one)."""

    @abstractmethod
    def insert_ignoring_duplicates(self, table: Table) -> Insert:
        """An INSERT that skips rows whose unique keys are already stored."""

    @abstractmethod
    def size_report(self, engine: Engine) -> dict[str, int | None]:
        """{"database_bytes", "wal_bytes"}: None where the database has no such figure."""

    def exists(self, url: str) -> bool:
        """Whether the database at `url` already exists (a server database is assumed to)."""
        return True

    def location(self, url: str) -> str:
        """Where the database is, safe to print (no password)."""
        return make_url(url).render_as_string(hide_password=True)

    def insert_sql(self, table: str, ignore_duplicates: bool = False) -> str:
        """Positional INSERT text for the DB-API's executemany, the fast batch path."""
        columns = INSERT_COLUMNS[table]
        marks = ",".join([self.mark] * len(columns))
        return self._insert(table, ",".join(columns), f"VALUES ({marks})", ignore_duplicates)

    def insert_rows(self, cursor: Any, table: str, rows: Sequence[tuple],
                    ignore_duplicates: bool = False) -> None:
        """Insert positional rows (INSERT_COLUMNS order) on the writer's DB-API cursor, the
        fastest way this database offers."""
        cursor.executemany(self.insert_sql(table, ignore_duplicates), rows)

    def touch_resources_sql(self) -> str:
        """UPDATE moving a resource's last_seen_ns forward only: params (time_ns, resource_id)."""
        return (f"UPDATE resources SET last_seen_ns = {self.greatest}(last_seen_ns, {self.mark}) "
                f"WHERE id = {self.mark}")

    def upsert_latest_sql(self) -> str:
        """Positional upsert of `latest_values` rows that only ever moves a series forward in
        time and leaves its sealing watermark alone."""
        columns = INSERT_COLUMNS["latest_values"]
        marks = ",".join([self.mark] * len(columns))
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns[1:-1])
        return (f"INSERT INTO latest_values ({', '.join(columns)}) VALUES ({marks}) "
                f"ON CONFLICT (series_id) DO UPDATE SET {updates} "
                "WHERE excluded.time_ns >= latest_values.time_ns")

    def compact_sql(self) -> str:
        """Move staged points up to id `:last` into `points`, sorted by series."""
        return self._insert(
            "points", "series_id, time_ns, start_ns, value",
            "SELECT series_id, time_ns, start_ns, value FROM points_staging "
            "WHERE id <= :last ORDER BY series_id, time_ns", ignore_duplicates=True)

    def checkpoint(self, connection: Connection) -> None:  # noqa: B027 - optional hook
        """Move committed write-ahead log pages into the database, where that is the store's
        job rather than the server's."""

    def reclaim(self, connection: Connection) -> None:  # noqa: B027 - optional hook
        """Give pages freed by retention back to the file system, where the store does that."""

    def release_free_pages(self, connection: Connection) -> None:  # noqa: B027 - optional hook
        """Give free pages back to the file system after sealing moved points into chunks,
        where the store does that (cheaper than `reclaim`: no log truncation)."""

    def delete_chunk_sql(self, table: str, column: str, rows: int) -> str:
        """Retention: delete up to `rows` rows below id `:boundary` older than `:cutoff`."""
        return (f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} "
                f"WHERE id < :boundary AND {column} < :cutoff LIMIT {rows})")

    def _insert(self, table: str, columns: str, rows: str, ignore_duplicates: bool) -> str:
        return f"INSERT INTO {table} ({columns}) {rows}" + (
            " ON CONFLICT DO NOTHING" if ignore_duplicates else "")
