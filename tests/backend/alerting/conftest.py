"""An alerting engine on a real store (SQLite in a temporary directory), a manual clock and
recording channels, built through `build_pipeline` as the runtime builds it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from tradepulse_backend.alerting import build_pipeline
from tradepulse_backend.alerting.channels.base import (
    AlertChannel,
    DeliveryResult,
    DeliveryStatus,
    Notification,
)
from tradepulse_backend.clock import ManualClock
from tradepulse_backend.config.alerting import AlertingSystemConfig
from tradepulse_backend.performance.snapshot import PerformanceSnapshot
from tradepulse_backend.store import Store


class RecordingChannel(AlertChannel):
    """Keeps what it was sent; answers with `results` in turn (OK once they run out)."""

    def __init__(self, name: str, *, send_resolved: bool = True) -> None:
        self.name = name
        self.send_resolved = send_resolved
        self.sent: list[Notification] = []
        self.attempts: list[Notification] = []
        self.results: list[DeliveryResult] = []

    def send(self, notification: Notification) -> DeliveryResult:
        self.attempts.append(notification)
        result = self.results.pop(0) if self.results else DeliveryResult(DeliveryStatus.OK)
        if result.status is DeliveryStatus.OK:
            self.sent.append(notification)
        return result


@dataclass
class Engine:
    """What a test drives: the system, its clock, store and channels."""

    make: Callable[[], Any]
    clock: ManualClock
    store: Store
    channels: dict[str, RecordingChannel]
    system: Any = None
    extra: list = field(default_factory=list)

    def snapshot(self, service: str = "bot", portfolio: str = "", **figures: Any) -> list[dict]:
        snap = PerformanceSnapshot(timestamp=self.clock.now_ns() / 1e9, service=service,
                                   portfolio=portfolio, **figures)
        return self.system.evaluate_alerts(snap)

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.system.tick()

    def deliver(self) -> int:
        return self.system.outbox.deliver_all_due()

    def restart(self) -> None:
        """A new engine on the same store and clock, as after a crash."""
        self.system = self.make()


@pytest.fixture
def engine_factory(tmp_path):
    stores: list[Store] = []

    def factory(alerting: dict[str, Any] | None = None, *, channels=("email", "slack", "console"),
                send_resolved: dict[str, bool] | None = None, extra_sources=()) -> Engine:
        section = {"channels": {}, **(alerting or {})}
        config = AlertingSystemConfig.model_validate(section)
        clock = ManualClock(start_ns=1_767_225_600 * 10**9)   # Thu 2026-01-01 00:00 UTC
        store = Store.open(f"sqlite:///{tmp_path / 'alerts.db'}", tmp_path)
        stores.append(store)
        recording = {name: RecordingChannel(name, send_resolved=(send_resolved or {}).get(
            name, True)) for name in channels}

        def make():
            return build_pipeline(config, store=store, clock=clock, channels=recording,
                                  extra_sources=extra_sources, external_url="http://dash")

        engine = Engine(make, clock, store, recording)
        engine.system = make()
        return engine

    yield factory
    for store in stores:
        store.close()


SEED_RULE = {
    "conditions": [{"field": "daily_return", "operator": "lt", "value": -0.05}],
    "severity": "critical",
    "title": "Portfolio Loss Alert",
    "message": "Daily return is {daily_return:.2%}",
    "channels": ["email", "console"],
}
