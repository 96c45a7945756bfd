"""Built-in forwarding between real servers: the official SDK exporters send to tradepulse A,
which re-sends every committed request unchanged to tradepulse B and to a recording HTTP server;
an outage of the recorder delays delivery but loses and duplicates nothing, ingest keeps
answering meanwhile, and what is queued survives a restart of A."""

from __future__ import annotations

import gzip

import grpc
import pytest
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from tests.backend.forwarding.recorder import Recorder
from tests.integration.otlp_samples import span, spans_request
from tests.support import post, wait_until
from tradepulse_backend import __version__

PROTOBUF = {"Content-Type": "application/x-protobuf"}
FAST_RETRIES = {"retry_initial_interval": 0.05, "retry_max_interval": 0.2}


@pytest.fixture
def recorder():
    running = Recorder()
    yield running
    running.stop()


def _forwarding(recorder: Recorder, *servers) -> dict:
    destinations = [{"name": f"tradepulse-{i}", "endpoint": server.otlp}
                    for i, server in enumerate(servers)]
    destinations.append({"name": "recorder", "endpoint": recorder.url, **FAST_RETRIES})
    return {"forwarding": destinations}


def _drained(server, name: str, sent: int):
    """The destination's figures once `sent` requests went out and nothing is queued."""
    stats = server.api("/status")["forwarding"][name]
    return stats if stats["sent"] == sent and stats["queue_requests"] == 0 else None


def _numbered_requests(count: int, prefix: str) -> list[bytes]:
    return [spans_request("forwarded-bot", [span(bytes([i + 1]) * 16, bytes([i + 1]) * 8,
                                                 f"{prefix}-{i}")]) for i in range(count)]


def test_sdk_telemetry_sent_to_a_reaches_b_and_the_recorder_unchanged(start_server, recorder):
    b = start_server()
    a = start_server(_forwarding(recorder, b))
    resource = Resource.create({"service.name": "forwarded-sdk-bot"})
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(SimpleSpanProcessor(
        OTLPSpanExporter(endpoint=f"{a.otlp}/v1/traces")))
    tracer = tracer_provider.get_tracer("tests.forwarding")
    with tracer.start_as_current_span("strategy.step", attributes={"trading.symbol": "AAPL"}), \
            tracer.start_as_current_span("order.submit") as child:
        trace_id = format(child.get_span_context().trace_id, "032x")
    tracer_provider.shutdown()
    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=f"{a.otlp}/v1/metrics"), export_interval_millis=3_600_000)
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    orders = meter_provider.get_meter("tests.forwarding").create_counter("trading.orders")
    orders.add(3, {"trading.side": "buy"})
    meter_provider.force_flush()
    orders.add(4, {"trading.side": "buy"})
    meter_provider.shutdown()

    requests = 4  # two spans (one export each) and two metric exports
    wait_until(lambda: _drained(a, "tradepulse-0", requests), what="A forwarded to B")
    wait_until(lambda: _drained(a, "recorder", requests), what="A forwarded to the recorder")
    assert b.api(f"/traces/{trace_id}") == a.api(f"/traces/{trace_id}")
    assert len(b.api(f"/traces/{trace_id}")["spans"]) == 2
    query = "/metrics?name=trading.orders&service=forwarded-sdk-bot"
    assert b.api(query)["series"] == a.api(query)["series"]
    assert [p[1] for p in b.api(query)["series"][0]["points"]] == [3.0, 7.0]
    assert [r.path for r in recorder.received] == ["/v1/traces"] * 2 + ["/v1/metrics"] * 2
    assert {r.headers["user-agent"] for r in recorder.received} == {f"tradepulse/{__version__}"}
    assert all(r.headers["content-type"] == "application/x-protobuf" for r in recorder.received)


def test_an_outage_of_a_destination_delays_but_never_loses_or_duplicates(start_server,
                                                                          recorder):
    a = start_server(_forwarding(recorder))
    bodies = _numbered_requests(10, "outage")
    recorder.fail_with(503, {"Retry-After": "1"})
    for body in bodies[:5]:
        assert post(f"{a.otlp}/v1/traces", body, PROTOBUF)[0] == 200
    wait_until(lambda: recorder.refused >= 1, what="a 503 from the recorder")
    recorder.stop()
    for body in bodies[5:]:
        assert post(f"{a.otlp}/v1/traces", body, PROTOBUF)[0] == 200
    stats = wait_until(lambda: (s := a.api("/status")["forwarding"]["recorder"])["retried"] >= 2
                       and "Connection" in (s["last_error"] or "") and s, what="refusals")
    assert (stats["queued"], stats["queue_requests"], stats["sent"]) == (10, 10, 0)
    assert stats["oldest_age_s"] > 0 and stats["queue_bytes"] >= sum(map(len, bodies))
    assert len(a.api("/traces?limit=100")["traces"]) >= 10, "ingest stored everything meanwhile"

    recorder.fail_with(None)
    recorder.start()
    stats = wait_until(lambda: _drained(a, "recorder", 10), what="delivery after the outage")
    assert [r.body for r in recorder.received] == bodies
    assert (stats["failed"], stats["dropped"], stats["queued"]) == (0, 0, 10)


def test_what_is_queued_when_a_stops_is_sent_after_it_restarts(start_server, recorder,
                                                               tmp_path):
    recorder.stop()
    data_dir = tmp_path / "a"
    a = start_server(_forwarding(recorder), data_dir=data_dir)
    bodies = _numbered_requests(6, "restart")
    gzipped = {i: gzip.compress(body) for i, body in enumerate(bodies) if i % 2}
    for i, body in enumerate(bodies):
        headers = {**PROTOBUF, "Content-Encoding": "gzip"} if i in gzipped else PROTOBUF
        assert post(f"{a.otlp}/v1/traces", gzipped.get(i, body), headers)[0] == 200
    assert a.api("/status")["forwarding"]["recorder"]["queue_requests"] == 6
    assert a.stop() == 0

    recorder.start()
    again = start_server(_forwarding(recorder), data_dir=data_dir)
    wait_until(lambda: _drained(again, "recorder", 6), what="delivery after the restart")
    assert [r.body for r in recorder.received] == [gzipped.get(i, b) for i, b in enumerate(bodies)]
    assert [r.headers.get("content-encoding") for r in recorder.received] == \
        [None, "gzip"] * 3


def test_a_request_received_over_grpc_is_forwarded_as_its_protobuf_bytes(start_server,
                                                                          recorder):
    a = start_server(_forwarding(recorder))
    [body] = _numbered_requests(1, "grpc")
    with grpc.insecure_channel(a.grpc) as channel:
        trace_service_pb2_grpc.TraceServiceStub(channel).Export(
            trace_service_pb2.ExportTraceServiceRequest.FromString(body), timeout=10)
    wait_until(lambda: _drained(a, "recorder", 1), what="forwarding of the gRPC request")
    [received] = recorder.received
    assert (received.path, received.body) == ("/v1/traces", body)
    assert received.headers["content-type"] == "application/x-protobuf"
    assert "content-encoding" not in received.headers
