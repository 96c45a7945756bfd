"""Query-string parsing for the REST API, with errors that name the bad parameter."""

from __future__ import annotations

import time
from datetime import datetime

from werkzeug.datastructures import MultiDict

from tradepulse_backend.clock import duration_ns


class BadParameter(ValueError):
    """A query parameter that cannot be used; the message names it."""


def time_ns(args: MultiDict, name: str, *, default: int | None, now_ns: int | None = None
            ) -> int | None:
    """A point in time given as unix seconds, ISO-8601, or a duration back from now ('15m')."""
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    now_ns = time.time_ns() if now_ns is None else now_ns
    back = duration_ns(raw)
    if back is not None:
        return now_ns - back
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
