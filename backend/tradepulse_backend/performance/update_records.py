"""A direct portfolio update as the same plain records decode makes of exported telemetry, so
data fed through `update_portfolio_data` is stored like any telemetry (history, summaries and
reports read it) and reaches the monitor through the same write path."""

from __future__ import annotations

from tradepulse import conventions as conv
from tradepulse_backend.performance.exponential import ExponentialHistogram
from tradepulse_backend.performance.inputs import CUMULATIVE_INPUTS, Histogram, Observation, Trade
from tradepulse_backend.telemetry.otlp import exp_histogram_body, histogram_body, span_body
from tradepulse_backend.telemetry.records import (
    DecodedBatch,
    Distribution,
    MetricKind,
    MetricSeries,
    Resource,
    Scope,
    SeriesPoints,
    SpanRecord,
    Temporality,
)

SCOPE = "tradepulse.update_portfolio_data"
_MONOTONIC = frozenset({conv.METRIC_ORDERS})


def origin(service: str) -> tuple[Resource, Scope]:
    """The resource and scope an update's records come from."""
    return (Resource.of(service, {"service.name": service}), Scope.of(SCOPE, "", {}))


def metrics_batch(service: str, observations: list[Observation]) -> DecodedBatch:
    """Gauges for levels, delta sums for counters, delta histograms for distributions."""
    resource, scope = origin(service)
    batch = DecodedBatch("metrics")
    groups: dict[bytes, SeriesPoints] = {}
    for obs in observations:
        series = _series(resource, scope, obs)
        group = groups.get(series.fingerprint)
        if group is None:
            group = groups[series.fingerprint] = SeriesPoints(series)
            batch.metrics.append(group)
        group.points.append(_point(series.kind, obs))
    batch.accepted = len(observations)
    return batch


def traces_batch(service: str, trades: list[Trade]) -> DecodedBatch:
    """One `trading.trade` root span per closed trade, from entry to exit."""
    resource, scope = origin(service)
    batch = DecodedBatch("traces", trades=list(trades))
    for trade in trades:
        attrs = {key: value for key, value in (
            (conv.ATTR_SYMBOL, trade.symbol), (conv.ATTR_SIDE, trade.side),
            (conv.ATTR_PORTFOLIO, trade.portfolio), (conv.ATTR_TRADE_PNL, trade.pnl),
            (conv.ATTR_TRADE_QUANTITY, trade.quantity),
            (conv.ATTR_TRADE_RETURN, trade.trade_return)) if value is not None and value != ""}
        trace_id, span_id = trade.span_key[:16], trade.span_key[16:]
        batch.spans.append(SpanRecord(
            resource, scope, trace_id, span_id, b"", conv.SPAN_TRADE, 1, trade.entry_ns,
            trade.exit_ns, 0, attrs,
            span_body(trace_id, span_id, conv.SPAN_TRADE, trade.entry_ns, trade.exit_ns, attrs)))
    batch.accepted = len(trades)
    return batch


def _series(resource: Resource, scope: Scope, obs: Observation) -> MetricSeries:
    if isinstance(obs.value, ExponentialHistogram):
        kind, temporality, monotonic = MetricKind.EXP_HISTOGRAM, Temporality.DELTA, False
    elif isinstance(obs.value, Histogram):
        kind, temporality, monotonic = MetricKind.HISTOGRAM, Temporality.DELTA, False
    elif obs.name in CUMULATIVE_INPUTS:
        kind, temporality, monotonic = MetricKind.SUM, Temporality.DELTA, obs.name in _MONOTONIC
    else:
        kind, temporality, monotonic = MetricKind.GAUGE, Temporality.UNSPECIFIED, False
    attrs = {key: value for key, value in obs.attributes.items()
             if value is not None and value != ""}
    return MetricSeries.create(resource, scope, obs.name, kind, temporality, monotonic, "", "",
                               attrs)


def _point(kind: MetricKind, obs: Observation):
    start = 0 if kind == MetricKind.GAUGE else obs.time_ns - 1
    value = obs.value
    if isinstance(value, ExponentialHistogram):
        return _exponential_point(obs.time_ns, start, value)
    if not isinstance(value, Histogram):
        return (obs.time_ns, start, float(value))
    counts = tuple(int(c) for c in value.counts)
    return Distribution(
        obs.time_ns, start, int(value.count), value.sum, None, None,
        histogram_body(obs.time_ns, start, value.bounds, counts, value.sum, int(value.count)),
        bounds=value.bounds, bucket_counts=counts)


def _exponential_point(time_ns: int, start_ns: int, value: ExponentialHistogram) -> Distribution:
    point = Distribution(
        time_ns, start_ns, int(value.count), value.sum, value.min, value.max, b"",
        scale=value.scale, zero_count=int(value.zero_count),
        positive_offset=value.positive.offset,
        positive_counts=tuple(int(c) for c in value.positive.counts),
        negative_offset=value.negative.offset,
        negative_counts=tuple(int(c) for c in value.negative.counts))
    point.body = exp_histogram_body(point)
    return point
