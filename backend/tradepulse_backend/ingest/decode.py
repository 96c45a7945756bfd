"""OTLP export requests (already parsed protobuf messages) walked once into plain records.

Items the store cannot hold (invalid ids, timestamps or counts of 2^63 and more, points of
more new series than one request may create) are rejected here with a reason for OTLP
partial_success; they never reach the writer, so a request is never refused for retry over
something a retry cannot fix.
"""

from __future__ import annotations

from collections.abc import Iterator

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord as LogMessage
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from tradepulse import conventions as conv
from tradepulse_backend.telemetry.otlp import (
    DISTRIBUTIONS,
    LazyAttributes,
    attributes,
    body_text,
    service_name,
)
from tradepulse_backend.telemetry.records import (
    DecodedBatch,
    Distribution,
    LogRecord,
    MetricKind,
    MetricSeries,
    Resource,
    Scope,
    SeriesCatalog,
    SeriesPoints,
    SpanRecord,
    Temporality,
    metric_key,
)
from tradepulse_backend.telemetry.trades import trade_of

REQUEST_TYPES = {
    "traces": ExportTraceServiceRequest,
    "metrics": ExportMetricsServiceRequest,
    "logs": ExportLogsServiceRequest,
}
MAX_STORED = 2**63 - 1
"""The largest timestamp or count the store's signed 64-bit columns hold."""
_NO_TRACE = bytes(16)
_NO_SPAN = bytes(8)
_NO_CATALOG = SeriesCatalog()
_KEY_VALUE_BYTES = KeyValue.SerializeToString
"""A point's attributes serialized as sent: how decode recognises a known series."""


class OutOfRange(ValueError):
    """An OTLP unsigned 64-bit field holds a value the store cannot keep."""

    def __init__(self, field: str) -> None:
        super().__init__(f"{field} is 2^63 or more, which cannot be stored")


def decode_request(signal: str, request, series_ids: SeriesCatalog = _NO_CATALOG
                   ) -> DecodedBatch:
    """Plain records for one parsed export request of the given signal.

    `series_ids` (the store's committed metric series) lets points of known series skip
    attribute decoding, and bounds how many new series the request may create.
    """
    if signal == "metrics":
        return decode_metrics(request, series_ids)
    return _DECODERS[signal](request)


def _origins(holders, scoped: str, items: str) -> Iterator[tuple[Resource, Scope, object]]:
    """Each scope's items with its resource and scope decoded once: the one walk of all signals."""
    for holder in holders:
        kvs = holder.resource.attributes
        resource = Resource.of(service_name(kvs), attributes(kvs))
        for group in getattr(holder, scoped):
            scope = group.scope
            yield resource, Scope.of(scope.name, scope.version, attributes(scope.attributes)), \
                getattr(group, items)


def decode_traces(request: ExportTraceServiceRequest) -> DecodedBatch:
    batch = DecodedBatch("traces")
    out = batch.spans
    for resource, scope, spans in _origins(request.resource_spans, "scope_spans", "spans"):
        for span in spans:
            trace_id = span.trace_id
            span_id = span.span_id
            parent = span.parent_span_id
            if (len(trace_id) != 16 or len(span_id) != 8 or trace_id == _NO_TRACE
                    or span_id == _NO_SPAN or (parent and len(parent) != 8)):
                batch.reject(1, f"span {span.name!r}: invalid trace_id, span_id or parent id")
                continue
            start, end = span.start_time_unix_nano, span.end_time_unix_nano
            if start > MAX_STORED or end > MAX_STORED:
                field = _too_large(start_time_unix_nano=start, end_time_unix_nano=end)
                batch.reject(1, f"span {span.name!r}: {OutOfRange(field)}")
                continue
            name, body = span.name, span.SerializeToString()
            if name == conv.SPAN_TRADE:
                attrs = attributes(span.attributes)
                trade = trade_of(resource.service_name, attrs, start, end, trace_id + span_id)
                if trade is not None:
                    batch.trades.append(trade)
            else:
                attrs = LazyAttributes(body, Span)
            out.append(SpanRecord(resource, scope, trace_id, span_id, parent, name, span.kind,
                                  start, end, span.status.code, attrs, body))
    batch.accepted = len(out)
    return batch


def decode_logs(request: ExportLogsServiceRequest) -> DecodedBatch:
    batch = DecodedBatch("logs")
    out = batch.logs
    for resource, scope, records in _origins(request.resource_logs, "scope_logs", "log_records"):
        for record in records:
            if record.trace_id and len(record.trace_id) != 16:
                batch.reject(1, "log record: invalid trace_id")
                continue
            observed = record.observed_time_unix_nano
            if record.time_unix_nano > MAX_STORED or observed > MAX_STORED:
                field = _too_large(time_unix_nano=record.time_unix_nano,
                                   observed_time_unix_nano=observed)
                batch.reject(1, f"log record: {OutOfRange(field)}")
                continue
            body = record.SerializeToString()
            out.append(LogRecord(
                resource, scope, record.time_unix_nano or observed, record.severity_number,
                record.severity_text, body_text(record.body), record.trace_id, record.span_id,
                LazyAttributes(body, LogMessage), body))
    batch.accepted = len(out)
    return batch


class _NewSeriesBudget:
    """How many more series this request may create, and the points refused beyond that."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.left = limit
        self.refused_points = 0

    def take(self) -> bool:
        if self.left <= 0:
            return False
        self.left -= 1
        return True

    def report(self, batch: DecodedBatch) -> None:
        if self.refused_points:
            batch.reject(self.refused_points, (
                f"{self.refused_points} points of new series beyond the limit of {self.limit} "
                "new series per request (ingest.max_new_series_per_request) were rejected; "
                "send them in later requests"))


def decode_metrics(request: ExportMetricsServiceRequest,
                   series_ids: SeriesCatalog = _NO_CATALOG) -> DecodedBatch:
    batch = DecodedBatch("metrics")
    budget = _NewSeriesBudget(series_ids.max_new_per_request)
    for resource, scope, metrics in _origins(request.resource_metrics, "scope_metrics",
                                             "metrics"):
        for metric in metrics:
            _decode_metric(batch, resource, scope, metric, series_ids, budget)
    budget.report(batch)
    return batch


def _decode_metric(batch: DecodedBatch, resource: Resource, scope: Scope, metric,
                   catalog: SeriesCatalog, budget: _NewSeriesBudget) -> None:
    which = metric.WhichOneof("data")
    if which is None:
        batch.reject(0, f"metric {metric.name!r}: no data")
        return
    data = getattr(metric, which)
    points = data.data_points
    if not metric.name:
        batch.reject(len(points), "metric without a name")
        return
    try:
        temporality = Temporality(getattr(data, "aggregation_temporality", 0))
    except ValueError:
        batch.reject(len(points), f"metric {metric.name!r}: unknown aggregation_temporality")
        return
    metric_of = _Metric(resource, scope, metric, MetricKind(which), temporality,
                        bool(getattr(data, "is_monotonic", False)))
    _decode_points(batch, metric_of, points, catalog.known(metric_of.key), budget)


class _Metric:
    """One metric's identity within a request: what its new series are made of."""

    __slots__ = ("key", "kind", "message", "monotonic", "resource", "scope", "temporality")

    def __init__(self, resource: Resource, scope: Scope, message, kind: MetricKind,
                 temporality: Temporality, monotonic: bool) -> None:
        self.resource, self.scope, self.message = resource, scope, message
        self.kind, self.temporality, self.monotonic = kind, temporality, monotonic
        self.key = metric_key(resource.key, scope.key, message.name, kind, temporality,
                              monotonic, message.unit)

    def new_series(self, point, attributes_key: bytes) -> MetricSeries:
        return MetricSeries.create(
            self.resource, self.scope, self.message.name, self.kind, self.temporality,
            self.monotonic, self.message.unit, self.message.description,
            attributes(point.attributes), attributes_key)


def _decode_points(batch: DecodedBatch, metric: _Metric, points, known: dict,
                   budget: _NewSeriesBudget) -> None:
    """Group a metric's points by series; known series skip attribute decoding."""
    add_group = batch.metrics.append
    for attributes_key, (first, records) in _by_attributes(batch, metric, points).items():
        series = known.get(attributes_key)
        if series is None:
            if not budget.take():
                budget.refused_points += len(records)
                continue
            series = metric.new_series(first, attributes_key)
        add_group(SeriesPoints(series, records))
        batch.accepted += len(records)


def _by_attributes(batch: DecodedBatch, metric: _Metric, points) -> dict[bytes, tuple]:
    """Each attribute set's first point and its records, in order of arrival.

    The hot loop of metric ingest, once per point: number points are read inline and the
    series key is built by `map` over the serializer, as a Python call per point costs about
    as much as reading it.
    """
    read = _DISTRIBUTION_READERS.get(metric.kind)
    groups: dict[bytes, tuple] = {}
    for point in points:
        if read is None:  # a number point (gauge or sum)
            time_ns, start_ns = point.time_unix_nano, point.start_time_unix_nano
            if time_ns > MAX_STORED or start_ns > MAX_STORED:
                field = _too_large(time_unix_nano=time_ns, start_time_unix_nano=start_ns)
                batch.reject(1, f"metric {metric.message.name!r}: point {OutOfRange(field)}")
                continue
            which = point.WhichOneof("value")
            record = (time_ns, start_ns, None if which is None else float(getattr(point, which)))
        else:
            try:
                record = read(point)
            except OutOfRange as error:
                batch.reject(1, f"metric {metric.message.name!r}: point {error}")
                continue
        attributes_key = b"".join(map(_KEY_VALUE_BYTES, point.attributes))
        group = groups.get(attributes_key)
        if group is None:
            groups[attributes_key] = (point, [record])
        else:
            group[1].append(record)
    return groups


def _too_large(**fields: int) -> str | None:
    """The name of the first field whose value the store cannot hold, if any."""
    return next((name for name, value in fields.items() if value > MAX_STORED), None)


def _distribution_reader(kind: MetricKind):
    read = DISTRIBUTIONS[kind][1]

    def read_checked(point) -> Distribution:
        record = read(point, point.SerializeToString())
        _check_distribution(record)
        return record

    return read_checked


def _check_distribution(record: Distribution) -> None:
    if field := _too_large(time_unix_nano=record.time_ns, start_time_unix_nano=record.start_ns,
                           count=record.count, zero_count=record.zero_count):
        raise OutOfRange(field)
    for name, counts in (("bucket_counts", record.bucket_counts),
                         ("positive.bucket_counts", record.positive_counts),
                         ("negative.bucket_counts", record.negative_counts)):
        if counts and max(counts) > MAX_STORED:
            raise OutOfRange(f"a {name} entry")


_DISTRIBUTION_READERS = {kind: _distribution_reader(kind) for kind in DISTRIBUTIONS}
_DECODERS = {"traces": decode_traces, "logs": decode_logs}
