"""The records of system health: component status, a component's health with its history, a
host sample, and a reason for the overall status. Their `to_dict` is the REST and bus shape."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class ComponentStatus(StrEnum):
    """How a component is doing; `rank` orders them worst last (unknown sits below degraded:
    not knowing is not yet a fault)."""

    HEALTHY = "healthy"
    UNKNOWN = "unknown"
    DEGRADED = "degraded"
    UNHEALTHY = "unhealthy"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def level(self) -> float:
        """The status as a number alert rules can compare: 0 healthy ... 3 unhealthy."""
        return float(self.rank)

    @classmethod
    def worst(cls, statuses) -> ComponentStatus:
        """The worst of `statuses`; HEALTHY when there are none."""
        return max(statuses, key=lambda s: s.rank, default=cls.HEALTHY)


_RANK = {ComponentStatus.HEALTHY: 0, ComponentStatus.UNKNOWN: 1, ComponentStatus.DEGRADED: 2,
         ComponentStatus.UNHEALTHY: 3}


def iso(time_ns: int | None) -> str | None:
    """A unix-nanosecond time as ISO-8601 UTC (what the health JSON carries), None stays."""
    if time_ns is None:
        return None
    return datetime.fromtimestamp(time_ns / 1e9, UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Transition:
    """One status change of a component."""

    at_ns: int
    before: ComponentStatus
    after: ComponentStatus
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"at": iso(self.at_ns), "from": self.before.value, "to": self.after.value,
                "message": self.message}


@dataclass
class ComponentHealth:
    """A component's current health, when it last reported, and its last status changes."""

    name: str
    kind: str
    status: ComponentStatus = ComponentStatus.UNKNOWN
    last_seen_ns: int | None = None
    response_time_ms: float | None = None
    message: str = ""
    since_ns: int | None = None
    transitions: deque[Transition] = field(default_factory=lambda: deque(maxlen=20))
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def update(self, status: ComponentStatus, message: str, *, now_ns: int,
               last_seen_ns: int | None = None, response_time_ms: float | None = None
               ) -> Transition | None:
        """Set the status and message, seen at `last_seen_ns` (default now); returns the
        transition when the status changed."""
        with self._lock:
            self.last_seen_ns = now_ns if last_seen_ns is None else last_seen_ns
            if response_time_ms is not None:
                self.response_time_ms = response_time_ms
            self.message = message
            if status is self.status and self.since_ns is not None:
                return None
            change = Transition(now_ns, self.status, status, message)
            self.status, self.since_ns = status, now_ns
            self.transitions.append(change)
            return change

    def to_dict(self) -> dict[str, Any]:
        with self._lock:
            return {"name": self.name, "kind": self.kind, "status": self.status.value,
                    "last_seen": iso(self.last_seen_ns),
                    "response_time_ms": self.response_time_ms, "message": self.message,
                    "since": iso(self.since_ns),
                    "transitions": [t.to_dict() for t in self.transitions]}


@dataclass(frozen=True)
class DiskUsage:
    """One mounted filesystem."""

    mount: str
    percent: float
    used_bytes: int
    total_bytes: int

    def to_dict(self) -> dict[str, Any]:
        return {"mount": self.mount, "percent": self.percent, "used_bytes": self.used_bytes,
                "total_bytes": self.total_bytes}


@dataclass(frozen=True)
class ProcessFigures:
    """CPU, memory, threads and descriptors of one process."""

    cpu_percent: float
    rss_bytes: int
    threads: int
    open_fds: int | None

    def to_dict(self) -> dict[str, Any]:
        return {"cpu_percent": self.cpu_percent, "rss_bytes": self.rss_bytes,
                "threads": self.threads, "open_fds": self.open_fds}


@dataclass(frozen=True)
class SystemMetrics:
    """One host sample: CPU, load, memory, swap, disks, I/O and network rates, descriptors,
    and the backend's own process. Rates are per second since the previous sample (None on
    the first)."""

    timestamp_ns: int
    cpu_percent: float
    cpu_per_core: tuple[float, ...]
    load_avg: tuple[float, ...]
    memory_percent: float
    memory_used_bytes: int
    memory_total_bytes: int
    swap_percent: float
    swap_used_bytes: int
    swap_total_bytes: int
    disks: tuple[DiskUsage, ...]
    disk_io: dict[str, float | None]
    network: dict[str, float | None]
    open_fds: int | None
    process: ProcessFigures

    @property
    def disk_percent(self) -> float | None:
        """The fullest filesystem's use, the figure `disk_usage` thresholds judge."""
        return max((d.percent for d in self.disks), default=None)

    @property
    def load_per_core(self) -> float | None:
        if not self.load_avg or not self.cpu_per_core:
            return None
        return self.load_avg[0] / len(self.cpu_per_core)

    def to_dict(self) -> dict[str, Any]:
        return {
            "timestamp": iso(self.timestamp_ns), "cpu_percent": self.cpu_percent,
            "cpu_per_core": list(self.cpu_per_core), "load_avg": list(self.load_avg),
            "memory_percent": self.memory_percent, "memory_used_bytes": self.memory_used_bytes,
            "memory_total_bytes": self.memory_total_bytes, "swap_percent": self.swap_percent,
            "disks": [d.to_dict() for d in self.disks], "disk_io": dict(self.disk_io),
            "network": dict(self.network), "open_fds": self.open_fds,
            "process": self.process.to_dict(),
        }


@dataclass(frozen=True)
class Reason:
    """Why the overall status is what it is: one degraded or unhealthy part."""

    source: str
    name: str
    status: ComponentStatus
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "name": self.name, "status": self.status.value,
                "message": self.message}
