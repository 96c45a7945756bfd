"""What the performance monitor reads, as plain records: trading metric points, closed trades,
and the increases of cumulative counters and histograms."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tradepulse import conventions as conv
from tradepulse_backend.performance import exponential
from tradepulse_backend.performance.exponential import Buckets, ExponentialHistogram
from tradepulse_backend.telemetry.counters import counter_change, restarted
from tradepulse_backend.telemetry.records import (
    DecodedBatch,
    Distribution,
    MetricKind,
    Temporality,
    TradeRecord,
)

MONITORED = frozenset({
    conv.METRIC_PORTFOLIO_VALUE, conv.METRIC_PORTFOLIO_CASH, conv.METRIC_PORTFOLIO_CASH_FLOW,
    conv.METRIC_PNL_REALIZED, conv.METRIC_PNL_UNREALIZED, conv.METRIC_POSITION_QUANTITY,
    conv.METRIC_POSITION_MARKET_VALUE, conv.METRIC_ORDERS, conv.METRIC_ORDER_DURATION,
    conv.METRIC_FILL_SLIPPAGE, conv.METRIC_RISK_VAR, conv.METRIC_RISK_VAR_LIMIT,
    conv.METRIC_RISK_GROSS_EXPOSURE, conv.METRIC_RISK_NET_EXPOSURE,
    conv.METRIC_RISK_POSITION_LIMIT, conv.METRIC_POSITION_PNL_UNREALIZED,
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


Trade = TradeRecord
"""One closed round-trip trade (decode reads it from a `trading.trade` span)."""


def observations(batch: DecodedBatch) -> Iterator[Observation]:
    """Points of monitored metrics in a stored batch."""
    for group in batch.metrics:
        series = group.series
        if series.name not in MONITORED:
            continue
        delta = series.temporality == Temporality.DELTA
        convert = DISTRIBUTION_VALUES.get(series.kind)
        for point in group.points:
            time_ns, start_ns, value = (point if convert is None else
                                        (point.time_ns, point.start_ns, convert(point)))
            if value is not None:
                yield Observation(series.resource.service_name, series.name, series.attributes,
                                  time_ns, start_ns, value, delta, series.monotonic)


def histogram_of(point: Distribution) -> Histogram:
    """An explicit-bucket histogram point's buckets, sum and count."""
    return Histogram(point.bounds, tuple(float(c) for c in point.bucket_counts),
                     point.sum or 0.0, float(point.count))


def exponential_of(point: Distribution) -> ExponentialHistogram:
    """An exponential-histogram point's buckets, sum, count, min and max."""
    return ExponentialHistogram(
        point.scale, float(point.zero_count),
        Buckets(point.positive_offset, tuple(float(c) for c in point.positive_counts)),
        Buckets(point.negative_offset, tuple(float(c) for c in point.negative_counts)),
        point.sum or 0.0, float(point.count), point.min, point.max)


DISTRIBUTION_VALUES = {MetricKind.HISTOGRAM: histogram_of,
                       MetricKind.EXP_HISTOGRAM: exponential_of}
"""The monitor's value of a distribution point, by kind; a number point's value is itself."""


def value_of(kind: str, value: float | Distribution) -> float | Histogram | ExponentialHistogram:
    """A stored or decoded point's value as the monitor reads it."""
    convert = DISTRIBUTION_VALUES.get(MetricKind(kind))
    return value if convert is None else convert(value)


def trades(batch: DecodedBatch) -> Iterator[Trade]:
    """Closed trades among the spans of a stored batch."""
    return iter(batch.trades)


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
    if isinstance(value, ExponentialHistogram):
        return _exponential_difference(prev, value, restarted(prev_start, obs.start_ns))
    if isinstance(value, Histogram):
        if not isinstance(prev, list):
            return value
        bounds, counts, total, count = prev
        if (restarted(prev_start, obs.start_ns) or value.count < count
                or list(value.bounds) != bounds):
            return value
        return Histogram(value.bounds, tuple(c - p for c, p in zip(value.counts, counts,
                                                                   strict=False)),
                         value.sum - total, value.count - count)
    return counter_change(prev_start, prev, obs.start_ns, value, monotonic=obs.monotonic)


def _exponential_difference(prev: Any, value: ExponentialHistogram, was_restarted: bool
                            ) -> ExponentialHistogram:
    """As for explicit histograms; a scale change is undone by downscaling the finer point."""
    if was_restarted or not isinstance(prev, dict):
        return value
    gained = exponential.increase(value, ExponentialHistogram.from_dict(prev))
    return value if gained is None else gained
