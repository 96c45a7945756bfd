"""A direct portfolio update encoded as OTLP export requests, so that data fed through
`update_portfolio_data` is stored like any exported telemetry (history, summaries and reports
read it) and reaches the monitor through the same write path."""

from __future__ import annotations

from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from tradepulse import conventions as conv
from tradepulse_backend.performance.exponential import ExponentialHistogram
from tradepulse_backend.performance.inputs import CUMULATIVE_INPUTS, Histogram, Observation, Trade
from tradepulse_backend.telemetry.records import TEMPORALITY_DELTA

SCOPE = "tradepulse.update_portfolio_data"
_MONOTONIC = frozenset({conv.METRIC_ORDERS})


def metrics_request(service: str, observations: list[Observation]
                    ) -> ExportMetricsServiceRequest:
    """Gauges for levels, delta sums for counters, delta histograms for distributions."""
    request = ExportMetricsServiceRequest()
    scope_metrics = _scope(request.resource_metrics.add(), service).scope_metrics.add()
    scope_metrics.scope.name = SCOPE
    metrics: dict[str, metrics_pb2.Metric] = {}
    for obs in observations:
        metric = metrics.get(obs.name)
        if metric is None:
            metric = metrics[obs.name] = scope_metrics.metrics.add(name=obs.name)
            _shape(metric, obs)
        _add_point(metric, obs)
    return request


def trace_request(service: str, trades: list[Trade]) -> ExportTraceServiceRequest:
    """One `trading.trade` root span per closed trade, from entry to exit."""
    request = ExportTraceServiceRequest()
    scope_spans = _scope(request.resource_spans.add(), service).scope_spans.add()
    scope_spans.scope.name = SCOPE
    for trade in trades:
        span = scope_spans.spans.add(
            trace_id=trade.span_key[:16], span_id=trade.span_key[16:], name=conv.SPAN_TRADE,
            kind=trace_pb2.Span.SPAN_KIND_INTERNAL, start_time_unix_nano=trade.entry_ns,
            end_time_unix_nano=trade.exit_ns)
        span.attributes.extend(_attributes({
            conv.ATTR_SYMBOL: trade.symbol, conv.ATTR_SIDE: trade.side,
            conv.ATTR_PORTFOLIO: trade.portfolio, conv.ATTR_TRADE_PNL: trade.pnl,
            conv.ATTR_TRADE_QUANTITY: trade.quantity,
            conv.ATTR_TRADE_RETURN: trade.trade_return}))
    return request


def _scope(resource_holder, service: str):
    resource_holder.resource.attributes.extend(_attributes({"service.name": service}))
    return resource_holder


def _shape(metric: metrics_pb2.Metric, obs: Observation) -> None:
    if isinstance(obs.value, ExponentialHistogram):
        metric.exponential_histogram.aggregation_temporality = TEMPORALITY_DELTA
    elif isinstance(obs.value, Histogram):
        metric.histogram.aggregation_temporality = TEMPORALITY_DELTA
    elif obs.name in CUMULATIVE_INPUTS:
        metric.sum.aggregation_temporality = TEMPORALITY_DELTA
        metric.sum.is_monotonic = obs.name in _MONOTONIC
    else:
        metric.gauge.SetInParent()


def _add_point(metric: metrics_pb2.Metric, obs: Observation) -> None:
    which = metric.WhichOneof("data")
    container = getattr(metric, which).data_points
    point = container.add(time_unix_nano=obs.time_ns,
                          start_time_unix_nano=obs.time_ns - 1 if which != "gauge" else 0)
    point.attributes.extend(_attributes(obs.attributes))
    if isinstance(obs.value, ExponentialHistogram):
        _exponential_point(point, obs.value)
    elif isinstance(obs.value, Histogram):
        point.explicit_bounds.extend(obs.value.bounds)
        point.bucket_counts.extend(int(c) for c in obs.value.counts)
        point.count, point.sum = int(obs.value.count), obs.value.sum
    else:
        point.as_double = float(obs.value)


def _exponential_point(point: metrics_pb2.ExponentialHistogramDataPoint,
                       value: ExponentialHistogram) -> None:
    point.scale, point.zero_count = value.scale, int(value.zero_count)
    point.count, point.sum = int(value.count), value.sum
    for side, buckets in ((point.positive, value.positive), (point.negative, value.negative)):
        side.offset = buckets.offset
        side.bucket_counts.extend(int(c) for c in buckets.counts)
    if value.min is not None and value.max is not None:
        point.min, point.max = value.min, value.max


def _attributes(values: dict[str, Any]) -> list[KeyValue]:
    out = []
    for key, value in values.items():
        if value is None or value == "":
            continue
        if isinstance(value, float):
            out.append(KeyValue(key=key, value=AnyValue(double_value=value)))
        else:
            out.append(KeyValue(key=key, value=AnyValue(string_value=str(value))))
    return out
