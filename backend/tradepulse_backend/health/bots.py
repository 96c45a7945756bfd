"""Bot processes: CPU, RSS, threads and open descriptors of each service from the `process.*`
metrics its SDK exports (read from stored telemetry, never psutil: the bot may run on another
machine), with a leak detector on its RSS."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.semconv._incubating.metrics import process_metrics as pm

from tradepulse_backend.config.health import LeakConfig
from tradepulse_backend.health.models import iso
from tradepulse_backend.health.trends import LeakDetector, LeakVerdict
from tradepulse_backend.telemetry.records import DecodedBatch

_FIELDS = {
    pm.PROCESS_CPU_UTILIZATION: "cpu_ratio",
    pm.PROCESS_MEMORY_USAGE: "rss_bytes",
    pm.PROCESS_THREAD_COUNT: "threads",
    pm.PROCESS_OPEN_FILE_DESCRIPTOR_COUNT: "open_fds",
}


@dataclass
class BotProcess:
    """The newest process figures of one service."""

    service: str
    leak: LeakDetector
    cpu_ratio: float | None = None
    rss_bytes: float | None = None
    threads: float | None = None
    open_fds: float | None = None
    last_seen_ns: int | None = None
    _times: dict[str, int] = field(default_factory=dict)

    @property
    def cpu_percent(self) -> float | None:
        """Share of the bot's host CPU capacity, in percent (the SDK reports a 0-1 ratio)."""
        return None if self.cpu_ratio is None else self.cpu_ratio * 100

    def verdict(self) -> LeakVerdict:
        return self.leak.verdict()

    def to_dict(self) -> dict[str, Any]:
        return {"service": self.service, "cpu_percent": self.cpu_percent,
                "rss_bytes": _int(self.rss_bytes), "threads": _int(self.threads),
                "open_fds": _int(self.open_fds), "last_seen": iso(self.last_seen_ns)}


def _int(value: float | None) -> int | None:
    return None if value is None else int(value)


class BotProcesses:
    """Every service that exported process metrics."""

    def __init__(self, leak: LeakConfig) -> None:
        self.leak_config = leak
        self._bots: dict[str, BotProcess] = {}
        self._lock = threading.Lock()

    def absorb(self, batch: DecodedBatch) -> set[str]:
        """Take the newest process points of a stored batch (summed over a metric's series,
        e.g. the CPU modes); returns the services touched."""
        newest: dict[tuple[str, str], tuple[int, float]] = {}
        for group in batch.metrics:
            attr = _FIELDS.get(group.series.name)
            if attr is None:
                continue
            points = [p for p in group.points
                      if isinstance(p, tuple) and p[2] is not None and math.isfinite(p[2])]
            if not points:
                continue
            time_ns, value = max(points, key=lambda p: p[0])[0::2]
            key = (group.series.resource.service_name, attr)
            before = newest.get(key)
            if before is None or before[0] != time_ns:
                newest[key] = (time_ns, value) if before is None or time_ns > before[0] \
                    else before
            else:
                newest[key] = (time_ns, before[1] + value)
        with self._lock:
            for (service, attr), (time_ns, value) in newest.items():
                bot = self._bots.get(service)
                if bot is None:
                    bot = self._bots[service] = BotProcess(service, LeakDetector(self.leak_config))
                if time_ns < bot._times.get(attr, 0):
                    continue
                bot._times[attr] = time_ns
                setattr(bot, attr, value)
                bot.last_seen_ns = max(bot.last_seen_ns or 0, time_ns)
                if attr == "rss_bytes":
                    bot.leak.add(time_ns / 1e9, value)
        return {service for service, _ in newest}

    def get(self, service: str) -> BotProcess | None:
        return self._bots.get(service)

    def all(self) -> list[BotProcess]:
        with self._lock:
            return sorted(self._bots.values(), key=lambda b: b.service)

    def forget(self, service: str) -> None:
        with self._lock:
            self._bots.pop(service, None)
