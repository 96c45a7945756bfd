"""Latency and slippage percentiles a trader can trust: recorded through the SDK's real
exponential aggregation (or fed directly), read by the monitor, within 3% of numpy's exact
percentiles of the raw values; explicit-bucket histograms from other SDKs still count."""

from __future__ import annotations

import time

import numpy as np
import pytest
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.metrics.v1 import metrics_pb2 as m
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource

from tests.backend.test_performance_monitor import T0, backend_in
from tradepulse import conventions as conv
from tradepulse.configuration import trading_views
from tradepulse_backend.config import PerformanceMonitorConfig
from tradepulse_backend.ingest.decode import decode_request
from tradepulse_backend.performance import PerformanceMonitor
from tradepulse_backend.performance.exponential import ExponentialHistogram, from_values
from tradepulse_backend.performance.inputs import IncreaseCursor, Observation

RTOL = 0.03
LATENCY_FIELDS = ("latency_p50_ms", "latency_p95_ms", "latency_p99_ms")


def latency_percentiles_ms(values_s) -> list[float]:
    return list(np.percentile(np.asarray(values_s) * 1000.0, [50, 95, 99]))


def latency_figures(snapshot) -> list[float]:
    return [getattr(snapshot, name) for name in LATENCY_FIELDS]


class SdkBot:
    """A bot's trading histograms on a real SDK MeterProvider with tradepulse's Views; each
    `export()` collects (cumulative, like the OTLP exporter) and hands the encoded request to
    the monitor."""

    def __init__(self, monitor: PerformanceMonitor, service: str = "exp-bot") -> None:
        self.monitor = monitor
        self.reader = InMemoryMetricReader()
        self.provider = MeterProvider(
            resource=Resource.create({"service.name": service}),
            metric_readers=[self.reader], views=trading_views())
        meter = self.provider.get_meter("tradepulse")
        self.latency = meter.create_histogram(conv.METRIC_ORDER_DURATION, unit="s")
        self.slippage = meter.create_histogram(conv.METRIC_FILL_SLIPPAGE, unit="{bp}")

    def record(self, latencies, slippages, broker: str = "paper") -> None:
        for latency in latencies:
            self.latency.record(float(latency), {conv.ATTR_BROKER: broker})
        for bps in slippages:
            direction = conv.SlippageDirection.of(bps).value
            self.slippage.record(abs(float(bps)), {conv.ATTR_BROKER: broker,
                                                   conv.ATTR_SLIPPAGE_DIRECTION: direction})

    def export(self):
        request = encode_metrics(self.reader.get_metrics_data())
        kinds = {metric.WhichOneof("data") for rm in request.resource_metrics
                 for sm in rm.scope_metrics for metric in sm.metrics}
        assert kinds == {"exponential_histogram"}
        snapshots = self.monitor.absorb(decode_request("metrics", request))
        return snapshots[-1] if snapshots else None


def test_sdk_exponential_histograms_give_percentiles_within_3_percent_of_numpy():
    rng = np.random.default_rng(42)
    bot = SdkBot(PerformanceMonitor())
    early = rng.uniform(0.020, 0.030, 200)       # a narrow range: a fine scale first
    late = rng.uniform(0.020, 0.088, 300)        # then the SDK downscales its cumulative point
    slippage = np.concatenate([rng.uniform(0.5, 8.0, 350), -rng.uniform(0.5, 8.0, 150),
                               np.zeros(20)])
    rng.shuffle(slippage)
    bot.record(early, slippage[:200])
    first = bot.export()
    bot.record(late, slippage[200:])
    snapshot = bot.export()

    np.testing.assert_allclose(latency_figures(first), latency_percentiles_ms(early), rtol=RTOL)
    everything = np.concatenate([early, late])
    np.testing.assert_allclose(latency_figures(snapshot), latency_percentiles_ms(everything),
                               rtol=RTOL)
    assert snapshot.slippage_p95_bps == pytest.approx(np.percentile(slippage, 95), rel=RTOL)
    assert snapshot.slippage_mean_bps == pytest.approx(slippage.mean(), rel=1e-9)
    paper = snapshot.by_broker["paper"]
    assert paper["latency_p99_ms"] == snapshot.latency_p99_ms
    assert snapshot.latency_p99_ms <= 88.0


def test_directly_fed_latencies_and_slippage_are_within_3_percent_of_numpy():
    rng = np.random.default_rng(3)
    latencies = rng.uniform(0.020, 0.088, 500)
    slippage = np.round(rng.normal(1.0, 3.0, 400), 3)
    monitor = PerformanceMonitor()
    snapshot = monitor.update_portfolio_data({
        "service": "bot", "timestamp": T0.timestamp(), "portfolio_value": 1.0,
        "orders": [{"status": "filled", "latency_s": float(v), "broker": "ib"}
                   for v in latencies],
        "fills": [{"slippage_bps": float(v)} for v in slippage]})
    np.testing.assert_allclose(latency_figures(snapshot), latency_percentiles_ms(latencies),
                               rtol=RTOL)
    assert snapshot.slippage_p95_bps == pytest.approx(np.percentile(slippage, 95), rel=RTOL)


def test_percentiles_regain_their_precision_when_outliers_leave_the_window():
    monitor = PerformanceMonitor(PerformanceMonitorConfig(execution_window=600))
    t = T0.timestamp()
    monitor.update_portfolio_data({"service": "bot", "timestamp": t, "orders": [
        {"status": "filled", "latency_s": v} for v in (1e-6, 100.0)]})
    latencies = np.random.default_rng(9).uniform(0.020, 0.088, 300)
    snapshot = monitor.update_portfolio_data({"service": "bot", "timestamp": t + 3600, "orders": [
        {"status": "filled", "latency_s": float(v)} for v in latencies]})
    assert snapshot.orders == 300
    np.testing.assert_allclose(latency_figures(snapshot), latency_percentiles_ms(latencies),
                               rtol=0.012)


def explicit_latency_request(service: str, counts: list[int], total: float,
                             now: int = int(T0.timestamp() * 1e9)
                             ) -> ExportMetricsServiceRequest:
    """A delta explicit-bucket latency histogram, as an SDK without our View sends it."""
    request = ExportMetricsServiceRequest()
    rm = request.resource_metrics.add()
    rm.resource.attributes.add(key="service.name").value.string_value = service
    metric = rm.scope_metrics.add().metrics.add(name=conv.METRIC_ORDER_DURATION, unit="s")
    metric.histogram.aggregation_temporality = m.AGGREGATION_TEMPORALITY_DELTA
    metric.histogram.data_points.add(
        time_unix_nano=now, start_time_unix_nano=now - 10**9, count=sum(counts), sum=total,
        explicit_bounds=conv.ORDER_LATENCY_BUCKETS_S, bucket_counts=counts)
    return request


def test_explicit_bucket_histograms_from_other_sdks_keep_their_coarser_percentiles():
    monitor = PerformanceMonitor()
    counts = [0] * (len(conv.ORDER_LATENCY_BUCKETS_S) + 1)
    counts[conv.ORDER_LATENCY_BUCKETS_S.index(0.05)] = 10      # ten orders in (25, 50] ms
    (snapshot,) = monitor.absorb(decode_request("metrics", explicit_latency_request(
        "other-sdk", counts, 0.4)))
    assert 25 < snapshot.latency_p50_ms <= 50 and snapshot.latency_p99_ms == pytest.approx(49.75)


def test_a_bot_sending_both_kinds_gets_every_order_counted_at_explicit_precision():
    monitor = PerformanceMonitor()
    bot = SdkBot(monitor, service="mixed-bot")
    bot.record([0.2] * 10, [])
    bot.export()
    counts = [0] * (len(conv.ORDER_LATENCY_BUCKETS_S) + 1)
    counts[conv.ORDER_LATENCY_BUCKETS_S.index(0.05)] = 10
    monitor.absorb(decode_request("metrics", explicit_latency_request(
        "mixed-bot", counts, 0.4, time.time_ns())))
    snapshot = monitor.get_current_performance("mixed-bot")
    assert 25 < snapshot.latency_p50_ms <= 50 and 100 < snapshot.latency_p99_ms <= 250


def cumulative(value: ExponentialHistogram, time_s: int, start_s: int = 1) -> Observation:
    return Observation("bot", conv.METRIC_ORDER_DURATION, {}, time_s * 10**9,
                       start_s * 10**9, value)


def test_the_cursor_turns_cumulative_exponential_points_into_increases_and_sees_resets():
    cursor = IncreaseCursor()
    first = from_values([0.02, 0.021])
    assert cursor.increase(cumulative(first, 10), horizon_ns=0).count == 2
    grown = from_values([0.02, 0.021, 0.088])
    gained = cursor.increase(cumulative(grown, 20), horizon_ns=0)
    assert (gained.count, gained.scale) == (1, grown.scale)
    assert gained.positive == from_values([0.088], max_scale=grown.scale).positive
    assert cursor.increase(cumulative(grown, 20), horizon_ns=0) is None       # a repeat
    restarted = from_values([0.03])
    assert cursor.increase(cumulative(restarted, 30, start_s=25), horizon_ns=0) == restarted
    fewer = from_values([0.02])
    assert cursor.increase(cumulative(fewer, 40, start_s=25), horizon_ns=0) == fewer
    restored = IncreaseCursor(cursor.last)
    later = from_values([0.02, 0.05])
    assert restored.increase(cumulative(later, 50, start_s=25), horizon_ns=0).count == 1


def test_exponential_percentiles_survive_a_crash_and_are_recomputed_for_summaries(tmp_path):
    rng = np.random.default_rng(17)
    latencies = rng.uniform(0.020, 0.088, 400)
    first = backend_in(tmp_path)
    t = T0.timestamp()
    for i, chunk in enumerate(np.array_split(latencies, 4)):
        live = first.performance.update_portfolio_data({
            "service": "bot", "timestamp": t + i, "portfolio_value": 1.0,
            "orders": [{"status": "filled", "latency_s": float(v)} for v in chunk]})
    first.pipeline.close()     # a crash: nothing persisted by the monitor
    first.store.engine.dispose()
    second = backend_in(tmp_path)
    second.performance.flush()
    rebuilt = second.performance.get_current_performance("bot")
    summary = second.performance.get_performance_summary(
        "bot", "all", now_ns=int((t + 10) * 1e9))["performance"]
    second.close()
    exact = latency_percentiles_ms(latencies)
    np.testing.assert_allclose(latency_figures(live), exact, rtol=RTOL)
    assert latency_figures(rebuilt) == pytest.approx(latency_figures(live), rel=1e-12)
    assert [summary[name] for name in LATENCY_FIELDS] == pytest.approx(
        latency_figures(live), rel=1e-12)
