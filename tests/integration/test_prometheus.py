"""/metrics end to end: a bot exports over OTLP to a real `tradepulse serve`, a real Prometheus
scrapes the server's /metrics every second, and the derived figures come back through
Prometheus' query API; the exposition passes `promtool check metrics`."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import urllib.request

import pytest

from tests.prometheus_server import PrometheusServer, find_prometheus, find_promtool
from tests.support import RunningServer, wait_until

BOT = textwrap.dedent("""
    import sys
    import tradepulse
    from tradepulse import metrics

    telemetry = tradepulse.configure("prom-bot", endpoint=sys.argv[1],
                                     export_interval_ms=3_600_000, system_metrics=False)
    metrics.set_portfolio_value(123_456.0, cash=23_456.0, currency="USD")
    for status, latency in [("filled", 0.02)] * 3 + [("rejected", 0.005)]:
        metrics.record_order(symbol="AAPL", side="buy", order_type="limit", status=status,
                             latency_s=latency, broker="paper")
    telemetry.meter_provider.force_flush()
    tradepulse.shutdown()
""")


def _binary(finder, package: str) -> str:
    found = finder()
    if found is None:
        reason = f"{package} not installed (apt-get install prometheus)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI runs the Prometheus tests")
        pytest.skip(reason)
    return found


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    running = RunningServer(tmp_path_factory.mktemp("data"))
    try:
        subprocess.run([sys.executable, "-c", BOT, running.otlp], check=True, timeout=60)
        wait_until(lambda: running.api("/performance?service=prom-bot")["performance"],
                   what="prom-bot's snapshot")
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def prometheus(server):
    target = server.dashboard.removeprefix("http://")
    running = PrometheusServer(_binary(find_prometheus, "prometheus"), [target])
    yield running
    running.stop()


def _metrics_text(server: RunningServer) -> str:
    with urllib.request.urlopen(server.dashboard + "/metrics", timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return response.read().decode()


def test_prometheus_reads_back_the_portfolio_value_a_bot_exported_over_otlp(prometheus):
    query = 'tradepulse_portfolio_value{service="prom-bot"}'
    (series,) = wait_until(lambda: prometheus.query(query), timeout=30, what=query)
    assert float(series["value"][1]) == 123_456.0
    assert series["metric"]["job"] == "tradepulse"
    assert "portfolio" not in series["metric"]  # the bot named none: an empty label


def test_prometheus_sees_execution_figures_and_the_backends_own_counters(prometheus):
    rate = wait_until(lambda: prometheus.query(
        'tradepulse_order_rejection_rate{service="prom-bot"}'), timeout=30, what="rejection")
    assert float(rate[0]["value"][1]) == pytest.approx(0.25)
    accepted = prometheus.query('tradepulse_ingest_accepted_records_total{signal="metrics"}')
    assert float(accepted[0]["value"][1]) > 0
    (target,) = prometheus.targets()
    assert target["health"] == "up", target


def test_prometheus_sees_the_health_monitors_statuses(prometheus):
    found = wait_until(lambda: prometheus.query("tradepulse_health_status == 1"), timeout=30,
                       what="overall health status")
    assert found[0]["metric"]["status"] in ("healthy", "degraded", "unhealthy", "unknown")
    (cpu,) = wait_until(lambda: prometheus.query("tradepulse_host_cpu_usage_ratio"),
                        timeout=30, what="host cpu")
    assert 0.0 <= float(cpu["value"][1]) <= 1.0


def test_metrics_exposition_passes_promtool_check_metrics(server):
    promtool = _binary(find_promtool, "promtool")
    text = _metrics_text(server)
    assert 'tradepulse_portfolio_value{portfolio="",service="prom-bot"} 123456.0' in text
    checked = subprocess.run([promtool, "check", "metrics"], input=text, text=True,
                             capture_output=True, timeout=30)
    assert checked.returncode == 0, checked.stdout + checked.stderr
