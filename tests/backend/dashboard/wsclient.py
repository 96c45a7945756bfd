"""A plain WebSocket client for the protocol tests (websocket-client), and OTLP bodies."""

from __future__ import annotations

import json
import ssl
from typing import Any

import websocket
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2 as m
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1 import trace_pb2

from tests.support import post

PROTOBUF = {"Content-Type": "application/x-protobuf"}
T0 = 1_700_000_000_000_000_000


class Stream:
    """One connection to `/ws`: reads JSON messages and checks `seq` grows by one."""

    def __init__(self, dashboard_url: str, query: str = "", *, timeout: float = 10.0,
                 **options: Any) -> None:
        url = dashboard_url.replace("http", "ws", 1) + "/ws" + (f"?{query}" if query else "")
        if url.startswith("wss"):
            options.setdefault("sslopt", {"cert_reqs": ssl.CERT_NONE})
        options.setdefault("skip_utf8_validation", True)
        self.ws = websocket.create_connection(url, timeout=timeout, **options)
        self.seq = 0
        self.seen: list[dict] = []

    def next(self) -> dict:
        message = json.loads(self.ws.recv())
        assert set(message) == {"type", "service", "data", "seq"}, message
        assert message["seq"] == self.seq + 1, (self.seq, message)
        self.seq = message["seq"]
        self.seen.append(message)
        return message

    def until(self, wanted, what: str = "message", limit: int = 200) -> dict:
        """The next message for which `wanted(message)` is true (others are kept in `seen`)."""
        for _ in range(limit):
            message = self.next()
            if wanted(message):
                return message
        raise AssertionError(f"no {what} in {limit} messages")

    def of_type(self, kind: str, service: str | None = None) -> dict:
        return self.until(lambda m: m["type"] == kind
                          and (service is None or m["service"] == service), kind)

    def send(self, body: dict) -> None:
        self.ws.send(json.dumps(body))

    def close(self) -> None:
        self.ws.close()


def _kv(key: str, value: str) -> KeyValue:
    return KeyValue(key=key, value=AnyValue(string_value=value))


def gauge_request(service: str, name: str, value: float, *, time_ns: int = T0,
                  attributes: dict[str, str] | None = None) -> bytes:
    metric = m.Metric(name=name, unit="{currency}", gauge=m.Gauge(data_points=[
        m.NumberDataPoint(time_unix_nano=time_ns, as_double=value,
                          attributes=[_kv(k, v) for k, v in (attributes or {}).items()])]))
    return ExportMetricsServiceRequest(resource_metrics=[m.ResourceMetrics(
        resource=Resource(attributes=[_kv("service.name", service)]),
        scope_metrics=[m.ScopeMetrics(metrics=[metric])])]).SerializeToString()


def portfolio_request(service: str, value: float, time_ns: int = T0) -> bytes:
    return gauge_request(service, "trading.portfolio.value", value, time_ns=time_ns,
                         attributes={"trading.currency": "USD"})


def spans_request(services: list[str], name: str = "submit_order", *,
                  note_bytes: int = 0) -> bytes:
    """One span per service, each service its own resource, in one request; `note_bytes`
    pads each span with an attribute that long (to make a message larger than socket
    buffers)."""
    notes = [_kv("note", "x" * note_bytes)] if note_bytes else []
    return ExportTraceServiceRequest(resource_spans=[trace_pb2.ResourceSpans(
        resource=Resource(attributes=[_kv("service.name", service)]),
        scope_spans=[trace_pb2.ScopeSpans(spans=[trace_pb2.Span(
            trace_id=bytes([index + 1]) * 16, span_id=bytes([index + 1]) * 8, name=name,
            start_time_unix_nano=T0, end_time_unix_nano=T0 + 10**6, attributes=notes)])])
        for index, service in enumerate(services)]).SerializeToString()


def post_otlp(otlp_url: str, signal: str, body: bytes) -> None:
    status, _headers, answer = post(f"{otlp_url}/v1/{signal}", body, PROTOBUF)
    assert status == 200, (status, answer)
