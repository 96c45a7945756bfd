"""System health: host resources, bot processes, component checks, heartbeats, broker
connectivity, error rates and trends; `SystemHealthMonitor` ties them together."""

from tradepulse_backend.health.figures import HEALTH_FIGURES
from tradepulse_backend.health.models import (
    ComponentHealth,
    ComponentStatus,
    SystemMetrics,
)
from tradepulse_backend.health.monitor import SystemHealthMonitor, summary_text
from tradepulse_backend.health.samples import BACKEND_SERVICE

__all__ = [
    "BACKEND_SERVICE",
    "HEALTH_FIGURES",
    "ComponentHealth",
    "ComponentStatus",
    "SystemHealthMonitor",
    "SystemMetrics",
    "summary_text",
]
