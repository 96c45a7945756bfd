"""The /metrics collector in-process: what it exports is exactly what FAMILIES declares, read
live at each scrape."""

from __future__ import annotations

import socket

from prometheus_client.parser import text_string_to_metric_families
from werkzeug.test import Client

from tests.integration.otlp_samples import json_trace
from tradepulse_backend.app import create_app
from tradepulse_backend.clock import ManualClock
from tradepulse_backend.config import MonitoringConfig
from tradepulse_backend.dashboard.prometheus import FAMILIES, exported_series_names
from tradepulse_backend.runtime import Backend


def _samples(app_client) -> dict[str, list]:
    response = app_client.client.get("/metrics")
    assert response.status_code == 200
    found: dict[str, list] = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            found.setdefault(sample.name, []).append(sample)
    return found


def test_every_exported_sample_is_a_declared_family(app_client):
    app_client.backend.performance.update_portfolio_data(
        {"service": "bot", "portfolio": "main", "portfolio_value": 1000.0, "cash": 10.0})
    names = set(_samples(app_client))
    assert names <= exported_series_names(), names - exported_series_names()
    assert "tradepulse_portfolio_value" in names
    assert len({family.name for family in FAMILIES}) == len(FAMILIES)


def test_figures_are_read_at_scrape_time_not_cached(app_client):
    monitor = app_client.backend.performance
    monitor.update_portfolio_data({"service": "bot", "portfolio_value": 1000.0})
    first = _samples(app_client)
    app_client.clock.advance(60)
    monitor.update_portfolio_data({"service": "bot", "portfolio_value": 1100.0})
    second = _samples(app_client)
    assert [s.value for s in first["tradepulse_portfolio_value"]] == [1000.0]
    assert [s.value for s in second["tradepulse_portfolio_value"]] == [1100.0]
    commits = second["tradepulse_ingest_commit_duration_seconds_count"][0].value
    assert commits == first["tradepulse_ingest_commit_duration_seconds_count"][0].value + 1
    (inf,) = [s for s in second["tradepulse_ingest_commit_duration_seconds_bucket"]
              if s.labels["le"] == "+Inf"]
    assert inf.value == commits


def test_snapshot_labels_carry_service_and_portfolio(app_client):
    app_client.backend.performance.update_portfolio_data(
        {"service": "bot", "portfolio": "main", "portfolio_value": 500.0})
    (sample,) = _samples(app_client)["tradepulse_portfolio_value"]
    assert sample.labels == {"service": "bot", "portfolio": "main"}


def test_forwarding_counters_are_exported_per_destination(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    config = MonitoringConfig(
        ingest={"grpc_port": None}, storage={"data_dir": str(tmp_path)},
        forwarding=[{"name": "recorder", "endpoint": f"http://127.0.0.1:{closed_port}"}])
    backend = Backend(config, clock=ManualClock())
    backend.start()
    try:
        response = Client(backend.receiver).post(
            "/v1/traces", data=json_trace(), headers={"Content-Type": "application/json"})
        assert response.status_code == 200
        samples = {(s.name, s.labels.get("destination")): s.value
                   for family in text_string_to_metric_families(
                       create_app(backend=backend).test_client().get("/metrics")
                       .get_data(as_text=True))
                   for s in family.samples}
        stats = backend.forwarding.stats()["recorder"]
        assert samples[("tradepulse_forwarding_enqueued_requests_total", "recorder")] == 1
        assert samples[("tradepulse_forwarding_queue_requests", "recorder")] == \
            stats["queue_requests"] == 1
        assert samples[("tradepulse_forwarding_sent_requests_total", "recorder")] == 0
    finally:
        backend.close()


def test_a_firing_rule_is_an_alerts_series_and_its_notification_an_outbox_row(app_client):
    alerting = app_client.backend.alerting
    alerting.add_rule("portfolio_loss_alert", {
        "conditions": [{"field": "daily_return", "operator": "lt", "value": -0.05}],
        "severity": "critical", "title": "Portfolio Loss Alert", "channels": ["console"]})
    monitor = app_client.backend.performance
    monitor.update_portfolio_data({"service": "bot", "portfolio": "main",
                                   "portfolio_value": 1000.0})
    app_client.clock.advance(60)
    snapshot = monitor.update_portfolio_data({"service": "bot", "portfolio": "main",
                                              "portfolio_value": 900.0})
    alerting.evaluate_alerts(snapshot)
    samples = _samples(app_client)
    (alert,) = samples["ALERTS"]
    assert alert.value == 1
    assert alert.labels == {"alertname": "portfolio_loss_alert", "alertstate": "firing",
                            "severity": "critical", "service": "bot", "portfolio": "main"}
    assert [s.value for s in samples["tradepulse_alert_rules"]] == [1]
    app_client.clock.advance(5)
    alerting.tick()
    outbox = {(s.labels["channel"], s.labels["status"]): s.value
              for s in _samples(app_client)["tradepulse_alert_outbox_notifications"]}
    assert sum(outbox.values()) >= 1 and {c for c, _ in outbox} == {"console"}
