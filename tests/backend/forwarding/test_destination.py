"""One destination's sender against a real HTTP recorder on loopback, step by step on a manual
clock: bodies go out unchanged and in order, retries wait as the server asks or back off with
full jitter, permanent refusals and stale requests are given up and counted."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, Span

from tests.backend.forwarding.recorder import Recorder
from tradepulse_backend import __version__
from tradepulse_backend.clock import ManualClock
from tradepulse_backend.config.forwarding import ForwardingDestination
from tradepulse_backend.forwarding.destination import Destination
from tradepulse_backend.ingest.committed import CommittedRequest

PROTOBUF = "application/x-protobuf"


@pytest.fixture
def recorder():
    running = Recorder()
    yield running
    running.stop()


def _request(*services: str) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    for index, service in enumerate(services):
        resource_spans = ResourceSpans()
        resource_spans.resource.attributes.append(
            KeyValue(key="service.name", value=AnyValue(string_value=service)))
        resource_spans.scope_spans.add().spans.append(
            Span(trace_id=bytes(15) + bytes([index + 1]), span_id=bytes(7) + b"\1",
                 name=f"span-of-{service}"))
        request.resource_spans.append(resource_spans)
    return request


def _committed(request, *, signal: str = "traces", gzipped: bool = False) -> CommittedRequest:
    body = request.SerializeToString()
    return CommittedRequest(signal, gzip.compress(body) if gzipped else body, PROTOBUF,
                            "gzip" if gzipped else "identity", request)


def _destination(tmp_path, recorder: Recorder, clock: ManualClock | None = None,
                 fraction: float = 1.0, **settings) -> Destination:
    config = ForwardingDestination(name="vendor", endpoint=recorder.url, **settings)
    return Destination(config, tmp_path / "vendor", clock=clock or ManualClock(),
                       user_agent=f"tradepulse/{__version__}", random_fraction=lambda: fraction)


def test_a_committed_request_goes_out_byte_for_byte_with_its_headers(tmp_path, recorder):
    destination = _destination(tmp_path, recorder, headers={"x-api-key": "s3cret"})
    committed = _committed(_request("bot"), gzipped=True)
    destination.submit(committed)

    assert destination.step() == 0.0
    assert destination.step() is None
    [received] = recorder.received
    assert received.path == "/v1/traces"
    assert received.body == committed.body
    assert received.headers["content-type"] == PROTOBUF
    assert received.headers["content-encoding"] == "gzip"
    assert received.headers["user-agent"] == f"tradepulse/{__version__}"
    assert received.headers["x-api-key"] == "s3cret"
    stats = destination.stats()
    assert (stats["queued"], stats["sent"], stats["queue_requests"], stats["queue_bytes"]) == \
        (1, 1, 0, 0)
    destination.close()


def test_requests_are_delivered_in_order_after_an_outage(tmp_path, recorder):
    destination = _destination(tmp_path, recorder)
    requests = [_committed(_request(f"bot-{i}")) for i in range(4)]
    recorder.stop()
    for committed in requests:
        destination.submit(committed)
    assert destination.step() == 1.0, "refused connection: backoff up to the initial interval"
    assert destination.step() == 2.0
    recorder.fail_with(503, {"Retry-After": "7"})
    recorder.start()
    assert destination.step() == 7.0, "503 waits what Retry-After asks"
    recorder.fail_with(None)
    while destination.step() is not None:
        pass
    assert [r.body for r in recorder.received] == [c.body for c in requests]
    stats = destination.stats()
    assert (stats["sent"], stats["retried"], stats["failed"], stats["dropped"]) == (4, 3, 0, 0)
    assert "HTTP 503" in stats["last_error"]
    destination.close()


def test_backoff_is_full_jitter_capped_at_the_max_interval(tmp_path, recorder):
    recorder.fail_with(500)
    destination = _destination(tmp_path, recorder, fraction=0.5, retry_initial_interval=1,
                               retry_max_interval=5)
    destination.submit(_committed(_request("bot")))
    assert [destination.step() for _ in range(5)] == [0.5, 1.0, 2.0, 2.5, 2.5]
    destination.close()


def test_429_with_an_http_date_retry_after_waits_until_that_date(tmp_path, recorder):
    clock = ManualClock()
    when = datetime.fromtimestamp(clock.now_ns() / 1e9 + 30, UTC)
    recorder.fail_with(429, {"Retry-After": format_datetime(when, usegmt=True)})
    destination = _destination(tmp_path, recorder, clock)
    destination.submit(_committed(_request("bot")))
    assert destination.step() == pytest.approx(30, abs=1)
    destination.close()


def test_a_4xx_refusal_is_permanent_and_the_next_request_goes_on(tmp_path, recorder):
    destination = _destination(tmp_path, recorder)
    recorder.fail_with(400)
    destination.submit(_committed(_request("bad")))
    assert destination.step() == 0.0
    recorder.fail_with(None)
    destination.submit(_committed(_request("good")))
    while destination.step() is not None:
        pass
    assert len(recorder.received) == 1 and recorder.refused == 1
    stats = destination.stats()
    assert (stats["failed"], stats["sent"], stats["retried"]) == (1, 1, 0)
    assert stats["last_error"].startswith("HTTP 400 from http://127.0.0.1")
    destination.close()


def test_408_and_429_are_retried(tmp_path, recorder):
    destination = _destination(tmp_path, recorder)
    destination.submit(_committed(_request("bot")))
    for status in (408, 429):
        recorder.fail_with(status)
        assert destination.step() > 0
    assert destination.stats()["failed"] == 0
    destination.close()


def test_max_attempts_gives_a_request_up(tmp_path, recorder):
    recorder.fail_with(503)
    destination = _destination(tmp_path, recorder, max_attempts=3)
    destination.submit(_committed(_request("bot")))
    assert destination.step() > 0 and destination.step() > 0
    assert destination.step() == 0.0
    assert destination.step() is None
    stats = destination.stats()
    assert (stats["failed"], stats["retried"], stats["queue_requests"]) == (1, 2, 0)
    destination.close()


def test_a_request_older_than_max_age_is_given_up_unsent(tmp_path, recorder):
    clock = ManualClock()
    destination = _destination(tmp_path, recorder, clock, max_age=60)
    destination.submit(_committed(_request("bot")))
    clock.advance(30)
    assert destination.stats()["oldest_age_s"] == 30
    clock.advance(31)
    assert destination.step() == 0.0
    assert recorder.received == [] and destination.stats()["failed"] == 1
    destination.close()


def test_a_full_queue_drops_the_oldest_and_counts_it(tmp_path, recorder):
    recorder.stop()
    destination = _destination(tmp_path, recorder, max_queue_bytes=1024)
    requests = [_committed(_request("bot-" + "x" * 150 + str(i))) for i in range(10)]
    for committed in requests:
        destination.submit(committed)
    stats = destination.stats()
    assert stats["queued"] == 10 and stats["dropped"] > 0
    assert stats["queue_requests"] == 10 - stats["dropped"] and stats["queue_bytes"] <= 1024
    recorder.start()
    while destination.step() is not None:
        pass
    assert [r.body for r in recorder.received] == \
        [c.body for c in requests[stats["dropped"]:]], "the newest survive"
    destination.close()


def test_only_the_configured_signals_are_queued(tmp_path, recorder):
    destination = _destination(tmp_path, recorder, signals=["metrics"])
    destination.submit(_committed(_request("bot")))
    assert destination.stats()["queued"] == 0
    destination.close()


def test_a_service_filter_forwards_matching_requests_unchanged(tmp_path, recorder):
    destination = _destination(tmp_path, recorder, services=["alpha", "beta"])
    matching = _committed(_request("alpha", "beta"), gzipped=True)
    destination.submit(matching)
    destination.submit(_committed(_request("gamma")))
    while destination.step() is not None:
        pass
    assert [r.body for r in recorder.received] == [matching.body]
    assert destination.stats()["filtered"] == 1
    destination.close()


def test_a_mixed_request_is_cut_to_the_matching_resources(tmp_path, recorder):
    destination = _destination(tmp_path, recorder, services=["alpha"])
    destination.submit(_committed(_request("alpha", "gamma", "alpha"), gzipped=True))
    while destination.step() is not None:
        pass
    [received] = recorder.received
    assert received.headers["content-type"] == PROTOBUF
    assert received.headers["content-encoding"] == "gzip"
    sent = ExportTraceServiceRequest.FromString(gzip.decompress(received.body))
    names = [rs.scope_spans[0].spans[0].name for rs in sent.resource_spans]
    assert names == ["span-of-alpha", "span-of-alpha"]
    destination.close()


def test_per_signal_urls_are_used_as_given(tmp_path, recorder):
    config = ForwardingDestination(name="v", endpoint="http://127.0.0.1:9/",
                                   traces_endpoint=f"{recorder.url}/custom/path")
    destination = Destination(config, tmp_path / "v", clock=ManualClock(), user_agent="t")
    destination.submit(_committed(_request("bot")))
    destination.step()
    assert recorder.received[0].path == "/custom/path"
    assert config.url("metrics") == "http://127.0.0.1:9/v1/metrics"
    destination.close()


def test_requests_of_a_signal_dropped_from_the_config_are_given_up_after_a_restart(
        tmp_path, recorder):
    first = _destination(tmp_path, recorder)
    recorder.stop()
    first.submit(_committed(_request("bot")))
    first.close()
    recorder.start()
    again = _destination(tmp_path, recorder, signals=["metrics"])
    assert again.step() == 0.0 and again.step() is None
    assert recorder.received == []
    assert again.stats()["failed"] == 1 and "no longer" in again.stats()["last_error"]
    again.close()
