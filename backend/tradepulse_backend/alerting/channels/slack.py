"""Slack channel: Block Kit with a severity colour bar, by incoming webhook or chat.postMessage."""

from __future__ import annotations

from typing import Any

from tradepulse_backend.alerting.channels.base import (
    AlertChannel,
    DeliveryResult,
    DeliveryStatus,
    Notification,
)
from tradepulse_backend.alerting.channels.http import HttpPoster, url_secrets
from tradepulse_backend.alerting.channels.render import clip, heading, hex_colour
from tradepulse_backend.clock import Clock, SystemClock
from tradepulse_backend.config.channels import SlackChannelConfig

_MAX_FIELDS = 10
_RETRYABLE_ERRORS = frozenset({
    "internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited",
    "team_added_to_org",
})
"""chat.postMessage errors (sent with HTTP 200) that a later attempt may get past."""


def slack_blocks(notification: Notification) -> list[dict[str, Any]]:
    """Header, text, the figures as fields, the suppressed note and a dashboard button."""
    blocks: list[dict[str, Any]] = [
        {"type": "header",
         "text": {"type": "plain_text", "text": clip(heading(notification), 150)}},
    ]
    if notification.text:
        blocks.append({"type": "section",
                       "text": {"type": "plain_text", "text": clip(notification.text, 3000)}})
    if notification.figures:
        blocks.append({"type": "section", "fields": [
            {"type": "mrkdwn", "text": clip(f"*{name}*\n{value}", 2000)}
            for name, value in list(notification.figures.items())[:_MAX_FIELDS]
        ]})
    if notification.suppressed_note:
        blocks.append({"type": "context", "elements": [
            {"type": "plain_text", "text": clip(notification.suppressed_note, 3000)}]})
    if notification.external_url:
        blocks.append({"type": "actions", "elements": [{
            "type": "button", "text": {"type": "plain_text", "text": "Open dashboard"},
            "url": notification.external_url}]})
    return blocks


def slack_payload(notification: Notification) -> dict[str, Any]:
    """Message body: the blocks inside an attachment, which gives the colour bar."""
    return {
        "text": clip(heading(notification), 3000),
        "attachments": [{"color": hex_colour(notification), "blocks": slack_blocks(notification)}],
    }


class SlackChannel(AlertChannel):
    """Posts to an incoming webhook, or with a bot token to `channel` via chat.postMessage."""

    def __init__(self, name: str, config: SlackChannelConfig, *, user_agent: str,
                 clock: Clock | None = None) -> None:
        self.name = name
        self.send_resolved = config.send_resolved
        self.resend_interval = None
        self._webhook = config.webhook_url.get_secret_value() if config.webhook_url else None
        self._token = config.bot_token.get_secret_value() if config.bot_token else None
        self._channel = config.channel
        self._username = config.username
        self._api_url = config.api_url.rstrip("/") + "/chat.postMessage"
        self._poster = HttpPoster(user_agent=user_agent, timeout=config.timeout,
                                  clock=clock or SystemClock(),
                                  secrets=[*url_secrets(self._webhook or ""), self._token or ""])

    def send(self, notification: Notification) -> DeliveryResult:
        """One POST; chat.postMessage's `ok: false` replies are classified by error name."""
        payload = slack_payload(notification)
        if self._username:
            payload["username"] = self._username
        if self._webhook is not None:
            result, _ = self._poster.post_json(self._webhook, payload, key=notification.key)
            return result
        payload["channel"] = self._channel
        result, reply = self._poster.post_json(
            self._api_url, payload, key=notification.key,
            headers={"Authorization": f"Bearer {self._token}"})
        if result.status is not DeliveryStatus.OK or reply is None:
            return result
        answer = reply.json()
        if isinstance(answer, dict) and answer.get("ok") is True:
            return result
        error = str(answer.get("error")) if isinstance(answer, dict) else "reply is not JSON"
        status = DeliveryStatus.RETRY if error in _RETRYABLE_ERRORS else DeliveryStatus.PERMANENT
        return DeliveryResult(status, self._poster.scrub(f"Slack API error: {error}"))
