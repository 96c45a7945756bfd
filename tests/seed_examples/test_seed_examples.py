"""Every code example of the seed design doc (`../shared/seed/000_46dc1509d1579731.txt`), run as
written with only its imports changed: `src.monitoring` is `tradepulse_backend.coordinator`,
`src.utils.config.ConfigManager` and the trading components come from the `host` fixture.
Top-level `await`s run inside `asyncio.run`; each test shuts its coordinator down."""

from __future__ import annotations

import asyncio
import logging
import urllib.request

from tests.support import wait_until
from tradepulse_backend.coordinator import MonitoringConfig, MonitoringCoordinator


def _get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status


def _basic_setup(ConfigManager):
    # --- seed: Configuration / Basic Setup ---------------------------------------------------
    async def example():
        # Load configuration
        config = ConfigManager()
        monitoring_config = MonitoringConfig.get_complete_monitoring_config()
        config.config.update(monitoring_config)

        # Initialize monitoring
        coordinator = MonitoringCoordinator(config)
        await coordinator.initialize()
        return coordinator

    return asyncio.run(example())


def test_basic_setup_starts_the_embedded_stack(host):
    coordinator = _basic_setup(host.ConfigManager)
    try:
        assert coordinator.get_monitoring_status()["running"] is True
        assert coordinator.performance_monitor is coordinator.backend.performance
        assert coordinator.config.storage.data_dir == host.data_dir
        assert (host.data_dir / "tradepulse.db").exists()
        assert _get(coordinator.get_dashboard_url() + "healthz") == 200
    finally:
        coordinator.shutdown()


def test_dashboard_setup_prints_a_working_url(host, capsys):
    coordinator = _basic_setup(host.ConfigManager)
    try:
        # --- seed: Dashboard Setup -----------------------------------------------------------
        # Start dashboard server
        dashboard_url = coordinator.get_dashboard_url()
        print(f"Dashboard available at: {dashboard_url}")

        # Access dashboard at http://127.0.0.1:8080
        printed = capsys.readouterr().out
        url = printed.removeprefix("Dashboard available at: ").strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/")
        assert _get(url) == 200
    finally:
        coordinator.shutdown()


def test_usage_example_registers_the_trading_components(host, capsys):
    config = host.config
    config.config.update(MonitoringConfig.get_complete_monitoring_config())
    portfolio_manager = host.portfolio_manager
    risk_manager = host.risk_manager
    execution_engine = host.execution_engine

    # --- seed: Usage Examples / Basic Monitoring Setup ---------------------------------------
    async def setup_monitoring():
        # Initialize coordinator
        coordinator = MonitoringCoordinator(config)
        await coordinator.initialize()

        # Register trading components
        coordinator.register_portfolio_manager(portfolio_manager)
        coordinator.register_risk_manager(risk_manager)
        coordinator.register_execution_engine(execution_engine)

        # Start monitoring
        print(f"Dashboard: {coordinator.get_dashboard_url()}")
        return coordinator

    async def main():
        # Run monitoring
        coordinator = await setup_monitoring()
        return coordinator

    coordinator = asyncio.run(main())
    try:
        assert capsys.readouterr().out == f"Dashboard: {coordinator.get_dashboard_url()}\n"
        components = coordinator.get_monitoring_status()["components"]
        assert components == {
            "portfolio_manager": {"kind": "portfolio manager", "name": "main", "active": True},
            "risk_manager": {"kind": "risk manager", "name": "main", "active": True},
            "execution_engine": {"kind": "execution engine", "name": "paper", "active": True}}
    finally:
        coordinator.shutdown()
    assert not any(c["active"] for c in coordinator.get_monitoring_status()["components"].values())


def test_integration_guide_registers_each_component(host):
    coordinator = _basic_setup(host.ConfigManager)
    portfolio_manager, risk_manager = host.portfolio_manager, host.risk_manager
    execution_engine = host.execution_engine
    try:
        # --- seed: Integration Guide / Portfolio Manager Integration -------------------------
        # Register portfolio manager
        coordinator.register_portfolio_manager(portfolio_manager)

        # --- seed: Integration Guide / Risk Manager Integration ------------------------------
        # Register risk manager
        coordinator.register_risk_manager(risk_manager)

        # --- seed: Integration Guide / Execution Engine Integration --------------------------
        # Register execution engine
        coordinator.register_execution_engine(execution_engine)

        assert set(coordinator.get_monitoring_status()["components"]) == {
            "portfolio_manager", "risk_manager", "execution_engine"}
    finally:
        coordinator.shutdown()


def test_debug_mode_logs_through_the_monitoring_coordinator_logger(host, capsys, caplog):
    coordinator = _basic_setup(host.ConfigManager)
    caplog.set_level(logging.WARNING)
    caplog.handler.setLevel(logging.DEBUG)

    def debug_records() -> list[logging.LogRecord]:
        return [r for r in caplog.records
                if r.name == "MonitoringCoordinator" and r.levelno == logging.DEBUG]

    try:
        coordinator.get_monitoring_status()
        assert debug_records() == []

        # --- seed: Troubleshooting / Debug Mode ----------------------------------------------
        # Enable debug logging
        import logging as seed_logging
        seed_logging.getLogger('MonitoringCoordinator').setLevel(seed_logging.DEBUG)

        # Monitoring status check
        status = coordinator.get_monitoring_status()
        print(f"Debug Status: {status}")

        assert capsys.readouterr().out.startswith("Debug Status: {'running': True")
        (record,) = debug_records()
        assert record.getMessage().startswith("status: healthy=True")
    finally:
        logging.getLogger("MonitoringCoordinator").setLevel(logging.NOTSET)
        coordinator.shutdown()


def test_alert_configuration_adds_the_seed_rule(host):
    coordinator = _basic_setup(host.ConfigManager)
    try:
        # --- seed: Alert Configuration -------------------------------------------------------
        async def example():
            # Configure email alerts
            email_config = {
                'smtp_server': 'smtp.gmail.com',
                'smtp_port': 587,
                'sender_email': 'trading.bot@example.com',
                'sender_password': 'your_password',
                'recipients': ['trader@example.com']
            }

            # Add custom alert rules
            await coordinator.alerting_system.add_alert_rule(
                'portfolio_loss_alert',
                {
                    'conditions': [{'field': 'daily_return', 'operator': 'lt', 'value': -0.05}],
                    'severity': 'critical',
                    'title': 'Portfolio Loss Alert',
                    'message': 'Daily return is {daily_return:.2%}',
                    'channels': ['email', 'console']
                }
            )
            return email_config

        asyncio.run(example())
        (rule,) = coordinator.alerting_system.list_rules()
        assert rule["name"] == "portfolio_loss_alert"
        assert rule["channels"] == ["email", "console"] and rule["severity"] == "critical"
    finally:
        coordinator.shutdown()


def test_custom_alert_rules_are_added(host):
    coordinator = _basic_setup(host.ConfigManager)
    try:
        # --- seed: Custom Alert Rules --------------------------------------------------------
        async def example():
            # Performance-based alerts
            performance_alerts = {
                'daily_loss_5_percent': {
                    'conditions': [{'field': 'daily_return', 'operator': 'lt', 'value': -0.05}],
                    'severity': 'warning',
                    'title': 'Daily Loss Alert',
                    'channels': ['email', 'console']
                },
                'max_drawdown_alert': {
                    'conditions': [{'field': 'max_drawdown', 'operator': 'lt', 'value': -0.15}],
                    'severity': 'critical',
                    'title': 'Maximum Drawdown Alert',
                    'channels': ['email', 'slack', 'console']
                }
            }

            # Add alerts to system
            for name, config in performance_alerts.items():
                await coordinator.alerting_system.add_alert_rule(name, config)

        asyncio.run(example())
        rules = {r["name"]: r for r in coordinator.alerting_system.list_rules()}
        assert set(rules) == {"daily_loss_5_percent", "max_drawdown_alert"}
        assert rules["max_drawdown_alert"]["severity"] == "critical"
    finally:
        coordinator.shutdown()


def test_system_health_monitoring_reads_the_summary(host, capsys):
    coordinator = _basic_setup(host.ConfigManager)
    try:
        coordinator.register_portfolio_manager(host.portfolio_manager)

        # --- seed: System Health Monitoring --------------------------------------------------
        # Get current system health
        health_status = coordinator.system_health_monitor.get_system_summary()
        print(f"System Status: {health_status}")

        # Check component health
        component_health = coordinator.system_health_monitor.get_component_health(
            'portfolio_manager')
        print(f"Portfolio Manager Health: {component_health}")

        out = capsys.readouterr().out
        assert f"System Status: {health_status}" in out
        assert component_health.name == "portfolio_manager"
        assert f"Portfolio Manager Health: {component_health}" in out
        wait_until(lambda: coordinator.system_health_monitor.get_component_health(
            "portfolio_manager").status == "healthy", what="the heartbeat check's first run")
        status = coordinator.get_monitoring_status()["health"]
        assert status["components"]["portfolio_manager"] == "healthy"
    finally:
        coordinator.shutdown()
