"""Requests the store cannot take whole: a flood of new series, values beyond 2^63. Each is
answered 200 with partial_success naming what was refused (never a retryable 503), and the
server keeps serving everyone else."""

from __future__ import annotations

import sqlite3
import threading
import time

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1 import logs_pb2
from opentelemetry.proto.metrics.v1 import metrics_pb2 as m
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from tests.integration.otlp_samples import metrics_request, span, spans_request
from tests.support import post

PROTOBUF = {"Content-Type": "application/x-protobuf"}
T0 = 1_700_000_000 * 10**9
TOO_BIG = 2**63
SERIES = 100_000
LIMIT = 10_000


def _gauge(name: str, points: list[m.NumberDataPoint]) -> m.Metric:
    return m.Metric(name=name, gauge=m.Gauge(data_points=points))


def _point(index: int, time_ns: int = T0, **fields) -> m.NumberDataPoint:
    attrs = [KeyValue(key="shard", value=AnyValue(int_value=index))]
    return m.NumberDataPoint(time_unix_nano=time_ns, as_double=float(index), attributes=attrs,
                             **fields)


def _stored_points(running, name: str) -> int:
    with sqlite3.connect(running.data_dir / "tradepulse.db", timeout=30) as db:
        return db.execute(
            "SELECT (SELECT COUNT(*) FROM points p JOIN series s ON s.id = p.series_id "
            "WHERE s.name = ?) + (SELECT COUNT(*) FROM points_staging p JOIN series s "
            "ON s.id = p.series_id WHERE s.name = ?)", (name, name)).fetchone()[0]


def _metrics_reply(status: int, body: bytes):
    assert status == 200, (status, body[:200])
    return ExportMetricsServiceResponse.FromString(body).partial_success


def test_a_request_of_100000_new_series_is_bounded_and_never_stalls_other_exporters(
        start_server):
    running = start_server({"ingest": {"max_new_series_per_request": LIMIT}})
    url = f"{running.otlp}/v1/metrics"
    big = metrics_request("flood", [_gauge("flood.value", [_point(i) for i in range(SERIES)])])

    def small() -> bytes:
        point = _point(0, T0 + len(small_statuses))
        return metrics_request("steady", [_gauge("steady.value", [point])])

    big_reply: list = []
    small_statuses: list[int] = []

    def flood() -> None:
        started = time.perf_counter()
        big_reply.append(post(url, big, PROTOBUF))
        big_reply.append(time.perf_counter() - started)

    def steady() -> None:
        while not big_reply and len(small_statuses) < 500:
            small_statuses.append(post(url, small(), PROTOBUF)[0])

    threads = [threading.Thread(target=flood), threading.Thread(target=steady)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    small_statuses.append(post(url, small(), PROTOBUF)[0])

    (status, _, body), seconds = big_reply
    partial = _metrics_reply(status, body)
    print(f"100,000-new-series request answered in {seconds:.2f}s")
    assert partial.rejected_data_points == SERIES - LIMIT
    assert "ingest.max_new_series_per_request" in partial.error_message
    assert str(LIMIT) in partial.error_message
    assert set(small_statuses) == {200}
    assert _stored_points(running, "flood.value") == LIMIT
    assert _stored_points(running, "steady.value") == len(small_statuses)


def test_a_resent_request_creates_the_next_series_up_to_the_bound(start_server):
    running = start_server({"ingest": {"max_new_series_per_request": 3}})
    body = metrics_request("few", [_gauge("few.value", [_point(i) for i in range(5)])])
    first = _metrics_reply(*post(f"{running.otlp}/v1/metrics", body, PROTOBUF)[::2])
    assert first.rejected_data_points == 2
    later = metrics_request("few", [_gauge("few.value", [_point(i, T0 + 1) for i in range(5)])])
    second = _metrics_reply(*post(f"{running.otlp}/v1/metrics", later, PROTOBUF)[::2])
    assert second.rejected_data_points == 0
    assert _stored_points(running, "few.value") == 8


def test_out_of_range_metric_values_are_rejected_by_name_and_the_rest_is_stored(server):
    histogram = m.Metric(name="range.latency", histogram=m.Histogram(
        aggregation_temporality=m.AGGREGATION_TEMPORALITY_CUMULATIVE, data_points=[
            m.HistogramDataPoint(time_unix_nano=T0, count=TOO_BIG, explicit_bounds=[1.0],
                                 bucket_counts=[0, TOO_BIG]),
            m.HistogramDataPoint(time_unix_nano=T0, count=3, explicit_bounds=[1.0],
                                 bucket_counts=[1, TOO_BIG]),
            m.HistogramDataPoint(time_unix_nano=T0, count=3, explicit_bounds=[1.0],
                                 bucket_counts=[1, 2])]))
    exponential = m.Metric(name="range.exp", exponential_histogram=m.ExponentialHistogram(
        aggregation_temporality=m.AGGREGATION_TEMPORALITY_DELTA, data_points=[
            m.ExponentialHistogramDataPoint(time_unix_nano=T0, count=1, zero_count=TOO_BIG)]))
    summary = m.Metric(name="range.summary", summary=m.Summary(data_points=[
        m.SummaryDataPoint(time_unix_nano=T0, count=TOO_BIG)]))
    gauge = _gauge("range.value", [_point(1, TOO_BIG), _point(2, start_time_unix_nano=TOO_BIG),
                                   _point(3)])
    body = metrics_request("range", [gauge, histogram, exponential, summary])
    partial = _metrics_reply(*post(f"{server.otlp}/v1/metrics", body, PROTOBUF)[::2])
    assert partial.rejected_data_points == 6
    for field in ("count", "bucket_counts", "zero_count", "time_unix_nano",
                  "start_time_unix_nano"):
        assert field in partial.error_message
    assert _stored_points(server, "range.value") == 1
    with sqlite3.connect(server.data_dir / "tradepulse.db", timeout=30) as db:
        counts = db.execute("SELECT d.count FROM distribution_points d JOIN series s "
                            "ON s.id = d.series_id WHERE s.name LIKE 'range.%'").fetchall()
    assert counts == [(3,)]


def test_spans_beyond_2_63_are_rejected_by_field_and_the_server_keeps_serving(server):
    late_start = span(b"\x11" * 16, b"\x01" * 8, "late start")
    late_start.start_time_unix_nano = TOO_BIG
    late_end = span(b"\x12" * 16, b"\x02" * 8, "late end")
    late_end.end_time_unix_nano = 2**64 - 1
    status, _, body = post(f"{server.otlp}/v1/traces",
                           spans_request("range-spans", [late_start, late_end]), PROTOBUF)
    assert status == 200
    partial = ExportTraceServiceResponse.FromString(body).partial_success
    assert partial.rejected_spans == 2
    assert "start_time_unix_nano" in partial.error_message
    assert "end_time_unix_nano" in partial.error_message
    fine = spans_request("range-spans", [span(b"\x13" * 16, b"\x03" * 8, "fine")])
    assert post(f"{server.otlp}/v1/traces", fine, PROTOBUF)[0] == 200
    names = [s["name"] for s in server.api("/spans?service=range-spans")["spans"]]
    assert names == ["fine"]


def test_logs_beyond_2_63_are_rejected_by_field(server):
    request = ExportLogsServiceRequest(resource_logs=[logs_pb2.ResourceLogs(
        resource=Resource(attributes=[KeyValue(key="service.name",
                                               value=AnyValue(string_value="range-logs"))]),
        scope_logs=[logs_pb2.ScopeLogs(log_records=[
            logs_pb2.LogRecord(time_unix_nano=TOO_BIG, body=AnyValue(string_value="late")),
            logs_pb2.LogRecord(observed_time_unix_nano=TOO_BIG,
                               body=AnyValue(string_value="observed late")),
            logs_pb2.LogRecord(time_unix_nano=T0, body=AnyValue(string_value="kept")),
        ])])])
    status, _, body = post(f"{server.otlp}/v1/logs", request.SerializeToString(), PROTOBUF)
    assert status == 200
    partial = ExportLogsServiceResponse.FromString(body).partial_success
    assert partial.rejected_log_records == 2
    assert "time_unix_nano" in partial.error_message
    assert "observed_time_unix_nano" in partial.error_message
    logs = server.api("/logs?service=range-logs")["logs"]
    assert [entry["body"] for entry in logs] == ["kept"]
