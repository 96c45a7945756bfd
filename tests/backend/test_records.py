"""Decode makes plain records; the writer, the monitor and direct updates consume them."""

from __future__ import annotations

import sqlite3

import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2 as m
from sqlalchemy import event

from tests.backend.test_performance_monitor import backend_in
from tests.integration.otlp_samples import T0, metrics_request, span, spans_request
from tradepulse import conventions as conv
from tradepulse_backend.clock import ManualClock
from tradepulse_backend.ingest.decode import decode_request
from tradepulse_backend.performance.inputs import observations
from tradepulse_backend.store import Store
from tradepulse_backend.telemetry.counters import counter_change
from tradepulse_backend.telemetry.records import (
    Distribution,
    MetricKind,
    SeriesCatalog,
    Temporality,
)


@pytest.fixture
def store(tmp_path):
    opened = Store.open(f"sqlite:///{tmp_path / 'tp.db'}", tmp_path)
    yield opened
    opened.close()


def _kv(key: str, value) -> KeyValue:
    if isinstance(value, float):
        return KeyValue(key=key, value=AnyValue(double_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=value))


def _gauges(name: str, count: int, time_ns: int = T0) -> ExportMetricsServiceRequest:
    points = [m.NumberDataPoint(time_unix_nano=time_ns, as_double=float(i),
                                attributes=[_kv(conv.ATTR_SYMBOL, f"S{i}")])
              for i in range(count)]
    return ExportMetricsServiceRequest.FromString(metrics_request(
        "bot", [m.Metric(name=name, gauge=m.Gauge(data_points=points))]))


def test_metric_points_decode_into_series_records_with_plain_attributes():
    batch = decode_request("metrics", _gauges(conv.METRIC_PORTFOLIO_VALUE, 2))
    first = batch.metrics[0]
    assert first.series.kind is MetricKind.GAUGE
    assert first.series.temporality is Temporality.UNSPECIFIED
    assert first.series.resource.service_name == "bot"
    assert first.series.scope.name == "tests"
    assert first.series.attributes == {conv.ATTR_SYMBOL: "S0"}
    assert first.points == [(T0, 0, 0.0)]
    assert [o.attributes for o in observations(batch)] == [
        {conv.ATTR_SYMBOL: "S0"}, {conv.ATTR_SYMBOL: "S1"}]


def test_a_committed_series_is_reused_without_decoding_its_attributes_again(store):
    store.writer.write([decode_request("metrics", _gauges("g", 3), store.writer.series_ids)])
    again = decode_request("metrics", _gauges("g", 3, T0 + 1), store.writer.series_ids)
    assert all(group.series.id is not None for group in again.metrics)
    known = store.writer.series_ids.known(again.metrics[0].series.metric_key)
    assert [group.series for group in again.metrics] == [known[k] for k in known]


def test_histogram_points_are_distribution_records():
    point = m.HistogramDataPoint(time_unix_nano=T0, count=3, sum=6.0, explicit_bounds=[1.0],
                                 bucket_counts=[1, 2])
    request = ExportMetricsServiceRequest.FromString(metrics_request("bot", [m.Metric(
        name="h", histogram=m.Histogram(aggregation_temporality=1, data_points=[point]))]))
    record = decode_request("metrics", request).metrics[0].points[0]
    assert isinstance(record, Distribution)
    assert (record.count, record.sum, record.min, record.bounds, record.bucket_counts) == (
        3, 6.0, None, (1.0,), (1, 2))
    assert record.body == point.SerializeToString()


def test_trade_spans_become_trade_records_at_decode():
    trade = span(b"\x07" * 16, b"\x08" * 8, conv.SPAN_TRADE)
    trade.attributes.extend([_kv(conv.ATTR_TRADE_PNL, 12.5), _kv(conv.ATTR_SYMBOL, "ABC"),
                             _kv(conv.ATTR_PORTFOLIO, "main")])
    other = span(b"\x09" * 16, b"\x08" * 8, "work")
    other.attributes.append(_kv("step", "fetch"))
    batch = decode_request("traces", ExportTraceServiceRequest.FromString(
        spans_request("bot", [trade, other])))
    assert batch.spans[0].attributes[conv.ATTR_SYMBOL] == "ABC"
    assert dict(batch.spans[1].attributes) == {"step": "fetch"}
    [record] = batch.trades
    assert (record.service, record.portfolio, record.symbol, record.pnl) == (
        "bot", "main", "ABC", 12.5)
    assert record.span_key == b"\x07" * 16 + b"\x08" * 8


def test_new_series_beyond_the_bound_are_rejected_with_the_limit_named():
    batch = decode_request("metrics", _gauges("g", 5), SeriesCatalog(max_new_per_request=2))
    assert batch.accepted == 2 and batch.rejected == 3
    assert "max_new_series_per_request" in batch.errors[0] and "2" in batch.errors[0]


def test_new_series_of_a_transaction_are_created_without_a_statement_per_series(store):
    statements: list[str] = []
    event.listen(store.engine, "before_cursor_execute",
                 lambda *args: statements.append(args[2]))
    store.writer.write([decode_request("metrics", _gauges("bulk", 1200))])
    lookups = [s for s in statements if s.startswith("SELECT") and "FROM series" in s]
    assert len(lookups) == 3   # 1200 fingerprints in chunks of 500
    assert len(statements) < 10   # the INSERT is one executemany on the driver cursor
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM series").scalar() == 1200


def test_the_writer_stamps_resources_with_its_clock(tmp_path):
    clock = ManualClock(start_ns=42 * 10**9)
    store = Store.open(f"sqlite:///{tmp_path / 'tp.db'}", tmp_path, clock=clock)
    store.writer.write([decode_request("metrics", _gauges("g", 1))])
    with store.engine.connect() as conn:
        seen = conn.exec_driver_sql("SELECT first_seen_ns, last_seen_ns FROM resources").one()
    store.close()
    assert tuple(seen) == (42 * 10**9, 42 * 10**9)


def test_the_counter_reset_rule():
    assert counter_change(1, 5.0, 1, 9.0, monotonic=True) == 4.0
    assert counter_change(1, 9.0, 2, 3.0, monotonic=True) == 3.0     # new start time
    assert counter_change(1, 9.0, 1, 3.0, monotonic=True) == 3.0     # went down
    assert counter_change(1, 9.0, 1, 3.0, monotonic=False) == -6.0   # up-down counter
    assert counter_change(0, 9.0, 5, 12.0, monotonic=True) == 3.0    # no start to compare


def test_a_direct_update_is_stored_and_absorbed_before_it_returns(tmp_path):
    backend = backend_in(tmp_path)
    snapshot = backend.performance.update_portfolio_data(
        {"service": "bot", "timestamp": T0 / 1e9, "portfolio_value": 100.0,
         "trades": [{"pnl": 2.0, "symbol": "ABC"}]})
    with backend.store.engine.connect() as conn:
        spans = conn.exec_driver_sql("SELECT COUNT(*) FROM spans").scalar()
        points = conn.exec_driver_sql("SELECT COUNT(*) FROM points_staging").scalar()
    backend.close()
    assert snapshot.portfolio_value == 100.0 and snapshot.trades == 1
    assert spans == 1 and points == 1


def test_a_direct_update_not_absorbed_in_time_raises_timeout(tmp_path):
    backend = backend_in(tmp_path)
    monitor = backend.performance
    monitor.flush()
    try:
        with monitor._lock, pytest.raises(TimeoutError, match="absorb"):
            monitor.update_portfolio_data({"service": "bot", "portfolio_value": 1.0},
                                          timeout=0.2)
    finally:
        backend.close()


def test_a_direct_update_not_committed_in_time_raises_timeout(tmp_path):
    backend = backend_in(tmp_path)
    lock = sqlite3.connect(tmp_path / "tradepulse.db", timeout=5)
    lock.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(TimeoutError, match="committed"):
            backend.performance.update_portfolio_data(
                {"service": "bot", "portfolio_value": 1.0}, timeout=0.2)
    finally:
        lock.rollback()
        lock.close()
        backend.close()
