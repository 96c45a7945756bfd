"""Resolve ``configure()``'s arguments against the standard OTEL_* environment variables.

Arguments win; an unset argument falls back to its environment variable; a bad argument raises
ValueError, while a bad environment value is logged and replaced by the default (OTel's rule).
Pure: reads only the mapping it is given, imports no OpenTelemetry SDK.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import unquote, urlsplit

from opentelemetry.util.types import AttributeValue

from tradepulse.environment_variables import TRADEPULSE_SYSTEM_METRICS_ENABLED

_logger = logging.getLogger(__name__)

OTEL_SERVICE_NAME: Final = "OTEL_SERVICE_NAME"
OTEL_EXPORTER_OTLP_ENDPOINT: Final = "OTEL_EXPORTER_OTLP_ENDPOINT"
OTEL_EXPORTER_OTLP_PROTOCOL: Final = "OTEL_EXPORTER_OTLP_PROTOCOL"
OTEL_EXPORTER_OTLP_HEADERS: Final = "OTEL_EXPORTER_OTLP_HEADERS"
OTEL_METRIC_EXPORT_INTERVAL: Final = "OTEL_METRIC_EXPORT_INTERVAL"

PROTOCOL_HTTP_PROTOBUF: Final = "http/protobuf"
PROTOCOL_GRPC: Final = "grpc"
PROTOCOLS: Final = (PROTOCOL_HTTP_PROTOBUF, PROTOCOL_GRPC)

DEFAULT_ENDPOINT: Final = "http://localhost:4318"
"""Base URL of the OTLP/HTTP receiver when nothing else is set (the exporters' own default)."""
DEFAULT_GRPC_ENDPOINT: Final = "http://localhost:4317"
DEFAULT_PROTOCOL: Final = PROTOCOL_HTTP_PROTOBUF
DEFAULT_EXPORT_INTERVAL_MS: Final = 10_000
"""Metric export interval: 10 s rather than OTel's 60 s, because the dashboard is live."""
DEFAULT_SYSTEM_METRICS: Final = True

TRACES_PATH: Final = "/v1/traces"
METRICS_PATH: Final = "/v1/metrics"

_HTTP_JSON_MESSAGE = (
    "OTLP protocol 'http/json' is not supported by the OpenTelemetry Python exporters; "
    "use 'http/protobuf' (the default) or 'grpc'"
)
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


@dataclass(frozen=True, slots=True)
class Settings:
    """The resolved configuration; ``endpoint`` None lets the exporters read their own env vars.

    ``headers`` None likewise leaves OTEL_EXPORTER_OTLP_HEADERS to the exporters.
    """

    service_name: str | None
    endpoint: str | None
    protocol: str
    headers: tuple[tuple[str, str], ...] | None
    resource_attributes: tuple[tuple[str, AttributeValue], ...]
    export_interval_ms: int
    system_metrics: bool

    def signal_endpoint(self, path: str) -> str | None:
        """URL the exporter for one signal gets: base + path for HTTP, base alone for gRPC."""
        if self.endpoint is None:
            return None
        return self.endpoint if self.protocol == PROTOCOL_GRPC else self.endpoint + path


def resolve_settings(
    service_name: str | None = None,
    *,
    endpoint: str | None = None,
    protocol: str | None = None,
    headers: Mapping[str, str] | str | None = None,
    resource_attributes: Mapping[str, AttributeValue] | None = None,
    export_interval_ms: int | None = None,
    system_metrics: bool | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Combine arguments and environment (``os.environ`` unless given) into :class:`Settings`."""
    env = os.environ if environ is None else environ
    resolved_protocol = _protocol(protocol, env)
    attrs = _resource_attributes(resource_attributes)
    name = _service_name(service_name, attrs, env)
    if name is not None:
        attrs["service.name"] = name
    return Settings(
        service_name=name,
        endpoint=_endpoint(endpoint, resolved_protocol, env),
        protocol=resolved_protocol,
        headers=_headers(headers),
        resource_attributes=tuple(sorted(attrs.items())),
        export_interval_ms=_export_interval(export_interval_ms, env),
        system_metrics=_system_metrics(system_metrics, env),
    )


def _env(env: Mapping[str, str], key: str) -> str | None:
    value = env.get(key, "").strip()
    return value or None


def _bad_env(key: str, value: str, default: object, why: str = "") -> None:
    _logger.warning(
        "tradepulse: ignoring %s=%r%s; using the default %r", key, value,
        f" ({why})" if why else "", default,
    )


def _protocol(argument: str | None, env: Mapping[str, str]) -> str:
    if argument is not None:
        value = argument.strip().lower() if isinstance(argument, str) else argument
        if value == "http/json":
            raise ValueError(f"protocol: {_HTTP_JSON_MESSAGE}")
        if value not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {', '.join(PROTOCOLS)}; got {argument!r}")
        return value
    raw = _env(env, OTEL_EXPORTER_OTLP_PROTOCOL)
    if raw is None:
        return DEFAULT_PROTOCOL
    if raw.lower() in PROTOCOLS:
        return raw.lower()
    why = _HTTP_JSON_MESSAGE if raw.lower() == "http/json" else "unknown protocol"
    _bad_env(OTEL_EXPORTER_OTLP_PROTOCOL, raw, DEFAULT_PROTOCOL, why)
    return DEFAULT_PROTOCOL


def _valid_endpoint(value: str, protocol: str) -> str | None:
    """``value`` without a trailing slash if it is an endpoint ``protocol`` accepts, else None."""
    url = value.strip().rstrip("/")
    parts = urlsplit(url if "://" in url or protocol != PROTOCOL_GRPC else f"//{url}")
    try:
        port_ok = parts.port is not None or "://" in url
    except ValueError:
        return None
    if "://" in url and parts.scheme not in ("http", "https"):
        return None
    if not parts.hostname or not port_ok:
        return None
    return url


def _endpoint(argument: str | None, protocol: str, env: Mapping[str, str]) -> str | None:
    if argument is not None:
        url = _valid_endpoint(argument, protocol) if isinstance(argument, str) else None
        if url is None:
            raise ValueError(f"endpoint must be an http(s) URL like {DEFAULT_ENDPOINT}; "
                             f"got {argument!r}")
        return url
    raw = _env(env, OTEL_EXPORTER_OTLP_ENDPOINT)
    if raw is None or _valid_endpoint(raw, protocol) is not None:
        return None
    default = DEFAULT_GRPC_ENDPOINT if protocol == PROTOCOL_GRPC else DEFAULT_ENDPOINT
    _bad_env(OTEL_EXPORTER_OTLP_ENDPOINT, raw, default, "not an http(s) URL")
    return default


def parse_headers(text: str) -> dict[str, str]:
    """Parse ``"k=v,k2=v2"`` (values URL-encoded, as in OTEL_EXPORTER_OTLP_HEADERS)."""
    headers: dict[str, str] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"headers must look like 'key=value,key2=value2'; got {text!r}")
        headers[unquote(key.strip()).lower()] = unquote(value.strip())
    return headers


def _headers(argument: Mapping[str, str] | str | None) -> tuple[tuple[str, str], ...] | None:
    if argument is None:
        return None
    if isinstance(argument, str):
        return tuple(sorted(parse_headers(argument).items()))
    if not isinstance(argument, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in argument.items()
    ):
        raise ValueError(f"headers must be a str -> str mapping or 'k=v,...'; got {argument!r}")
    return tuple(sorted((key.lower(), value) for key, value in argument.items()))


def _resource_attributes(
    argument: Mapping[str, AttributeValue] | None,
) -> dict[str, AttributeValue]:
    if argument is None:
        return {}
    if not isinstance(argument, Mapping) or not all(isinstance(k, str) for k in argument):
        raise ValueError(f"resource_attributes must be a mapping with str keys; got {argument!r}")
    return dict(argument)


def _service_name(
    argument: str | None, attrs: Mapping[str, AttributeValue], env: Mapping[str, str]
) -> str | None:
    if argument is not None:
        if not isinstance(argument, str) or not argument.strip():
            raise ValueError(f"service_name must be a non-empty string; got {argument!r}")
        return argument
    from_attrs = attrs.get("service.name")
    if isinstance(from_attrs, str) and from_attrs:
        return from_attrs
    return _env(env, OTEL_SERVICE_NAME)


def _export_interval(argument: int | None, env: Mapping[str, str]) -> int:
    if argument is not None:
        if isinstance(argument, bool) or not isinstance(argument, int) or argument <= 0:
            raise ValueError(f"export_interval_ms must be a positive int; got {argument!r}")
        return argument
    raw = _env(env, OTEL_METRIC_EXPORT_INTERVAL)
    if raw is None:
        return DEFAULT_EXPORT_INTERVAL_MS
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value > 0:
        return value
    _bad_env(OTEL_METRIC_EXPORT_INTERVAL, raw, DEFAULT_EXPORT_INTERVAL_MS,
             "not a positive integer of milliseconds")
    return DEFAULT_EXPORT_INTERVAL_MS


def _system_metrics(argument: bool | None, env: Mapping[str, str]) -> bool:
    if argument is not None:
        if not isinstance(argument, bool):
            raise ValueError(f"system_metrics must be a bool; got {argument!r}")
        return argument
    raw = _env(env, TRADEPULSE_SYSTEM_METRICS_ENABLED)
    if raw is None:
        return DEFAULT_SYSTEM_METRICS
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    _bad_env(TRADEPULSE_SYSTEM_METRICS_ENABLED, raw, DEFAULT_SYSTEM_METRICS, "not true/false")
    return DEFAULT_SYSTEM_METRICS
