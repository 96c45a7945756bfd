"""A request whose commit waits too long answers 503 and is never committed later, so the
exporter's retry stores each span exactly once (spans have no unique key to deduplicate on)."""

from __future__ import annotations

import sqlite3
import threading
import time

import grpc
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from werkzeug.serving import make_server

from tests.integration.otlp_samples import span, spans_request
from tests.support import post, wait_until
from tradepulse_backend.bus import EventBus
from tradepulse_backend.ingest.auth import ApiKeys
from tradepulse_backend.ingest.grpc_receiver import start_grpc_server
from tradepulse_backend.ingest.pipeline import WritePipeline
from tradepulse_backend.ingest.receiver import OtlpReceiver, ReceiverSettings
from tradepulse_backend.store import Store, queries

COMMIT_TIMEOUT_S = 0.3
PROTOBUF = {"Content-Type": "application/x-protobuf"}


class Ingest:
    """The real OTLP/HTTP and OTLP/gRPC receivers, write pipeline and SQLite store, in-process,
    with a short commit timeout."""

    def __init__(self, data_dir) -> None:
        self.db_path = data_dir / "tradepulse.db"
        self.store = Store.open(f"sqlite:///{self.db_path}", data_dir)
        self.pipeline = WritePipeline(self.store.writer, EventBus(), max_batches=16,
                                      group_max_records=1000, commit_timeout=COMMIT_TIMEOUT_S)
        self.pipeline.start()
        keys = ApiKeys(())
        receiver = OtlpReceiver(ReceiverSettings(keys=keys, max_body_bytes=1 << 20,
                                                 retry_after_seconds=1), self.pipeline)
        self.http = make_server("127.0.0.1", 0, receiver, threaded=True)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        self.otlp = f"http://127.0.0.1:{self.http.server_port}"
        self.grpc, port = start_grpc_server("127.0.0.1", 0, keys=keys, pipeline=self.pipeline,
                                            max_message_bytes=1 << 20, threads=4)
        self.grpc_address = f"127.0.0.1:{port}"

    def close(self) -> None:
        self.http.shutdown()
        self.grpc.stop(None)
        self.pipeline.close()
        self.store.close()

    def spans(self, service: str) -> list[str]:
        return [s["name"] for s in queries.recent_spans(self.store.engine, service=service)]

    def writer_stuck_behind_the_lock(self) -> tuple[sqlite3.Connection, threading.Thread]:
        """Hold SQLite's write lock and send a first batch, which the writer claims and then
        waits on; the next batch stays queued behind it."""
        lock = sqlite3.connect(self.db_path, timeout=5)
        lock.execute("BEGIN IMMEDIATE")
        body = spans_request("blocker", [span(bytes.fromhex("aa" * 16), b"\x01" * 8, "first")])
        first = threading.Thread(target=post, args=(f"{self.otlp}/v1/traces", body, PROTOBUF))
        first.start()
        wait_until(lambda: self.pipeline.stats.claimed == 1, what="writer took the first batch")
        return lock, first


@pytest.fixture
def ingest(tmp_path):
    running = Ingest(tmp_path)
    yield running
    running.close()


def test_a_timed_out_export_is_retried_by_the_exporter_and_stored_exactly_once(ingest):
    lock, first = ingest.writer_stuck_behind_the_lock()
    provider = TracerProvider(resource=Resource.create({"service.name": "retry-bot"}))
    provider.add_span_processor(SimpleSpanProcessor(
        OTLPSpanExporter(endpoint=f"{ingest.otlp}/v1/traces")))
    tracer = provider.get_tracer("tests.commit_timeout")

    def export() -> None:
        with tracer.start_as_current_span("parent"), tracer.start_as_current_span("child"):
            pass

    exporting = threading.Thread(target=export)
    exporting.start()
    wait_until(lambda: ingest.pipeline.stats.commit_timeouts >= 1, what="a commit timeout")
    lock.rollback()
    lock.close()
    exporting.join()
    first.join()
    provider.shutdown()

    wait_until(lambda: ingest.pipeline.depth == 0, what="queue drained")
    assert sorted(ingest.spans("retry-bot")) == ["child", "parent"]
    assert ingest.spans("blocker") == ["first"]


def test_a_timed_out_http_request_answers_503_and_its_batch_never_commits(ingest):
    lock, first = ingest.writer_stuck_behind_the_lock()
    body = spans_request("late-bot", [span(bytes.fromhex("bb" * 16), b"\x02" * 8, "late")])
    status, headers, _ = post(f"{ingest.otlp}/v1/traces", body, PROTOBUF)
    lock.rollback()
    lock.close()
    first.join()

    assert (status, headers["Retry-After"]) == (503, "1")
    wait_until(lambda: ingest.pipeline.depth == 0, what="queue drained")
    assert ingest.spans("blocker") == ["first"]
    assert ingest.spans("late-bot") == []


def test_a_claimed_batch_is_answered_with_its_real_outcome_after_the_timeout(ingest):
    lock = sqlite3.connect(ingest.db_path, timeout=5)
    lock.execute("BEGIN IMMEDIATE")
    body = spans_request("slow-bot", [span(bytes.fromhex("cc" * 16), b"\x03" * 8, "slow")])
    result: list[int] = []
    sending = threading.Thread(
        target=lambda: result.append(post(f"{ingest.otlp}/v1/traces", body, PROTOBUF)[0]))
    sending.start()
    wait_until(lambda: ingest.pipeline.stats.claimed == 1, what="writer took the batch")
    time.sleep(COMMIT_TIMEOUT_S * 3)  # not a timing assertion: the request's wait must run out
    assert sending.is_alive()
    lock.rollback()
    lock.close()
    sending.join()

    assert result == [200]
    assert ingest.spans("slow-bot") == ["slow"]
    assert ingest.pipeline.stats.commit_timeouts == 0


def test_a_timed_out_grpc_export_is_unavailable_and_never_commits(ingest):
    lock, first = ingest.writer_stuck_behind_the_lock()
    request = ExportTraceServiceRequest.FromString(spans_request(
        "grpc-late", [span(bytes.fromhex("dd" * 16), b"\x04" * 8, "late")]))
    stub = trace_service_pb2_grpc.TraceServiceStub(grpc.insecure_channel(ingest.grpc_address))
    with pytest.raises(grpc.RpcError) as refused:
        stub.Export(request, timeout=10)
    lock.rollback()
    lock.close()
    first.join()

    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    wait_until(lambda: ingest.pipeline.depth == 0, what="queue drained")
    assert ingest.spans("grpc-late") == []
    assert stub.Export(request, timeout=10).ByteSize() == 0
    assert ingest.spans("grpc-late") == ["late"]


def test_undecodable_grpc_requests_are_invalid_argument(ingest):
    channel = grpc.insecure_channel(ingest.grpc_address)
    export = channel.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export")
    with pytest.raises(grpc.RpcError) as refused:
        export(b"\xff\xff\xff not protobuf", timeout=10)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
