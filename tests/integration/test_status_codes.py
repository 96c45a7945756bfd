"""Every OTLP/HTTP status code the receiver promises, on a real server."""

from __future__ import annotations

import gzip
import json
import sqlite3
import threading
import urllib.error
import urllib.request

import pytest
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from tests.integration.otlp_samples import json_trace, span, spans_request
from tests.support import post, wait_until

PROTOBUF = {"Content-Type": "application/x-protobuf"}
JSON = {"Content-Type": "application/json"}
TRACE = bytes.fromhex("0af7651916cd43dd8448eb211c80319c")


def test_valid_protobuf_answers_200_with_an_empty_response(server):
    status, headers, body = post(f"{server.otlp}/v1/traces",
                                 spans_request("codes", [span(TRACE, b"\x01" * 8)]), PROTOBUF)
    assert status == 200
    assert headers["Content-Type"] == "application/x-protobuf"
    assert not ExportTraceServiceResponse.FromString(body).HasField("partial_success")


def test_invalid_spans_are_counted_in_partial_success_and_the_rest_is_stored(server):
    good = span(bytes.fromhex("1af7651916cd43dd8448eb211c80319c"), b"\x02" * 8, "kept")
    bad_id = span(TRACE, b"\x03" * 3, "short span id")
    zero_trace = span(bytes(16), b"\x04" * 8, "zero trace id")
    status, _, body = post(f"{server.otlp}/v1/traces",
                           spans_request("codes", [good, bad_id, zero_trace]), PROTOBUF)
    assert status == 200
    partial = ExportTraceServiceResponse.FromString(body).partial_success
    assert partial.rejected_spans == 2
    assert "short span id" in partial.error_message
    names = [s["name"] for s in server.api("/traces/1af7651916cd43dd8448eb211c80319c")["spans"]]
    assert names == ["kept"]


def test_undecodable_protobuf_is_a_400_never_a_retryable_5xx(server):
    status, _, body = post(f"{server.otlp}/v1/traces", b"\xff\xff\xff not protobuf", PROTOBUF)
    assert status == 400
    assert "cannot decode" in status_pb2.Status.FromString(body).message


def test_malformed_json_is_a_400(server):
    status, _, body = post(f"{server.otlp}/v1/metrics", b"{not json", JSON)
    assert status == 400
    assert "not JSON" in json.loads(body)["message"]


def test_unknown_content_type_is_a_415(server):
    status, _, body = post(f"{server.otlp}/v1/traces", b"hello", {"Content-Type": "text/plain"})
    assert status == 415
    assert "text/plain" in json.loads(body)["message"]


def test_unknown_content_encoding_is_a_415(server):
    status, _, _ = post(f"{server.otlp}/v1/traces", json_trace(),
                        {**JSON, "Content-Encoding": "br"})
    assert status == 415


def test_gzip_bodies_are_accepted(server):
    body = gzip.compress(spans_request("gzip-bot", [span(TRACE, b"\x05" * 8, "zipped")]))
    status, _, _ = post(f"{server.otlp}/v1/traces", body,
                        {**PROTOBUF, "Content-Encoding": "gzip"})
    assert status == 200
    assert "zipped" in [s["name"] for s in server.api("/spans?service=gzip-bot")["spans"]]


def test_corrupt_gzip_is_a_400(server):
    status, _, _ = post(f"{server.otlp}/v1/traces", b"\x1f\x8b\x08garbage",
                        {**PROTOBUF, "Content-Encoding": "gzip"})
    assert status == 400


def test_get_on_an_otlp_path_is_a_405_and_unknown_paths_a_404(server):
    request = urllib.request.Request(f"{server.otlp}/v1/traces", method="GET")
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(request, timeout=10)
    assert answer.value.code == 405
    assert answer.value.headers["Allow"] == "POST"
    status, _, _ = post(f"{server.otlp}/v1/nothing", b"", PROTOBUF)
    assert status == 404


@pytest.fixture(scope="module")
def small_server(tmp_path_factory):
    from tests.support import RunningServer

    running = RunningServer(tmp_path_factory.mktemp("small"),
                            {"ingest": {"max_body_bytes": 4096}})
    yield running
    running.stop()


def test_a_body_over_the_limit_is_a_413(small_server):
    status, _, _ = post(f"{small_server.otlp}/v1/traces", b"\x00" * 5000, PROTOBUF)
    assert status == 413


def test_a_gzip_bomb_is_refused_with_413_after_decompression(small_server):
    bomb = gzip.compress(b"\x00" * 3_000_000)
    assert len(bomb) < 4096
    status, _, body = post(f"{small_server.otlp}/v1/traces", bomb,
                           {**PROTOBUF, "Content-Encoding": "gzip"})
    assert status == 413
    assert "decompressed" in status_pb2.Status.FromString(body).message


def test_a_full_write_queue_answers_503_with_retry_after_and_loses_nothing(start_server):
    running = start_server({"ingest": {"queue_max_batches": 1, "retry_after_seconds": 7}})
    lock = sqlite3.connect(running.data_dir / "tradepulse.db", timeout=5)
    lock.execute("BEGIN IMMEDIATE")
    results: dict[str, int] = {}

    def send(name: str, trace_hex: str) -> None:
        body = spans_request("queue-bot", [span(bytes.fromhex(trace_hex), b"\x06" * 8, name)])
        results[name] = post(f"{running.otlp}/v1/traces", body, PROTOBUF)[0]

    first = threading.Thread(target=send, args=("first", "11" * 16))
    first.start()
    wait_until(lambda: running.api("/status")["ingest"]["queue_depth"] == 0
               and running.api("/status")["ingest"]["transactions"] == 0, what="writer busy")
    second = threading.Thread(target=send, args=("second", "22" * 16))
    second.start()
    wait_until(lambda: running.api("/status")["ingest"]["queue_depth"] == 1, what="queued")

    body = spans_request("queue-bot", [span(bytes.fromhex("33" * 16), b"\x06" * 8, "third")])
    status, headers, _ = post(f"{running.otlp}/v1/traces", body, PROTOBUF)
    assert status == 503
    assert headers["Retry-After"] == "7"

    lock.rollback()
    lock.close()
    first.join()
    second.join()
    assert results == {"first": 200, "second": 200}
    assert post(f"{running.otlp}/v1/traces", body, PROTOBUF)[0] == 200
    names = {s["name"] for s in running.api("/spans?service=queue-bot")["spans"]}
    assert names == {"first", "second", "third"}
