"""Trading performance: live figures per bot and portfolio, history, summaries and reports."""

from tradepulse_backend.performance.monitor import PerformanceMonitor
from tradepulse_backend.performance.snapshot import NUMERIC_FIELDS, PerformanceSnapshot

__all__ = ["NUMERIC_FIELDS", "PerformanceMonitor", "PerformanceSnapshot"]
