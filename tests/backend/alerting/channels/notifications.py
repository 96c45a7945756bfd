"""Notifications and constants the channel tests share."""

from __future__ import annotations

from tradepulse_backend.alerting.channels import Attachment, Notification
from tradepulse_backend.alerting.severity import AlertSeverity

USER_AGENT = "tradepulse/9.9.9"


def make_notification(**overrides) -> Notification:
    """The seed's portfolio-loss alert as a firing notification, with `overrides` applied."""
    alert = {
        "status": "firing",
        "labels": {"alertname": "portfolio_loss_alert", "severity": "critical",
                   "service": "bot-1", "trading.broker": "alpaca"},
        "annotations": {"summary": "Portfolio Loss Alert",
                        "description": "Daily loss is -5.20%"},
        "startsAt": "2026-11-26T09:30:00.000Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://127.0.0.1:8080/alerts/abc123",
        "fingerprint": "abc123",
    }
    fields = {
        "key": "grp:portfolio_loss_alert/email/1",
        "channel": "email",
        "receiver": "email",
        "group_key": "grp:portfolio_loss_alert",
        "status": "firing",
        "severity": AlertSeverity.CRITICAL,
        "title": "Portfolio Loss Alert",
        "text": "Daily loss is -5.20% on bot-1",
        "alerts": (alert,),
        "group_labels": {"alertname": "portfolio_loss_alert"},
        "common_labels": dict(alert["labels"]),
        "common_annotations": dict(alert["annotations"]),
        "figures": {"daily_return": "-5.20%", "max_drawdown": "-8.10%"},
        "external_url": "http://127.0.0.1:8080/",
        "suppressed_note": None,
        "attachments": (),
    }
    fields.update(overrides)
    return Notification(**fields)


def report_attachment() -> Attachment:
    return Attachment("report.csv", "text/csv", b"date,return\n2026-11-26,-0.052\n")
