"""OTLP/gRPC on its own port: the official gRPC exporters and the SDK's protocol="grpc"."""

from __future__ import annotations

import os
import subprocess
import sys

import grpc
import pytest
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from tests.integration.otlp_samples import span, spans_request

RESOURCE = Resource.create({"service.name": "grpc-bot"})
KEY = "grpc-key-81b2"


def _stub(address: str) -> trace_service_pb2_grpc.TraceServiceStub:
    return trace_service_pb2_grpc.TraceServiceStub(grpc.insecure_channel(address))


def _request(name: str, span_id: bytes = b"\x09" * 8) -> ExportTraceServiceRequest:
    return ExportTraceServiceRequest.FromString(
        spans_request("grpc-raw", [span(bytes.fromhex("ef" * 16), span_id, name)]))


def test_the_official_grpc_exporters_store_spans_and_metrics(server):
    tracer_provider = TracerProvider(resource=RESOURCE)
    tracer_provider.add_span_processor(SimpleSpanProcessor(
        OTLPSpanExporter(endpoint=server.grpc, insecure=True)))
    with tracer_provider.get_tracer("tests").start_as_current_span("over-grpc"):
        pass
    tracer_provider.shutdown()
    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=server.grpc, insecure=True), export_interval_millis=3_600_000)
    meter_provider = MeterProvider(resource=RESOURCE, metric_readers=[reader])
    meter_provider.get_meter("tests").create_counter("trading.orders").add(5)
    meter_provider.shutdown()

    assert [s["name"] for s in server.api("/spans?service=grpc-bot")["spans"]] == ["over-grpc"]
    series = server.api("/metrics?name=trading.orders&service=grpc-bot")["series"]
    assert series[0]["points"][0][1] == 5.0


def test_the_sdk_configured_for_grpc_reaches_the_backend(server):
    script = (
        "import tradepulse\n"
        "tradepulse.configure('sdk-grpc-bot', protocol='grpc', system_metrics=False)\n"
        "@tradepulse.traced\n"
        "def step(): tradepulse.metrics.set_portfolio_value(1234.5)\n"
        "step()\n"
        "tradepulse.shutdown()\n"
    )
    env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{server.grpc}",
           "OTEL_EXPORTER_OTLP_INSECURE": "true"}
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=60)
    assert [s["name"] for s in server.api("/spans?service=sdk-grpc-bot")["spans"]] == ["step"]
    series = server.api("/metrics?name=trading.portfolio.value&service=sdk-grpc-bot")["series"]
    assert series[0]["points"][-1][1] == 1234.5


def test_invalid_spans_over_grpc_come_back_as_partial_success(server):
    response = _stub(server.grpc).Export(_request("short id", span_id=b"\x01\x02"))
    assert response.partial_success.rejected_spans == 1
    assert "invalid" in response.partial_success.error_message


def test_grpc_requires_the_api_key_when_keys_are_set(start_server):
    running = start_server({"ingest": {"api_keys": [KEY]}})
    stub = _stub(running.grpc)
    with pytest.raises(grpc.RpcError) as refused:
        stub.Export(_request("no key"))
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    stub.Export(_request("with key"), metadata=(("authorization", f"Bearer {KEY}"),))
    assert [s["name"] for s in running.api("/spans?service=grpc-raw")["spans"]] == ["with key"]
    running.stop()
    assert KEY not in running.stderr


def test_a_grpc_message_over_the_size_limit_is_resource_exhausted(start_server):
    running = start_server({"ingest": {"max_body_bytes": 2048}})
    big = _request("x" * 5000)
    with pytest.raises(grpc.RpcError) as refused:
        _stub(running.grpc).Export(big)
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
