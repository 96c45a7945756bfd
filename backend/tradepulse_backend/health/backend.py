"""The backend itself as components: ingest queue, storage commit latency, event-bus
subscribers (lag and drops), supervised workers, WebSocket clients, and any backlog another
part registers (e.g. the alerting outbox)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from tradepulse_backend.bus import EventBus
from tradepulse_backend.config.health import BackendChecksConfig
from tradepulse_backend.health.models import ComponentStatus
from tradepulse_backend.ingest.pipeline import WritePipeline
from tradepulse_backend.workers import Admission, Supervisor


@dataclass(frozen=True)
class SelfCheck:
    """One backend component's status with the figures behind it."""

    name: str
    status: ComponentStatus
    message: str


class BackendProbe:
    """Reads the backend's parts; each `check()` returns their components and figures."""

    def __init__(self, config: BackendChecksConfig, *, pipeline: WritePipeline | None = None,
                 bus: EventBus | None = None, workers: Supervisor | None = None,
                 websockets: Admission | None = None) -> None:
        self.config = config
        self.pipeline = pipeline
        self.bus = bus
        self.workers = workers
        self.websockets = websockets
        self.commit_latency_ms: float | None = None
        self._gauges: dict[str, Callable[[], float | None]] = {}
        self._dropped_before: int | None = None
        self._lock = threading.Lock()

    def add_gauge(self, figure: str, read: Callable[[], float | None]) -> None:
        """Publish another part's figure (e.g. `outbox_backlog`) among the health figures."""
        with self._lock:
            self._gauges[figure] = read

    def check(self) -> tuple[list[SelfCheck], dict[str, float]]:
        checks: list[SelfCheck] = []
        figures: dict[str, float] = {}
        if self.pipeline is not None:
            checks.append(self._ingest(figures))
        if self.commit_latency_ms is not None:
            figures["commit_latency_ms"] = self.commit_latency_ms
            slow = self.commit_latency_ms >= self.config.commit_latency_degraded_ms
            checks.append(SelfCheck(
                "backend:storage",
                ComponentStatus.DEGRADED if slow else ComponentStatus.HEALTHY,
                f"last health sample committed in {self.commit_latency_ms:.0f} ms"))
        if self.bus is not None:
            checks.append(self._bus(figures))
        if self.workers is not None:
            dead = self.workers.dead
            figures["workers_dead"] = float(len(dead))
            checks.append(SelfCheck(
                "backend:workers",
                ComponentStatus.UNHEALTHY if dead else ComponentStatus.HEALTHY,
                f"dead: {', '.join(dead)}" if dead else "every worker running"))
        if self.websockets is not None:
            stats = self.websockets.stats()
            figures["websocket_clients"] = float(stats["open"])
            full = stats["open"] >= stats["limit"] > 0
            checks.append(SelfCheck(
                "backend:websockets",
                ComponentStatus.DEGRADED if full else ComponentStatus.HEALTHY,
                f"{stats['open']} of {stats['limit']} WebSocket clients, "
                f"{stats['refused']} refused"))
        with self._lock:
            gauges = dict(self._gauges)
        for figure, read in gauges.items():
            value = read()
            if value is not None:
                figures[figure] = float(value)
        return checks, figures

    def _ingest(self, figures: dict[str, float]) -> SelfCheck:
        depth, capacity = self.pipeline.depth, self.pipeline.capacity
        fill = depth / capacity if capacity else 0.0
        figures["ingest_queue_depth"] = float(depth)
        figures["ingest_queue_fill"] = fill
        if not self.pipeline.running:
            status, message = ComponentStatus.UNHEALTHY, "the writer is not running"
        elif fill >= self.config.queue_unhealthy:
            status, message = ComponentStatus.UNHEALTHY, f"ingest queue {fill:.0%} full"
        elif fill >= self.config.queue_degraded:
            status, message = ComponentStatus.DEGRADED, f"ingest queue {fill:.0%} full"
        else:
            status, message = ComponentStatus.HEALTHY, f"ingest queue {depth} of {capacity}"
        return SelfCheck("backend:ingest", status, message)

    def _bus(self, figures: dict[str, float]) -> SelfCheck:
        stats = self.bus.stats()
        dropped = sum(s["dropped"] for s in stats)
        lag = max((s["depth"] / s["capacity"] for s in stats), default=0.0)
        figures["bus_dropped"] = float(dropped)
        figures["bus_lag"] = lag
        new_drops = 0 if self._dropped_before is None else dropped - self._dropped_before
        self._dropped_before = dropped
        laggard = max(stats, key=lambda s: s["depth"] / s["capacity"], default=None)
        if new_drops > 0:
            return SelfCheck("backend:bus", ComponentStatus.DEGRADED,
                             f"{new_drops} event(s) dropped since the last check")
        if lag >= self.config.queue_degraded and laggard is not None:
            return SelfCheck("backend:bus", ComponentStatus.DEGRADED,
                             f"subscriber {laggard['name']} {lag:.0%} behind")
        return SelfCheck("backend:bus", ComponentStatus.HEALTHY,
                         f"{len(stats)} subscribers keeping up")
