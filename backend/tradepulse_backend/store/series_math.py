"""Values, deltas and rates of stored metric points, with counter resets handled as Prometheus does.

A point is (time_ns, start_ns, value). For a cumulative sum, a reset shows as a new start time or,
for monotonic sums, a value lower than the one before; the delta across a reset is the new value
(everything counted since the restart). Delta-temporality points already are deltas.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from tradepulse_backend.telemetry.counters import counter_change, counter_changes
from tradepulse_backend.telemetry.records import MetricKind, Temporality

Point = tuple[int, int, float | None]


def deltas(points: Sequence[Point], *, kind: str, temporality: int, monotonic: bool
           ) -> list[tuple[int, float]]:
    """(time_ns, change since the previous point) for each point that has a predecessor."""
    return [(t, change) for t, _since, change in _changes(points, kind, temporality, monotonic)]


def rates(points: Sequence[Point], *, kind: str, temporality: int, monotonic: bool
          ) -> list[tuple[int, float]]:
    """(time_ns, change per second) for each point that has a defined interval."""
    return [(t, change / ((t - since) / 1e9))
            for t, since, change in _changes(points, kind, temporality, monotonic) if t > since]


def _changes(points: Sequence[Point], kind: str, temporality: int, monotonic: bool
             ) -> list[tuple[int, int, float]]:
    """(time_ns, interval start ns, change) for every point with a known interval."""
    if kind == MetricKind.SUM and temporality == Temporality.DELTA:
        return [(t, s, v) for t, s, v in points if v is not None and s > 0]
    out: list[tuple[int, int, float]] = []
    previous: Point | None = None
    for point in points:
        if point[2] is None:
            continue
        if previous is not None:
            out.append((point[0], previous[0],
                        _change(previous, point, kind == MetricKind.SUM, monotonic)))
        previous = point
    return out


def _change(previous: Point, current: Point, is_sum: bool, monotonic: bool) -> float:
    _, prev_start, prev_value = previous
    _, start, value = current
    if not is_sum:
        return value - prev_value
    return counter_change(prev_start, prev_value, start, value, monotonic=monotonic)


def finite(value: float | None) -> float | None:
    """A value JSON can carry: NaN and infinities become null."""
    return value if value is not None and math.isfinite(value) else None


def changes_array(starts: np.ndarray, values: np.ndarray, *, kind: str, temporality: int,
                  monotonic: bool, previous: tuple[int, float] | None = None) -> np.ndarray:
    """The change at each point since the one before, as `deltas` counts it: a delta sum's own
    value (0 without a start time), else the counter or gauge change from the previous point
    (`previous` = (start_ns, value) before the first; without it the first change is 0)."""
    starts = np.asarray(starts, dtype=np.int64)
    values = np.asarray(values, dtype=np.float64)
    if kind == MetricKind.SUM and temporality == Temporality.DELTA:
        return np.where(starts > 0, values, 0.0)
    if values.size == 0:
        return values.copy()
    first_start, first_value = previous if previous is not None else (starts[0], values[0])
    prev_starts = np.concatenate(([first_start], starts[:-1]))
    prev_values = np.concatenate(([first_value], values[:-1]))
    with np.errstate(over="ignore", invalid="ignore"):
        if kind == MetricKind.SUM:
            changes = counter_changes(prev_starts, prev_values, starts, values,
                                      monotonic=monotonic)
        else:
            changes = values - prev_values
    if previous is None:
        changes[0] = 0.0
    return changes
