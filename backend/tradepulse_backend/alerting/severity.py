"""Alert severity: a closed, ordered set (info < warning < critical) parsed in any case."""

from __future__ import annotations

import logging
from enum import StrEnum


class AlertSeverity(StrEnum):
    """How urgent an alert is; compares by rank, so ``CRITICAL > WARNING`` holds."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @classmethod
    def _missing_(cls, value: object) -> AlertSeverity | None:
        """Accept any case and surrounding blanks (``"Critical"``, ``" WARNING "``)."""
        if isinstance(value, str):
            folded = value.strip().lower()
            for member in cls:
                if member.value == folded:
                    return member
        return None

    @classmethod
    def parse(cls, value: str | AlertSeverity) -> AlertSeverity:
        """The severity named by `value`; a ValueError lists the accepted names."""
        try:
            return cls(value)
        except ValueError:
            names = ", ".join(member.value for member in cls)
            raise ValueError(f"{value!r} is not a severity; expected one of {names}") from None

    @property
    def rank(self) -> int:
        """Position in the order info (0) < warning (1) < critical (2)."""
        return _RANKS[self]

    @property
    def log_level(self) -> int:
        """The `logging` level a notification of this severity is logged at."""
        return _LOG_LEVELS[self]

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, AlertSeverity):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, AlertSeverity):
            return NotImplemented
        return self.rank <= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, AlertSeverity):
            return NotImplemented
        return self.rank > other.rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, AlertSeverity):
            return NotImplemented
        return self.rank >= other.rank

    __hash__ = str.__hash__


_RANKS = {AlertSeverity.INFO: 0, AlertSeverity.WARNING: 1, AlertSeverity.CRITICAL: 2}
_LOG_LEVELS = {
    AlertSeverity.INFO: logging.INFO,
    AlertSeverity.WARNING: logging.WARNING,
    AlertSeverity.CRITICAL: logging.CRITICAL,
}
