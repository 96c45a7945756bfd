"""OTLP protobuf messages as plain JSON-able Python: the one place that knows their shapes."""

from __future__ import annotations

import base64
import math
from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.trace.v1.trace_pb2 import Span

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
    return {kv.key: any_value(kv.value) for kv in kvs}


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
