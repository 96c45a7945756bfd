"""Hand-written OTLP requests: JSON bodies shaped like the specification's examples, and
protobuf requests for every metric type."""

from __future__ import annotations

import json

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2 as m
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1 import trace_pb2

T0 = 1_700_000_000_000_000_000
SECOND = 1_000_000_000


def json_trace(service: str = "json-bot", trace_id: str = "5b8efff798038103d269b633813fc60c"
               ) -> bytes:
    return json.dumps({"resourceSpans": [{
        "resource": {"attributes": [
            {"key": "service.name", "value": {"stringValue": service}}]},
        "scopeSpans": [{
            "scope": {"name": "my.library", "version": "1.0.0",
                      "attributes": [{"key": "my.scope.attribute",
                                      "value": {"stringValue": "some scope attribute"}}]},
            "spans": [{
                "traceId": trace_id,
                "spanId": "eee19b7ec3c1b174",
                "parentSpanId": "eee19b7ec3c1b173",
                "name": "I'm a server span",
                "startTimeUnixNano": "1544712660000000000",
                "endTimeUnixNano": 1544712661000000000,
                "kind": 2,
                "attributes": [
                    {"key": "my.span.attr", "value": {"stringValue": "some value"}},
                    {"key": "retries", "value": {"intValue": "3"}},
                    {"key": "ratio", "value": {"doubleValue": 0.5}},
                    {"key": "ok", "value": {"boolValue": True}},
                    {"key": "tags", "value": {"arrayValue": {"values": [
                        {"stringValue": "a"}, {"intValue": 2}]}}},
                ],
                "status": {"code": 2, "message": "boom"},
                "someFutureField": {"ignored": True},
            }],
        }],
    }]}).encode()


def json_metrics(service: str = "json-bot") -> bytes:
    return json.dumps({"resourceMetrics": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
        "scopeMetrics": [{
            "scope": {"name": "my.library", "version": "1.0.0"},
            "metrics": [
                {"name": "my.counter", "unit": "1", "description": "I am a Counter",
                 "sum": {"aggregationTemporality": 1, "isMonotonic": True, "dataPoints": [{
                     "asDouble": 5, "startTimeUnixNano": "1544712660300000000",
                     "timeUnixNano": "1544712660300000000",
                     "attributes": [{"key": "my.counter.attr",
                                     "value": {"stringValue": "some value"}}]}]}},
                {"name": "my.gauge", "unit": "1", "description": "I am a Gauge",
                 "gauge": {"dataPoints": [{"asDouble": 10,
                                           "timeUnixNano": "1544712660300000000"}]}},
                {"name": "my.histogram", "unit": "1",
                 "histogram": {"aggregationTemporality": 1, "dataPoints": [{
                     "startTimeUnixNano": "1544712660300000000",
                     "timeUnixNano": "1544712660300000000", "count": 2, "sum": 2,
                     "bucketCounts": [1, 1], "explicitBounds": [1], "min": 0, "max": 2}]}},
            ],
        }],
    }]}).encode()


def json_logs(service: str = "json-bot") -> bytes:
    return json.dumps({"resourceLogs": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
        "scopeLogs": [{
            "scope": {"name": "my.library", "version": "1.0.0"},
            "logRecords": [{
                "timeUnixNano": "1544712660300000000",
                "observedTimeUnixNano": "1544712660300000000",
                "severityNumber": 10, "severityText": "Information",
                "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
                "body": {"stringValue": "Example log record"},
                "attributes": [{"key": "string.attribute", "value": {"stringValue": "x"}}],
            }],
        }],
    }]}).encode()


def _kv(key: str, value: str) -> KeyValue:
    return KeyValue(key=key, value=AnyValue(string_value=value))


def metrics_request(service: str, metrics: list[m.Metric]) -> bytes:
    return ExportMetricsServiceRequest(resource_metrics=[m.ResourceMetrics(
        resource=Resource(attributes=[_kv("service.name", service)]),
        scope_metrics=[m.ScopeMetrics(scope=InstrumentationScope(name="tests"),
                                      metrics=metrics)],
    )]).SerializeToString()


def cumulative_counter(name: str, points: list[tuple[int, int, float]]) -> m.Metric:
    """points: (start_ns, time_ns, value)."""
    return m.Metric(name=name, unit="{order}", sum=m.Sum(
        aggregation_temporality=m.AGGREGATION_TEMPORALITY_CUMULATIVE, is_monotonic=True,
        data_points=[m.NumberDataPoint(start_time_unix_nano=s, time_unix_nano=t, as_double=v)
                     for s, t, v in points]))


def spans_request(service: str, spans: list[trace_pb2.Span]) -> bytes:
    return ExportTraceServiceRequest(resource_spans=[trace_pb2.ResourceSpans(
        resource=Resource(attributes=[_kv("service.name", service)]),
        scope_spans=[trace_pb2.ScopeSpans(spans=spans)],
    )]).SerializeToString()


def span(trace_id: bytes, span_id: bytes, name: str = "work") -> trace_pb2.Span:
    return trace_pb2.Span(trace_id=trace_id, span_id=span_id, name=name,
                          start_time_unix_nano=T0, end_time_unix_nano=T0 + SECOND)
