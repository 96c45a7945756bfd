"""The ``forwarding:`` section: OTLP/HTTP destinations the backend re-sends accepted telemetry to.

Kept apart from `models.py` (which references `ForwardingDestinations` in one line) and so with
its own strict base: unknown keys and non-finite numbers are errors here too. Header values are
secrets: masked in every dump (`/api/v1/status`, `get_complete_monitoring_config`) and never
logged.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    SecretStr,
    model_validator,
)
from pydantic_core import PydanticCustomError

Signal = Literal["traces", "metrics", "logs"]
ALL_SIGNALS: tuple[Signal, ...] = ("traces", "metrics", "logs")
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_RESERVED_HEADERS = frozenset({"content-type", "content-encoding", "content-length", "host",
                               "transfer-encoding", "connection"})


def _http_url(value: str) -> str:
    """An absolute http(s) URL with a host; the message never repeats the value (it may hold
    credentials)."""
    try:
        parts = urlsplit(value)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname) and (
            parts.port is None or 0 < parts.port < 65536)
    except ValueError:
        valid = False
    if not valid or any(ch.isspace() for ch in value):
        raise PydanticCustomError("url", "must be an absolute http:// or https:// URL with a host")
    return value


def _header_name(value: str) -> str:
    if not _TOKEN.match(value):
        raise PydanticCustomError("header_name", "not a valid HTTP header name")
    if value.lower() in _RESERVED_HEADERS:
        raise PydanticCustomError(
            "reserved_header", "set by the forwarder from the original request; remove it")
    return value


def _header_value(value: SecretStr) -> SecretStr:
    text = value.get_secret_value()
    if not text or any(ch in text for ch in "\r\n\0"):
        raise PydanticCustomError("header_value", "must be non-empty, without line breaks")
    return value


def masked_url(value: str) -> str:
    """The URL with any password and query masked (both may hold credentials), for dumps."""
    parts = urlsplit(value)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = f"{parts.username}:{MASK}@{netloc.rsplit('@', 1)[1]}"
    return urlunsplit((parts.scheme, netloc, parts.path, MASK if parts.query else "", ""))


MASK = "********"
Url = Annotated[str, AfterValidator(_http_url),
                PlainSerializer(masked_url, return_type=str, when_used="json")]
HeaderName = Annotated[str, AfterValidator(_header_name)]
HeaderValue = Annotated[SecretStr, AfterValidator(_header_value)]


class ForwardingDestination(BaseModel):
    """One OTLP/HTTP endpoint (a vendor, a collector, another tradepulse) and its queue."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
        description="Names the destination in /api/v1/status, /metrics and its queue directory "
                    "(data_dir/forwarding/NAME); keep it when changing the endpoint.")
    endpoint: Url | None = Field(
        None, description="Base URL; /v1/traces, /v1/metrics and /v1/logs are appended as the "
                          "OTLP exporter's OTEL_EXPORTER_OTLP_ENDPOINT does.")
    traces_endpoint: Url | None = Field(None, description="Full URL for traces, used as is.")
    metrics_endpoint: Url | None = Field(None, description="Full URL for metrics, used as is.")
    logs_endpoint: Url | None = Field(None, description="Full URL for logs, used as is.")
    headers: dict[HeaderName, HeaderValue] = Field(
        default_factory=dict,
        description="Sent with every request (API keys: use ${ENV} references); masked in "
                    "status and logs.")
    signals: list[Signal] = Field(
        default_factory=lambda: list(ALL_SIGNALS), min_length=1,
        description="Which signals go to this destination.")
    services: list[Annotated[str, Field(min_length=1)]] | None = Field(
        None, min_length=1,
        description="Forward only resources whose service.name is listed; null forwards all.")
    timeout: float = Field(10, gt=0, le=300, description="Seconds per send attempt.")
    max_queue_bytes: int = Field(
        64 * 1024 * 1024, ge=1024,
        description="Disk queue bound; when full the oldest requests are dropped (counted).")
    max_attempts: int | None = Field(
        None, ge=1, description="Attempts per request before it is given up; null: no limit.")
    max_age: float = Field(
        86400, gt=0, description="Seconds a request may wait in the queue before it is given up.")
    retry_initial_interval: float = Field(
        1.0, gt=0, description="First retry's backoff ceiling in seconds (full jitter).")
    retry_max_interval: float = Field(
        60.0, gt=0, description="Largest backoff ceiling in seconds; Retry-After may exceed it.")

    @model_validator(mode="after")
    def _every_signal_has_a_url(self) -> ForwardingDestination:
        if len(set(self.signals)) != len(self.signals):
            raise PydanticCustomError("duplicate_signal", "signals lists a signal twice")
        missing = [s for s in self.signals
                   if self.endpoint is None and getattr(self, f"{s}_endpoint") is None]
        if missing:
            raise PydanticCustomError(
                "missing_endpoint", "set endpoint, or {keys}",
                {"keys": " and ".join(f"{s}_endpoint" for s in missing)})
        if self.retry_initial_interval > self.retry_max_interval:
            raise PydanticCustomError(
                "retry_interval_order",
                "retry_initial_interval must not exceed retry_max_interval")
        return self

    def url(self, signal: Signal) -> str:
        """Where this destination takes `signal`: its own URL, else the base with the OTLP
        path appended."""
        own = getattr(self, f"{signal}_endpoint")
        if own is not None:
            return own
        parts = urlsplit(self.endpoint or "")
        path = f"{parts.path}{'' if parts.path.endswith('/') else '/'}v1/{signal}"
        return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def _unique_names(destinations: list[ForwardingDestination]) -> list[ForwardingDestination]:
    seen: set[str] = set()
    for destination in destinations:
        if destination.name in seen:
            raise PydanticCustomError(
                "duplicate_destination", "two destinations are named '{name}'; names must be "
                "unique (each has its own queue)", {"name": destination.name})
        seen.add(destination.name)
    return destinations


ForwardingDestinations = Annotated[list[ForwardingDestination], AfterValidator(_unique_names)]
