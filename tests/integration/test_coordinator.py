"""MonitoringCoordinator: the whole backend inside a bot's process. The SDK's global providers
can be set once per process, so the end-to-end cases run a bot script in a subprocess."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request

import pytest
import websocket
import yaml

import tradepulse
from tests.backend.dashboard.wsclient import Stream
from tests.integration.otlp_samples import json_trace
from tests.support import post, wait_until
from tradepulse_backend.config import ConfigError
from tradepulse_backend.coordinator import MonitoringConfig, MonitoringCoordinator, heartbeat

BOT = textwrap.dedent("""
    import json, sys, urllib.request
    from tradepulse_backend.coordinator import MonitoringCoordinator

    class PortfolioManager:
        name, currency = "main", "USD"
        total_value, cash = 250_000.0, 50_000.0
        positions = {"AAPL": {"quantity": 10, "market_value": 1_900.0}}

    class RiskManager:
        name, var, var_limit = "main", 4_000.0, 5_000.0

    class ExecutionEngine:
        brokers = {"paper": True}
        open_orders = 3

    config = {"monitoring": {"ingest": {"port": 0, "grpc_port": 0}, "dashboard": {"port": 0},
                             "storage": {"data_dir": sys.argv[1]}}}
    with MonitoringCoordinator(config, service_name="embedded-bot") as coordinator:
        coordinator.register_portfolio_manager(PortfolioManager())
        coordinator.register_risk_manager(RiskManager())
        coordinator.register_execution_engine(ExecutionEngine())
        assert coordinator.flush()
        snapshot = coordinator.performance_monitor.get_current_performance("embedded-bot")
        url = coordinator.get_dashboard_url()
        with urllib.request.urlopen(url + "metrics", timeout=10) as response:
            exposition = response.read().decode()
        with urllib.request.urlopen(url + "api/v1/performance?service=embedded-bot",
                                    timeout=10) as response:
            rest = json.load(response)["performance"]
        status = coordinator.get_monitoring_status()
    print(json.dumps({"value": snapshot.portfolio_value, "var_limit_usage":
                      snapshot.var_limit_usage, "portfolio": snapshot.portfolio,
                      "rest": rest[0]["portfolio_value"], "sdk": status["sdk"],
                      "exposition": exposition, "dashboard": url,
                      "otlp": status["urls"]["otlp_http"], "healthy": status["healthy"]}))
""")

OWN_PROVIDER_BOT = textwrap.dedent("""
    import json, sys
    from opentelemetry import metrics
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from tradepulse_backend.coordinator import MonitoringCoordinator

    reader = InMemoryMetricReader()
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))

    class PortfolioManager:
        total_value = 1234.0

    config = {"monitoring": {"ingest": {"port": 0, "grpc_port": None}, "dashboard": {"port": 0},
                             "storage": {"data_dir": sys.argv[1]}}}
    with MonitoringCoordinator(config) as coordinator:
        coordinator.register_portfolio_manager(PortfolioManager())
        data = reader.get_metrics_data()
        coordinator.flush()
        services = coordinator.performance_monitor.services()
        configured = coordinator.sdk_configured
    points = [p.value for rm in data.resource_metrics for sm in rm.scope_metrics
              for m in sm.metrics if m.name == "trading.portfolio.value"
              for p in m.data.data_points]
    print(json.dumps({"configured": configured, "points": points, "services": services}))
""")


def _run(script: str, tmp_path) -> dict:
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path / "data")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def _refused(url: str) -> bool:
    host, port = url.removeprefix("http://").rstrip("/").rsplit(":", 1)
    with socket.socket() as probe:
        return probe.connect_ex((host, int(port))) != 0


def test_registered_components_reach_the_embedded_backend_through_the_sdk(tmp_path):
    found = _run(BOT, tmp_path)
    assert found["sdk"] == {"configured_by_coordinator": True, "endpoint": found["otlp"]}
    assert (found["value"], found["portfolio"], found["rest"]) == (250_000.0, "main", 250_000.0)
    assert found["var_limit_usage"] == pytest.approx(0.8)
    assert ('tradepulse_portfolio_value{portfolio="main",service="embedded-bot"} 250000.0'
            in found["exposition"])
    assert found["healthy"] is True
    assert _refused(found["dashboard"]) and _refused(found["otlp"])


def test_a_bot_with_its_own_sdk_provider_keeps_its_exporter(tmp_path):
    found = _run(OWN_PROVIDER_BOT, tmp_path)
    assert found["configured"] is False
    assert found["points"] == [1234.0]
    assert found["services"] == []


def _section(tmp_path) -> dict:
    return {"ingest": {"port": 0, "grpc_port": None}, "dashboard": {"port": 0},
            "storage": {"data_dir": str(tmp_path / "data")}}


def test_config_comes_as_a_host_manager_dict_section_model_or_yaml_path(tmp_path):
    section = _section(tmp_path)
    expected = MonitoringConfig.model_validate(section)

    class ConfigManager:
        config = {"monitoring": section, "trading": {"symbols": ["AAPL"]}}

    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"monitoring": section}))
    for source in (ConfigManager(), {"monitoring": section}, section, expected, path, str(path)):
        assert MonitoringCoordinator(source).config == expected, source


def test_bad_config_names_the_key_path(tmp_path):
    class ConfigManager:
        config = {"trading": {}}

    with pytest.raises(ConfigError, match="no 'monitoring' section"):
        MonitoringCoordinator(ConfigManager())
    with pytest.raises(ConfigError, match=r"monitoring\.dashboard\.port"):
        MonitoringCoordinator({"monitoring": {"dashboard": {"port": "eighty"}}})
    with pytest.raises(TypeError, match="not int"):
        MonitoringCoordinator(8080)


def test_async_with_and_with_start_and_stop_every_listener(tmp_path):
    async def use() -> dict[str, str]:
        async with MonitoringCoordinator(_section(tmp_path), configure_sdk=False) as running:
            assert not _refused(running.get_dashboard_url())
            return dict(running.urls)

    urls = asyncio.run(use())
    assert _refused(urls["dashboard"]) and _refused(urls["otlp_http"])
    with MonitoringCoordinator(_section(tmp_path), configure_sdk=False) as coordinator:
        status = coordinator.get_monitoring_status()
        assert status["running"] is True and status["forwarding"] == {}
    coordinator.shutdown()
    assert coordinator.get_monitoring_status()["running"] is False
    with pytest.raises(RuntimeError, match="shut down"):
        coordinator.start()


def test_a_port_in_use_fails_start_and_leaves_nothing_running(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        section = {**_section(tmp_path), "dashboard": {"port": taken.getsockname()[1]}}
        coordinator = MonitoringCoordinator(section, configure_sdk=False)
        with pytest.raises(OSError):
            coordinator.start()
    assert coordinator.backend is None and coordinator.get_dashboard_url() is None


def test_the_component_heartbeat_follows_the_figures_the_sdk_reads():
    class Flaky:
        name = "flaky-heartbeat"
        broken = False
        cash = 10.0

        @property
        def total_value(self) -> float:
            if self.broken:
                raise ConnectionError("price feed down")
            return 100.0

    target = Flaky()
    handle = tradepulse.observe_portfolio_manager(target)
    check = heartbeat(handle, target)
    try:
        assert check()[0] == "healthy"
        target.broken = True
        assert check() == ("unhealthy", "reading total_value raised ConnectionError")
        target.broken = False
        assert check()[0] == "healthy"
    finally:
        handle.stop()
    assert check()[0] == "unhealthy"


def test_a_failing_component_turns_unhealthy_in_health_and_metrics(tmp_path):
    class PortfolioManager:
        name = "failing-pm"
        failing = False

        @property
        def total_value(self) -> float:
            if self.failing:
                raise TimeoutError("broker API timed out")
            return 5_000.0

    pm = PortfolioManager()
    section = {**_section(tmp_path),
               "system_health": {"checkers": {"interval": 0.2, "tick": 0.05}}}
    with MonitoringCoordinator(section, configure_sdk=False) as coordinator:
        coordinator.register_portfolio_manager(pm)
        health = coordinator.system_health_monitor

        def status() -> str:
            return str(health.get_component_health("portfolio_manager").status)

        wait_until(lambda: status() == "healthy", what="healthy heartbeat")
        pm.failing = True
        wait_until(lambda: status() == "unhealthy", what="unhealthy heartbeat")
        assert "TimeoutError" in health.get_component_health("portfolio_manager").message
        url = coordinator.get_dashboard_url() + "metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            exposition = response.read().decode()
        assert ('tradepulse_component_status{component="portfolio_manager",status="unhealthy"}'
                ' 1.0') in exposition


def test_every_alert_rule_template_is_accepted_and_test_alerts_go_out(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    channels = {
        "email": {"smtp_server": "127.0.0.1", "smtp_port": closed, "security": "none",
                  "sender_email": "bot@example.com", "recipients": ["trader@example.com"]},
        "slack": {"webhook_url": f"http://127.0.0.1:{closed}/slack"},
        "console": {},
    }
    section = {**_section(tmp_path), "alerting_system": {"channels": channels}}
    templates = MonitoringConfig.get_alert_rule_templates()

    async def add_all(coordinator: MonitoringCoordinator) -> None:
        for name, spec in templates.items():
            await coordinator.alerting_system.add_alert_rule(name, spec)

    with MonitoringCoordinator(section, configure_sdk=False) as coordinator:
        asyncio.run(add_all(coordinator))
        assert {r["name"] for r in coordinator.alerting_system.list_rules()} == set(templates)
        status = coordinator.get_monitoring_status()["alerting"]
        assert (status["rules"], status["outbox_backlog"]) == (len(templates), 0)
        sent = coordinator.send_test_alert("console")
        assert list(sent) == ["console"] and sent["console"]["ok"] is True
        failed = coordinator.send_test_alert("slack")["slack"]
        assert failed["ok"] is False and failed["detail"]


def _get(url: str, headers: dict[str, str] | None = None, context=None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_the_websocket_stream_and_metrics_are_served_in_process(tmp_path):
    with MonitoringCoordinator(_section(tmp_path), configure_sdk=False) as coordinator:
        assert coordinator.dashboard_server is coordinator.backend.dashboard
        coordinator.performance_monitor.update_portfolio_data(
            {"service": "ws-bot", "portfolio_value": 1_000.0})
        stream = Stream(coordinator.get_dashboard_url().rstrip("/"))
        try:
            assert stream.next()["type"] == "snapshot"
            status = coordinator.get_monitoring_status()["dashboard"]["websockets"]
            assert status["clients"] == 1
            _, body = _get(coordinator.get_dashboard_url() + "metrics")
            assert b"tradepulse_websocket_clients 1.0" in body
        finally:
            stream.close()


def test_metrics_and_websocket_are_behind_dashboard_auth_and_tls(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    section = {**_section(tmp_path), "dashboard": {
        "port": 0, "auth": {"token": "s3cret-token"},
        "tls": {"cert_file": str(cert), "key_file": str(key)}}}
    context = ssl.create_default_context(cafile=str(cert))
    with MonitoringCoordinator(section, configure_sdk=False) as coordinator:
        url = coordinator.get_dashboard_url()
        assert url.startswith("https://127.0.0.1:")
        assert _get(url + "metrics", context=context)[0] == 401
        status, body = _get(url + "metrics", {"Authorization": "Bearer s3cret-token"}, context)
        assert status == 200 and b"tradepulse_backend_healthy 1.0" in body
        assert _get(url + "healthz", context=context)[0] == 200
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            Stream(url.rstrip("/"), sslopt={"ca_certs": str(cert)})
        assert refused.value.status_code == 401


def test_status_reports_a_forwarding_destinations_last_error(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    section = {**_section(tmp_path), "forwarding": [
        {"name": "down", "endpoint": f"http://127.0.0.1:{closed}", "timeout": 1}]}
    with MonitoringCoordinator(section, configure_sdk=False) as coordinator:
        status, _, _ = post(coordinator.urls["otlp_http"] + "/v1/traces", json_trace(),
                            {"Content-Type": "application/json"})
        assert status == 200

        def forwarding_errors() -> list[dict]:
            return [e for e in coordinator.get_monitoring_status()["last_errors"]
                    if e["source"] == "forwarding down"]

        (error,) = wait_until(forwarding_errors, what="the forwarding error in the status")
        assert error["error"]
        assert coordinator.get_monitoring_status()["forwarding"]["down"]["queue_requests"] == 1
