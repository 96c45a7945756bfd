"""Base-2 exponential histograms (OpenTelemetry's ExponentialHistogram) as plain records, and
the math the monitor needs on them: indexing, downscaling, merging, subtracting, quantiles.

At scale `s` the base is ``2 ** (2 ** -s)`` and positive bucket `i` holds values in
``(base**i, base**(i+1)]``; the negative side mirrors it and the zero bucket holds zeros.
Lowering the scale by `k` merges buckets exactly (`i >> k`), so histograms recorded at
different scales combine without loss at the coarser one.
"""

from __future__ import annotations

import math
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
    if array.size == 0:
        return ExponentialHistogram(max_scale)
    sides = [index_of(array[array > 0], max_scale), index_of(-array[array < 0], max_scale)]
    ranges = [(int(idx.min()), int(idx.max())) for idx in sides if idx.size]
    shift = _fitting_shift(ranges, max_size, max_scale)
    positive, negative = (_counted(idx >> shift) for idx in sides)
    return ExponentialHistogram(
        max_scale - shift, float(np.count_nonzero(array == 0)), positive, negative,
        float(array.sum()), float(array.size), float(array.min()), float(array.max()))


def downscale(histogram: ExponentialHistogram, scale: int) -> ExponentialHistogram:
    """The same counts at a coarser (or equal) `scale`."""
    if scale > histogram.scale:
        raise ValueError(f"cannot upscale a histogram from scale {histogram.scale} to {scale}")
    shift = histogram.scale - scale
    return replace(histogram, scale=scale,
                   positive=_trimmed(*_downscaled(histogram.positive, shift)),
                   negative=_trimmed(*_downscaled(histogram.negative, shift)))


def merge(histograms: Iterable[ExponentialHistogram], *, max_size: int = WINDOW_MAX_SIZE
          ) -> ExponentialHistogram | None:
    """Sum of histograms at their common scale, downscaled further to keep `max_size` buckets
    per side; min/max are known when every part knew them. None for no histograms."""
    parts = list(histograms)
    if not parts:
        return None
    known = [h for h in parts if h.count]
    return replace(_combine([(h, 1.0) for h in parts], max_size),
                   min=_bound([h.min for h in known], min), max=_bound([h.max for h in known], max))


def subtract(later: ExponentialHistogram, earlier: ExponentialHistogram) -> ExponentialHistogram:
    """`later - earlier` at the coarser of their scales (the finer one is downscaled first;
    both further only if their union spans more than WINDOW_MAX_SIZE buckets); min/max are
    `later`'s, a valid if loose bound for the difference's values."""
    return replace(_combine([(later, 1.0), (earlier, -1.0)], WINDOW_MAX_SIZE),
                   min=later.min, max=later.max)


def increase(later: ExponentialHistogram, earlier: ExponentialHistogram
             ) -> ExponentialHistogram | None:
    """What a cumulative histogram gained since `earlier`; None when it went down (a reset)."""
    if later.count < earlier.count:
        return None
    difference = subtract(later, earlier)
    if difference.zero_count < 0 or min(difference.positive.counts, default=0.0) < 0 or min(
            difference.negative.counts, default=0.0) < 0:
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
    negatives = len(histogram.negative.counts)
    counts = np.concatenate([np.asarray(histogram.negative.counts[::-1], dtype=np.float64),
                             [histogram.zero_count],
                             np.asarray(histogram.positive.counts, dtype=np.float64)])
    cumulative = np.cumsum(counts)
    total = float(cumulative[-1])
    if not total > 0:
        return [math.nan] * len(qs)
    ranks = np.maximum(np.clip(np.asarray(qs, dtype=np.float64), 0.0, 1.0) * total, _TINY)
    found = np.minimum(np.searchsorted(cumulative, ranks, side="left"), counts.size - 1)
    out = []
    for rank, at in zip(ranks.tolist(), found.tolist(), strict=True):
        below = float(cumulative[at - 1]) if at else 0.0
        count = float(counts[at])
        share = min(max((rank - below) / count, 0.0), 1.0) if count > 0 else 0.0
        value = _value_at(histogram, negatives, at, share)
        low = -math.inf if histogram.min is None else histogram.min
        high = math.inf if histogram.max is None else histogram.max
        out.append(min(max(value, low), high))
    return out


def quantile(histogram: ExponentialHistogram, q: float) -> float:
    """One q-quantile; see `quantiles`."""
    return quantiles(histogram, [q])[0]


def explicit_counts(histogram: ExponentialHistogram, bounds: Sequence[float]) -> list[float]:
    """Counts moved into explicit buckets (`bounds`, upper bounds inclusive) by each
    exponential bucket's upper bound, to add up with a series recorded with explicit buckets."""
    width = 2.0 ** -histogram.scale
    pos, neg = histogram.positive, histogram.negative
    uppers = np.concatenate([
        -np.exp2((neg.offset + np.arange(len(neg.counts))) * width), [0.0],
        np.exp2((pos.offset + 1 + np.arange(len(pos.counts))) * width)])
    counts = np.concatenate([neg.counts, [histogram.zero_count], pos.counts])
    slots = np.searchsorted(np.asarray(bounds, dtype=np.float64), uppers, side="left")
    return np.bincount(slots, weights=counts, minlength=len(bounds) + 1).tolist()


# --- internals ----------------------------------------------------------------------------

_TINY = 5e-324
"""The smallest rank: q = 0 lands in the first non-empty bucket, not on an empty zero bucket."""


def _value_at(histogram: ExponentialHistogram, negatives: int, at: int, share: float) -> float:
    """The value `share` of the way (in log space) through bucket `at` of the ascending order:
    the negative buckets from the most negative, the zero bucket, then the positive ones."""
    width = 2.0 ** -histogram.scale
    if at < negatives:
        index = histogram.negative.offset + negatives - 1 - at
        return -(2.0 ** ((index + 1 - share) * width))
    if at == negatives:
        return 0.0
    index = histogram.positive.offset + at - negatives - 1
    return 2.0 ** ((index + share) * width)


def _bound(values: list[float | None], pick) -> float | None:
    """min or max of known bounds; None when there are none or any is unknown."""
    known = [v for v in values if v is not None]
    return pick(known) if known and len(known) == len(values) else None


def _downscaled(side: Buckets, shift: int) -> tuple[int, np.ndarray]:
    """A side's (offset, dense counts) `shift` scales coarser."""
    counts = np.asarray(side.counts, dtype=np.float64)
    if not shift or not counts.size:
        return side.offset, counts
    low = side.offset >> shift
    index = ((side.offset + np.arange(counts.size)) >> shift) - low
    return low, np.bincount(index, weights=counts)


def _counted(index: np.ndarray) -> Buckets:
    """Buckets counting each occurrence of an index."""
    if not index.size:
        return Buckets()
    low = int(index.min())
    return _trimmed(low, np.bincount(index - low).astype(np.float64))


def _trimmed(offset: int, counts: np.ndarray) -> Buckets:
    """Buckets without leading or trailing zeros."""
    nonzero = np.flatnonzero(counts)
    if not nonzero.size:
        return Buckets()
    first, last = int(nonzero[0]), int(nonzero[-1])
    return Buckets(offset + first, tuple(counts[first:last + 1].tolist()))


def _fitting_shift(ranges: Sequence[tuple[int, int]], max_size: int, scale: int) -> int:
    """The smallest downscale that fits every (low, high) index range in `max_size` buckets."""
    shift = 0
    while scale - shift > MIN_SCALE and any(
            (high >> shift) - (low >> shift) + 1 > max_size for low, high in ranges):
        shift += 1
    return shift


def _range(side: Buckets, shift: int) -> list[tuple[int, int]]:
    """The (low, high) bucket indices of a side `shift` scales coarser; none if empty."""
    if not side.counts:
        return []
    return [(side.offset >> shift, (side.offset + len(side.counts) - 1) >> shift)]


def _summed(pieces: Sequence[tuple[int, np.ndarray, float]]) -> Buckets:
    """Weighted sum of (offset, dense counts, weight) pieces at one scale."""
    pieces = [p for p in pieces if p[1].size]
    if not pieces:
        return Buckets()
    low = min(offset for offset, _, _ in pieces)
    total = np.zeros(max(offset + counts.size for offset, counts, _ in pieces) - low)
    for offset, counts, weight in pieces:
        total[offset - low:offset - low + counts.size] += weight * counts
    return _trimmed(low, total)


def _combine(parts: Sequence[tuple[ExponentialHistogram, float]], max_size: int
             ) -> ExponentialHistogram:
    """Weighted sum of histograms at their common scale, downscaled first as far as needed
    for each side's combined range to fit `max_size` buckets."""
    scale = min(h.scale for h, _ in parts)
    ranges = []
    for name in ("positive", "negative"):
        spans = [r for h, _ in parts for r in _range(getattr(h, name), h.scale - scale)]
        if spans:
            ranges.append((min(low for low, _ in spans), max(high for _, high in spans)))
    shift = _fitting_shift(ranges, max_size, scale)
    scale -= shift
    positive, negative = (_summed([(*_downscaled(getattr(h, name), h.scale - scale), weight)
                                   for h, weight in parts]) for name in ("positive", "negative"))
    return ExponentialHistogram(
        scale, sum(h.zero_count * w for h, w in parts), positive, negative,
        sum(h.sum * w for h, w in parts), sum(h.count * w for h, w in parts))
