"""Console channel: one log line per notification, at the severity's logging level."""

from __future__ import annotations

import logging

from tradepulse_backend.alerting.channels.base import (
    AlertChannel,
    DeliveryResult,
    DeliveryStatus,
    Notification,
)
from tradepulse_backend.clock import Clock
from tradepulse_backend.config.channels import ConsoleChannelConfig


class ConsoleChannel(AlertChannel):
    """Logs `[STATUS] title: text (figures)` on one line; never fails."""

    def __init__(self, name: str, config: ConsoleChannelConfig, *, user_agent: str = "",
                 clock: Clock | None = None) -> None:
        self.name = name
        self.send_resolved = config.send_resolved
        self.resend_interval = None
        self._logger = logging.getLogger(config.logger)

    def send(self, notification: Notification) -> DeliveryResult:
        """Log the notification as one line (newlines in the text are folded)."""
        parts = [f"[{notification.status.upper()}] {notification.title}"
                 if notification.alerts else notification.title]
        if notification.text:
            parts.append(notification.text)
        if notification.figures:
            parts.append(", ".join(f"{k}={v}" for k, v in notification.figures.items()))
        if notification.suppressed_note:
            parts.append(notification.suppressed_note)
        if notification.external_url:
            parts.append(notification.external_url)
        line = " | ".join(" ".join(part.split()) for part in parts)
        self._logger.log(notification.severity.log_level, "%s", line)
        return DeliveryResult(DeliveryStatus.OK)
