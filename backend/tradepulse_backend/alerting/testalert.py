"""Test alerts: one notification sent synchronously per channel, reporting whether it was
delivered and why not (`send_test_alert`, `tradepulse test-alert`, REST `test-alert`)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from tradepulse_backend.alerting.channels.base import (
    AlertChannel,
    DeliveryResult,
    DeliveryStatus,
    Notification,
)
from tradepulse_backend.alerting.severity import AlertSeverity
from tradepulse_backend.alerting.state import iso

logger = logging.getLogger(__name__)
ZERO_TIME = "0001-01-01T00:00:00Z"


def test_notification(channel: str, now_ns: int, external_url: str = "") -> Notification:
    """A harmless info notification naming itself a test."""
    alert = {"status": "firing", "labels": {"alertname": "tradepulse_test", "severity": "info"},
             "annotations": {"title": "Test alert", "message": "tradepulse test alert"},
             "startsAt": iso(now_ns), "endsAt": ZERO_TIME, "fingerprint": "test",
             "generatorURL": external_url}
    return Notification(
        key=f"test-{uuid.uuid4().hex[:12]}-{channel}", channel=channel, receiver="test",
        group_key="test", status="firing", severity=AlertSeverity.INFO,
        title="[TEST] tradepulse test alert",
        text="This is a test notification from tradepulse; delivery works.",
        alerts=(alert,), group_labels={}, common_labels=alert["labels"],
        common_annotations=alert["annotations"], figures={"sent_at": iso(now_ns) or ""},
        external_url=external_url)


def attempt(channel: AlertChannel, notification: Notification) -> DeliveryResult:
    """One send; an exception from a channel is a retryable result, never raised."""
    try:
        return channel.send(notification)
    except Exception as error:  # a channel bug must not stop its caller
        logger.exception("channel %s raised while sending", channel.name)
        return DeliveryResult(DeliveryStatus.RETRY, f"{type(error).__name__}: {error}")


def send_test_alerts(channels: Mapping[str, AlertChannel], names: Iterable[str] | None,
                     now_ns: int, external_url: str = "") -> dict[str, dict[str, Any]]:
    """Per channel name: {"ok", "status", "detail"} of one test notification."""
    results: dict[str, dict[str, Any]] = {}
    for name in (list(names) if names is not None else list(channels)):
        target = channels.get(name)
        if target is None:
            results[name] = {"ok": False, "status": "permanent",
                             "detail": f"channel {name!r} is not configured "
                                       f"(configured: {', '.join(channels) or 'none'})"}
            continue
        result = attempt(target, test_notification(name, now_ns, external_url))
        results[name] = {"ok": result.status is DeliveryStatus.OK,
                         "status": result.status.value, "detail": result.detail}
    return results
