"""The store on its own, on SQLite and on a real PostgreSQL: retention, compaction, migrations,
size figures, series math, id caches across failed transactions."""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.integration.otlp_samples import (
    SECOND,
    T0,
    cumulative_counter,
    metrics_request,
    span,
    spans_request,
)
from tradepulse_backend.ingest.decode import decode_request
from tradepulse_backend.store import NS_PER_DAY, Store, StoreUnavailable, queries
from tradepulse_backend.store.dialects import dialect_for
from tradepulse_backend.store.migrate import upgrade
from tradepulse_backend.store.retention import first_id_at_or_after
from tradepulse_backend.store.schema import metadata, resources
from tradepulse_backend.store.series_math import deltas, rates
from tradepulse_backend.telemetry.records import MetricKind


@pytest.fixture
def url(storage_url, tmp_path) -> str:
    return storage_url or f"sqlite:///{tmp_path / 'tp.db'}"


@pytest.fixture
def store(url, tmp_path):
    opened = Store.open(url, tmp_path)
    yield opened
    opened.close()


def _spans(service: str, trace_byte: int, start_ns: int):
    item = span(bytes([trace_byte]) * 16, b"\x01" * 8, f"span-{trace_byte}")
    item.start_time_unix_nano = start_ns
    item.end_time_unix_nano = start_ns + SECOND
    request = ExportTraceServiceRequest.FromString(spans_request(service, [item]))
    return decode_request("traces", request)


def _points(service: str, points):
    request = ExportMetricsServiceRequest.FromString(
        metrics_request(service, [cumulative_counter("trading.orders", points)]))
    return decode_request("metrics", request)


def test_retention_drops_only_telemetry_older_than_the_cutoff(store):
    old, new = T0, T0 + 10 * NS_PER_DAY
    store.writer.write([_spans("bot", 1, old), _spans("bot", 2, new),
                        _points("bot", [(old, old, 1.0), (old, new, 2.0)])])
    removed = store.apply_retention(5, now_ns=new + NS_PER_DAY)
    assert removed["spans"] == 1 and removed["points"] == 1
    assert [s["name"] for s in queries.recent_spans(store)] == ["span-2"]
    series = queries.series_points(store, "trading.orders", since_ns=0)
    assert [p[1] for p in series[0]["points"]] == [2.0]


@contextmanager
def write_locked(store: Store, url: str):
    """Another connection holds the write lock; the store's writes fail at once."""
    if store.dialect.name == "sqlite":
        lock = sqlite3.connect(store.location, timeout=5)
        lock.execute("PRAGMA busy_timeout=0")
        lock.execute("BEGIN EXCLUSIVE")
        setting = "PRAGMA busy_timeout=0"
    else:
        lock = psycopg.connect(url)
        lock.execute("LOCK TABLE resources IN EXCLUSIVE MODE")
        setting = "SET lock_timeout = '100ms'"
    store.engine.dispose()
    with store.engine.connect() as conn:
        conn.exec_driver_sql(setting)
        conn.commit()
    try:
        yield
    finally:
        lock.rollback()
        lock.close()


def test_a_failed_transaction_does_not_leave_cached_ids_behind(store, url):
    with write_locked(store, url), pytest.raises(Exception, match="lock"):
        store.writer.write([_points("cache-bot", [(T0, T0 + SECOND, 1.0)])])
    store.writer.write([_points("cache-bot", [(T0, T0 + 2 * SECOND, 2.0)])])
    series = queries.series_points(store, "trading.orders", service="cache-bot")
    assert [p[1] for p in series[0]["points"]] == [2.0]


def test_deltas_treat_a_new_start_time_as_a_counter_reset():
    points = [(10, 1, 5.0), (20, 1, 9.0), (30, 25, 2.0)]
    changes = deltas(points, kind=MetricKind.SUM, temporality=2, monotonic=True)
    assert changes == [(20, 4.0), (30, 2.0)]


def test_gauge_deltas_are_plain_differences_even_downwards():
    points = [(10, 0, 5.0), (20, 0, 1.0)]
    assert deltas(points, kind=MetricKind.GAUGE, temporality=0, monotonic=False) == [(20, -4.0)]


def test_rates_skip_points_without_a_predecessor_and_missing_values():
    points = [(1 * SECOND, 0, 1.0), (2 * SECOND, 0, None), (3 * SECOND, 0, 5.0)]
    assert rates(points, kind=MetricKind.SUM, temporality=2, monotonic=True) == [(3 * SECOND, 2.0)]


def test_points_read_the_same_before_and_after_compaction_and_duplicates_fold(store):
    points = [(T0, T0 + SECOND, 1.0), (T0, T0 + 2 * SECOND, 4.0)]
    store.writer.write([_points("compact-bot", points), _points("compact-bot", points[1:])])

    def values():
        series = queries.series_points(store, "trading.orders", service="compact-bot")
        return [p[1] for p in series[0]["points"]]

    assert values() == [1.0, 4.0]
    assert store.compact() == 3
    assert values() == [1.0, 4.0]
    assert store.compact() == 0
    store.writer.write([_points("compact-bot", [(T0, T0 + 3 * SECOND, 6.0)])])
    assert values() == [1.0, 4.0, 6.0]


def test_nanosecond_times_trace_keys_and_ids_beyond_32_bits_round_trip(store):
    late = 2**62 + 12_345
    if store.dialect.name == "postgresql":
        with store.engine.begin() as conn:
            conn.exec_driver_sql("SELECT setval('spans_id_seq', 2147483657)")
    store.writer.write([_spans("big-bot", 0xF0, late), _points("big-bot", [(late, late, 7.0)])])
    store.compact()
    (found,) = queries.trace(store, "f0" * 16)
    assert found["start_time_unix_nano"] == late
    assert queries.storage_counts(store)["spans_written"] in (1, 2**31 + 10)
    series = queries.series_points(store, "trading.orders", since_ns=late, until_ns=late)
    assert series[0]["points"] == [[late / 1e6, 7.0]]


def test_retention_removes_spans_in_chunks_below_the_searched_boundary(store):
    store.writer.write([_spans("chunk-bot", i, T0 + i * SECOND) for i in range(1, 8)])
    assert first_id_at_or_after(store, "spans", "start_ns", T0 + 5 * SECOND) == 5
    assert first_id_at_or_after(store, "spans", "start_ns", T0 + 99 * SECOND) == 8
    removed = store.apply_retention(1, now_ns=T0 + NS_PER_DAY + 5 * SECOND, chunk_rows=2)
    assert removed["spans"] == 4
    assert sorted(s["name"] for s in queries.recent_spans(store)) == [
        "span-5", "span-6", "span-7"]


def test_size_report_gives_database_bytes_and_the_wal_where_the_store_owns_one(store):
    store.writer.write([_spans("size-bot", 3, T0)])
    sizes = store.size_report()
    assert sizes["database_bytes"] > 0
    if store.dialect.name == "sqlite":
        assert sizes["wal_bytes"] >= 0 and store.writer_threads == 1
    else:
        assert sizes["wal_bytes"] is None and store.writer_threads > 1


def test_a_database_at_revision_0003_with_data_upgrades_and_keeps_its_rows(url, tmp_path):
    """Migration 0004 widens columns on PostgreSQL and changes nothing on SQLite."""
    old = Store(url)
    upgrade(old.engine, "0003")
    with old.engine.begin() as conn:
        conn.execute(resources.insert(), {"fingerprint": b"\x01", "service_name": "old-bot",
                                          "attributes": "{}", "first_seen_ns": 5,
                                          "last_seen_ns": 6})
    old.release()
    store = Store.open(url, tmp_path)
    try:
        assert [s["name"] for s in queries.services(store)] == ["old-bot"]
        store.writer.write([_points("old-bot", [(T0, T0 + SECOND, 1.0)])])
        assert queries.series_points(store, "trading.orders")[0]["points"][0][1] == 1.0
    finally:
        store.close()


def test_the_migrated_database_matches_the_schema_module_column_types_included(store):
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_opening_a_missing_sqlite_database_for_reading_names_it(tmp_path):
    missing = tmp_path / "none" / "tradepulse.db"
    with pytest.raises(StoreUnavailable, match=f"no database at {missing}"):
        Store.open(f"sqlite:///{missing}", create=False)
    assert not missing.parent.exists()


@pytest.mark.parametrize("url, driver", [
    ("postgresql://u@db/tp", "postgresql+psycopg"),
    ("postgres://u@db/tp", "postgresql+psycopg"),
    ("sqlite:///x.db", "sqlite"),
])
def test_the_dialect_is_chosen_from_the_url(url, driver):
    dialect = dialect_for(url)
    assert dialect.name == driver.split("+")[0]
    if dialect.name == "postgresql":
        assert dialect.make_engine(url).url.drivername == driver


def test_an_unsupported_database_url_is_a_value_error_naming_it():
    with pytest.raises(ValueError, match="unsupported database 'mysql'"):
        dialect_for("mysql://u@db/tp")


def test_batch_rows_inserted_the_dialects_fastest_way_read_back_whole(store):
    store.writer.write([_spans("rows-bot", 4, T0)])
    span_row = (7, b"\x07" * 16, b"\x02" * 8, b"", "copied", 1, T0, T0 + 1, 0, b"\x00'\\\n", 1, 1)
    points = [(1, T0 + i, T0, value) for i, value in enumerate([1.5, None, -2.0])]
    with store.engine.begin() as conn:
        cursor = conn.connection.driver_connection.cursor()
        store.dialect.insert_rows(cursor, "spans", [span_row])
        store.dialect.insert_rows(cursor, "points_staging", points)
        store.dialect.insert_rows(cursor, "points_staging", points[:1], ignore_duplicates=True)
        cursor.close()
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql(
            "SELECT trace_key, name, start_ns, body FROM spans WHERE name = 'copied'").one() == (
            7, "copied", T0, b"\x00'\\\n")
        values = conn.exec_driver_sql(
            "SELECT value FROM points_staging ORDER BY id").scalars().all()
    assert values == [1.5, None, -2.0, 1.5]
