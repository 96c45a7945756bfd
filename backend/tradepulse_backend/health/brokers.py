"""Broker connectivity and API headroom per bot, from the SDK's broker instruments
(`trading.broker.connected`, and `trading.broker.rate_limit.headroom` when the bot reports it):
one component per broker per bot."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from tradepulse import conventions as conv
from tradepulse_backend.health.models import ComponentStatus
from tradepulse_backend.telemetry.records import DecodedBatch

HEADROOM_DEGRADED = 0.1
"""Rate-limit headroom (remaining / limit) below which a broker connection is degraded."""


@dataclass
class BrokerState:
    """The latest reported connectivity and headroom of one broker of one bot."""

    service: str
    broker: str
    connected: float | None = None
    headroom: float | None = None
    reported_ns: int = 0

    @property
    def component(self) -> str:
        return component_name(self.service, self.broker)

    def judge(self) -> tuple[ComponentStatus, str]:
        if self.connected is None:
            return ComponentStatus.UNKNOWN, "no connectivity reported yet"
        if self.connected < 0.5:
            return ComponentStatus.UNHEALTHY, f"{self.broker} disconnected"
        if self.headroom is not None and self.headroom < HEADROOM_DEGRADED:
            return (ComponentStatus.DEGRADED,
                    f"{self.broker} connected; rate-limit headroom {self.headroom:.0%}")
        headroom = "" if self.headroom is None else f"; rate-limit headroom {self.headroom:.0%}"
        return ComponentStatus.HEALTHY, f"{self.broker} connected{headroom}"


def component_name(service: str, broker: str) -> str:
    return f"broker:{service}:{broker}"


class BrokerTracker:
    """The brokers every bot reports on."""

    def __init__(self) -> None:
        self._brokers: dict[tuple[str, str], BrokerState] = {}
        self._lock = threading.Lock()

    def absorb(self, batch: DecodedBatch) -> list[BrokerState]:
        """Take the newest broker points of a stored batch; returns the brokers it touched."""
        touched: dict[tuple[str, str], BrokerState] = {}
        for group in batch.metrics:
            name = group.series.name
            if name not in (conv.METRIC_BROKER_CONNECTED, conv.METRIC_BROKER_RATE_LIMIT_HEADROOM):
                continue
            broker = str(group.series.attributes.get(conv.ATTR_BROKER, ""))
            point = max((p for p in group.points if isinstance(p, tuple) and p[2] is not None
                         and math.isfinite(p[2])), key=lambda p: p[0], default=None)
            if point is None:
                continue
            key = (group.series.resource.service_name, broker)
            with self._lock:
                state = self._brokers.setdefault(key, BrokerState(*key))
                if point[0] < state.reported_ns and name == conv.METRIC_BROKER_CONNECTED:
                    continue
                if name == conv.METRIC_BROKER_CONNECTED:
                    state.connected, state.reported_ns = float(point[2]), point[0]
                else:
                    state.headroom = float(point[2])
            touched[key] = state
        return list(touched.values())

    def of(self, service: str | None = None) -> list[BrokerState]:
        with self._lock:
            return [s for s in self._brokers.values() if service in (None, s.service)]

    def forget(self, service: str) -> None:
        with self._lock:
            for key in [k for k in self._brokers if k[0] == service]:
                del self._brokers[key]
