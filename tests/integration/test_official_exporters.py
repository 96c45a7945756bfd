"""The official OpenTelemetry SDK exporters talking to a real `tradepulse serve`, storing in
SQLite and in PostgreSQL."""

from __future__ import annotations

import logging

import pytest
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

RESOURCE = Resource.create({"service.name": "exporter-bot", "deployment.environment.name": "test"})


@pytest.fixture(scope="module")
def server(server_on_each_database):
    """This module runs on SQLite and on PostgreSQL."""
    return server_on_each_database


def test_spans_from_the_otlp_span_exporter_are_queryable_by_trace(server):
    provider = TracerProvider(resource=RESOURCE)
    provider.add_span_processor(SimpleSpanProcessor(
        OTLPSpanExporter(endpoint=f"{server.otlp}/v1/traces")))
    tracer = provider.get_tracer("tests.exporters", "1.2.3")
    with (
        tracer.start_as_current_span("strategy.step", attributes={"trading.symbol": "AAPL"}),
        tracer.start_as_current_span("order.submit") as child,
    ):
        child.set_attribute("trading.side", "buy")
        trace_id = format(child.get_span_context().trace_id, "032x")
    provider.shutdown()

    body = server.api(f"/traces/{trace_id}")
    spans = {s["name"]: s for s in body["spans"]}
    assert set(spans) == {"strategy.step", "order.submit"}
    assert spans["order.submit"]["parent_span_id"] == spans["strategy.step"]["span_id"]
    assert spans["strategy.step"]["attributes"] == {"trading.symbol": "AAPL"}
    assert spans["order.submit"]["service"] == "exporter-bot"
    assert any(t["trace_id"] == trace_id for t in server.api("/traces")["traces"])
    services = {s["name"]: s for s in server.api("/services")["services"]}
    assert services["exporter-bot"]["resources"][0]["deployment.environment.name"] == "test"


def test_metrics_from_the_otlp_metric_exporter_are_queryable_as_series(server):
    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=f"{server.otlp}/v1/metrics"), export_interval_millis=3_600_000)
    provider = MeterProvider(resource=RESOURCE, metric_readers=[reader])
    meter = provider.get_meter("tests.exporters")
    orders = meter.create_counter("trading.orders", unit="{order}")
    latency = meter.create_histogram("trading.order.duration", unit="s")
    orders.add(3, {"trading.side": "buy"})
    orders.add(2, {"trading.side": "sell"})
    latency.record(0.042, {"trading.side": "buy"})
    provider.force_flush()
    orders.add(4, {"trading.side": "buy"})
    provider.shutdown()

    names = {m["name"]: m for m in server.api("/metrics?service=exporter-bot")["metrics"]}
    assert names["trading.orders"]["kind"] == "sum"
    assert names["trading.order.duration"]["kind"] == "histogram"
    buys = server.api("/metrics?name=trading.orders&service=exporter-bot"
                      "&attr.trading.side=buy")["series"]
    assert len(buys) == 1
    assert [p[1] for p in buys[0]["points"]] == [3.0, 7.0]
    assert buys[0]["temporality"] == "cumulative" and buys[0]["monotonic"] is True
    delta = server.api("/metrics?name=trading.orders&service=exporter-bot"
                       "&attr.trading.side=buy&fn=delta")["series"][0]
    assert [p[1] for p in delta["points"]] == [4.0]
    histogram = server.api("/metrics?name=trading.order.duration")["series"][0]["points"][0][1]
    assert histogram["count"] == 1 and histogram["sum"] == 0.042
    assert sum(histogram["bucket_counts"]) == 1


def test_logs_from_the_otlp_log_exporter_are_queryable(server):
    provider = LoggerProvider(resource=RESOURCE)
    provider.add_log_record_processor(SimpleLogRecordProcessor(
        OTLPLogExporter(endpoint=f"{server.otlp}/v1/logs")))
    logger = logging.getLogger("tests.exporter.logs")
    handler = LoggingHandler(logger_provider=provider)
    logger.addHandler(handler)
    try:
        logger.warning("broker %s disconnected", "alpaca")
    finally:
        logger.removeHandler(handler)
        provider.shutdown()

    logs = server.api("/logs?service=exporter-bot&contains=disconnected")["logs"]
    assert [entry["body"] for entry in logs] == ["broker alpaca disconnected"]
    assert logs[0]["severity_text"] == "WARN" or logs[0]["severity_text"] == "WARNING"


def test_the_api_root_lists_the_api(server):
    status, body = server.get("/api/v1/")
    assert status == 200
    assert body["endpoints"]["status"] == "/api/v1/status"
    assert server.get(body["endpoints"]["status"])[0] == 200
