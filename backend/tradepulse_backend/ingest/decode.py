"""OTLP export requests (already parsed protobuf messages) walked once into plain records."""

from __future__ import annotations

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tradepulse_backend.telemetry.otlp import body_text
from tradepulse_backend.telemetry.records import (
    KIND_EXP_HISTOGRAM,
    KIND_GAUGE,
    KIND_HISTOGRAM,
    KIND_SUM,
    KIND_SUMMARY,
    DecodedBatch,
    LogGroup,
    MetricGroup,
    Origin,
    SeriesIds,
    SpanGroup,
)

REQUEST_TYPES = {
    "traces": ExportTraceServiceRequest,
    "metrics": ExportMetricsServiceRequest,
    "logs": ExportLogsServiceRequest,
}
_NO_TRACE = bytes(16)
_NO_SPAN = bytes(8)


_NO_SERIES: SeriesIds = {}


def decode_request(signal: str, request, series_ids: SeriesIds = _NO_SERIES) -> DecodedBatch:
    """Plain records for one parsed export request of the given signal.

    `series_ids` (the store's committed metric series) lets points of known series become
    final rows here, in the request thread, instead of in the single writer thread.
    """
    if signal == "metrics":
        return decode_metrics(request, series_ids)
    return _DECODERS[signal](request)


def decode_traces(request: ExportTraceServiceRequest) -> DecodedBatch:
    batch = DecodedBatch("traces")
    for resource_spans in request.resource_spans:
        resource = resource_spans.resource
        resource_key = resource.SerializeToString()
        for scope_spans in resource_spans.scope_spans:
            scope = scope_spans.scope
            rows: list[tuple] = []
            for span in scope_spans.spans:
                trace_id = span.trace_id
                span_id = span.span_id
                parent = span.parent_span_id
                if (len(trace_id) != 16 or len(span_id) != 8 or trace_id == _NO_TRACE
                        or span_id == _NO_SPAN or (parent and len(parent) != 8)):
                    batch.reject(1, f"span {span.name!r}: invalid trace_id, span_id or parent id")
                    continue
                rows.append((
                    int.from_bytes(trace_id[:8], "big", signed=True), trace_id, span_id, parent,
                    span.name, span.kind, span.start_time_unix_nano, span.end_time_unix_nano,
                    span.status.code, span.SerializeToString(),
                ))
            if rows:
                origin = Origin(resource_key, resource, scope.SerializeToString(), scope)
                batch.spans.append(SpanGroup(origin, rows))
                batch.accepted += len(rows)
    return batch


def decode_metrics(request: ExportMetricsServiceRequest,
                   series_ids: SeriesIds = _NO_SERIES) -> DecodedBatch:
    batch = DecodedBatch("metrics")
    for resource_metrics in request.resource_metrics:
        resource = resource_metrics.resource
        resource_key = resource.SerializeToString()
        for scope_metrics in resource_metrics.scope_metrics:
            scope = scope_metrics.scope
            origin = Origin(resource_key, resource, scope.SerializeToString(), scope)
            for metric in scope_metrics.metrics:
                _decode_metric(batch, origin, metric, series_ids)
    return batch


def _decode_metric(batch: DecodedBatch, origin: Origin, metric, series_ids: SeriesIds) -> None:
    kind = metric.WhichOneof("data")
    if kind is None:
        batch.reject(0, f"metric {metric.name!r}: no data")
        return
    data = getattr(metric, kind)
    points = data.data_points
    if not metric.name:
        batch.reject(len(points), "metric without a name")
        return
    temporality = getattr(data, "aggregation_temporality", 0)
    monotonic = bool(getattr(data, "is_monotonic", False))
    key = (origin.resource_key, origin.scope_key, metric.name, kind, temporality, monotonic,
           metric.unit)
    group = MetricGroup(origin, key, metric.name, kind, temporality, monotonic, metric.unit,
                        metric.description, points)
    known = series_ids.get(key, _NO_IDS)
    row_of = _ROW_BUILDERS[kind]
    rows, new_series = group.rows, group.new_series
    for index, point in enumerate(points):
        attributes_key = b"".join([kv.SerializeToString() for kv in point.attributes])
        sid = known.get(attributes_key)
        if sid is None:
            new_series.append((index, attributes_key, row_of(None, point)))
        else:
            rows.append(row_of(sid, point))
    batch.metrics.append(group)
    batch.accepted += len(points)


_NO_IDS: dict[bytes, int] = {}


def _number_row(sid: int | None, point) -> tuple:
    which = point.WhichOneof("value")
    value = None if which is None else float(getattr(point, which))
    return (sid, point.time_unix_nano, point.start_time_unix_nano, value)


def _histogram_row(sid: int | None, point) -> tuple:
    """Histogram and exponential histogram points: sum, min and max are optional in OTLP."""
    return (
        sid, point.time_unix_nano, point.start_time_unix_nano, point.count,
        point.sum if point.HasField("sum") else None,
        point.min if point.HasField("min") else None,
        point.max if point.HasField("max") else None,
        point.SerializeToString(),
    )


def _summary_row(sid: int | None, point) -> tuple:
    return (
        sid, point.time_unix_nano, point.start_time_unix_nano, point.count, point.sum, None, None,
        point.SerializeToString(),
    )


_ROW_BUILDERS = {
    KIND_GAUGE: _number_row,
    KIND_SUM: _number_row,
    KIND_HISTOGRAM: _histogram_row,
    KIND_EXP_HISTOGRAM: _histogram_row,
    KIND_SUMMARY: _summary_row,
}


def decode_logs(request: ExportLogsServiceRequest) -> DecodedBatch:
    batch = DecodedBatch("logs")
    for resource_logs in request.resource_logs:
        resource = resource_logs.resource
        resource_key = resource.SerializeToString()
        for scope_logs in resource_logs.scope_logs:
            scope = scope_logs.scope
            rows: list[tuple] = []
            for record in scope_logs.log_records:
                if record.trace_id and len(record.trace_id) != 16:
                    batch.reject(1, "log record: invalid trace_id")
                    continue
                rows.append((
                    record.time_unix_nano or record.observed_time_unix_nano,
                    record.severity_number, record.severity_text, body_text(record.body),
                    record.trace_id, record.span_id, record.SerializeToString(),
                ))
            if rows:
                origin = Origin(resource_key, resource, scope.SerializeToString(), scope)
                batch.logs.append(LogGroup(origin, rows))
                batch.accepted += len(rows)
    return batch


_DECODERS = {"traces": decode_traces, "logs": decode_logs}
