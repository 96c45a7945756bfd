"""Telemetry heartbeats: each service's export interval is learned from the gaps between its
stored batches, and a service silent for `degraded_after` (then `unhealthy_after`) times that
interval turns degraded (then unhealthy). It recovers with its next export."""

from __future__ import annotations

import statistics
import threading
from collections import deque
from dataclasses import dataclass, field

from tradepulse_backend.config.health import HeartbeatConfig
from tradepulse_backend.health.models import ComponentStatus

GAPS_KEPT = 15
_SIGNAL_PREFERENCE = ("metrics", "traces", "logs")
"""Metrics are exported on a fixed period, so their gaps are the interval when a service
sends them; spans and logs (sent when there are some) only when it sends nothing else."""


@dataclass
class _Beat:
    last_ns: int
    last_by_signal: dict[str, int] = field(default_factory=dict)
    gaps: dict[str, deque[float]] = field(default_factory=dict)


@dataclass(frozen=True)
class HeartbeatState:
    """A service's status by heartbeat: seconds since its last export and its interval."""

    service: str
    status: ComponentStatus
    age_s: float
    interval_s: float
    learned: bool
    last_ns: int

    @property
    def message(self) -> str:
        how = "observed" if self.learned else "assumed"
        if self.status is ComponentStatus.HEALTHY:
            return f"exporting; last export {self.age_s:.1f}s ago ({how} interval " \
                   f"{self.interval_s:.1f}s)"
        return (f"no telemetry for {self.age_s:.1f}s, {self.age_s / self.interval_s:.1f}x its "
                f"{how} export interval of {self.interval_s:.1f}s")


class HeartbeatTracker:
    """When each service last exported, and the interval it exports at."""

    def __init__(self, config: HeartbeatConfig) -> None:
        self.config = config
        self._beats: dict[str, _Beat] = {}
        self._lock = threading.Lock()

    def seen(self, service: str, signal: str, now_ns: int) -> None:
        """A batch of `signal` from `service` was stored at `now_ns`."""
        with self._lock:
            beat = self._beats.get(service)
            if beat is None:
                self._beats[service] = _Beat(now_ns, {signal: now_ns})
                return
            previous = beat.last_by_signal.get(signal)
            if previous is not None and now_ns > previous:
                beat.gaps.setdefault(signal, deque(maxlen=GAPS_KEPT)).append(
                    (now_ns - previous) / 1e9)
            beat.last_by_signal[signal] = now_ns
            beat.last_ns = max(beat.last_ns, now_ns)

    def known(self, service: str, last_ns: int) -> None:
        """A service known from storage (after a restart): judged by its stored last export."""
        with self._lock:
            self._beats.setdefault(service, _Beat(last_ns))

    def interval(self, service: str) -> tuple[float, bool]:
        """(seconds, learned): the median recent gap of the service's most regular signal,
        at least `min_interval`; the configured default until two exports were seen."""
        with self._lock:
            beat = self._beats.get(service)
            gaps = None
            if beat is not None:
                gaps = next((list(beat.gaps[s]) for s in _SIGNAL_PREFERENCE
                             if beat.gaps.get(s)), None)
        if not gaps:
            return float(self.config.default_interval), False
        return float(max(self.config.min_interval, statistics.median(gaps))), True

    def judge(self, service: str, now_ns: int) -> HeartbeatState | None:
        with self._lock:
            beat = self._beats.get(service)
            last = beat.last_ns if beat else None
        if last is None:
            return None
        interval, learned = self.interval(service)
        age = max(0.0, (now_ns - last) / 1e9)
        if age >= self.config.unhealthy_after * interval:
            status = ComponentStatus.UNHEALTHY
        elif age >= self.config.degraded_after * interval:
            status = ComponentStatus.DEGRADED
        else:
            status = ComponentStatus.HEALTHY
        return HeartbeatState(service, status, age, interval, learned, last)

    def services(self) -> list[str]:
        with self._lock:
            return list(self._beats)

    def forget_silent(self, now_ns: int) -> list[str]:
        """Drop services silent for longer than `forget_after`; returns their names."""
        cutoff = now_ns - int(self.config.forget_after * 1e9)
        with self._lock:
            gone = [name for name, beat in self._beats.items() if beat.last_ns < cutoff]
            for name in gone:
                del self._beats[name]
        return gone
