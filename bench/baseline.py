"""The least work any Python receiver can do: parse with opentelemetry-proto and read every field
into Python tuples. Ingest throughput is reported as a ratio to this."""

from __future__ import annotations

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest


def _value(any_value):
    which = any_value.WhichOneof("value")
    return getattr(any_value, which) if which else None


def _attrs(kvs) -> tuple:
    return tuple((kv.key, _value(kv.value)) for kv in kvs)


def walk_spans(body: bytes) -> list[tuple]:
    request = ExportTraceServiceRequest.FromString(body)
    out = []
    for rs in request.resource_spans:
        resource = _attrs(rs.resource.attributes)
        for ss in rs.scope_spans:
            scope = (ss.scope.name, ss.scope.version, _attrs(ss.scope.attributes))
            for s in ss.spans:
                out.append((
                    resource, scope, s.trace_id, s.span_id, s.parent_span_id, s.trace_state,
                    s.flags, s.name, s.kind, s.start_time_unix_nano, s.end_time_unix_nano,
                    _attrs(s.attributes), s.dropped_attributes_count,
                    tuple((e.time_unix_nano, e.name, _attrs(e.attributes)) for e in s.events),
                    tuple((k.trace_id, k.span_id, _attrs(k.attributes)) for k in s.links),
                    s.status.code, s.status.message,
                ))
    return out


def walk_metrics(body: bytes) -> list[tuple]:
    request = ExportMetricsServiceRequest.FromString(body)
    out = []
    for rm in request.resource_metrics:
        resource = _attrs(rm.resource.attributes)
        for sm in rm.scope_metrics:
            scope = (sm.scope.name, sm.scope.version)
            for metric in sm.metrics:
                kind = metric.WhichOneof("data")
                data = getattr(metric, kind)
                for p in data.data_points:
                    out.append((
                        resource, scope, metric.name, metric.unit, metric.description, kind,
                        getattr(data, "aggregation_temporality", 0), _attrs(p.attributes),
                        p.start_time_unix_nano, p.time_unix_nano, getattr(p, p.WhichOneof("value")),
                        p.flags,
                    ))
    return out
