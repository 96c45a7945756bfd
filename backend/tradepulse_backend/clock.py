"""Time for every component, from one `Clock` the runtime passes in; and duration parsing.

Production code reads `SystemClock`; tests drive a `ManualClock` forward instead of sleeping, so
time-dependent logic (retention, reports, heartbeats, alert `for` durations) is deterministic.
"""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol, runtime_checkable

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$", re.ASCII)
_UNIT_NS = {"ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9, "d": 86400 * 10**9,
            "w": 604800 * 10**9}
MAX_DURATION_NS = 36_525 * 86_400 * 10**9
"""The longest duration a query or period may name: 100 years, far inside what a signed 64-bit
nanosecond timestamp can hold."""


def duration_ns(text: str) -> int | None:
    """Nanoseconds of a duration such as `15m`, or None when `text` is not one.

    A duration is positive: `-15m` is not one. The result is exact, and may be too large to
    use; callers bound it (see MAX_DURATION_NS).
    """
    match = _DURATION.match(text.strip())
    if match is None:
        return None
    return int(Decimal(match.group(1)) * _UNIT_NS[match.group(2)])


@runtime_checkable
class Clock(Protocol):
    """Wall time for timestamps, monotonic time for intervals, and a stoppable wait."""

    def now_ns(self) -> int:
        """Unix time in nanoseconds."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back, for measuring intervals."""
        ...

    def wait(self, seconds: float, stop: threading.Event | None = None) -> bool:
        """Wait `seconds` or until `stop` is set; True when stopped."""
        ...


class SystemClock:
    """The machine's clocks."""

    def now_ns(self) -> int:
        return time.time_ns()

    def monotonic(self) -> float:
        return time.monotonic()

    def wait(self, seconds: float, stop: threading.Event | None = None) -> bool:
        if stop is None:
            time.sleep(max(0.0, seconds))
            return False
        return stop.wait(max(0.0, seconds))


class ManualClock:
    """A clock that moves only when a test calls `advance`; `wait` returns once the clock has
    moved far enough (or `stop` is set), so periodic workers run step by step."""

    def __init__(self, start_ns: int = 1_700_000_000 * 10**9) -> None:
        self._now_ns = start_ns
        self._mono_ns = 0
        self._moved = threading.Condition()

    def now_ns(self) -> int:
        return self._now_ns

    def monotonic(self) -> float:
        return self._mono_ns / 1e9

    def advance(self, seconds: float) -> None:
        """Move both clocks forward and wake every waiter whose time has come."""
        with self._moved:
            self._now_ns += int(seconds * 1e9)
            self._mono_ns += int(seconds * 1e9)
            self._moved.notify_all()

    def wait(self, seconds: float, stop: threading.Event | None = None) -> bool:
        deadline = self._mono_ns + int(seconds * 1e9)
        with self._moved:
            while self._mono_ns < deadline:
                if stop is not None and stop.is_set():
                    return True
                self._moved.wait(0.01 if stop is not None else None)
        return bool(stop is not None and stop.is_set())


def utc_datetime(clock: Clock) -> datetime:
    """The clock's now as an aware UTC datetime."""
    return datetime.fromtimestamp(clock.now_ns() / 1e9, UTC)
