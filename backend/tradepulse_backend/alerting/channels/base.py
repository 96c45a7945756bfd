"""The one interface every alert channel implements, and the records it sends and returns."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from tradepulse_backend.alerting.severity import AlertSeverity


class DeliveryStatus(Enum):
    """Outcome of one send: delivered, worth retrying later, or never going to work."""

    OK = "ok"
    RETRY = "retry"
    PERMANENT = "permanent"


@dataclass(frozen=True)
class DeliveryResult:
    """What a channel reports back to the outbox; `retry_after` is in seconds."""

    status: DeliveryStatus
    detail: str = ""
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        """True when the receiver accepted the notification."""
        return self.status is DeliveryStatus.OK


@dataclass(frozen=True)
class Attachment:
    """A file sent with a notification (the performance report's HTML and CSV)."""

    filename: str
    content_type: str
    data: bytes = field(repr=False)


NOTIFICATION_STATUSES = ("firing", "resolved")


@dataclass(frozen=True)
class Notification:
    """One message for one channel, already rendered; `key` is its idempotency key."""

    key: str
    channel: str
    receiver: str
    group_key: str
    status: str
    severity: AlertSeverity
    title: str
    text: str
    alerts: tuple[Mapping[str, Any], ...]
    group_labels: Mapping[str, str]
    common_labels: Mapping[str, str]
    common_annotations: Mapping[str, str]
    figures: Mapping[str, str]
    external_url: str
    suppressed_note: str | None = None
    attachments: tuple[Attachment, ...] = ()

    def __post_init__(self) -> None:
        """Accept a severity name for `severity`; refuse a status channels cannot render."""
        if self.status not in NOTIFICATION_STATUSES:
            raise ValueError(f"status {self.status!r} is not one of {NOTIFICATION_STATUSES}")
        object.__setattr__(self, "severity", AlertSeverity.parse(self.severity))


class AlertChannel(ABC):
    """A destination for notifications; `send` makes one attempt and never sleeps or loops."""

    name: str
    send_resolved: bool = True
    resend_interval: float | None = None
    supports_attachments: bool = False

    @abstractmethod
    def send(self, notification: Notification) -> DeliveryResult:
        """Deliver `notification` once, within this channel's own timeout."""

    def close(self) -> None:
        """Release connections held by the channel; the default holds none."""
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"
