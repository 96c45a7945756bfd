"""Trading days, weeks, months and years of timestamps in the configured timezone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

_HOUR_NS = 3_600 * 10**9


class TradingCalendar:
    """Maps unix-nanosecond times to local calendar days; UTC offsets only change on the hour
    in practice, so each hour is converted once and cached."""

    def __init__(self, timezone: str = "UTC") -> None:
        self.timezone = timezone
        self.zone = ZoneInfo(timezone)
        self._hours: dict[int, int] = {}

    def day(self, time_ns: int) -> int:
        """Proleptic ordinal of the local date of `time_ns`."""
        hour, rest = divmod(int(time_ns), _HOUR_NS)
        start = self._hours.get(hour)
        if start is None:
            if len(self._hours) > 100_000:
                self._hours.clear()
            start = self._hours[hour] = self._local_minutes(hour)
        return (start + rest // 60_000_000_000) // 1440

    def _local_minutes(self, hour: int) -> int:
        """Local minutes since 0001-01-01 at the start of a UTC hour."""
        local = datetime.fromtimestamp(hour * 3600, UTC).astimezone(self.zone)
        return local.date().toordinal() * 1440 + local.hour * 60 + local.minute

    def days(self, times_ns: np.ndarray) -> np.ndarray:
        """`day` of every element, vectorized over the distinct hours."""
        times = np.asarray(times_ns, dtype=np.int64)
        hours, rest = np.divmod(times, _HOUR_NS)
        unique, inverse = np.unique(hours, return_inverse=True)
        starts = np.array([self._local_minutes(int(h)) for h in unique], dtype=np.int64)
        return (starts[inverse] + rest // 60_000_000_000) // 1440

    @staticmethod
    def week(day: int) -> int:
        """The ordinal of the Monday starting the day's week."""
        return day - date.fromordinal(day).weekday()

    @staticmethod
    def month(day: int) -> int:
        found = date.fromordinal(day)
        return found.year * 12 + found.month - 1

    @staticmethod
    def year(day: int) -> int:
        return date.fromordinal(day).year

    def start_ns(self, day: int) -> int:
        """Unix nanoseconds of local midnight starting `day`."""
        midnight = datetime.combine(date.fromordinal(day), datetime.min.time(), self.zone)
        return int(midnight.timestamp()) * 10**9

    def period_start_ns(self, period: str, now_ns: int) -> int:
        """Start of the current day, week, month or year containing `now_ns`."""
        today = self.day(now_ns)
        current = date.fromordinal(today)
        first = {
            "day": current,
            "week": current - timedelta(days=current.weekday()),
            "month": current.replace(day=1),
            "ytd": current.replace(month=1, day=1),
        }[period]
        return self.start_ns(first.toordinal())
