"""Base-2 exponential histograms (OpenTelemetry's ExponentialHistogram) as plain records, and
the math the monitor needs on them: indexing, downscaling, merging, subtracting, quantiles.

At scale `s` the base is ``2 ** (2 ** -s)`` and positive bucket `i` holds values in
``(base**i, base**(i+1)]``; the negative side mirrors it and the zero bucket holds zeros.
Lowering the scale by `k` merges buckets exactly (`i >> k`), so histograms recorded at
different scales combine without loss at the coarser one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

MAX_SCALE = 20
"""The finest scale OpenTelemetry defines (and the SDK's default upper limit)."""
MIN_SCALE = -10
"""The coarsest scale we downscale to: bucket boundaries 2**1024 apart cover every float."""
SDK_MAX_SIZE = 160
"""Buckets per side that the OpenTelemetry SDKs keep by default."""
WINDOW_MAX_SIZE = 320
"""Buckets per side a merged (window) histogram may keep: a 1:1024 range at scale 5, ~2%."""


@dataclass(frozen=True, slots=True)
class Buckets:
    """One side's dense bucket counts; counts[0] is bucket `offset`."""

    offset: int = 0
    counts: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class ExponentialHistogram:
    """An exponential histogram's counts (or their increase), sum, count and optional min/max."""

    scale: int
    zero_count: float = 0.0
    positive: Buckets = Buckets()
    negative: Buckets = Buckets()
    sum: float = 0.0
    count: float = 0.0
    min: float | None = None
    max: float | None = None

    def is_finite(self) -> bool:
        """Whether every number in it is finite (OTLP allows NaN and infinities)."""
        numbers = (self.sum, self.count, self.zero_count, *self.positive.counts,
                   *self.negative.counts, *(b for b in (self.min, self.max) if b is not None))
        return bool(np.isfinite(numbers).all())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe form; bucket counts as sparse [index, count] pairs."""
        return {"scale": self.scale, "zero_count": self.zero_count,
                "positive": _sparse(self.positive), "negative": _sparse(self.negative),
                "sum": self.sum, "count": self.count, "min": self.min, "max": self.max}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExponentialHistogram:
        return cls(int(data["scale"]), float(data["zero_count"]), _dense(data["positive"]),
                   _dense(data["negative"]), float(data["sum"]), float(data["count"]),
                   data.get("min"), data.get("max"))


def _sparse(side: Buckets) -> list[list[float]]:
    return [[side.offset + i, c] for i, c in enumerate(side.counts) if c]


def _dense(pairs: Sequence[Sequence[float]]) -> Buckets:
    if not pairs:
        return Buckets()
    offset = int(pairs[0][0])
    counts = [0.0] * (int(pairs[-1][0]) - offset + 1)
    for index, count in pairs:
        counts[int(index) - offset] = float(count)
    return Buckets(offset, tuple(counts))


def index_of(magnitudes: np.ndarray, scale: int) -> np.ndarray:
    """Bucket index of each positive magnitude at `scale` (upper bounds inclusive)."""
    return (np.ceil(np.log2(magnitudes) * 2.0**scale) - 1).astype(np.int64)


def from_values(values: Sequence[float] | np.ndarray, *, max_size: int = SDK_MAX_SIZE,
                max_scale: int = MAX_SCALE) -> ExponentialHistogram:
    """The histogram the OpenTelemetry SDK would aggregate `values` into: the finest scale
    (at most `max_scale`) at which each side fits in `max_size` buckets."""
    array = np.asarray(values, dtype=np.float64)
    empty = ExponentialHistogram(max_scale)
    if array.size == 0:
        return empty
    sides = [index_of(array[array > 0], max_scale), index_of(-array[array < 0], max_scale)]
    shift = _fitting_shift(sides, max_size, max_scale)
    positive, negative = (_bucketed(idx >> shift, np.ones(idx.size)) for idx in sides)
    return ExponentialHistogram(
        max_scale - shift, float(np.count_nonzero(array == 0)), positive, negative,
        float(array.sum()), float(array.size), float(array.min()), float(array.max()))


def downscale(histogram: ExponentialHistogram, scale: int) -> ExponentialHistogram:
    """The same counts at a coarser (or equal) `scale`."""
    if scale > histogram.scale:
        raise ValueError(f"cannot upscale a histogram from scale {histogram.scale} to {scale}")
    shift = histogram.scale - scale
    return replace(histogram, scale=scale,
                   positive=_bucketed(*_shifted(histogram.positive, shift)),
                   negative=_bucketed(*_shifted(histogram.negative, shift)))


def merge(histograms: Iterable[ExponentialHistogram], *, max_size: int = WINDOW_MAX_SIZE
          ) -> ExponentialHistogram | None:
    """Sum of histograms at their common scale, downscaled further to keep `max_size` buckets
    per side; min/max are known when every part knew them. None for no histograms."""
    parts = list(histograms)
    if not parts:
        return None
    merged = _combine([(h, 1.0) for h in parts], max_size)
    known = [h for h in parts if h.count]
    lows = [h.min for h in known]
    highs = [h.max for h in known]
    return replace(merged,
                   min=min(lows) if lows and None not in lows else None,   # type: ignore[type-var]
                   max=max(highs) if highs and None not in highs else None)  # type: ignore[type-var]


def subtract(later: ExponentialHistogram, earlier: ExponentialHistogram) -> ExponentialHistogram:
    """`later - earlier` at the coarser of their scales (the finer one is downscaled first);
    min/max are `later`'s, a valid if loose bound for the difference's values."""
    return replace(_combine([(later, 1.0), (earlier, -1.0)], None),
                   min=later.min, max=later.max)


def increase(later: ExponentialHistogram, earlier: ExponentialHistogram
             ) -> ExponentialHistogram | None:
    """What a cumulative histogram gained since `earlier`; None when it went down (a reset)."""
    if later.count < earlier.count:
        return None
    difference = subtract(later, earlier)
    if difference.zero_count < 0 or any(c < 0 for c in difference.positive.counts) or any(
            c < 0 for c in difference.negative.counts):
        return None
    return difference


def negated(histogram: ExponentialHistogram) -> ExponentialHistogram:
    """The histogram of the negated values (a favorable slippage magnitude becomes negative)."""
    return replace(histogram, positive=histogram.negative, negative=histogram.positive,
                   sum=-histogram.sum,
                   min=None if histogram.max is None else -histogram.max,
                   max=None if histogram.min is None else -histogram.min)


def empty_like(histogram: ExponentialHistogram) -> ExponentialHistogram:
    """No observations, at `histogram`'s scale."""
    return ExponentialHistogram(histogram.scale)


def quantiles(histogram: ExponentialHistogram, qs: Sequence[float]) -> list[float]:
    """The q-quantiles (0 <= q <= 1) of the recorded values; NaN for an empty histogram.

    The rank `q * count` is found in the buckets in ascending value order and interpolated
    log-linearly inside its bucket (uniform in log space, as Prometheus does for native
    histograms); the zero bucket answers 0. Results are clamped to the recorded min/max.
    """
    signs, starts, ends, counts = _ascending(histogram)
    total = float(counts.sum())
    if not total > 0:
        return [float("nan")] * len(qs)
    cumulative = np.cumsum(counts)
    ranks = np.clip(np.asarray(qs, dtype=np.float64), 0.0, 1.0) * total
    at = np.minimum(np.searchsorted(cumulative, ranks, side="left"), counts.size - 1)
    below = np.where(at > 0, cumulative[at - 1], 0.0)
    share = np.divide(ranks - below, counts[at], out=np.zeros_like(ranks),
                      where=counts[at] > 0)
    exponent = starts[at] + (ends[at] - starts[at]) * np.clip(share, 0.0, 1.0)
    values = signs[at] * np.exp2(exponent * 2.0**-histogram.scale)
    low = -np.inf if histogram.min is None else histogram.min
    high = np.inf if histogram.max is None else histogram.max
    return [float(v) for v in np.clip(values, low, high)]


def quantile(histogram: ExponentialHistogram, q: float) -> float:
    """One q-quantile; see `quantiles`."""
    return quantiles(histogram, [q])[0]


def explicit_counts(histogram: ExponentialHistogram, bounds: Sequence[float]) -> list[float]:
    """Counts moved into explicit buckets (`bounds`, upper bounds inclusive) by each
    exponential bucket's upper bound, to add up with a series recorded with explicit buckets."""
    signs, _starts, ends, counts = _ascending(histogram)
    uppers = signs * np.exp2(ends * 2.0**-histogram.scale)
    slots = np.searchsorted(np.asarray(bounds, dtype=np.float64), uppers, side="left")
    return [float(c) for c in np.bincount(slots, weights=counts, minlength=len(bounds) + 1)]


# --- internals ----------------------------------------------------------------------------


def _ascending(histogram: ExponentialHistogram
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every bucket in ascending value order as (sign, start exponent, end exponent, count):
    the bucket runs from sign * base**start to sign * base**end."""
    neg = np.asarray(histogram.negative.counts, dtype=np.float64)[::-1]
    pos = np.asarray(histogram.positive.counts, dtype=np.float64)
    neg_index = (histogram.negative.offset + np.arange(neg.size, dtype=np.float64))[::-1]
    pos_index = histogram.positive.offset + np.arange(pos.size, dtype=np.float64)
    zeros = 1 if histogram.zero_count else 0
    signs = np.concatenate([np.full(neg.size, -1.0), np.zeros(zeros), np.ones(pos.size)])
    starts = np.concatenate([neg_index + 1.0, np.zeros(zeros), pos_index])
    ends = np.concatenate([neg_index, np.zeros(zeros), pos_index + 1.0])
    counts = np.concatenate([neg, np.full(zeros, histogram.zero_count), pos])
    return signs, starts, ends, counts


def _shifted(side: Buckets, shift: int) -> tuple[np.ndarray, np.ndarray]:
    counts = np.asarray(side.counts, dtype=np.float64)
    index = side.offset + np.arange(counts.size, dtype=np.int64)
    keep = counts != 0
    return index[keep] >> shift, counts[keep]


def _bucketed(index: np.ndarray, counts: np.ndarray) -> Buckets:
    """Dense buckets from (possibly repeated) indices and their counts; zeros trimmed."""
    if index.size == 0:
        return Buckets()
    low = int(index.min())
    dense = np.bincount(index - low, weights=counts)
    nonzero = np.flatnonzero(dense)
    if nonzero.size == 0:
        return Buckets()
    first, last = int(nonzero[0]), int(nonzero[-1])
    return Buckets(low + first, tuple(float(c) for c in dense[first:last + 1]))


def _fitting_shift(sides: Sequence[np.ndarray], max_size: int | None, scale: int) -> int:
    """The smallest downscale that fits each side's index range in `max_size` buckets."""
    shift = 0
    if max_size is None:
        return shift
    while scale - shift > MIN_SCALE and any(
            idx.size and int(idx.max() >> shift) - int(idx.min() >> shift) + 1 > max_size
            for idx in sides):
        shift += 1
    return shift


def _combine(parts: Sequence[tuple[ExponentialHistogram, float]], max_size: int | None
             ) -> ExponentialHistogram:
    """Weighted sum of histograms at their common scale, downscaled to fit `max_size`."""
    scale = min(h.scale for h, _ in parts)
    sides = []
    for name in ("positive", "negative"):
        indices, weights = [], []
        for histogram, weight in parts:
            index, counts = _shifted(getattr(histogram, name), histogram.scale - scale)
            indices.append(index)
            weights.append(counts * weight)
        merged = _bucketed(np.concatenate(indices), np.concatenate(weights))
        sides.append(merged)
    ranges = [np.array([b.offset, b.offset + len(b.counts) - 1]) if b.counts
              else np.zeros(0, dtype=np.int64) for b in sides]
    shift = _fitting_shift(ranges, max_size, scale)
    positive, negative = (_bucketed(*_shifted(b, shift)) for b in sides)
    return ExponentialHistogram(
        scale - shift, sum(h.zero_count * w for h, w in parts), positive, negative,
        sum(h.sum * w for h, w in parts), sum(h.count * w for h, w in parts))
