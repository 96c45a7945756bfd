"""OTLP protobuf messages as plain JSON-able Python: the one place that knows their shapes."""

from __future__ import annotations

import base64
import math
from collections.abc import Iterator, Mapping
from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from tradepulse_backend.telemetry.records import Distribution, MetricKind, TradeRecord
from tradepulse_backend.telemetry.trades import trade_of

SPAN_KINDS = ("unspecified", "internal", "server", "client", "producer", "consumer")
STATUS_CODES = ("unset", "ok", "error")


def any_value(value: AnyValue) -> Any:
    """An AnyValue as the Python value it holds (bytes as base64, non-finite floats as strings)."""
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return attributes(value.kvlist_value.values)
    if which == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    if which == "double_value":
        return json_number(value.double_value)
    return getattr(value, which)


def json_number(number: float) -> float | str | None:
    """A float that JSON can carry: NaN and infinities become their names."""
    if math.isfinite(number):
        return number
    return "NaN" if math.isnan(number) else ("Infinity" if number > 0 else "-Infinity")


def attributes(kvs: list[KeyValue]) -> dict[str, Any]:
    """Repeated KeyValue as a dict; a repeated key keeps its last value, as OTLP consumers do."""
    out = {}
    for kv in kvs:
        value = kv.value
        which = value.WhichOneof("value")
        out[kv.key] = getattr(value, which) if which in _SCALARS else any_value(value)
    return out


_SCALARS = frozenset({"string_value", "int_value", "bool_value"})


class LazyAttributes(Mapping):
    """A span's or log record's attributes, decoded from its body on first read: ingest keeps
    no attribute work on the hot path for records nobody inspects."""

    __slots__ = ("_body", "_decoded", "_message")

    def __init__(self, body: bytes, message: type) -> None:
        self._body = body
        self._message = message
        self._decoded: dict[str, Any] | None = None

    def _values(self) -> dict[str, Any]:
        if self._decoded is None:
            self._decoded = attributes(self._message.FromString(self._body).attributes)
        return self._decoded

    def __getitem__(self, key: str) -> Any:
        return self._values()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values())

    def __len__(self) -> int:
        return len(self._values())

    def __repr__(self) -> str:
        return repr(self._values())


def service_name(kvs: list[KeyValue]) -> str:
    """The resource's service.name, or OpenTelemetry's documented fallback."""
    for kv in kvs:
        if kv.key == "service.name" and kv.value.WhichOneof("value") == "string_value":
            return kv.value.string_value
    return "unknown_service"


def span_dict(body: bytes, *, service: str) -> dict[str, Any]:
    """A stored span body as the JSON shape the REST API returns."""
    span = Span.FromString(body)
    return {
        "trace_id": span.trace_id.hex(),
        "span_id": span.span_id.hex(),
        "parent_span_id": span.parent_span_id.hex(),
        "name": span.name,
        "kind": _label(SPAN_KINDS, span.kind),
        "service": service,
        "start_time_unix_nano": span.start_time_unix_nano,
        "end_time_unix_nano": span.end_time_unix_nano,
        "duration_ms": (span.end_time_unix_nano - span.start_time_unix_nano) / 1e6,
        "attributes": attributes(span.attributes),
        "events": [
            {"time_unix_nano": event.time_unix_nano, "name": event.name,
             "attributes": attributes(event.attributes)}
            for event in span.events
        ],
        "links": [
            {"trace_id": link.trace_id.hex(), "span_id": link.span_id.hex(),
             "attributes": attributes(link.attributes)}
            for link in span.links
        ],
        "status": {"code": _label(STATUS_CODES, span.status.code), "message": span.status.message},
    }


def log_dict(body: bytes, *, service: str) -> dict[str, Any]:
    """A stored log record as the JSON shape the REST API returns."""
    record = LogRecord.FromString(body)
    return {
        "time_unix_nano": record.time_unix_nano or record.observed_time_unix_nano,
        "service": service,
        "severity_number": record.severity_number,
        "severity_text": record.severity_text,
        "body": any_value(record.body),
        "attributes": attributes(record.attributes),
        "trace_id": record.trace_id.hex(),
        "span_id": record.span_id.hex(),
    }


def body_text(value: AnyValue) -> str:
    """A log body as searchable text."""
    which = value.WhichOneof("value")
    if which == "string_value":
        return value.string_value
    plain = any_value(value)
    return "" if plain is None else str(plain)


def _label(labels: tuple[str, ...], code: int) -> str:
    return labels[code] if 0 <= code < len(labels) else str(code)


def trade_from_body(body: bytes, service: str) -> TradeRecord | None:
    """The trade a stored `trading.trade` span body describes (the restart replay reads these)."""
    span = Span.FromString(body)
    return trade_of(service, attributes(span.attributes), span.start_time_unix_nano,
                    span.end_time_unix_nano, span.trace_id + span.span_id)


def histogram_point(point: metrics_pb2.HistogramDataPoint, body: bytes) -> Distribution:
    """An explicit-bucket histogram point as plain fields (sum, min, max are optional)."""
    return Distribution(
        point.time_unix_nano, point.start_time_unix_nano, point.count,
        point.sum if point.HasField("sum") else None,
        point.min if point.HasField("min") else None,
        point.max if point.HasField("max") else None, body,
        bounds=tuple(point.explicit_bounds), bucket_counts=tuple(point.bucket_counts))


def exp_histogram_point(point: metrics_pb2.ExponentialHistogramDataPoint, body: bytes
                        ) -> Distribution:
    """An exponential histogram point as plain fields."""
    return Distribution(
        point.time_unix_nano, point.start_time_unix_nano, point.count,
        point.sum if point.HasField("sum") else None,
        point.min if point.HasField("min") else None,
        point.max if point.HasField("max") else None, body,
        scale=point.scale, zero_count=point.zero_count,
        positive_offset=point.positive.offset,
        positive_counts=tuple(point.positive.bucket_counts),
        negative_offset=point.negative.offset,
        negative_counts=tuple(point.negative.bucket_counts))


def summary_point(point: metrics_pb2.SummaryDataPoint, body: bytes) -> Distribution:
    """A summary point as plain fields."""
    return Distribution(
        point.time_unix_nano, point.start_time_unix_nano, point.count, point.sum, None, None,
        body, quantiles=tuple((q.quantile, q.value) for q in point.quantile_values))


DISTRIBUTIONS = {
    MetricKind.HISTOGRAM: (metrics_pb2.HistogramDataPoint, histogram_point),
    MetricKind.EXP_HISTOGRAM: (metrics_pb2.ExponentialHistogramDataPoint, exp_histogram_point),
    MetricKind.SUMMARY: (metrics_pb2.SummaryDataPoint, summary_point),
}
"""Distribution kinds: their OTLP point message and its plain reader; a new kind is one entry."""


def distribution_from_body(kind: str, body: bytes) -> Distribution:
    """A stored distribution point body as a plain record."""
    message, read = DISTRIBUTIONS[MetricKind(kind)]
    return read(message.FromString(body), body)


def histogram_body(time_ns: int, start_ns: int, bounds: tuple[float, ...],
                   counts: tuple[int, ...], total: float, count: int) -> bytes:
    """A serialized HistogramDataPoint, as the store keeps distribution points."""
    return metrics_pb2.HistogramDataPoint(
        time_unix_nano=time_ns, start_time_unix_nano=start_ns, explicit_bounds=bounds,
        bucket_counts=counts, sum=total, count=count).SerializeToString()


def exp_histogram_body(point: Distribution) -> bytes:
    """A serialized ExponentialHistogramDataPoint of a plain exponential-histogram record."""
    message = metrics_pb2.ExponentialHistogramDataPoint(
        time_unix_nano=point.time_ns, start_time_unix_nano=point.start_ns, count=point.count,
        sum=point.sum or 0.0, scale=point.scale, zero_count=point.zero_count)
    message.positive.offset, message.negative.offset = point.positive_offset, point.negative_offset
    message.positive.bucket_counts.extend(point.positive_counts)
    message.negative.bucket_counts.extend(point.negative_counts)
    if point.min is not None and point.max is not None:
        message.min, message.max = point.min, point.max
    return message.SerializeToString()


def span_body(trace_id: bytes, span_id: bytes, name: str, start_ns: int, end_ns: int,
              values: dict[str, Any]) -> bytes:
    """A serialized internal root Span, as the store keeps spans."""
    span = Span(trace_id=trace_id, span_id=span_id, name=name, kind=Span.SPAN_KIND_INTERNAL,
                start_time_unix_nano=start_ns, end_time_unix_nano=end_ns)
    span.attributes.extend(key_values(values))
    return span.SerializeToString()


def key_values(values: dict[str, Any]) -> list[KeyValue]:
    """Plain attributes as OTLP KeyValues (floats as doubles, ints, bools, the rest as text)."""
    out = []
    for key, value in values.items():
        if isinstance(value, bool):
            out.append(KeyValue(key=key, value=AnyValue(bool_value=value)))
        elif isinstance(value, int):
            out.append(KeyValue(key=key, value=AnyValue(int_value=value)))
        elif isinstance(value, float):
            out.append(KeyValue(key=key, value=AnyValue(double_value=value)))
        else:
            out.append(KeyValue(key=key, value=AnyValue(string_value=str(value))))
    return out
