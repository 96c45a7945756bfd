"""Webhook channel: Alertmanager's webhook payload (version 4), optionally HMAC-signed."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from tradepulse_backend.alerting.channels.base import AlertChannel, DeliveryResult, Notification
from tradepulse_backend.alerting.channels.http import HttpPoster, auth_headers, header_secrets
from tradepulse_backend.clock import Clock, SystemClock
from tradepulse_backend.config.channels import WebhookChannelConfig

SIGNATURE_HEADER = "X-Tradepulse-Signature"


def webhook_payload(notification: Notification) -> dict[str, Any]:
    """The body every Alertmanager webhook consumer understands (version 4)."""
    return {
        "version": "4",
        "groupKey": notification.group_key,
        "truncatedAlerts": 0,
        "status": notification.status,
        "receiver": notification.receiver,
        "groupLabels": dict(notification.group_labels),
        "commonLabels": dict(notification.common_labels),
        "commonAnnotations": dict(notification.common_annotations),
        "externalURL": notification.external_url,
        "alerts": [dict(alert) for alert in notification.alerts],
    }


def signature(secret: str, body: bytes) -> str:
    """``sha256=<hex>`` HMAC of the raw body, as GitHub and Stripe sign theirs."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookChannel(AlertChannel):
    """POSTs the payload to `url` with the configured headers."""

    def __init__(self, name: str, config: WebhookChannelConfig, *, user_agent: str,
                 clock: Clock | None = None) -> None:
        self.name = name
        self.send_resolved = config.send_resolved
        self.resend_interval = None
        self._url = config.url
        self._headers = auth_headers(config.headers, config.basic_auth)
        self._hmac = config.hmac_secret.get_secret_value() if config.hmac_secret else None
        self._poster = HttpPoster(
            user_agent=user_agent, timeout=config.timeout, clock=clock or SystemClock(),
            secrets=[*header_secrets(self._headers, config.basic_auth), self._hmac or ""])

    def send(self, notification: Notification) -> DeliveryResult:
        """POST the version-4 payload; the signature covers exactly the bytes sent."""
        body = json.dumps(webhook_payload(notification), separators=(",", ":"),
                          ensure_ascii=False).encode()
        headers = {**self._headers, "Content-Type": "application/json"}
        if self._hmac is not None:
            headers[SIGNATURE_HEADER] = signature(self._hmac, body)
        result, _ = self._poster.post(self._url, body, key=notification.key, headers=headers)
        return result
