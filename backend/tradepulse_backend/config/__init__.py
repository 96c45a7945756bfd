"""Configuration: the pydantic models (every default) and the YAML loader."""

from tradepulse_backend.config.alerting import AlertingSystemConfig, RateLimit
from tradepulse_backend.config.loader import ConfigError, check_config_file, load_config
from tradepulse_backend.config.models import (
    MASK,
    SQLITE_FILENAME,
    DashboardConfig,
    IngestConfig,
    MonitoringConfig,
    PerformanceMonitorConfig,
    ReportsConfig,
    ServerConfig,
    StorageConfig,
    SystemHealthConfig,
    Threshold,
    default_data_dir,
    redacted,
)

__all__ = [
    "MASK",
    "SQLITE_FILENAME",
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
