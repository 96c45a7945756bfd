"""OTLP/JSON bodies written by hand from the specification's examples (in process: the
receiver and REST API of a fresh backend)."""

from __future__ import annotations

import json

from tests.integration.otlp_samples import json_logs, json_metrics, json_trace

JSON = {"Content-Type": "application/json"}


def test_json_trace_with_hex_ids_string_int64_and_unknown_fields_is_stored(app_client):
    status, headers, body = app_client.post_otlp("/v1/traces", json_trace(), JSON)
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {}

    spans = app_client.api("/traces/5b8efff798038103d269b633813fc60c")["spans"]
    assert len(spans) == 1
    stored = spans[0]
    assert stored["span_id"] == "eee19b7ec3c1b174"
    assert stored["parent_span_id"] == "eee19b7ec3c1b173"
    assert stored["kind"] == "server"
    assert stored["start_time_unix_nano"] == 1544712660000000000
    assert stored["duration_ms"] == 1000.0
    assert stored["status"] == {"code": "error", "message": "boom"}
    assert stored["attributes"] == {
        "my.span.attr": "some value", "retries": 3, "ratio": 0.5, "ok": True, "tags": ["a", 2]}


def test_json_metrics_of_each_kind_are_stored(app_client):
    status, _, _ = app_client.post_otlp("/v1/metrics", json_metrics(), JSON)
    assert status == 200
    since = "&since=1544712600"
    counter = app_client.api("/metrics?name=my.counter&service=json-bot" + since)["series"][0]
    assert counter["temporality"] == "delta"
    assert counter["attributes"] == {"my.counter.attr": "some value"}
    assert counter["points"] == [[1544712660300.0, 5.0]]
    gauge = app_client.api("/metrics?name=my.gauge" + since)["series"][0]
    assert gauge["kind"] == "gauge" and gauge["points"][0][1] == 10.0
    histogram = app_client.api("/metrics?name=my.histogram" + since)["series"][0]["points"][0][1]
    assert histogram == {"count": 2, "sum": 2.0, "min": 0.0, "max": 2.0, "bounds": [1.0],
                         "bucket_counts": [1, 1]}


def test_json_logs_are_stored_with_their_trace_context(app_client):
    status, _, _ = app_client.post_otlp("/v1/logs", json_logs(), JSON)
    assert status == 200
    logs = app_client.api("/logs?service=json-bot")["logs"]
    assert logs[0]["body"] == "Example log record"
    assert logs[0]["trace_id"] == "5b8efff798038103d269b633813fc60c"
    assert logs[0]["severity_number"] == 10


def test_json_with_ids_that_are_not_hex_is_a_400_naming_the_field(app_client):
    body = json_trace().replace(b"eee19b7ec3c1b174", b"not-hex-at-all!!")
    status, _, reply = app_client.post_otlp("/v1/traces", body, JSON)
    assert status == 400
    assert "spanId" in json.loads(reply)["message"]
