"""Presentation every channel shares: severity colours, the status word, plain-text body."""

from __future__ import annotations

from datetime import UTC, datetime

from tradepulse_backend.alerting.channels.base import Notification
from tradepulse_backend.alerting.severity import AlertSeverity

SEVERITY_COLOURS: dict[AlertSeverity, int] = {
    AlertSeverity.INFO: 0x2F80ED,
    AlertSeverity.WARNING: 0xF2C94C,
    AlertSeverity.CRITICAL: 0xEB5757,
}
RESOLVED_COLOUR = 0x27AE60


def colour(notification: Notification) -> int:
    """Green when resolved, else the severity's colour, as 0xRRGGBB."""
    if notification.status == "resolved":
        return RESOLVED_COLOUR
    return SEVERITY_COLOURS[notification.severity]


def hex_colour(notification: Notification) -> str:
    """The same colour as ``#rrggbb``."""
    return f"#{colour(notification):06x}"


def heading(notification: Notification) -> str:
    """``[FIRING:2] CRITICAL Portfolio loss`` — status, alert count, severity and title; just
    the title for a notification carrying no alerts (a report, a channel-health message)."""
    if not notification.alerts:
        return notification.title
    count = f":{len(notification.alerts)}" if len(notification.alerts) > 1 else ""
    return (f"[{notification.status.upper()}{count}] {notification.severity.value.upper()} "
            f"{notification.title}")


def plain_text(notification: Notification) -> str:
    """The message as plain text: text, figures, the suppressed note and the dashboard link."""
    lines = [notification.text] if notification.text else []
    if notification.figures:
        lines.append("")
        lines.extend(f"{name}: {value}" for name, value in notification.figures.items())
    if notification.suppressed_note:
        lines.extend(["", notification.suppressed_note])
    if notification.external_url:
        lines.extend(["", f"Dashboard: {notification.external_url}"])
    return "\n".join(lines)


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters with a visible ellipsis, for receivers' size limits."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def rfc3339(epoch_seconds: float) -> str:
    """``2026-11-26T09:40:00.000Z`` for Alertmanager's timestamps."""
    moment = datetime.fromtimestamp(epoch_seconds, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
