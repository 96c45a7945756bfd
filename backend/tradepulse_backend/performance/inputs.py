"""What the performance monitor reads, as plain records: trading metric points, closed trades,
and the increases of cumulative counters and histograms."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from tradepulse import conventions as conv
from tradepulse_backend.performance import exponential
from tradepulse_backend.performance.exponential import Buckets, ExponentialHistogram
from tradepulse_backend.telemetry.otlp import attributes, service_name
from tradepulse_backend.telemetry.records import (
    KIND_EXP_HISTOGRAM,
    KIND_HISTOGRAM,
    TEMPORALITY_DELTA,
    DecodedBatch,
)

MONITORED = frozenset({
    conv.METRIC_PORTFOLIO_VALUE, conv.METRIC_PORTFOLIO_CASH, conv.METRIC_PORTFOLIO_CASH_FLOW,
    conv.METRIC_PNL_REALIZED, conv.METRIC_PNL_UNREALIZED, conv.METRIC_POSITION_QUANTITY,
    conv.METRIC_POSITION_MARKET_VALUE, conv.METRIC_ORDERS, conv.METRIC_ORDER_DURATION,
    conv.METRIC_FILL_SLIPPAGE, conv.METRIC_RISK_VAR, conv.METRIC_RISK_VAR_LIMIT,
    conv.METRIC_RISK_GROSS_EXPOSURE, conv.METRIC_RISK_NET_EXPOSURE,
    conv.METRIC_RISK_POSITION_LIMIT,
})
"""Metric names that feed performance figures; every other metric passes by untouched."""

CUMULATIVE_INPUTS = frozenset({
    conv.METRIC_PORTFOLIO_CASH_FLOW, conv.METRIC_ORDERS, conv.METRIC_ORDER_DURATION,
    conv.METRIC_FILL_SLIPPAGE,
})
"""Inputs read as increases: counters and histograms, whatever their temporality."""


@dataclass(frozen=True, slots=True)
class Histogram:
    """Explicit-bucket histogram counts (or their increase)."""

    bounds: tuple[float, ...]
    counts: tuple[float, ...]
    sum: float
    count: float


@dataclass(slots=True)
class Observation:
    """One point of a monitored metric; `value` is a float, a Histogram or an
    ExponentialHistogram."""

    service: str
    name: str
    attributes: dict[str, Any]
    time_ns: int
    start_ns: int
    value: float | Histogram | ExponentialHistogram
    delta: bool = False
    monotonic: bool = False

    @property
    def portfolio(self) -> str:
        return str(self.attributes.get(conv.ATTR_PORTFOLIO, ""))

    @property
    def series_key(self) -> str:
        return json.dumps([self.name, self.attributes], sort_keys=True, default=str)


@dataclass(frozen=True, slots=True)
class Trade:
    """One closed round-trip trade, read from a `trading.trade` span."""

    service: str
    portfolio: str
    symbol: str
    side: str
    pnl: float
    entry_ns: int
    exit_ns: int
    quantity: float | None = None
    trade_return: float | None = None
    span_key: bytes = b""


def observations(batch: DecodedBatch) -> Iterator[Observation]:
    """Points of monitored metrics in a stored batch."""
    for group in batch.metrics:
        if group.name not in MONITORED:
            continue
        service = service_name(group.origin.resource.attributes)
        delta = group.temporality == TEMPORALITY_DELTA
        for point in group.points:
            yield Observation(service, group.name, attributes(point.attributes),
                              point.time_unix_nano, point.start_time_unix_nano,
                              _point_value(group.kind, point), delta, group.monotonic)


def _point_value(kind: str, point) -> float | Histogram | ExponentialHistogram:
    if kind == KIND_HISTOGRAM:
        return histogram_of(point)
    if kind == KIND_EXP_HISTOGRAM:
        return exponential_of(point)
    return point.as_double if point.WhichOneof("value") == "as_double" else float(point.as_int)


def histogram_of(point) -> Histogram:
    """An OTLP HistogramDataPoint's buckets, sum and count."""
    return Histogram(tuple(point.explicit_bounds), tuple(float(c) for c in point.bucket_counts),
                     point.sum, float(point.count))


def exponential_of(point: metrics_pb2.ExponentialHistogramDataPoint | bytes
                   ) -> ExponentialHistogram:
    """An OTLP ExponentialHistogramDataPoint (or its stored body) as a plain record."""
    if isinstance(point, bytes):
        point = metrics_pb2.ExponentialHistogramDataPoint.FromString(point)
    return ExponentialHistogram(
        point.scale, float(point.zero_count),
        Buckets(point.positive.offset, tuple(float(c) for c in point.positive.bucket_counts)),
        Buckets(point.negative.offset, tuple(float(c) for c in point.negative.bucket_counts)),
        point.sum, float(point.count),
        point.min if point.HasField("min") else None,
        point.max if point.HasField("max") else None)


def trades(batch: DecodedBatch) -> Iterator[Trade]:
    """Closed trades among the spans of a stored batch."""
    for group in batch.spans:
        service = None
        for row in group.rows:
            if row[4] != conv.SPAN_TRADE:
                continue
            service = service or service_name(group.origin.resource.attributes)
            found = trade_from_span(Span.FromString(row[9]), service)
            if found is not None:
                yield found


def trade_from_span(span: Span, service: str) -> Trade | None:
    """The trade a `trading.trade` span describes, or None without a numeric P&L."""
    attrs = attributes(span.attributes)
    pnl = attrs.get(conv.ATTR_TRADE_PNL)
    if not isinstance(pnl, int | float):
        return None
    return Trade(
        service=service, portfolio=str(attrs.get(conv.ATTR_PORTFOLIO, "")),
        symbol=str(attrs.get(conv.ATTR_SYMBOL, "")), side=str(attrs.get(conv.ATTR_SIDE, "")),
        pnl=float(pnl), entry_ns=span.start_time_unix_nano, exit_ns=span.end_time_unix_nano,
        quantity=_number(attrs.get(conv.ATTR_TRADE_QUANTITY)),
        trade_return=_number(attrs.get(conv.ATTR_TRADE_RETURN)),
        span_key=span.trace_id + span.span_id)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


class IncreaseCursor:
    """Turns cumulative counters and histograms into increases per series, Prometheus-style:
    a new start time or a count going down is a reset, so the new value is the increase."""

    def __init__(self, last: dict[str, list] | None = None) -> None:
        self.last: dict[str, list] = last or {}

    def increase(self, obs: Observation, horizon_ns: int
                 ) -> float | Histogram | ExponentialHistogram | None:
        """The increase `obs` brings, None if it repeats or predates the series' last point.

        The first point of a series counts whole only when the series started after
        `horizon_ns`; an older series only sets the baseline.
        """
        key = f"{obs.service}\x00{obs.series_key}"
        previous = self.last.get(key)
        if previous is not None and obs.time_ns <= previous[1]:
            return None
        self.last[key] = [obs.start_ns, obs.time_ns, _plain(obs.value)]
        if obs.delta:
            return obs.value
        if previous is None:
            return obs.value if obs.start_ns and obs.start_ns >= horizon_ns else _zero(obs.value)
        return _difference(previous[0], previous[2], obs)


def _plain(value: float | Histogram | ExponentialHistogram) -> Any:
    if isinstance(value, ExponentialHistogram):
        return value.to_dict()
    if isinstance(value, Histogram):
        return [list(value.bounds), list(value.counts), value.sum, value.count]
    return value


def _zero(value: Any) -> Any:
    if isinstance(value, ExponentialHistogram):
        return exponential.empty_like(value)
    if isinstance(value, Histogram):
        return Histogram(value.bounds, (0.0,) * len(value.counts), 0.0, 0.0)
    return 0.0


def _difference(prev_start: int, prev: Any, obs: Observation) -> Any:
    value = obs.value
    restarted = bool(obs.start_ns and prev_start and obs.start_ns != prev_start)
    if isinstance(value, ExponentialHistogram):
        return _exponential_difference(prev, value, restarted)
    if isinstance(value, Histogram):
        if not isinstance(prev, list):
            return value
        bounds, counts, total, count = prev
        if restarted or value.count < count or list(value.bounds) != bounds:
            return value
        return Histogram(value.bounds, tuple(c - p for c, p in zip(value.counts, counts,
                                                                   strict=False)),
                         value.sum - total, value.count - count)
    if restarted or (obs.monotonic and value < prev):
        return value
    return value - prev


def _exponential_difference(prev: Any, value: ExponentialHistogram, restarted: bool
                            ) -> ExponentialHistogram:
    """As for explicit histograms; a scale change is undone by downscaling the finer point."""
    if restarted or not isinstance(prev, dict):
        return value
    gained = exponential.increase(value, ExponentialHistogram.from_dict(prev))
    return value if gained is None else gained
