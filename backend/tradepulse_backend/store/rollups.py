"""Rollup entries: per time bucket the first, last, min, max, sum, count and increase of a
series' points, built from sorted points and combined into coarser buckets with numpy.

The same columns serve the stored 1-minute and 1-hour tiers and step queries over raw data, so
an aggregate reads the same whichever tier answered it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import StrEnum

import numpy as np

from tradepulse_backend.store import chunk_codec


class Aggregate(StrEnum):
    """What a step query returns per bucket."""

    LAST = "last"
    AVG = "avg"
    MIN = "min"
    MAX = "max"
    SUM = "sum"
    COUNT = "count"
    INCREASE = "increase"
    RATE = "rate"


AGGREGATES = tuple(Aggregate)


@dataclass
class Rollup:
    """Columns of rollup entries, one per bucket, in ascending bucket time."""

    time_ns: np.ndarray
    first: np.ndarray
    last: np.ndarray
    min: np.ndarray
    max: np.ndarray
    sum: np.ndarray
    count: np.ndarray
    increase: np.ndarray

    @classmethod
    def empty(cls) -> Rollup:
        return cls(np.empty(0, np.int64), *(np.empty(0) for _ in range(5)),
                   np.empty(0, np.int64), np.empty(0))

    def __len__(self) -> int:
        return int(self.time_ns.size)

    def columns(self) -> list[np.ndarray]:
        return [getattr(self, f.name) for f in fields(self)]

    def take(self, keep: np.ndarray) -> Rollup:
        """The entries selected by an index or boolean array."""
        return Rollup(*(column[keep] for column in self.columns()))

    def encode(self) -> bytes:
        return chunk_codec.encode(self.columns())

    @classmethod
    def decode(cls, body: bytes) -> Rollup:
        return cls(*chunk_codec.decode(body))


def from_points(times: np.ndarray, values: np.ndarray, changes: np.ndarray, step_ns: int
                ) -> Rollup:
    """Entries of `step_ns` buckets from points sorted by time (no missing values); `changes`
    is each point's change since its predecessor (`series_math.changes_array`)."""
    if times.size == 0:
        return Rollup.empty()
    keys = times // step_ns * step_ns
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    ends = np.concatenate((starts[1:], [times.size])) - 1
    with np.errstate(over="ignore", invalid="ignore"):
        return _from_points(keys, values, changes, starts, ends)


def _from_points(keys, values, changes, starts, ends) -> Rollup:
    return Rollup(
        time_ns=keys[starts].astype(np.int64), first=values[starts], last=values[ends],
        min=np.minimum.reduceat(values, starts), max=np.maximum.reduceat(values, starts),
        sum=_decimal_sums(values, starts), count=(ends - starts + 1).astype(np.int64),
        increase=_decimal_sums(changes, starts))


def _decimal_sums(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Sums per bucket; when every value is a decimal of k places (prices in cents, counts),
    summed exactly in integers of 10**-k, so the result is a k-place decimal too (the
    correctly rounded true sum, which also compresses like the values do)."""
    scale = chunk_codec.decimal_scale(np.round(values, chunk_codec.MAX_DECIMALS))
    if scale is None:
        return np.add.reduceat(values, starts)
    factor = 10.0 ** scale
    scaled = values * factor
    ints = np.rint(scaled)
    if not np.all(np.abs(scaled - ints) <= 1e-6) or not np.all(np.abs(ints) < 2.0 ** 52):
        return np.add.reduceat(values, starts)
    sums = np.add.reduceat(ints.astype(np.int64), starts)
    if not np.all(np.abs(sums) < 2**53):
        return np.add.reduceat(values, starts)
    return sums.astype(np.float64) / factor


def combine(entries: Rollup, step_ns: int) -> Rollup:
    """Entries of a finer tier combined into `step_ns` buckets (a multiple of their step)."""
    if len(entries) == 0:
        return Rollup.empty()
    keys = entries.time_ns // step_ns * step_ns
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    ends = np.concatenate((starts[1:], [keys.size])) - 1
    with np.errstate(over="ignore", invalid="ignore"):
        return _combine(entries, keys, starts, ends)


def _combine(entries: Rollup, keys, starts, ends) -> Rollup:
    return Rollup(
        time_ns=keys[starts].astype(np.int64), first=entries.first[starts],
        last=entries.last[ends], min=np.minimum.reduceat(entries.min, starts),
        max=np.maximum.reduceat(entries.max, starts), sum=np.add.reduceat(entries.sum, starts),
        count=np.add.reduceat(entries.count, starts),
        increase=np.add.reduceat(entries.increase, starts))


def concat(parts: list[Rollup]) -> Rollup:
    """Entries of several parts, in the order given."""
    parts = [part for part in parts if len(part)]
    if not parts:
        return Rollup.empty()
    return Rollup(*(np.concatenate(columns) for columns in zip(
        *(part.columns() for part in parts), strict=True)))


def replace_range(old: Rollup, new: Rollup, low_ns: int, high_ns: int) -> Rollup:
    """`old` with its entries in [low, high) replaced by `new`, sorted by time."""
    outside = (old.time_ns < low_ns) | (old.time_ns >= high_ns)
    merged = concat([old.take(outside), new])
    return merged.take(np.argsort(merged.time_ns, kind="stable"))


def values_of(entries: Rollup, aggregate: Aggregate | str, step_ns: int) -> np.ndarray:
    """One value per entry: the aggregate a step query asked for."""
    aggregate = Aggregate(aggregate)
    if aggregate is Aggregate.AVG:
        with np.errstate(invalid="ignore", divide="ignore"):
            return entries.sum / entries.count
    if aggregate is Aggregate.COUNT:
        return entries.count.astype(np.float64)
    if aggregate is Aggregate.RATE:
        return entries.increase / (step_ns / 1e9)
    return getattr(entries, aggregate.value)
