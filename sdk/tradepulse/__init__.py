"""tradepulse: OpenTelemetry-native instrumentation for algorithmic trading.

``@traced``, ``metrics.*`` and the ``observe_*`` functions need only the OpenTelemetry API;
``configure()`` (imported on first use) brings in the SDK and the OTLP exporters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tradepulse import metrics
from tradepulse.health import register_health_checker
from tradepulse.observers import (
    observe_execution_engine,
    observe_portfolio_manager,
    observe_risk_manager,
)
from tradepulse.tracing import traced
from tradepulse.version import __version__

if TYPE_CHECKING:
    from tradepulse.configuration import configure, shutdown

__all__ = [
    "__version__",
    "configure",
    "metrics",
    "observe_execution_engine",
    "observe_portfolio_manager",
    "observe_risk_manager",
    "register_health_checker",
    "shutdown",
    "traced",
]

_LAZY = frozenset({"configure", "shutdown"})


def __getattr__(name: str) -> Any:
    """Import ``configure`` / ``shutdown`` (and with them the OpenTelemetry SDK) on first use."""
    if name in _LAZY:
        from tradepulse import configuration

        return getattr(configuration, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
