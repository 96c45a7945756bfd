"""Query-string parsing for the REST API, with errors that name the bad parameter.

Every value comes back inside the range the store can hold: times are unix nanoseconds in
[0, 2**63), durations are positive and at most MAX_DURATION_NS; anything else is a
BadParameter (a 400), never an overflow deep in a query (a 500).
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import TypeVar

from werkzeug.datastructures import MultiDict

from tradepulse_backend.clock import MAX_DURATION_NS, duration_ns

TIME_LIMIT_NS = 2**63
"""Times are stored as signed 64-bit nanoseconds; a time must be below this."""
_INTEGER = re.compile(r"^[+-]?[0-9]{1,30}$")
_SECONDS_LIMIT = Decimal(TIME_LIMIT_NS) / 10**9
E = TypeVar("E", bound=StrEnum)


class BadParameter(ValueError):
    """A query parameter that cannot be used; the message names it."""


def time_ns(args: MultiDict, name: str, *, default: int | None, now_ns: int | None = None
            ) -> int | None:
    """A point in time given as unix seconds, ISO-8601, or a duration back from now ('15m')."""
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    now_ns = time.time_ns() if now_ns is None else now_ns
    found = _duration_back(name, raw, now_ns)
    if found is None:
        found = _unix_seconds(name, raw)
    if found is None:
        found = _iso_time(name, raw)
    return found


def _duration_back(name: str, raw: str, now_ns: int) -> int | None:
    back = duration_ns(raw)
    if back is None:
        if raw.strip().startswith("-") and duration_ns(raw.strip()[1:]) is not None:
            raise BadParameter(f"{name}: a duration back from now is positive, e.g. "
                               f"{raw.strip()[1:]!r} for that long ago; got {raw!r}")
        return None
    if back > MAX_DURATION_NS:
        raise BadParameter(f"{name}: duration {raw!r} is longer than 100 years")
    return _in_range(name, raw, now_ns - back)


def _unix_seconds(name: str, raw: str) -> int | None:
    try:
        seconds = Decimal(raw.strip())
    except (InvalidOperation, ValueError):
        return None
    if not seconds.is_finite() or not 0 <= seconds < _SECONDS_LIMIT:
        raise BadParameter(f"{name}: unix seconds must be between 0 and "
                           f"{int(_SECONDS_LIMIT)}, got {raw[:40]!r}")
    return _in_range(name, raw, int(seconds * 10**9))


def _iso_time(name: str, raw: str) -> int:
    try:
        stamp = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadParameter(
            f"{name}: expected unix seconds, ISO-8601 or a duration like 15m, got {raw[:40]!r}"
        ) from None
    if stamp.tzinfo is None:
        raise BadParameter(f"{name}: ISO-8601 time needs a timezone (e.g. Z), got {raw!r}")
    try:
        seconds = stamp.timestamp()
    except (OverflowError, ValueError, OSError):
        raise BadParameter(f"{name}: time {raw!r} is out of range") from None
    return _in_range(name, raw, int(Decimal(str(seconds)) * 10**9))


def _in_range(name: str, raw: str, value_ns: int) -> int:
    if not 0 <= value_ns < TIME_LIMIT_NS:
        raise BadParameter(f"{name}: time {raw[:40]!r} is outside 1970 to 2262, "
                           "the range of stored timestamps")
    return value_ns


def integer(args: MultiDict, name: str, *, default: int, low: int, high: int) -> int:
    """A decimal integer parameter within [low, high]."""
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    if not _INTEGER.match(raw.strip()):
        raise BadParameter(f"{name}: expected an integer between {low} and {high}, "
                           f"got {raw[:40]!r}")
    value = int(raw.strip())
    if not low <= value <= high:
        raise BadParameter(f"{name}: must be between {low} and {high}, got {value}")
    return value


def choice(args: MultiDict, name: str, choices: type[E], default: E) -> E:
    """One of a closed set of words, as its enum member."""
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    try:
        return choices(raw)
    except ValueError:
        raise BadParameter(f"{name}: must be one of {', '.join(choices)}, got {raw[:40]!r}"
                           ) from None


def attribute_filters(args: MultiDict) -> dict[str, str]:
    """`attr.trading.symbol=AAPL` parameters as {'trading.symbol': 'AAPL'}."""
    return {key[5:]: value for key, value in args.items() if key.startswith("attr.") and key[5:]}
