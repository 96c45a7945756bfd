"""Alert channels behind one interface, built from config by a table of type names."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tradepulse_backend.alerting.channels.base import (
    AlertChannel,
    Attachment,
    DeliveryResult,
    DeliveryStatus,
    Notification,
)
from tradepulse_backend.alerting.channels.console import ConsoleChannel
from tradepulse_backend.config.channels import AnyChannelConfig

__all__ = [
    "CHANNEL_TYPES",
    "AlertChannel",
    "Attachment",
    "DeliveryResult",
    "DeliveryStatus",
    "Notification",
    "build_channels",
]

ChannelFactory = Callable[..., AlertChannel]

CHANNEL_TYPES: dict[str, ChannelFactory] = {
    "console": ConsoleChannel,
}
"""Channel class per config `type`; each is called as `cls(name, config, user_agent=...)`."""


def build_channels(
    configs: Mapping[str, AnyChannelConfig], *, user_agent: str
) -> dict[str, AlertChannel]:
    """One channel object per configured name, ready to send."""
    channels: dict[str, AlertChannel] = {}
    for name, config in configs.items():
        factory: Any = CHANNEL_TYPES[config.type]
        channels[name] = factory(name, config, user_agent=user_agent)
    return channels
