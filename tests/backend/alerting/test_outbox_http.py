"""The outbox against the real webhook channel and a local HTTP receiver that fails on
purpose: 500, a hang past the timeout, 429 with Retry-After, then success. Retries follow the
answers, the notification is accepted once, always with the same idempotency key."""

from __future__ import annotations

from tests.backend.alerting.conftest import SEED_RULE
from tests.backend.alerting.receiver import Receiver
from tradepulse_backend.alerting import build_pipeline
from tradepulse_backend.alerting.channels import build_channels
from tradepulse_backend.clock import ManualClock
from tradepulse_backend.config.alerting import AlertingSystemConfig
from tradepulse_backend.performance.snapshot import PerformanceSnapshot
from tradepulse_backend.store import Store


def test_failures_are_retried_as_answered_then_delivered_once(tmp_path):
    receiver = Receiver()
    store = Store.open(f"sqlite:///{tmp_path / 'a.db'}", tmp_path)
    try:
        config = AlertingSystemConfig.model_validate({
            "group_wait": 0,
            "channels": {"console": {}, "email": {"type": "webhook", "timeout": 0.5,
                                                  "url": f"{receiver.url}/hook"}}})
        clock = ManualClock()
        channels = build_channels(config.channels, user_agent="tradepulse/test", clock=clock)
        system = build_pipeline(config, store=store, clock=clock, channels=channels)
        system.add_rule("portfolio_loss_alert", SEED_RULE)
        receiver.statuses = [500, "hang", (429, {"Retry-After": "7"}), 200]
        system.evaluate_alerts(PerformanceSnapshot(timestamp=0, service="bot",
                                                   daily_return=-0.06))

        def row():
            return system.notifications(channel="email")[0][0]

        system.outbox.deliver_due("email")
        assert row()["last_error"].startswith("HTTP 500") and row()["attempts"] == 1
        clock.advance(1)                              # full jitter: at most 1 s after try 1
        system.outbox.deliver_due("email")
        assert row()["attempts"] == 2 and "timed out" in row()["last_error"]
        clock.advance(2)                              # at most 2 s after try 2
        system.outbox.deliver_due("email")
        assert row()["attempts"] == 3 and row()["last_error"].startswith("HTTP 429")
        clock.advance(6.9)
        assert system.outbox.deliver_due("email") == 0    # Retry-After: 7 s
        clock.advance(0.2)
        system.outbox.deliver_due("email")
        assert row()["status"] == "sent" and row()["attempts"] == 4
        clock.advance(600)
        assert system.outbox.deliver_due("email") == 0
        receiver.release.set()
        (_path, headers, body), = receiver.requests
        assert headers["Idempotency-Key"] == row()["key"]
        assert body["version"] == "4" and body["status"] == "firing"
        assert receiver.attempts == 4
    finally:
        receiver.release.set()
        store.close()
        receiver.close()
