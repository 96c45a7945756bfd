"""Realistic OTLP protobuf export requests for the benchmarks: 512 spans or data points each."""

from __future__ import annotations

import random

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1 import trace_pb2

BATCH = 512
SYMBOLS = ["AAPL", "MSFT", "NVDA", "AMZN", "GOOG", "META", "TSLA", "BTC-USD"]
T0 = 1_760_000_000_000_000_000


def _kv(key: str, value) -> KeyValue:
    if isinstance(value, str):
        return KeyValue(key=key, value=AnyValue(string_value=value))
    if isinstance(value, float):
        return KeyValue(key=key, value=AnyValue(double_value=value))
    return KeyValue(key=key, value=AnyValue(int_value=value))


RESOURCE = Resource(attributes=[
    _kv("service.name", "bench-bot"), _kv("service.version", "1.4.2"),
    _kv("deployment.environment.name", "prod"), _kv("telemetry.sdk.language", "python"),
    _kv("telemetry.sdk.name", "opentelemetry"), _kv("host.name", "trader-01"),
])
SCOPE = InstrumentationScope(name="tradepulse", version="0.1.0")


def span_requests(count: int, seed: int = 1) -> list[bytes]:
    """Encoded trace requests: traces of 8 spans (a strategy step and its orders)."""
    rnd = random.Random(seed)
    return [_span_request(rnd, T0 + i * 10**9) for i in range(count)]


def _span_request(rnd: random.Random, start: int) -> bytes:
    spans = []
    for _trace in range(BATCH // 8):
        trace_id = rnd.randbytes(16)
        root = rnd.randbytes(8)
        for j in range(8):
            symbol = rnd.choice(SYMBOLS)
            spans.append(trace_pb2.Span(
                trace_id=trace_id, span_id=root if j == 0 else rnd.randbytes(8),
                parent_span_id=b"" if j == 0 else root,
                name="strategy.step" if j == 0 else "order.submit", kind=1 if j == 0 else 3,
                start_time_unix_nano=start + j * 1000, end_time_unix_nano=start + j * 1000 + 42_000,
                attributes=[_kv("trading.symbol", symbol), _kv("trading.side", "buy"),
                            _kv("trading.broker", "alpaca"), _kv("code.function.name", "bot.step"),
                            _kv("code.line.number", 42 + j)],
                status=trace_pb2.Status(code=0)))
    return ExportTraceServiceRequest(resource_spans=[trace_pb2.ResourceSpans(
        resource=RESOURCE, scope_spans=[trace_pb2.ScopeSpans(scope=SCOPE, spans=spans)])],
    ).SerializeToString()


def metric_requests(count: int, seed: int = 1) -> list[bytes]:
    """Encoded metric requests: 8 metrics x 64 series each, one export interval per request."""
    rnd = random.Random(seed)
    return [_metric_request(rnd, T0 + i * 10**9) for i in range(count)]


def _metric_request(rnd: random.Random, now: int) -> bytes:
    metrics = []
    for index in range(8):
        points = [metrics_pb2.NumberDataPoint(
            attributes=[_kv("trading.symbol", SYMBOLS[s % 8]), _kv("trading.broker", f"b{s // 8}")],
            start_time_unix_nano=T0 - 10**9, time_unix_nano=now, as_double=rnd.random() * 1000)
            for s in range(BATCH // 8)]
        name = f"trading.bench.metric{index}"
        if index % 2:
            metrics.append(metrics_pb2.Metric(name=name, unit="1",
                                              gauge=metrics_pb2.Gauge(data_points=points)))
        else:
            metrics.append(metrics_pb2.Metric(name=name, unit="{order}", sum=metrics_pb2.Sum(
                data_points=points, aggregation_temporality=2, is_monotonic=True)))
    return ExportMetricsServiceRequest(resource_metrics=[metrics_pb2.ResourceMetrics(
        resource=RESOURCE, scope_metrics=[metrics_pb2.ScopeMetrics(scope=SCOPE, metrics=metrics)])],
    ).SerializeToString()
