"""Durations written the Prometheus way (`90s`, `15m`, `6h`, `30d`, `2w`), parsed in one place."""

from __future__ import annotations

import re

_DURATION = re.compile(r"^-?(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$")
_UNIT_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def duration_ns(text: str) -> int | None:
    """Nanoseconds of a duration such as `15m`, or None when `text` is not one."""
    match = _DURATION.match(text.strip())
    if match is None:
        return None
    return int(float(match.group(1)) * _UNIT_S[match.group(2)] * 1e9)
