"""Discord channel: one webhook message with an embed coloured by severity."""

from __future__ import annotations

from typing import Any

from tradepulse_backend.alerting.channels.base import AlertChannel, DeliveryResult, Notification
from tradepulse_backend.alerting.channels.http import HttpPoster, url_secrets
from tradepulse_backend.alerting.channels.render import clip, colour, heading
from tradepulse_backend.clock import Clock, SystemClock
from tradepulse_backend.config.channels import DiscordChannelConfig

_MAX_FIELDS = 25


def discord_payload(notification: Notification, username: str) -> dict[str, Any]:
    """Webhook body: an embed with title, text, the figures as inline fields and a link."""
    embed: dict[str, Any] = {
        "title": clip(heading(notification), 256),
        "description": clip(notification.text, 4096),
        "color": colour(notification),
        "fields": [
            {"name": clip(name, 256), "value": clip(value, 1024) or "n/a", "inline": True}
            for name, value in list(notification.figures.items())[:_MAX_FIELDS]
        ],
    }
    if notification.external_url:
        embed["url"] = notification.external_url
    if notification.suppressed_note:
        embed["footer"] = {"text": clip(notification.suppressed_note, 2048)}
    return {"username": username, "embeds": [embed], "allowed_mentions": {"parse": []}}


class DiscordChannel(AlertChannel):
    """POSTs to the Discord webhook URL (a secret: its path holds the token)."""

    def __init__(self, name: str, config: DiscordChannelConfig, *, user_agent: str,
                 clock: Clock | None = None) -> None:
        self.name = name
        self.send_resolved = config.send_resolved
        self.resend_interval = None
        self._url = config.webhook_url.get_secret_value()
        self._username = config.username
        self._poster = HttpPoster(user_agent=user_agent, timeout=config.timeout,
                                  clock=clock or SystemClock(), secrets=url_secrets(self._url))

    def send(self, notification: Notification) -> DeliveryResult:
        """One POST; Discord's 429 carries Retry-After, which the poster honours."""
        result, _ = self._poster.post_json(
            self._url, discord_payload(notification, self._username), key=notification.key)
        return result
