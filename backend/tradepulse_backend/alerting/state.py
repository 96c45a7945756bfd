"""Alert instances and their lifecycle: inactive -> pending (while `for` runs) -> firing ->
resolved, with `keep_firing_for` holding a cleared alert in firing. Pure: time is passed in."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class AlertState(StrEnum):
    """Where an alert instance is in its lifecycle."""

    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"


def fingerprint(rule: str, labels: Mapping[str, str]) -> str:
    """A stable id of an alert instance: its rule plus its identifying labels."""
    text = json.dumps([rule, sorted(labels.items())], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def iso(time_ns: int | None) -> str | None:
    """Nanoseconds as ISO 8601 UTC with milliseconds, or None."""
    if time_ns is None:
        return None
    stamp = datetime.fromtimestamp(time_ns / 1e9, UTC)
    return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Alert:
    """One alert instance of a rule for one subject (service, portfolio, metric series)."""

    fingerprint: str
    rule: str
    severity: str
    labels: dict[str, str]
    annotations: dict[str, str] = field(default_factory=dict)
    state: AlertState = AlertState.PENDING
    title: str = ""
    message: str = ""
    value: float | None = None
    threshold: float | None = None
    active_ns: int = 0
    since_ns: int = 0
    fired_ns: int | None = None
    resolved_ns: int | None = None
    last_true_ns: int = 0
    acknowledged: bool = False
    silenced: bool = False
    notified: bool = False

    @property
    def service(self) -> str:
        return self.labels.get("service", "")

    def to_dict(self) -> dict[str, Any]:
        """The REST and bus shape of this alert."""
        return {
            "fingerprint": self.fingerprint, "rule": self.rule, "state": str(self.state),
            "severity": self.severity, "title": self.title, "message": self.message,
            "service": self.service, "labels": dict(self.labels),
            "annotations": dict(self.annotations), "value": self.value,
            "threshold": self.threshold, "since": iso(self.since_ns),
            "starts_at": iso(self.fired_ns if self.fired_ns is not None else self.active_ns),
            "ends_at": iso(self.resolved_ns), "acknowledged": self.acknowledged,
            "silenced": self.silenced,
        }

    def to_record(self) -> dict[str, Any]:
        """Everything needed to restore this instance after a restart."""
        record = {name: getattr(self, name) for name in _FIELDS}
        record["state"] = str(self.state)
        record["labels"] = dict(self.labels)
        record["annotations"] = dict(self.annotations)
        return record

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Alert:
        known = {name: record[name] for name in cls.__dataclass_fields__ if name in record}
        known["state"] = AlertState(known.get("state", "pending"))
        return cls(**known)


_FIELDS = tuple(f.name for f in fields(Alert))


@dataclass(frozen=True, slots=True)
class Timing:
    """A rule's `for` and `keep_firing_for`, in nanoseconds."""

    for_ns: int = 0
    keep_firing_ns: int = 0


def advance(alert: Alert, active: bool, now_ns: int, timing: Timing) -> bool:
    """Move a live (pending or firing) alert one evaluation on; True when its state changed.
    A pending alert whose condition clears is left pending: the caller drops it."""
    if active:
        alert.last_true_ns = now_ns
        if alert.state is AlertState.PENDING and now_ns - alert.active_ns >= timing.for_ns:
            alert.state = AlertState.FIRING
            alert.fired_ns = alert.since_ns = now_ns
            return True
        return False
    if alert.state is AlertState.FIRING and now_ns - alert.last_true_ns >= timing.keep_firing_ns:
        alert.state = AlertState.RESOLVED
        alert.resolved_ns = alert.since_ns = now_ns
        return True
    return False


def start(alert: Alert, now_ns: int, timing: Timing) -> None:
    """A new instance whose condition just became true: pending, or firing at once when the
    rule has no `for`."""
    alert.active_ns = alert.since_ns = alert.last_true_ns = now_ns
    alert.state = AlertState.PENDING
    if timing.for_ns <= 0:
        alert.state = AlertState.FIRING
        alert.fired_ns = now_ns
