"""Alertmanager channel: forwards alerts to a Prometheus Alertmanager (`POST /api/v2/alerts`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from tradepulse_backend.alerting.channels.base import (
    AlertChannel,
    DeliveryResult,
    DeliveryStatus,
    Notification,
)
from tradepulse_backend.alerting.channels.http import HttpPoster, auth_headers, header_secrets
from tradepulse_backend.alerting.channels.render import rfc3339
from tradepulse_backend.clock import Clock, SystemClock
from tradepulse_backend.config.channels import AlertmanagerChannelConfig

_INVALID_LABEL_CHARS = re.compile(r"[^a-zA-Z0-9_]")
VALID_FOR_RESENDS = 4
"""A firing alert's endsAt lies this many resend intervals ahead, as Prometheus sets it, so
Alertmanager resolves it by itself if we stop re-sending."""


def label_name(name: str) -> str:
    """A Prometheus label name: `trading.broker` becomes `trading_broker`."""
    cleaned = _INVALID_LABEL_CHARS.sub("_", name)
    return f"_{cleaned}" if not cleaned or cleaned[0].isdigit() else cleaned


def _labels(alert: Mapping[str, Any], notification: Notification) -> dict[str, str]:
    labels = {label_name(str(k)): str(v) for k, v in (alert.get("labels") or {}).items()
              if str(v) != ""}
    labels.setdefault("alertname", notification.title or notification.group_key)
    labels.setdefault("severity", notification.severity.value)
    return labels


def alertmanager_alerts(
    notification: Notification, *, now: float, valid_for: float
) -> list[dict[str, Any]]:
    """The v2 API body: one postable alert per alert of the notification."""
    posted = []
    for alert in notification.alerts:
        item: dict[str, Any] = {
            "labels": _labels(alert, notification),
            "annotations": {str(k): str(v) for k, v in (alert.get("annotations") or {}).items()},
            "generatorURL": alert.get("generatorURL") or notification.external_url,
        }
        if starts := alert.get("startsAt"):
            item["startsAt"] = starts
        ends = alert.get("endsAt")
        if alert.get("status", notification.status) == "resolved":
            item["endsAt"] = ends if ends and not str(ends).startswith("0001-") else rfc3339(now)
        else:
            item["endsAt"] = rfc3339(now + valid_for)
        if not item["generatorURL"]:
            del item["generatorURL"]
        posted.append(item)
    return posted


class AlertmanagerChannel(AlertChannel):
    """Posts alerts to `<url>/api/v2/alerts`; the engine re-sends firing ones every
    `resend_interval` seconds, as Alertmanager expects of its clients."""

    def __init__(self, name: str, config: AlertmanagerChannelConfig, *, user_agent: str,
                 clock: Clock | None = None) -> None:
        self.name = name
        self.send_resolved = config.send_resolved
        self.resend_interval = config.resend_interval
        self._url = config.url.rstrip("/") + "/api/v2/alerts"
        self._headers = auth_headers(config.headers, config.basic_auth)
        self._clock = clock or SystemClock()
        self._poster = HttpPoster(user_agent=user_agent, timeout=config.timeout,
                                  clock=self._clock,
                                  secrets=header_secrets(self._headers, config.basic_auth))

    def send(self, notification: Notification) -> DeliveryResult:
        """One POST of all the notification's alerts; one without alerts (a report) has
        nothing to forward."""
        if not notification.alerts:
            return DeliveryResult(DeliveryStatus.OK, "no alerts to forward")
        body = alertmanager_alerts(notification, now=self._clock.now_ns() / 1e9,
                                   valid_for=VALID_FOR_RESENDS * self.resend_interval)
        result, _ = self._poster.post_json(self._url, body, key=notification.key,
                                           headers=self._headers)
        return result
