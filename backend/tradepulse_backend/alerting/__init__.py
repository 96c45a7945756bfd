"""Alerting: rules, alert lifecycle, routing, rate limits, the durable outbox and channels."""

from tradepulse_backend.alerting.pipeline import build_pipeline
from tradepulse_backend.alerting.rules import AlertRule, RuleError
from tradepulse_backend.alerting.severity import AlertSeverity
from tradepulse_backend.alerting.state import Alert, AlertState
from tradepulse_backend.alerting.system import AlertingSystem

__all__ = ["Alert", "AlertRule", "AlertSeverity", "AlertState", "AlertingSystem", "RuleError",
           "build_pipeline"]
