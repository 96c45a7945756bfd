"""The `/ws` protocol against a real `tradepulse serve`: snapshot first, then deltas in the
REST shapes, per-service subscriptions, heartbeats, resync on overflow, admission, Origin."""

from __future__ import annotations

import pytest
import websocket

from tests.backend.dashboard.wsclient import (
    Stream,
    portfolio_request,
    post_otlp,
    spans_request,
)
from tests.support import wait_until


@pytest.fixture(scope="module")
def server(servers):
    return servers()


@pytest.fixture(scope="module")
def small_server(servers):
    """Heartbeats every 0.2 s, a two-message client queue and one WebSocket at a time."""
    return servers({"dashboard": {"max_websockets": 1, "websocket": {
        "heartbeat_interval": 0.2, "client_queue": 2}}})


def test_first_message_is_a_snapshot_in_rest_shapes(server):
    post_otlp(server.otlp, "metrics", portfolio_request("snap-bot", 1000.0))
    wait_until(lambda: server.api("/performance?service=snap-bot")["performance"],
               what="performance")
    stream = Stream(server.dashboard)
    try:
        first = stream.next()
    finally:
        stream.close()
    assert first["type"] == "snapshot" and first["seq"] == 1 and first["service"] is None
    data = first["data"]
    assert set(data) == {"services", "performance", "positions", "execution", "health",
                         "alerts", "layout"}
    assert data["services"] == server.api("/services")["services"]
    assert data["performance"]["snap-bot"] == server.api("/performance?service=snap-bot")
    assert data["positions"]["snap-bot"] == server.api("/positions?service=snap-bot")
    assert data["execution"]["snap-bot"] == server.api("/execution?service=snap-bot")
    assert data["layout"] == server.api("/layouts/default")


def test_posted_portfolio_value_arrives_as_performance_delta(server):
    stream = Stream(server.dashboard)
    try:
        assert stream.next()["type"] == "snapshot"
        post_otlp(server.otlp, "metrics", portfolio_request("delta-bot", 2500.0))
        message = stream.until(lambda m: m["type"] == "performance"
                               and m["data"]["performance"][0]["portfolio_value"] == 2500.0,
                               "performance delta")
        positions = stream.of_type("positions", "delta-bot")
        execution = stream.of_type("execution", "delta-bot")
    finally:
        stream.close()
    assert message["service"] == "delta-bot"
    assert message["data"] == server.api("/performance?service=delta-bot")
    assert positions["data"] == server.api("/positions?service=delta-bot")
    assert execution["data"] == server.api("/execution?service=delta-bot")


def test_stored_spans_arrive_in_the_spans_endpoint_shape(server):
    stream = Stream(server.dashboard)
    try:
        stream.next()
        post_otlp(server.otlp, "traces", spans_request(["span-bot"]))
        message = stream.of_type("span", "span-bot")
    finally:
        stream.close()
    assert message["data"] == server.api("/spans?service=span-bot")


def test_service_subscription_receives_only_that_service(server):
    stream = Stream(server.dashboard, "service=only-b")
    try:
        snapshot = stream.next()
        assert set(snapshot["data"]["performance"]) <= {"only-b"}
        post_otlp(server.otlp, "traces", spans_request(["only-a"]))
        post_otlp(server.otlp, "traces", spans_request(["only-b"]))
        message = stream.until(lambda m: m["type"] == "span", "span")
    finally:
        stream.close()
    assert message["service"] == "only-b"
    assert all(m["service"] in (None, "only-b") for m in stream.seen)


def test_subscribe_message_changes_services_and_answers_with_a_snapshot(server):
    post_otlp(server.otlp, "metrics", portfolio_request("sub-x", 10.0))
    wait_until(lambda: server.api("/performance?service=sub-x")["performance"], what="sub-x")
    stream = Stream(server.dashboard, "service=nobody")
    try:
        assert stream.next()["data"]["performance"] == {}
        stream.send({"type": "subscribe", "services": ["sub-x"]})
        snapshot = stream.of_type("snapshot")
        stream.send({"type": "subscribe", "services": "sub-x"})
        error = stream.of_type("error")
        post_otlp(server.otlp, "traces", spans_request(["sub-x"]))
        span = stream.of_type("span")
    finally:
        stream.close()
    assert list(snapshot["data"]["performance"]) == ["sub-x"]
    assert "subscribe.services" in error["data"]["error"]
    assert span["service"] == "sub-x"


def test_heartbeat_arrives_at_the_configured_interval(small_server):
    stream = Stream(small_server.dashboard)
    try:
        stream.next()
        beat = stream.of_type("heartbeat")
    finally:
        stream.close()
    assert beat["data"]["interval_s"] == 0.2 and beat["service"] is None


def test_a_client_that_stops_reading_gets_a_resync_and_a_new_snapshot_counted(small_server):
    """An 8 MB message fills the socket buffers of a client that reads nothing; its two-slot
    queue then overflows on three more span messages."""
    wait_until(lambda: small_server.api("/status")["websockets"]["open"] == 0, what="closed")
    stream = Stream(small_server.dashboard, timeout=30)
    try:
        stream.next()
        post_otlp(small_server.otlp, "traces", spans_request(["big"], note_bytes=8_000_000))
        post_otlp(small_server.otlp, "traces", spans_request(["r1", "r2", "r3"]))
        wait_until(lambda: small_server.api("/status")["websockets"]["resyncs"] >= 1
                   or small_server.api("/status")["websockets"]["dropped_messages"] >= 3,
                   what="overflow")
        stream.of_type("span", "big")
        resync = stream.of_type("resync")
        after = stream.next()
    finally:
        stream.close()
    assert after["type"] == "snapshot"
    assert resync["data"] == {"reason": "this client's queue overflowed"}
    counts = small_server.api("/status")["websockets"]
    assert counts["resyncs"] >= 1 and counts["dropped_messages"] >= 3
    assert not [m for m in stream.seen if m["service"] in ("r1", "r2", "r3")]


def test_websockets_beyond_the_limit_are_refused_with_503(small_server):
    wait_until(lambda: small_server.api("/status")["websockets"]["open"] == 0, what="closed")
    first = Stream(small_server.dashboard)
    try:
        first.next()
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            Stream(small_server.dashboard)
        assert refused.value.status_code == 503
        assert small_server.api("/status")["websockets"]["refused"] >= 1
    finally:
        first.close()


def test_foreign_origin_is_refused_with_403(server):
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        Stream(server.dashboard, origin="http://evil.example")
    assert refused.value.status_code == 403
    own = Stream(server.dashboard, origin=server.dashboard)
    try:
        assert own.next()["type"] == "snapshot"
    finally:
        own.close()


def test_unknown_layout_is_refused_with_400(server):
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        Stream(server.dashboard, "layout=nope")
    assert refused.value.status_code == 400


def test_plain_http_get_of_ws_is_a_400_not_a_500(server):
    status, body = server.get("/ws")
    assert status == 400 and body["error"]
