"""Building blocks every config model module shares: the strict base model, secrets, hosts,
ports, duration and timezone checks. Kept apart from `models.py` so section modules
(`alerting.py`, `channels.py`) can use them while `models.py` imports those sections."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    SecretStr,
)
from pydantic_core import PydanticCustomError

from tradepulse_backend.clock import MAX_DURATION_NS, duration_ns

MASK = "********"


def _not_empty_secret(value: SecretStr) -> SecretStr:
    """Reject empty secrets: an empty API key would be a misconfiguration, not a key."""
    if not value.get_secret_value():
        raise PydanticCustomError("empty_secret", "must not be empty")
    return value


Secret = Annotated[
    SecretStr,
    AfterValidator(_not_empty_secret),
    PlainSerializer(lambda _: MASK, return_type=str, when_used="json"),
]
Port = Annotated[int, Field(ge=0, le=65535)]
Host = Annotated[str, Field(min_length=1)]


class _Section(BaseModel):
    """Base of every config model: unknown keys and non-finite numbers are errors."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


def merged_over_defaults(defaults: Callable[[], dict[str, Any]]) -> BeforeValidator:
    """A validator laying a user mapping over `defaults()`, so naming one entry keeps the
    others; an entry set to null is removed, and null for the whole mapping gives the defaults.
    Use as `Annotated[dict[str, Model], merged_over_defaults(factory)]`."""

    def merge(value: Any) -> Any:
        if value is None:
            return defaults()
        if not isinstance(value, Mapping):
            return value
        merged = {**defaults(), **value}
        return {key: entry for key, entry in merged.items() if entry is not None}

    return BeforeValidator(merge)


def check_timezone(value: str) -> str:
    """Fail at load rather than at the first daily rollover."""
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise PydanticCustomError(
            "unknown_timezone", "unknown timezone; use an IANA name such as 'UTC'"
        ) from None
    return value


def _seconds(value: Any) -> Any:
    """A duration as seconds: a number, or text such as `90s`, `10m`, `4h`."""
    if isinstance(value, bool):
        raise PydanticCustomError("duration", "expected seconds or a duration such as 10m")
    if isinstance(value, str):
        found = duration_ns(value)
        if found is None or found > MAX_DURATION_NS:
            raise PydanticCustomError(
                "duration", "expected seconds or a duration such as 10m, 4h")
        return found / 1e9
    return value


Duration = Annotated[float, BeforeValidator(_seconds), Field(ge=0)]
"""Seconds, written as a number or as `30s`, `10m`, `4h`, `1d`."""
