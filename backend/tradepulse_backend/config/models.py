"""The backend's configuration models: every default lives here.

The pydantic models validate the ``monitoring:`` section; `loader.py` reads the YAML file.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from tradepulse_backend.config import templates
from tradepulse_backend.config.alerting import AlertingSystemConfig
from tradepulse_backend.config.base import (
    MASK,
    Host,
    Port,
    Secret,
    _Section,
    merged_over_defaults,
)
from tradepulse_backend.config.base import check_timezone as _check_timezone
from tradepulse_backend.config.dashboard import (
    DashboardAuthConfig,
    DashboardTlsConfig,
    WebSocketConfig,
)
from tradepulse_backend.config.forwarding import ForwardingDestinations
from tradepulse_backend.config.health import (
    BackendChecksConfig,
    CheckerDefaults,
    ErrorRateConfig,
    HeartbeatConfig,
    LeakConfig,
    TrendConfig,
)
from tradepulse_backend.config.storage import ChunkConfig, RetentionConfig

logger = logging.getLogger(__name__)

ROOT_KEY = "monitoring"
SQLITE_FILENAME = "tradepulse.db"
_WILDCARD_HOSTS = frozenset({"0.0.0.0", "::"})
_URL_PASSWORD = re.compile(r"(://[^/@:]*:)[^/@]*@")


class ReportsConfig(_Section):
    """When the automated performance report is produced."""

    enabled: bool = True
    schedule: Literal["daily", "weekly"] = "daily"
    time: str = Field("17:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="Local HH:MM.")
    weekday: Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                     "sunday"] = Field("friday", description="Day of weekly reports.")
    timezone: str | None = Field(None, description="IANA zone; null uses the monitor's.")
    channels: list[str] = Field(
        default_factory=list, description="Alert channels the report is delivered through.")

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        return None if value is None else _check_timezone(value)


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
    queue_size: int = Field(
        1024, gt=0,
        description="Stored batches waiting for the monitor; beyond it the oldest are dropped "
                    "(counted in /api/v1/status).",
    )
    reports: ReportsConfig = Field(default_factory=lambda: ReportsConfig())

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        return _check_timezone(value)


class DashboardConfig(_Section):
    """Where the dashboard, REST API and WebSocket listen."""

    host: Host = "127.0.0.1"
    port: Port = Field(8080, description="0 picks a free port.")
    auto_refresh_interval: int = Field(5000, gt=0, description="Page refresh in milliseconds.")
    max_websockets: int = Field(
        16, ge=0, le=1024,
        description="Open WebSockets at once; each holds a thread of its own budget, never a "
                    "REST or ingest thread. More are refused with 503.",
    )
    websocket: WebSocketConfig = Field(default_factory=WebSocketConfig)
    auth: DashboardAuthConfig = Field(default_factory=DashboardAuthConfig)
    tls: DashboardTlsConfig = Field(default_factory=DashboardTlsConfig)
    layout: str = Field("default", min_length=1, description="Layout shown without ?layout=.")
    layouts_dir: Path | None = Field(
        None, description="Directory of extra layout files (NAME.yaml), beside the built-in.")


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
        "disk_usage": Threshold(warning=80, critical=90),
        "swap_usage": Threshold(warning=50, critical=80),
        "load_per_core": Threshold(warning=1.5, critical=3),
        "error_rate": Threshold(warning=0.05, critical=0.2),
        "latency_p99_ms": Threshold(warning=500, critical=2000),
    }


class SystemHealthConfig(_Section):
    """Host health sampling and its alert thresholds."""

    monitoring_interval: float = Field(30, gt=0, description="Seconds between health samples.")
    thresholds: Annotated[
        dict[str, Threshold], merged_over_defaults(_default_thresholds)
    ] = Field(
        default_factory=_default_thresholds,
        description="Per-metric levels, merged over the defaults; null removes a metric's.",
    )
    hysteresis: float = Field(
        0.05, ge=0, lt=1,
        description="A breached level clears only below level x (1 - hysteresis), so a value "
                    "hovering on a line does not flap.")
    heartbeat: HeartbeatConfig = Field(default_factory=HeartbeatConfig)
    trends: TrendConfig = Field(default_factory=TrendConfig)
    leak_detector: LeakConfig = Field(default_factory=LeakConfig)
    checkers: CheckerDefaults = Field(default_factory=CheckerDefaults)
    errors: ErrorRateConfig = Field(default_factory=ErrorRateConfig)
    backend: BackendChecksConfig = Field(default_factory=BackendChecksConfig)


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
    commit_timeout: float = Field(
        5.0, gt=0,
        description="Seconds a request waits for the writer to take its batch before answering "
                    "503 and withdrawing it. Keep it below the OTLP exporters' default 10 s "
                    "timeout: an exporter that gives up first retries a request that may still "
                    "commit, and spans and logs (no unique key) would be stored twice.",
    )
    max_new_series_per_request: int = Field(
        10_000, gt=0,
        description="Metric series one export request may create; points of further new "
                    "series are rejected through OTLP partial_success (the exporter can send "
                    "them again later), so one huge request cannot stall every other exporter.",
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
    retention: RetentionConfig = Field(
        default_factory=RetentionConfig, description="Days each tier of number points is kept.")
    chunks: ChunkConfig = Field(default_factory=ChunkConfig,
                                description="Compressed series chunks and their compaction.")

    @property
    def database_url(self) -> str:
        """The URL to open: ``url`` when set, else the SQLite file in ``data_dir``."""
        return self.url or f"sqlite:///{self.data_dir / SQLITE_FILENAME}"


class ServerConfig(_Section):
    """The HTTP server process."""

    ingest_threads: int = Field(
        16, ge=1, le=256, description="Threads serving OTLP requests (HTTP and gRPC each)."
    )
    api_threads: int = Field(
        8, ge=1, le=256,
        description="Threads serving the dashboard port's REST requests (WebSockets get "
                    "dashboard.max_websockets threads on top).",
    )
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
    forwarding: ForwardingDestinations = Field(default_factory=list)

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

    # The seed's config_templates.py API (templates live in config/templates.py).
    get_alert_rule_templates = staticmethod(templates.alert_rule_templates)
    get_performance_alert_templates = staticmethod(templates.performance_alert_templates)
    get_execution_alert_templates = staticmethod(templates.execution_alert_templates)
    get_system_alert_templates = staticmethod(templates.system_alert_templates)
    get_dashboard_layout_templates = staticmethod(templates.dashboard_layout_templates)


def _clash(host_a: str, port_a: int, host_b: str, port_b: int) -> bool:
    """Two listeners that cannot both bind: same non-zero port on the same or a wildcard host."""
    hosts = {host_a, host_b}
    return bool(port_a) and port_a == port_b and (len(hosts) == 1 or bool(hosts & _WILDCARD_HOSTS))


def redacted(config: MonitoringConfig) -> dict[str, Any]:
    """The config as a JSON-able dict with secrets masked, safe for logs and the status API."""
    data = config.model_dump(mode="json")
    if url := data["storage"]["url"]:
        data["storage"]["url"] = _URL_PASSWORD.sub(rf"\g<1>{MASK}@", url)
    return data


