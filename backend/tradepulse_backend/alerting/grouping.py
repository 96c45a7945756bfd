"""Aggregation groups as Alertmanager keeps them: per route, channel and `group_by` labels, a
first notification after `group_wait`, changes at most every `group_interval`, repeats after
`repeat_interval`. Acknowledged alerts trigger no repeats; silenced ones are not notified."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tradepulse_backend.alerting.routing import RouteMatch, Router
from tradepulse_backend.alerting.state import Alert, AlertState


@dataclass
class Group:
    """One aggregation group for one channel; `sent_firing` is what the channel last heard
    was firing, `seq` numbers its notifications (part of the idempotency key)."""

    key: str
    route: RouteMatch
    channel: str
    labels: dict[str, str]
    first_ns: int
    next_flush_ns: int
    last_notify_ns: int | None = None
    sent_firing: set[str] = field(default_factory=set)
    seq: int = 0
    alerts: dict[str, Alert] = field(default_factory=dict)

    @property
    def short_key(self) -> str:
        return hashlib.sha256(self.key.encode()).hexdigest()[:16]

    def to_record(self) -> dict[str, Any]:
        return {"first_ns": self.first_ns, "next_flush_ns": self.next_flush_ns,
                "last_notify_ns": self.last_notify_ns, "sent_firing": sorted(self.sent_firing),
                "seq": self.seq}


@dataclass
class Draft:
    """A notification a group decided to send: what fired, what resolved, for one channel."""

    group: Group
    seq: int
    firing: list[Alert]
    resolved: list[Alert]

    @property
    def key(self) -> str:
        return f"{self.group.short_key}-{self.group.channel}-{self.seq}"


class Dispatcher:
    """Places alerts in groups and decides, on each `flush(now)`, which groups notify."""

    def __init__(self, router: Router, *, send_resolved: Callable[[str], bool],
                 silenced: Callable[[Mapping[str, str], int], bool],
                 resend_interval: Callable[[str], float | None] = lambda channel: None,
                 saved: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.router = router
        self.send_resolved = send_resolved
        self.silenced = silenced
        self.resend_interval = resend_interval
        self.groups: dict[str, Group] = {}
        self.on_new_group: Callable[[], None] = lambda: None
        self._saved = dict(saved or {})

    def add(self, alert: Alert, routes: list[RouteMatch], now_ns: int) -> None:
        """Put a changed (or restored) alert into its groups, creating them as needed."""
        for route in routes:
            labels = {name: alert.labels.get(name, "") for name in route.group_by}
            for channel in route.channels:
                key = f"{route.route_id}|{channel}|{json.dumps(labels, sort_keys=True)}"
                group = self.groups.get(key)
                if group is None:
                    group = Group(key, route, channel, labels, now_ns,
                                  now_ns + route.group_wait_ns)
                    saved = self._saved.pop(key, None)
                    if saved is not None:
                        group.first_ns = saved["first_ns"]
                        group.next_flush_ns = saved["next_flush_ns"]
                        group.last_notify_ns = saved["last_notify_ns"]
                        group.sent_firing = set(saved["sent_firing"])
                        group.seq = saved["seq"]
                    self.groups[key] = group
                    self.on_new_group()
                group.alerts[alert.fingerprint] = alert

    def next_flush_ns(self) -> int | None:
        """When the earliest group is due, or None without groups."""
        return min((group.next_flush_ns for group in self.groups.values()), default=None)

    def due(self, now_ns: int) -> bool:
        return any(group.next_flush_ns <= now_ns for group in self.groups.values())

    def flush(self, now_ns: int) -> tuple[list[Draft], list[tuple[str, dict | None]]]:
        """Drafts of the notifications due now, and the group states to save with them
        (None: the group ended)."""
        drafts: list[Draft] = []
        changed: list[tuple[str, dict | None]] = []
        for key, group in list(self.groups.items()):
            if group.next_flush_ns > now_ns:
                continue
            draft = self._flush_group(group, now_ns)
            if draft is not None:
                drafts.append(draft)
            group.next_flush_ns = now_ns + group.route.group_interval_ns
            for fingerprint, alert in list(group.alerts.items()):
                if alert.state is AlertState.RESOLVED:
                    del group.alerts[fingerprint]
                    group.sent_firing.discard(fingerprint)
            if not group.alerts:
                del self.groups[key]
                changed.append((key, None))
            else:
                changed.append((key, group.to_record()))
        return drafts, changed

    def _flush_group(self, group: Group, now_ns: int) -> Draft | None:
        if self.router.muted(group.route, now_ns):
            return None
        firing = [a for a in group.alerts.values() if a.state is AlertState.FIRING
                  and not self.silenced(a.labels, now_ns)]
        resolved = [a for a in group.alerts.values() if a.state is AlertState.RESOLVED
                    and a.fingerprint in group.sent_firing]
        firing_now = {a.fingerprint for a in firing}
        new = firing_now - group.sent_firing
        want_resolved = bool(resolved) and self.send_resolved(group.channel)
        since_last = None if group.last_notify_ns is None else now_ns - group.last_notify_ns
        resend = self.resend_interval(group.channel)
        repeat = since_last is not None and bool(firing) and (
            (any(not a.acknowledged for a in firing)
             and since_last >= group.route.repeat_interval_ns)
            or (resend is not None and since_last >= resend * 1e9))
        group.sent_firing = firing_now
        if not (new or want_resolved or repeat):
            return None
        group.seq += 1
        group.last_notify_ns = now_ns
        return Draft(group, group.seq, firing, resolved if want_resolved else [])
