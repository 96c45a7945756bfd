"""Warning and critical levels with hysteresis: a figure that crossed a level returns below it
only once it falls under `level x (1 - hysteresis)`, so a value hovering on a line does not
flap between statuses."""

from __future__ import annotations

import threading
from collections.abc import Hashable, Mapping
from dataclasses import dataclass

from tradepulse_backend.config import Threshold
from tradepulse_backend.health.models import ComponentStatus

_LEVELS = (ComponentStatus.HEALTHY, ComponentStatus.DEGRADED, ComponentStatus.UNHEALTHY)


@dataclass(frozen=True)
class Judgement:
    """A figure's status under its threshold, with the value and the level it is held to."""

    figure: str
    value: float
    status: ComponentStatus
    threshold: Threshold

    @property
    def message(self) -> str:
        level = (self.threshold.critical if self.status is ComponentStatus.UNHEALTHY
                 else self.threshold.warning)
        if self.status is ComponentStatus.HEALTHY:
            return f"{self.figure} {self.value:.4g} below {level:g}"
        return f"{self.figure} {self.value:.4g} at or above {level:g}"


def _raw_level(value: float, threshold: Threshold) -> int:
    if value >= threshold.critical:
        return 2
    return 1 if value >= threshold.warning else 0


def next_level(previous: int, value: float, threshold: Threshold, hysteresis: float) -> int:
    """The level (0 healthy, 1 warning, 2 critical) after seeing `value`, from `previous`:
    rising is immediate, falling needs the value below the band under each level left."""
    raw = _raw_level(value, threshold)
    if raw >= previous:
        return raw
    level = previous
    while level > raw:
        line = threshold.critical if level == 2 else threshold.warning
        if value >= line - abs(line) * hysteresis:
            break
        level -= 1
    return level


class ThresholdBook:
    """The thresholds from config and the level each keyed figure is at now."""

    def __init__(self, thresholds: Mapping[str, Threshold], hysteresis: float) -> None:
        self.thresholds = dict(thresholds)
        self.hysteresis = hysteresis
        self._levels: dict[Hashable, int] = {}
        self._lock = threading.Lock()

    def judge(self, figure: str, value: float | None, key: Hashable = None
              ) -> Judgement | None:
        """The status of `figure` at `value` (for `key`, e.g. a service), remembering its
        level; None when the figure has no threshold or no value."""
        threshold = self.thresholds.get(figure)
        if threshold is None or value is None:
            return None
        with self._lock:
            previous = self._levels.get((figure, key), 0)
            level = self._levels[(figure, key)] = next_level(previous, value, threshold,
                                                             self.hysteresis)
        return Judgement(figure, value, _LEVELS[level], threshold)

    def forget(self, key: Hashable) -> None:
        """Drop the remembered levels of `key` (a service that went away), also those keyed
        by a tuple starting with it (a service's span names)."""
        with self._lock:
            for stored in [k for k in self._levels if k[1] == key
                           or (isinstance(k[1], tuple) and k[1][:1] == (key,))]:
                del self._levels[stored]
