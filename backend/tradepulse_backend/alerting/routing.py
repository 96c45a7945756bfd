"""Routes and time intervals: which channels an alert goes to, grouped how, and when a route
is muted (Alertmanager's `mute_time_intervals` / `active_time_intervals`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from tradepulse_backend.config.alerting import AlertingSystemConfig, TimeInterval


def interval_active(intervals: Iterable[TimeInterval], now_ns: int) -> bool:
    """True when `now_ns` falls in any of the intervals (weekday and time of day, in each
    interval's own location)."""
    moment = datetime.fromtimestamp(now_ns / 1e9, UTC)
    for interval in intervals:
        local = moment.astimezone(ZoneInfo(interval.location))
        days = interval.day_numbers
        if days and local.weekday() not in days:
            continue
        minute = local.hour * 60 + local.minute
        if not interval.times or any(start <= minute < end
                                     for start, end in (t.minutes for t in interval.times)):
            return True
    return False


@dataclass(frozen=True)
class RouteMatch:
    """One route an alert takes: its id, channels, grouping and timing."""

    route_id: str
    channels: tuple[str, ...]
    group_by: tuple[str, ...]
    group_wait_ns: int
    group_interval_ns: int
    repeat_interval_ns: int
    mute: tuple[str, ...] = ()
    active: tuple[str, ...] = ()


class Router:
    """Matches alert labels against the configured routes (first match, then on while
    `continue`); a rule's own channels replace the route's channels."""

    def __init__(self, config: AlertingSystemConfig, channels: Iterable[str]) -> None:
        self.config = config
        self.channels = frozenset(channels)
        self.intervals = config.time_intervals

    def _match(self, index: int, route, channels: Iterable[str] | None) -> RouteMatch:
        c = self.config
        ns = 1_000_000_000
        chosen = tuple(ch for ch in (channels if channels is not None else route.channels)
                       if ch in self.channels)
        return RouteMatch(
            route_id=f"route{index}" if channels is None else f"route{index}/rule",
            channels=chosen,
            group_by=tuple(route.group_by if route.group_by is not None else c.group_by),
            group_wait_ns=int((route.group_wait if route.group_wait is not None
                               else c.group_wait) * ns),
            group_interval_ns=int((route.group_interval if route.group_interval is not None
                                   else c.group_interval) * ns),
            repeat_interval_ns=int((route.repeat_interval if route.repeat_interval is not None
                                    else c.repeat_interval) * ns),
            mute=tuple(route.mute_time_intervals), active=tuple(route.active_time_intervals))

    def routes(self, labels: Mapping[str, str], rule_channels: list[str] | None = None,
               rule_group_by: list[str] | None = None) -> list[RouteMatch]:
        """The routes an alert with `labels` takes; a rule's channels win over routes."""
        found: list[RouteMatch] = []
        for index, route in enumerate(self.config.routes):
            if not route.matches(labels):
                continue
            found.append(self._match(index, route, rule_channels))
            if rule_channels is not None or not route.continue_:
                break
        if not found and rule_channels is not None:
            found.append(self._match(len(self.config.routes), _fallback(), rule_channels))
        if rule_group_by is not None:
            found = [RouteMatch(m.route_id, m.channels, tuple(rule_group_by), m.group_wait_ns,
                                m.group_interval_ns, m.repeat_interval_ns, m.mute, m.active)
                     for m in found]
        return [m for m in found if m.channels]

    def muted(self, match: RouteMatch, now_ns: int) -> bool:
        """True outside the route's active intervals or inside a mute interval."""
        if match.active and not any(interval_active(self.intervals[name], now_ns)
                                    for name in match.active):
            return True
        return any(interval_active(self.intervals[name], now_ns) for name in match.mute)


def _fallback() -> _Catchall:
    return _Catchall()


class _Catchall:
    """A route matching everything, for rules naming channels when no route matches."""

    channels: tuple[str, ...] = ()
    group_by = None
    group_wait = group_interval = repeat_interval = None
    mute_time_intervals: tuple[str, ...] = ()
    active_time_intervals: tuple[str, ...] = ()
