"""Argument checks for the recording functions: each raises ValueError naming the argument."""

from __future__ import annotations

import math
from collections.abc import Callable
from numbers import Real


def finite(argument: str, value: object) -> float:
    """Return ``value`` as a float, refusing bools, non-numbers, NaN and infinities."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{argument} must be a real number; got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{argument} must be finite; got {value!r}")
    return number


def non_negative(argument: str, value: object) -> float:
    """Return ``value`` as a finite float that is zero or more."""
    number = finite(argument, value)
    if number < 0:
        raise ValueError(f"{argument} must not be negative; got {value!r}")
    return number


def positive(argument: str, value: object) -> float:
    """Return ``value`` as a finite float greater than zero."""
    number = finite(argument, value)
    if number <= 0:
        raise ValueError(f"{argument} must be positive; got {value!r}")
    return number


def optional(
    check: Callable[[str, object], float], argument: str, value: object
) -> float | None:
    """Apply ``check`` unless ``value`` is None (the caller did not report that figure)."""
    return None if value is None else check(argument, value)


def text(argument: str, value: object) -> str:
    """Return ``value`` if it is a non-empty string."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{argument} must be a non-empty string; got {value!r}")
    return value


def optional_text(argument: str, value: object) -> str | None:
    """Like :func:`text`, but None means the attribute is left out."""
    return None if value is None else text(argument, value)
