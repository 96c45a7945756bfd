"""Query-string parsing for the REST API, with errors that name the bad parameter."""

from __future__ import annotations

import re
import time
from datetime import datetime

from werkzeug.datastructures import MultiDict

_DURATION = re.compile(r"^-?(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$")
_UNIT_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class BadParameter(ValueError):
    """A query parameter that cannot be used; the message names it."""


def time_ns(args: MultiDict, name: str, *, default: int | None, now_ns: int | None = None
            ) -> int | None:
    """A point in time given as unix seconds, ISO-8601, or a duration back from now ('15m')."""
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    now_ns = time.time_ns() if now_ns is None else now_ns
    match = _DURATION.match(raw.strip())
    if match:
        return now_ns - int(float(match.group(1)) * _UNIT_S[match.group(2)] * 1e9)
    try:
        return int(float(raw) * 1e9)
    except ValueError:
        pass
    try:
        stamp = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadParameter(
            f"{name}: expected unix seconds, ISO-8601 or a duration like 15m, got {raw!r}"
        ) from None
    if stamp.tzinfo is None:
        raise BadParameter(f"{name}: ISO-8601 time needs a timezone (e.g. Z), got {raw!r}")
    return int(stamp.timestamp() * 1e9)


def integer(args: MultiDict, name: str, *, default: int, low: int, high: int) -> int:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadParameter(f"{name}: expected an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise BadParameter(f"{name}: must be between {low} and {high}, got {value}")
    return value


def attribute_filters(args: MultiDict) -> dict[str, str]:
    """`attr.trading.symbol=AAPL` parameters as {'trading.symbol': 'AAPL'}."""
    return {key[5:]: value for key, value in args.items() if key.startswith("attr.") and key[5:]}
