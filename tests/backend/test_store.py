"""The store on its own: retention, series math, id caches across failed transactions."""

from __future__ import annotations

import sqlite3

import pytest
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
from tradepulse_backend.store import NS_PER_DAY, Store, queries
from tradepulse_backend.store.series_math import deltas, rates
from tradepulse_backend.telemetry.records import MetricKind


@pytest.fixture
def store(tmp_path):
    opened = Store.open(f"sqlite:///{tmp_path / 'tp.db'}", tmp_path)
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
    assert [s["name"] for s in queries.recent_spans(store.engine)] == ["span-2"]
    series = queries.series_points(store.engine, "trading.orders", since_ns=0)
    assert [p[1] for p in series[0]["points"]] == [2.0]


def test_a_failed_transaction_does_not_leave_cached_ids_behind(store, tmp_path):
    lock = sqlite3.connect(tmp_path / "tp.db", timeout=5)
    lock.execute("PRAGMA busy_timeout=0")
    lock.execute("BEGIN EXCLUSIVE")
    store.engine.dispose()
    with store.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA busy_timeout=0")
    with pytest.raises(Exception, match="locked"):
        store.writer.write([_points("cache-bot", [(T0, T0 + SECOND, 1.0)])])
    lock.rollback()
    lock.close()
    store.writer.write([_points("cache-bot", [(T0, T0 + 2 * SECOND, 2.0)])])
    series = queries.series_points(store.engine, "trading.orders", service="cache-bot")
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
        series = queries.series_points(store.engine, "trading.orders", service="compact-bot")
        return [p[1] for p in series[0]["points"]]

    assert values() == [1.0, 4.0]
    assert store.compact() == 3
    assert values() == [1.0, 4.0]
    assert store.compact() == 0
    store.writer.write([_points("compact-bot", [(T0, T0 + 3 * SECOND, 6.0)])])
    assert values() == [1.0, 4.0, 6.0]
