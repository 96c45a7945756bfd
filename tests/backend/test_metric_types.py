"""Every OTLP metric type is stored so values, deltas and rates come out right (in process:
the receiver and REST API of a fresh backend, no sockets)."""

from __future__ import annotations

from opentelemetry.proto.metrics.v1 import metrics_pb2 as m

from tests.integration.otlp_samples import SECOND, T0, cumulative_counter, metrics_request

PROTOBUF = {"Content-Type": "application/x-protobuf"}
SINCE = f"&since={T0 // SECOND - 60}"


def _send(running, service: str, metrics: list[m.Metric]) -> None:
    status, _, body = running.post_otlp("/v1/metrics", metrics_request(service, metrics), PROTOBUF)
    assert status == 200, body


def _values(running, query: str) -> list:
    series = running.api(f"/metrics?{query}{SINCE}")["series"]
    assert len(series) == 1, series
    return [p[1] for p in series[0]["points"]]


def test_a_cumulative_counter_reset_is_not_a_negative_delta(app_client):
    restart = T0 + 30 * SECOND
    points = [(T0, T0 + 10 * SECOND, 100.0), (T0, T0 + 20 * SECOND, 160.0),
              (restart, T0 + 40 * SECOND, 15.0), (restart, T0 + 50 * SECOND, 35.0)]
    _send(app_client, "reset-bot", [cumulative_counter("trading.orders", points)])
    query = "name=trading.orders&service=reset-bot"
    assert _values(app_client, query) == [100.0, 160.0, 15.0, 35.0]
    assert _values(app_client, query + "&fn=delta") == [60.0, 15.0, 20.0]
    assert _values(app_client, query + "&fn=rate") == [6.0, 0.75, 2.0]


def test_a_monotonic_counter_that_goes_down_without_a_new_start_is_a_reset(app_client):
    points = [(0, T0 + 10 * SECOND, 50.0), (0, T0 + 20 * SECOND, 5.0)]
    _send(app_client, "drop-bot", [cumulative_counter("trading.fills", points)])
    assert _values(app_client, "name=trading.fills&service=drop-bot&fn=delta") == [5.0]


def test_delta_sums_are_their_own_deltas_and_rate_over_their_interval(app_client):
    metric = m.Metric(name="trading.fills", sum=m.Sum(
        aggregation_temporality=m.AGGREGATION_TEMPORALITY_DELTA, is_monotonic=True,
        data_points=[m.NumberDataPoint(start_time_unix_nano=T0 + i * 10 * SECOND,
                                       time_unix_nano=T0 + (i + 1) * 10 * SECOND, as_int=v)
                     for i, v in enumerate([4, 6])]))
    _send(app_client, "delta-bot", [metric])
    query = "name=trading.fills&service=delta-bot"
    assert _values(app_client, query + "&fn=delta") == [4.0, 6.0]
    assert _values(app_client, query + "&fn=rate") == [0.4, 0.6]


def test_a_non_monotonic_sum_may_go_down(app_client):
    metric = m.Metric(name="trading.open_orders", sum=m.Sum(
        aggregation_temporality=m.AGGREGATION_TEMPORALITY_CUMULATIVE, is_monotonic=False,
        data_points=[m.NumberDataPoint(start_time_unix_nano=T0, time_unix_nano=T0 + i * SECOND,
                                       as_double=v) for i, v in enumerate([5, 3, 4], 1)]))
    _send(app_client, "updown-bot", [metric])
    query = "name=trading.open_orders&service=updown-bot&fn=delta"
    assert _values(app_client, query) == [-2.0, 1.0]


def test_gauges_keep_every_value(app_client):
    metric = m.Metric(name="trading.portfolio.value", unit="1", gauge=m.Gauge(data_points=[
        m.NumberDataPoint(time_unix_nano=T0 + i * SECOND, as_double=v)
        for i, v in enumerate([1000.0, 990.5, 1010.25])]))
    _send(app_client, "gauge-bot", [metric])
    assert _values(app_client, "name=trading.portfolio.value&service=gauge-bot") == [
        1000.0, 990.5, 1010.25]


def test_histograms_keep_buckets_and_rate_counts_observations(app_client):
    points = [m.HistogramDataPoint(
        start_time_unix_nano=T0, time_unix_nano=T0 + i * 10 * SECOND, count=c, sum=s,
        min=0.001, max=0.2, explicit_bounds=[0.01, 0.1], bucket_counts=b)
        for i, (c, s, b) in enumerate([(10, 0.5, [5, 4, 1]), (30, 1.5, [15, 12, 3])], 1)]
    metric = m.Metric(name="trading.order.duration", unit="s", histogram=m.Histogram(
        aggregation_temporality=m.AGGREGATION_TEMPORALITY_CUMULATIVE, data_points=points))
    _send(app_client, "hist-bot", [metric])
    query = "name=trading.order.duration&service=hist-bot"
    values = _values(app_client, query)
    assert values[1] == {"count": 30, "sum": 1.5, "min": 0.001, "max": 0.2,
                         "bounds": [0.01, 0.1], "bucket_counts": [15, 12, 3]}
    assert _values(app_client, query + "&fn=rate") == [2.0]


def test_exponential_histograms_and_summaries_are_stored(app_client):
    exp = m.Metric(name="trading.slippage", exponential_histogram=m.ExponentialHistogram(
        aggregation_temporality=m.AGGREGATION_TEMPORALITY_DELTA,
        data_points=[m.ExponentialHistogramDataPoint(
            start_time_unix_nano=T0, time_unix_nano=T0 + SECOND, count=3, sum=6.0, scale=2,
            zero_count=1, positive=m.ExponentialHistogramDataPoint.Buckets(
                offset=1, bucket_counts=[1, 1]))]))
    summary = m.Metric(name="legacy.latency", summary=m.Summary(data_points=[m.SummaryDataPoint(
        start_time_unix_nano=T0, time_unix_nano=T0 + SECOND, count=4, sum=2.0,
        quantile_values=[m.SummaryDataPoint.ValueAtQuantile(quantile=0.99, value=0.9)])]))
    _send(app_client, "dist-bot", [exp, summary])
    exp_value = _values(app_client, "name=trading.slippage&service=dist-bot")[0]
    assert exp_value["scale"] == 2 and exp_value["zero_count"] == 1
    assert exp_value["positive"] == {"offset": 1, "bucket_counts": [1, 1]}
    summary_value = _values(app_client, "name=legacy.latency&service=dist-bot")[0]
    assert summary_value["quantiles"] == [{"quantile": 0.99, "value": 0.9}]
    assert summary_value["count"] == 4


def test_a_repeated_export_of_the_same_points_is_stored_once(app_client):
    metric = cumulative_counter("trading.orders", [(T0, T0 + SECOND, 1.0)])
    _send(app_client, "retry-bot", [metric])
    _send(app_client, "retry-bot", [metric])
    assert _values(app_client, "name=trading.orders&service=retry-bot") == [1.0]


def test_resource_and_scope_identify_separate_series(app_client):
    gauge = m.Metric(name="trading.cash", gauge=m.Gauge(data_points=[
        m.NumberDataPoint(time_unix_nano=T0, as_double=1.0)]))
    _send(app_client, "bot-a", [gauge])
    _send(app_client, "bot-b", [gauge])
    series = app_client.api(f"/metrics?name=trading.cash{SINCE}")["series"]
    assert sorted(s["service"] for s in series) == ["bot-a", "bot-b"]


def test_an_unknown_function_is_a_400_naming_the_parameter(app_client):
    status, body = app_client.get("/api/v1/metrics?name=trading.cash&fn=median")
    assert status == 400 and body["error"].startswith("fn:")
    status, body = app_client.get("/api/v1/metrics?name=trading.cash&since=yesterday")
    assert status == 400 and body["error"].startswith("since:")
