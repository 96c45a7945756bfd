"""Per-channel rate limits: `max_per_hour` and `max_per_day`, with a `critical_reserve` share
of each that only critical notifications may use. Over the limit a notification is recorded
as suppressed, never dropped silently, and the channel's next notification carries
"+N alerts suppressed by rate limit since HH:MM: titles"."""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from tradepulse_backend.config.alerting import RateLimit

HOUR_NS = 3600 * 10**9
DAY_NS = 24 * HOUR_NS
MAX_TITLES = 5


class RateLimiter:
    """Sliding hour and day windows of notifications per channel."""

    def __init__(self, limits: Mapping[str, RateLimit]) -> None:
        self.limits = dict(limits)
        self._sent: dict[str, deque[int]] = {}
        self._suppressed: dict[str, list[tuple[int, str]]] = {}
        self._lock = threading.Lock()

    def restore(self, usage: Iterable[tuple[str, str, int, str]]) -> None:
        """Rebuild the windows from stored rows (channel, status, created_ns, title), oldest
        first: suppressed rows after a channel's last sent one are still to be reported."""
        for channel, status, created_ns, title in usage:
            if status == "suppressed":
                self._suppressed.setdefault(channel, []).append((created_ns, title))
            else:
                self._sent.setdefault(channel, deque()).append(created_ns)
                self._suppressed.pop(channel, None)

    def check(self, channel: str, critical: bool, now_ns: int) -> str | None:
        """None when the channel may send now (and the send is counted); else the reason."""
        limit = self.limits.get(channel)
        with self._lock:
            sent = self._sent.setdefault(channel, deque())
            while sent and sent[0] <= now_ns - DAY_NS:
                sent.popleft()
            if limit is not None:
                for bound, window, label in ((limit.max_per_hour, HOUR_NS, "max_per_hour"),
                                             (limit.max_per_day, DAY_NS, "max_per_day")):
                    if bound is None:
                        continue
                    used = sum(1 for t in sent if t > now_ns - window)
                    allowed = bound if critical else math.floor(
                        bound * (1 - limit.critical_reserve))
                    if used >= allowed:
                        share = "" if critical else \
                            f" ({bound - allowed} reserved for critical alerts)"
                        return f"rate limit: {channel} {label} {bound} reached{share}"
            sent.append(now_ns)
            return None

    def suppress(self, channel: str, title: str, now_ns: int) -> None:
        with self._lock:
            self._suppressed.setdefault(channel, []).append((now_ns, title))

    def take_note(self, channel: str) -> str | None:
        """The "+N suppressed" line for the channel's next notification, once."""
        with self._lock:
            found = self._suppressed.pop(channel, None)
        if not found:
            return None
        since = datetime.fromtimestamp(found[0][0] / 1e9, UTC).strftime("%H:%M UTC")
        titles = [title for _, title in found[:MAX_TITLES]]
        more = f", and {len(found) - MAX_TITLES} more" if len(found) > MAX_TITLES else ""
        return (f"+{len(found)} alerts suppressed by rate limit since {since}: "
                f"{', '.join(titles)}{more}")

    def suppressed_count(self, channel: str) -> int:
        with self._lock:
            return len(self._suppressed.get(channel, ()))
