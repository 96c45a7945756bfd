"""Alert channels behind one interface, built from config by a table of type names."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tradepulse_backend.alerting.channels.alertmanager import AlertmanagerChannel
from tradepulse_backend.alerting.channels.apprise import AppriseChannel, ChannelUnavailableError
from tradepulse_backend.alerting.channels.base import (
    AlertChannel,
    Attachment,
    DeliveryResult,
    DeliveryStatus,
    Notification,
)
from tradepulse_backend.alerting.channels.console import ConsoleChannel
from tradepulse_backend.alerting.channels.discord import DiscordChannel
from tradepulse_backend.alerting.channels.email import EmailChannel
from tradepulse_backend.alerting.channels.slack import SlackChannel
from tradepulse_backend.alerting.channels.webhook import WebhookChannel
from tradepulse_backend.clock import Clock, SystemClock
from tradepulse_backend.config.channels import AnyChannelConfig

__all__ = [
    "CHANNEL_TYPES",
    "AlertChannel",
    "Attachment",
    "ChannelUnavailableError",
    "DeliveryResult",
    "DeliveryStatus",
    "Notification",
    "build_channels",
]

ChannelFactory = Callable[..., AlertChannel]

CHANNEL_TYPES: dict[str, ChannelFactory] = {
    "email": EmailChannel,
    "slack": SlackChannel,
    "discord": DiscordChannel,
    "webhook": WebhookChannel,
    "alertmanager": AlertmanagerChannel,
    "apprise": AppriseChannel,
    "console": ConsoleChannel,
}
"""Channel class per config `type`; each is called as
`cls(name, config, user_agent=..., clock=...)`."""


def build_channels(
    configs: Mapping[str, AnyChannelConfig], *, user_agent: str, clock: Clock | None = None
) -> dict[str, AlertChannel]:
    """One channel object per configured name, ready to send; a channel that cannot work here
    raises ChannelUnavailableError (naming the missing extra) or ValueError."""
    clock = clock or SystemClock()
    channels: dict[str, AlertChannel] = {}
    for name, config in configs.items():
        factory: Any = CHANNEL_TYPES[config.type]
        channels[name] = factory(name, config, user_agent=user_agent, clock=clock)
    return channels
