"""Notifications from group drafts: rendered title and text, key figures and Alertmanager v4
alert objects; and their JSON form in the outbox."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from tradepulse_backend.alerting.channels.base import Attachment, Notification
from tradepulse_backend.alerting.grouping import Draft
from tradepulse_backend.alerting.severity import AlertSeverity
from tradepulse_backend.alerting.state import Alert, AlertState, iso
from tradepulse_backend.alerting.templates import format_value

ZERO_TIME = "0001-01-01T00:00:00Z"


def v4_alert(alert: Alert, external_url: str, status: str | None = None) -> dict[str, Any]:
    """An alert as Alertmanager's webhook v4 payload writes it."""
    resolved = alert.state is AlertState.RESOLVED
    annotations = {"title": alert.title, "message": alert.message, **alert.annotations}
    return {
        "status": status or ("resolved" if resolved else "firing"),
        "labels": dict(alert.labels), "annotations": annotations,
        "startsAt": iso(alert.fired_ns or alert.active_ns),
        "endsAt": iso(alert.resolved_ns) if resolved else ZERO_TIME,
        "fingerprint": alert.fingerprint,
        "generatorURL": f"{external_url.rstrip('/')}/#/alerts/{alert.fingerprint}",
        "value": alert.value, "threshold": alert.threshold,
    }


def _common(dicts: list[Mapping[str, str]]) -> dict[str, str]:
    if not dicts:
        return {}
    first = dicts[0]
    return {k: v for k, v in first.items() if all(d.get(k) == v for d in dicts[1:])}


def build(draft: Draft, *, external_url: str, suppressed_note: str | None = None
          ) -> Notification:
    """The notification a draft sends on its channel."""
    alerts = [*draft.firing, *draft.resolved]
    status = "firing" if draft.firing else "resolved"
    severity = max((AlertSeverity.parse(a.severity) for a in alerts),
                   default=AlertSeverity.INFO)
    lead = alerts[0]
    common_labels = _common([a.labels for a in alerts])
    service = common_labels.get("service")
    title = lead.title if len(alerts) == 1 else \
        lead.rule + (f" ({service})" if service else "")
    lines = []
    for alert in alerts:
        state = "RESOLVED" if alert.state is AlertState.RESOLVED else "FIRING"
        where = f" [{alert.service}]" if alert.service else ""
        text = f"{state}{where} {alert.title}"
        if alert.message:
            text += f": {alert.message}"
        text += f" (value {format_value(alert.value)}, threshold {format_value(alert.threshold)})"
        lines.append(text)
    if suppressed_note:
        lines.append(suppressed_note)
    figures = {"value": format_value(lead.value), "threshold": format_value(lead.threshold)}
    if lead.service:
        figures["service"] = lead.service
    if lead.labels.get("portfolio"):
        figures["portfolio"] = lead.labels["portfolio"]
    figures["since"] = iso(lead.fired_ns or lead.active_ns) or ""
    v4 = tuple(v4_alert(a, external_url) for a in alerts)
    return Notification(
        key=draft.key, channel=draft.group.channel, receiver=draft.group.route.route_id,
        group_key=draft.group.key, status=status, severity=severity, title=title,
        text="\n".join(lines), alerts=v4, group_labels=dict(draft.group.labels),
        common_labels=common_labels,
        common_annotations=_common([x["annotations"] for x in v4]), figures=figures,
        external_url=external_url, suppressed_note=suppressed_note)


def to_json(notification: Notification) -> dict[str, Any]:
    """The outbox body of a notification."""
    return {
        "key": notification.key, "channel": notification.channel,
        "receiver": notification.receiver, "group_key": notification.group_key,
        "status": notification.status, "severity": notification.severity.value,
        "title": notification.title, "text": notification.text,
        "alerts": [dict(a) for a in notification.alerts],
        "group_labels": dict(notification.group_labels),
        "common_labels": dict(notification.common_labels),
        "common_annotations": dict(notification.common_annotations),
        "figures": dict(notification.figures), "external_url": notification.external_url,
        "suppressed_note": notification.suppressed_note,
        "attachments": [{"filename": a.filename, "content_type": a.content_type,
                         "data": base64.b64encode(a.data).decode()}
                        for a in notification.attachments],
    }


def from_json(body: Mapping[str, Any]) -> Notification:
    return Notification(
        key=body["key"], channel=body["channel"], receiver=body["receiver"],
        group_key=body["group_key"], status=body["status"],
        severity=AlertSeverity.parse(body["severity"]), title=body["title"],
        text=body["text"], alerts=tuple(body["alerts"]),
        group_labels=body["group_labels"], common_labels=body["common_labels"],
        common_annotations=body["common_annotations"], figures=body["figures"],
        external_url=body["external_url"], suppressed_note=body.get("suppressed_note"),
        attachments=tuple(Attachment(a["filename"], a["content_type"],
                                     base64.b64decode(a["data"]))
                          for a in body.get("attachments", ())))
