"""The seed's configuration templates: ready-made alert rules and dashboard layouts.

Alert rules use the rule spec of `AlertingSystem.add_alert_rule(name, spec)` and
`alerting_system.rules` in the YAML config: `conditions: [{field, operator, value}]`,
`severity`, `title`, `message`, `channels`, and `for` (how long the condition must hold).
Fields are performance figures (`daily_return`, `max_drawdown`, ...), health figures
(`cpu_usage`, ...) or ingested metrics by their OpenTelemetry name. Every call returns fresh
copies, so a caller may edit what it gets.
"""

from __future__ import annotations

import copy
import logging
import sysconfig
from pathlib import Path
from typing import Any

import yaml

from tradepulse import conventions as conv

logger = logging.getLogger(__name__)

_CHECKOUT_LAYOUTS = Path(__file__).resolve().parents[3] / "dashboards"
_INSTALLED_LAYOUTS = Path(sysconfig.get_path("data")) / "share" / "tradepulse" / "dashboards"
LAYOUTS_DIR = _CHECKOUT_LAYOUTS if _CHECKOUT_LAYOUTS.is_dir() else _INSTALLED_LAYOUTS
"""The shipped layouts, one YAML file each: the repository's `dashboards/`, or where a wheel
installs them (`[tool.setuptools.data-files]` in pyproject.toml)."""

CRITICAL_CHANNELS = ("email", "slack", "console")
WARNING_CHANNELS = ("slack", "console")


def _rule(field: str, operator: str, value: float | None, *, severity: str, title: str,
          message: str, channels: tuple[str, ...], hold: str | None = None,
          within: str | None = None) -> dict[str, Any]:
    condition: dict[str, Any] = {"field": field, "operator": operator}
    if value is not None:
        condition["value"] = value
    if within is not None:
        condition["within"] = within
    rule: dict[str, Any] = {"conditions": [condition], "severity": severity, "title": title,
                            "message": message, "channels": list(channels)}
    if hold is not None:
        rule["for"] = hold
    return rule


PERFORMANCE_ALERTS: dict[str, dict[str, Any]] = {
    # The seed's two rules, as its "Custom Alert Rules" example writes them, plus messages.
    "daily_loss_5_percent": _rule(
        "daily_return", "lt", -0.05, severity="warning", title="Daily Loss Alert",
        message="{service} {portfolio}: daily return {daily_return:.2%} (limit -5%)",
        channels=("email", "console")),
    "max_drawdown_alert": _rule(
        "max_drawdown", "lt", -0.15, severity="critical", title="Maximum Drawdown Alert",
        message="{service} {portfolio}: max drawdown {max_drawdown:.2%} (limit -15%)",
        channels=CRITICAL_CHANNELS),
    "volatility_spike": _rule(
        "volatility", "gt", 0.40, severity="warning", title="Volatility Spike",
        message="{service} {portfolio}: annualized volatility {volatility:.1%} above 40%",
        channels=WARNING_CHANNELS, hold="15m"),
    "sharpe_collapse": _rule(
        "sharpe_ratio", "lt", 0.0, severity="warning", title="Sharpe Ratio Collapse",
        message="{service} {portfolio}: Sharpe ratio {sharpe_ratio:.2f} below 0",
        channels=WARNING_CHANNELS, hold="1h"),
    "var_over_limit": _rule(
        "var_limit_usage", "gt", 1.0, severity="critical", title="VaR Over Limit",
        message="{service} {portfolio}: reported VaR {reported_var} is {var_limit_usage:.0%} "
                "of its limit {var_limit}",
        channels=CRITICAL_CHANNELS, hold="1m"),
}
EXECUTION_ALERTS: dict[str, dict[str, Any]] = {
    "order_rejection_rate": _rule(
        "rejection_rate", "gt", 0.10, severity="warning", title="Order Rejection Rate",
        message="{service}: {rejection_rate:.1%} of orders rejected in the window (limit 10%)",
        channels=WARNING_CHANNELS, hold="5m"),
    "latency_p99": _rule(
        "latency_p99_ms", "gt", 500, severity="warning", title="Order Latency p99",
        message="{service}: p99 order latency {latency_p99_ms:.0f} ms (limit 500 ms)",
        channels=WARNING_CHANNELS, hold="5m"),
    "broker_disconnected": _rule(
        conv.METRIC_BROKER_CONNECTED, "lt", 1, severity="critical",
        title="Broker Disconnected", message="{service}: a broker connection is down",
        channels=CRITICAL_CHANNELS, hold="30s"),
    "bot_heartbeat_lost": _rule(
        conv.METRIC_PORTFOLIO_VALUE, "absent", None, severity="critical",
        title="Bot Heartbeat Lost",
        message="{service}: no portfolio value received for 5 minutes",
        channels=CRITICAL_CHANNELS, within="5m"),
}
SYSTEM_ALERTS: dict[str, dict[str, Any]] = {
    # Percentages, at the critical levels of system_health.thresholds' defaults.
    "cpu_usage_high": _rule(
        "cpu_usage", "gt", 90, severity="critical", title="High CPU Usage",
        message="CPU usage {cpu_usage:.0f}% above 90%", channels=CRITICAL_CHANNELS, hold="5m"),
    "memory_usage_high": _rule(
        "memory_usage", "gt", 95, severity="critical", title="High Memory Usage",
        message="Memory usage {memory_usage:.0f}% above 95%", channels=CRITICAL_CHANNELS,
        hold="5m"),
    "disk_usage_high": _rule(
        "disk_usage", "gt", 95, severity="critical", title="Disk Almost Full",
        message="Disk usage {disk_usage:.0f}% above 95%", channels=CRITICAL_CHANNELS,
        hold="5m"),
}


def performance_alert_templates() -> dict[str, dict[str, Any]]:
    """Rules on portfolio performance and risk (the seed's `performance_alerts` and more)."""
    return copy.deepcopy(PERFORMANCE_ALERTS)


def execution_alert_templates() -> dict[str, dict[str, Any]]:
    """Rules on order execution, broker connectivity and a bot's telemetry going silent."""
    return copy.deepcopy(EXECUTION_ALERTS)


def system_alert_templates() -> dict[str, dict[str, Any]]:
    """Rules on the host's CPU, memory and disk."""
    return copy.deepcopy(SYSTEM_ALERTS)


def alert_rule_templates() -> dict[str, dict[str, Any]]:
    """Every template rule, by name."""
    return {**performance_alert_templates(), **execution_alert_templates(),
            **system_alert_templates()}


def dashboard_layout_templates(directory: Path | None = None) -> dict[str, dict[str, Any]]:
    """Each `*.yaml` layout in `directory` (default: the shipped `dashboards/`), by file stem,
    as parsed YAML; the dashboard validates layouts when it loads them."""
    folder = LAYOUTS_DIR if directory is None else Path(directory)
    if not folder.is_dir():
        logger.debug("no dashboard layouts: %s is not a directory", folder)
        return {}
    layouts = {}
    for path in sorted(folder.glob("*.yaml")):
        layouts[path.stem] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return layouts
