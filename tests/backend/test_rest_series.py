"""The REST contract of series reads the dashboard charts rely on: step queries, truncation with
a cursor, columnar points, latest values in one request, thinned performance history, and
bytes per sample per tier in the status (in process, on a manual clock)."""

from __future__ import annotations

import json

from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2 as m

from tests.integration.otlp_samples import SECOND, metrics_request
from tradepulse_backend.dashboard.api.performance import HISTORY_FIELDS
from tradepulse_backend.store import performance as stored
from tradepulse_backend.store.schema import SNAPSHOT_FIELDS

PROTOBUF = {"Content-Type": "application/x-protobuf"}
T0 = 1_699_990_000 * SECOND  # before the app client's manual clock (1_700_000_000 s)
SINCE = f"since={T0 // SECOND}"


def _gauge(name: str, points: list[tuple[int, float]], **attributes: str) -> m.Metric:
    attrs = [KeyValue(key=k, value=AnyValue(string_value=v)) for k, v in attributes.items()]
    return m.Metric(name=name, gauge=m.Gauge(data_points=[
        m.NumberDataPoint(time_unix_nano=t, as_double=v, attributes=attrs) for t, v in points]))


def _send(app_client, service: str, metrics: list[m.Metric]) -> None:
    status, _, body = app_client.post_otlp("/v1/metrics", metrics_request(service, metrics),
                                           PROTOBUF)
    assert status == 200, body


def _equity(n: int = 600) -> list[tuple[int, float]]:
    return [(T0 + i * 10 * SECOND, 1000.0 + (i % 37) - (i % 11) * 0.5) for i in range(n)]


def test_step_queries_and_max_points_over_rest(app_client):
    points = _equity()
    _send(app_client, "chart-bot", [_gauge("trading.portfolio.value", points)])
    app_client.backend.store.seal(T0 + 3 * 3600 * SECOND)
    base = f"/metrics?name=trading.portfolio.value&service=chart-bot&{SINCE}"
    body = app_client.api(base + "&step=60s&agg=max&format=columnar")
    (series,) = body["series"]
    minutes: dict[int, float] = {}
    for t, v in points:
        key = t // (60 * SECOND) * 60 * SECOND
        minutes[key] = max(minutes.get(key, v), v)
    assert series["points"] == {"t": [k / 1e6 for k in sorted(minutes)],
                                "v": [minutes[k] for k in sorted(minutes)]}
    assert body["step_ms"] == 60_000 and body["agg"] == "max" and body["truncated"] is False
    auto = app_client.api(base + f"&until={(T0 + 6000 * SECOND) // SECOND}&max_points=20")
    assert 10 <= len(auto["series"][0]["points"]) <= 20
    rows = app_client.api(base)["series"][0]["points"]
    assert rows[0] == [T0 / 1e6, points[0][1]] and len(rows) == len(points)


def test_a_limited_response_says_truncated_and_its_cursor_continues_oldest_first(app_client):
    points = _equity(250)
    _send(app_client, "page-bot", [_gauge("px", points, symbol="A"),
                                   _gauge("px", points, symbol="B")])
    base = f"/metrics?name=px&service=page-bot&{SINCE}&limit=120"
    seen, cursor = [], ""
    while True:
        body = app_client.api(base + (f"&cursor={cursor}" if cursor else ""))
        seen += [(s["attributes"]["symbol"], p[0]) for s in body["series"]
                 for p in s["points"]]
        if not body["truncated"]:
            assert body["next_cursor"] is None
            break
        cursor = body["next_cursor"]
    assert seen == [(s, t / 1e6) for s in "AB" for t, _ in points]
    status, error = app_client.get(f"/api/v1/metrics?name=px&{SINCE}&cursor=nonsense")
    assert status == 400 and error["error"].startswith("cursor:")


def test_bad_step_agg_and_format_are_400s_naming_the_parameter(app_client):
    for query, name in (("step=0s", "step:"), ("step=fast", "step:"), ("agg=median", "agg:"),
                        ("format=xml", "format:"), ("max_points=0", "max_points:")):
        status, body = app_client.get(f"/api/v1/metrics?name=px&{query}")
        assert status == 400 and body["error"].startswith(name), (query, body)
    status, body = app_client.get("/api/v1/metrics?name=px&step=1h&fn=rate&agg=max")
    assert status == 400 and "agg=rate" in body["error"]


def test_latest_values_of_every_series_of_a_bot_in_one_request(app_client):
    _send(app_client, "last-bot", [_gauge("cash", [(T0, 1.0), (T0 + SECOND, 2.0)]),
                                   _gauge("px", [(T0, 5.0)], symbol="A"),
                                   _gauge("px", [(T0 + SECOND, 6.0)], symbol="B")])
    _send(app_client, "last-bot", [_gauge("cash", [(T0 - SECOND, 9.0)])])  # late, older
    body = app_client.api("/metrics/latest?service=last-bot")
    assert [(e["name"], e["attributes"], e["value"]) for e in body["latest"]] == [
        ("cash", {}, 2.0), ("px", {"symbol": "A"}, 5.0), ("px", {"symbol": "B"}, 6.0)]
    only = app_client.api("/metrics/latest?service=last-bot&name=px")["latest"]
    assert [e["value"] for e in only] == [5.0, 6.0]


def test_status_reports_bytes_per_sample_per_tier(app_client):
    _send(app_client, "size-bot", [_gauge("px", _equity(1500))])
    app_client.backend.store.seal(T0 + 6 * 3600 * SECOND)
    tiers = app_client.api("/status")["storage"]["tiers"]
    assert set(tiers) == {"raw", "1m", "1h", "open"}
    assert tiers["raw"]["samples"] + tiers["open"]["points"] == 1500
    assert 0 < tiers["raw"]["bytes_per_sample"] < 4


def test_performance_history_reads_one_column_and_thins_to_max_points(app_client):
    assert set(SNAPSHOT_FIELDS) == set(HISTORY_FIELDS)
    rows = [{"service_name": "eq-bot", "portfolio": "", "time_ns": T0 + i * 60 * SECOND,
             "body": json.dumps({"portfolio_value": 100.0 + i, "sharpe_ratio": None})}
            for i in range(2000)]
    stored.save(app_client.backend.store, rows, [])
    path = f"/performance/history?service=eq-bot&portfolio=&field=portfolio_value&{SINCE}"
    full = app_client.api(path)["points"]
    assert [p[1] for p in full] == [100.0 + i for i in range(2000)]
    thinned = app_client.api(path + "&max_points=100")["points"]
    assert 50 <= len(thinned) <= 100 and thinned[-1] == full[-1]
    assert all(p in full for p in thinned)
    nulls = app_client.api(path.replace("portfolio_value", "sharpe_ratio") + "&max_points=5")
    assert len(nulls["points"]) <= 5 and {p[1] for p in nulls["points"]} == {None}
