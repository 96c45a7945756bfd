"""The REST API through Flask's test client: out-of-range times, durations, periods and
integers are 400s naming the parameter, and no query string gets a 500."""

from __future__ import annotations

import urllib.parse

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.integration.otlp_samples import span, spans_request
from tradepulse_backend.app import create_app
from tradepulse_backend.config import MonitoringConfig
from tradepulse_backend.ingest.decode import decode_request

SERVICE = "ranges-bot"
BAD_TIMES = ["inf", "-inf", "nan", "1e20", "1e400", "9223372036854775807", "-1e20",
             "99999999999999999999w", "-15m", "0001-01-01T00:00:00Z"]
TIMED = {
    "/api/v1/metrics?name=trading.orders&": ("since", "until"),
    "/api/v1/logs?": ("since",),
    f"/api/v1/performance/history?service={SERVICE}&field=sharpe_ratio&": ("since", "until"),
}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    config = MonitoringConfig(storage={"data_dir": tmp_path_factory.mktemp("rest")},
                              ingest={"grpc_port": None})
    app = create_app(config)
    backend = app.extensions["tradepulse"]
    request = ExportTraceServiceRequest.FromString(
        spans_request(SERVICE, [span(b"\x07" * 16, b"\x08" * 8, "known")]))
    backend.pipeline.store(decode_request("traces", request))
    yield app.test_client()
    backend.close()


def get(client, path: str) -> tuple[int, dict]:
    response = client.get(path)
    return response.status_code, response.get_json(silent=True) or {}


@pytest.mark.parametrize("raw", BAD_TIMES)
@pytest.mark.parametrize("path", sorted(TIMED))
def test_out_of_range_times_are_400s_naming_the_parameter(client, path, raw):
    for name in TIMED[path]:
        status, body = get(client, path + urllib.parse.urlencode({name: raw}))
        assert status == 400, (name, body)
        assert body["error"].startswith(f"{name}:")


@pytest.mark.parametrize("period", ["999999d", "99999999999999999999w", "-1d", "1e400",
                                    "36526d"])
def test_summary_periods_out_of_range_are_400s(client, period):
    status, body = get(client, f"/api/v1/performance/summary?service={SERVICE}&period={period}")
    assert status == 400
    assert body["error"].startswith("period:")


@pytest.mark.parametrize("limit", ["1e3", "-0", "0", "9" * 5000, "10.5", "-1"])
def test_limits_outside_their_range_are_400s(client, limit):
    for path in ("/api/v1/spans?", "/api/v1/traces?", "/api/v1/logs?"):
        status, body = get(client, path + urllib.parse.urlencode({"limit": limit}))
        assert status == 400 and body["error"].startswith("limit:")


def test_valid_ranges_still_answer(client):
    assert get(client, "/api/v1/metrics?name=trading.orders&since=1h&until=0s")[0] == 200
    assert get(client, "/api/v1/logs?since=0&limit=5")[0] == 200
    assert get(client, f"/api/v1/performance/summary?service={SERVICE}&period=36500d")[0] == 200
    assert get(client, f"/api/v1/reports?service={SERVICE}&period=week&format=csv")[0] == 200


ENDPOINTS = ["/api/v1/metrics", "/api/v1/logs", "/api/v1/spans", "/api/v1/traces",
             "/api/v1/performance/history", "/api/v1/performance/summary", "/api/v1/reports",
             "/api/v1/performance"]
NAMES = ["since", "until", "limit", "severity", "fn", "period", "format", "field", "name",
         "service", "portfolio", "contains", "attr.trading.symbol"]
WORDS = [*BAD_TIMES, "15m", "day", SERVICE, "sharpe_ratio", "rate"]
VALUES = st.one_of(st.text(max_size=30), st.sampled_from(WORDS),
                   st.from_regex(r"-?[0-9]{1,25}(\.[0-9]{1,3})?(e[0-9]{1,3}|ms|s|m|h|d|w)?"))


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(ENDPOINTS), st.dictionaries(st.sampled_from(NAMES), VALUES, max_size=4))
def test_no_query_string_gets_a_500(client, path, query):
    if path != "/api/v1/metrics" or "name" in query:
        query.setdefault("service", SERVICE)
    status, _ = get(client, f"{path}?{urllib.parse.urlencode(query)}")
    assert status in (200, 400, 404)
