"""The one counter-reset rule, Prometheus-style, for stored-series queries and the monitor."""

from __future__ import annotations

import numpy as np


def restarted(previous_start_ns: int, start_ns: int) -> bool:
    """A cumulative series restarted when both points carry a start time and it changed."""
    return bool(start_ns and previous_start_ns and start_ns != previous_start_ns)


def counter_change(previous_start_ns: int, previous: float, start_ns: int, value: float, *,
                   monotonic: bool) -> float:
    """The change of a cumulative sum between two points.

    Across a reset (a new start time or, for a monotonic sum, a lower value) the change is
    the new value: everything counted since the restart.
    """
    if restarted(previous_start_ns, start_ns) or (monotonic and value < previous):
        return value
    return value - previous


def counter_changes(previous_starts: np.ndarray, previous: np.ndarray, starts: np.ndarray,
                    values: np.ndarray, *, monotonic: bool) -> np.ndarray:
    """`counter_change` over arrays of consecutive points: the same rule, vectorized."""
    reset = (starts != 0) & (previous_starts != 0) & (starts != previous_starts)
    if monotonic:
        reset |= values < previous
    return np.where(reset, values, values - previous)
