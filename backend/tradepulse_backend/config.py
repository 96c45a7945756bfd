"""The backend's configuration: every default, the YAML loader and its error reporting.

One YAML file with the top key ``monitoring:`` is validated by the pydantic models below; errors
name the dotted key path and never echo input values, because values may come from secrets.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import zoneinfo
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

__all__ = [
    "MASK",
    "AlertingSystemConfig",
    "ConfigError",
    "DashboardConfig",
    "IngestConfig",
    "MonitoringConfig",
    "PerformanceMonitorConfig",
    "RateLimit",
    "ReportsConfig",
    "ServerConfig",
    "StorageConfig",
    "SystemHealthConfig",
    "Threshold",
    "check_config_file",
    "default_data_dir",
    "load_config",
    "redacted",
]

logger = logging.getLogger(__name__)

MASK = "********"
ROOT_KEY = "monitoring"
SQLITE_FILENAME = "tradepulse.db"
_WILDCARD_HOSTS = frozenset({"0.0.0.0", "::"})
_URL_PASSWORD = re.compile(r"(://[^/@:]*:)[^/@]*@")
_ENV_REFERENCE = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{")


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


def _merge_over_defaults(defaults: dict[str, Any], value: Any) -> Any:
    """Lay a user mapping over the defaults so naming one entry keeps the others; null drops."""
    if value is None:
        return defaults
    if not isinstance(value, Mapping):
        return value
    merged = {**defaults, **value}
    return {key: entry for key, entry in merged.items() if entry is not None}


class ReportsConfig(_Section):
    """When the automated performance report is produced."""

    enabled: bool = True
    schedule: Literal["daily", "weekly"] = "daily"
    time: str = Field("17:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="Local HH:MM.")
    weekday: Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                     "sunday"] = Field("friday", description="Day of weekly reports.")
    timezone: str | None = Field(None, description="IANA zone; null uses the monitor's.")

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        return None if value is None else _check_timezone(value)


def _check_timezone(value: str) -> str:
    """Fail at load rather than at the first daily rollover."""
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise PydanticCustomError(
            "unknown_timezone", "unknown timezone; use an IANA name such as 'UTC'"
        ) from None
    return value


class PerformanceMonitorConfig(_Section):
    """How often derived performance figures update and how long stored telemetry is kept."""

    update_interval: float = Field(60, gt=0, description="Seconds between performance updates.")
    metrics_retention_days: int = Field(
        90, gt=0, description="Days stored metrics, spans and logs are kept."
    )
    timezone: str = Field("UTC", description="IANA zone that defines trading days.")
    annualization: int = Field(252, gt=0, description="Periods per year for annualised ratios.")
    risk_free_rate: float = Field(
        0.0, description="Risk-free return per period (per day with the default 252)."
    )
    execution_window: float = Field(
        3600, gt=0, description="Seconds of orders and fills behind execution-quality figures."
    )
    reports: ReportsConfig = Field(default_factory=lambda: ReportsConfig())

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        return _check_timezone(value)


class RateLimit(_Section):
    """Upper bounds on notifications one channel may send."""

    max_per_hour: int = Field(gt=0)
    max_per_day: int = Field(gt=0)


def _default_rate_limits() -> dict[str, RateLimit]:
    return {
        "email": RateLimit(max_per_hour=10, max_per_day=50),
        "slack": RateLimit(max_per_hour=20, max_per_day=100),
    }


class AlertingSystemConfig(_Section):
    """Alert delivery settings."""

    rate_limits: dict[str, RateLimit] = Field(
        default_factory=_default_rate_limits,
        description="Per-channel limits, merged over the defaults; null removes a channel's.",
    )

    @field_validator("rate_limits", mode="before")
    @classmethod
    def _keep_default_rate_limits(cls, value: Any) -> Any:
        return _merge_over_defaults(_default_rate_limits(), value)


class DashboardConfig(_Section):
    """Where the dashboard, REST API and WebSocket listen."""

    host: Host = "127.0.0.1"
    port: Port = Field(8080, description="0 picks a free port.")
    auto_refresh_interval: int = Field(5000, gt=0, description="Page refresh in milliseconds.")


class Threshold(_Section):
    """Warning and critical levels of one health metric."""

    warning: float
    critical: float

    @model_validator(mode="after")
    def _warning_not_above_critical(self) -> Threshold:
        if self.warning > self.critical:
            raise PydanticCustomError(
                "threshold_order", "warning must be less than or equal to critical"
            )
        return self


def _default_thresholds() -> dict[str, Threshold]:
    return {
        "cpu_usage": Threshold(warning=70, critical=90),
        "memory_usage": Threshold(warning=80, critical=95),
        "disk_usage": Threshold(warning=85, critical=95),
    }


class SystemHealthConfig(_Section):
    """Host health sampling and its alert thresholds."""

    monitoring_interval: float = Field(30, gt=0, description="Seconds between health samples.")
    thresholds: dict[str, Threshold] = Field(
        default_factory=_default_thresholds,
        description="Per-metric levels, merged over the defaults; null removes a metric's.",
    )

    @field_validator("thresholds", mode="before")
    @classmethod
    def _keep_default_thresholds(cls, value: Any) -> Any:
        return _merge_over_defaults(_default_thresholds(), value)


class IngestConfig(_Section):
    """The OTLP receivers (HTTP and gRPC): address, authentication and back-pressure limits."""

    host: Host = "127.0.0.1"
    port: Port = Field(4318, description="OTLP/HTTP port; 0 picks a free port.")
    grpc_port: Port | None = Field(
        4317, description="OTLP/gRPC port; 0 picks a free port, null turns gRPC off."
    )
    api_keys: list[Secret] = Field(
        default_factory=list, description="Accepted API keys; empty means no authentication."
    )
    max_body_bytes: int = Field(
        20 * 1024 * 1024, gt=0, description="Largest request body, also after decompression."
    )
    queue_max_batches: int = Field(
        256, gt=0, description="Decoded requests waiting for the writer; when full, answer 503."
    )
    retry_after_seconds: int = Field(1, gt=0, description="Retry-After sent with 429 and 503.")
    write_batch_max_records: int = Field(
        50000, gt=0, description="Records the writer groups into one transaction."
    )


def default_data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_DATA_HOME/tradepulse``, else ``~/.local/share/tradepulse`` (XDG base dir spec)."""
    env = os.environ if environ is None else environ
    xdg = env.get("XDG_DATA_HOME", "")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "tradepulse"
    home = Path(env["HOME"]) if env.get("HOME") else Path.home()
    return home / ".local" / "share" / "tradepulse"


class StorageConfig(_Section):
    """Where telemetry is stored and how often retention is enforced."""

    data_dir: Annotated[Path, AfterValidator(Path.expanduser)] = Field(
        default_factory=lambda: default_data_dir(), description="Directory of the SQLite database."
    )
    retention_check_interval: float = Field(
        3600, gt=0, description="Seconds between retention sweeps."
    )
    url: str | None = Field(
        None,
        repr=False,
        description=f"Database URL, may hold a password; None means {SQLITE_FILENAME} in data_dir",
    )

    @property
    def database_url(self) -> str:
        """The URL to open: ``url`` when set, else the SQLite file in ``data_dir``."""
        return self.url or f"sqlite:///{self.data_dir / SQLITE_FILENAME}"


class ServerConfig(_Section):
    """The HTTP server process."""

    threads: int = Field(16, ge=1, le=256, description="Worker threads of the HTTP server.")
    shutdown_timeout: float = Field(
        10, ge=0, description="Seconds to finish in-flight work on shutdown."
    )


class MonitoringConfig(_Section):
    """The whole ``monitoring:`` section; ``MonitoringConfig()`` is the complete default config."""

    performance_monitor: PerformanceMonitorConfig = Field(default_factory=PerformanceMonitorConfig)
    alerting_system: AlertingSystemConfig = Field(default_factory=AlertingSystemConfig)
    dashboard: DashboardConfig = Field(default_factory=DashboardConfig)
    system_health: SystemHealthConfig = Field(default_factory=SystemHealthConfig)
    ingest: IngestConfig = Field(default_factory=IngestConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    server: ServerConfig = Field(default_factory=ServerConfig)

    @model_validator(mode="after")
    def _listeners_do_not_collide(self) -> MonitoringConfig:
        ingest, dashboard = self.ingest, self.dashboard
        if _clash(ingest.host, ingest.port, dashboard.host, dashboard.port):
            raise PydanticCustomError(
                "port_clash",
                "same host and port as monitoring.dashboard.port; give each listener its own port",
            )
        for other, host, port in (("ingest.port", ingest.host, ingest.port),
                                  ("dashboard.port", dashboard.host, dashboard.port)):
            if ingest.grpc_port is not None and _clash(ingest.host, ingest.grpc_port, host, port):
                raise PydanticCustomError(
                    "grpc_port_clash",
                    "same host and port as monitoring.{other}; give each listener its own port",
                    {"other": other},
                )
        return self

    @classmethod
    def get_complete_monitoring_config(cls) -> dict[str, Any]:
        """Every default as a plain dict under ``monitoring``: a starting file for users."""
        return {ROOT_KEY: redacted(cls())}


def _clash(host_a: str, port_a: int, host_b: str, port_b: int) -> bool:
    """Two listeners that cannot both bind: same non-zero port on the same or a wildcard host."""
    hosts = {host_a, host_b}
    return bool(port_a) and port_a == port_b and (len(hosts) == 1 or bool(hosts & _WILDCARD_HOSTS))


class ConfigError(Exception):
    """The configuration could not be loaded; ``errors`` holds one ``path: message`` per problem."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


def redacted(config: MonitoringConfig) -> dict[str, Any]:
    """The config as a JSON-able dict with secrets masked, safe for logs and the status API."""
    data = config.model_dump(mode="json")
    if url := data["storage"]["url"]:
        data["storage"]["url"] = _URL_PASSWORD.sub(rf"\g<1>{MASK}@", url)
    return data


def load_config(
    path: str | Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: dict[str, Any] | None = None,
) -> MonitoringConfig:
    """Read, interpolate and validate a config file; ``None`` gives the defaults.

    ``overrides`` (relative to ``monitoring``) are merged in last. Raises ``ConfigError`` listing
    every problem found.
    """
    env = os.environ if environ is None else environ
    section: dict[str, Any] = {}
    errors: list[str] = []
    skipped_paths: list[str] = []
    if path is not None:
        document = _read_yaml(Path(path))
        section, errors = _monitoring_section(document, Path(path))
        if errors:
            raise ConfigError(errors)
        section, env_errors = _interpolate(section, env, ROOT_KEY)
        errors = [message for _, message in env_errors]
        skipped_paths = [key_path for key_path, _ in env_errors]
    section = _deep_merge(section, overrides or {})
    storage = section.get("storage")
    if storage is None or (isinstance(storage, Mapping) and "data_dir" not in storage):
        section["storage"] = {**(storage or {}), "data_dir": default_data_dir(env)}
    try:
        config = MonitoringConfig.model_validate(section)
    except ValidationError as exc:
        errors.extend(_validation_messages(exc, skipped_paths))
    if errors:
        raise ConfigError(errors)
    logger.debug("configuration loaded from %s", path or "defaults")
    return config


def check_config_file(path: str | Path) -> list[str]:
    """Every problem in a config file as ``path: message`` lines; empty when it is valid."""
    try:
        load_config(path)
    except ConfigError as exc:
        return exc.errors
    return []


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys, which YAML would otherwise resolve silently."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        self.flatten_mapping(node)
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
            except TypeError:
                continue
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _read_yaml(path: Path) -> Any:
    """Parse the file; syntax errors report line and column but never the offending text."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not valid UTF-8"
        raise ConfigError([f"{path}: cannot read file: {reason}"]) from None
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        context = f" ({exc.context})" if exc.context else ""
        problem = exc.problem or "invalid YAML"
        raise ConfigError([f"{path}: {where}{problem}{context}"]) from None
    except yaml.YAMLError:
        raise ConfigError([f"{path}: not valid YAML"]) from None


def _monitoring_section(document: Any, path: Path) -> tuple[dict[str, Any], list[str]]:
    """Unwrap the ``monitoring:`` key, reporting a missing root or stray top-level keys."""
    if document is None:
        return {}, []
    if not isinstance(document, Mapping):
        return {}, [f"{path}: expected a mapping with the top-level key '{ROOT_KEY}'"]
    errors = [
        f"{key}: unknown top-level key; settings go under '{ROOT_KEY}:'"
        for key in document
        if key != ROOT_KEY
    ]
    if ROOT_KEY not in document:
        errors.insert(0, f"{ROOT_KEY}: missing top-level key '{ROOT_KEY}:'")
    section = document.get(ROOT_KEY)
    if section is None:
        return {}, errors
    if not isinstance(section, Mapping):
        errors.append(f"{ROOT_KEY}: expected a mapping of sections")
        return {}, errors
    return {name: value for name, value in section.items() if value is not None}, errors


def _interpolate(
    value: Any, env: Mapping[str, str], key_path: str
) -> tuple[Any, list[tuple[str, str]]]:
    """Replace ``${VAR}`` and ``${VAR:-default}`` in strings; ``$${`` stays a literal ``${``.

    Returns the new value and ``(key path, message)`` errors; messages name variables, not values.
    """
    errors: list[tuple[str, str]] = []
    if isinstance(value, Mapping):
        result: dict[Any, Any] = {}
        for key, item in value.items():
            result[key], item_errors = _interpolate(item, env, f"{key_path}.{key}")
            errors.extend(item_errors)
        return result, errors
    if isinstance(value, list):
        items = []
        for index, item in enumerate(value):
            new_item, item_errors = _interpolate(item, env, f"{key_path}[{index}]")
            items.append(new_item)
            errors.extend(item_errors)
        return items, errors
    if not isinstance(value, str):
        return value, errors

    def substitute(match: re.Match[str]) -> str:
        token, name, default = match.group(0), match.group(1), match.group(2)
        if token == "$${":
            return "${"
        if name is None:
            errors.append((key_path, f"{key_path}: malformed ${{...}} reference"))
            return ""
        found = env.get(name)
        if default is not None and not found:
            return default
        if found is None:
            errors.append((key_path, f"{key_path}: environment variable {name} is not set"))
            return ""
        return found

    return _ENV_REFERENCE.sub(substitute, value), errors


def _deep_merge(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """Merge nested mappings; values in ``update`` that are not mappings replace."""
    merged = dict(base)
    for key, value in update.items():
        current = merged.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            merged[key] = _deep_merge(current, value)
        else:
            merged[key] = value
    return merged


def _format_loc(loc: tuple[int | str, ...]) -> str:
    """``monitoring.a.b[0]`` from a pydantic location under the ``monitoring`` root."""
    parts = [ROOT_KEY]
    for part in loc:
        parts.append(f"[{part}]" if isinstance(part, int) else f".{part}")
    return "".join(parts)


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The model class that validates the value at ``loc``, for listing its allowed keys."""
    current: Any = MonitoringConfig
    for part in loc:
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return None
            current = field.annotation
        elif get_origin(current) in (dict, list):
            current = get_args(current)[-1]
        else:
            return None
    if isinstance(current, type) and issubclass(current, BaseModel):
        return current
    return None


def _unknown_key_message(loc: tuple[int | str, ...]) -> str:
    """Replace pydantic's "Extra inputs" text with the likely intended key or the allowed ones."""
    model = _model_at(loc[:-1])
    if model is None:
        return "unknown key"
    allowed = list(model.model_fields)
    close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
    if close:
        return f"unknown key; did you mean '{close[0]}'?"
    return f"unknown key; expected one of: {', '.join(allowed)}"


_ERROR_LOCATIONS: dict[str, tuple[str, ...]] = {
    "port_clash": ("ingest", "port"),
    "grpc_port_clash": ("ingest", "grpc_port"),
}
"""Model-level errors reported at the key they are about rather than at the model's root."""


def _validation_messages(exc: ValidationError, skipped_paths: list[str]) -> list[str]:
    """``path: message`` per pydantic error, without input values; paths with env errors skipped."""
    messages = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        key_path = _format_loc(_ERROR_LOCATIONS.get(error["type"], error["loc"]))
        if any(key_path == p or key_path.startswith((f"{p}.", f"{p}[")) for p in skipped_paths):
            continue
        if error["type"] == "extra_forbidden":
            message = _unknown_key_message(error["loc"])
        else:
            message = error["msg"]
        messages.append(f"{key_path}: {message}")
    return messages
