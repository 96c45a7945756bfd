"""A 90-day summary and a weekly report over 10-second data read rollup entries into numpy
arrays: bounded memory, and the same daily figures as a recomputation from every raw point."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2 as m

from tests.integration.otlp_samples import metrics_request
from tests.support import InProcessApp
from tradepulse import conventions as conv
from tradepulse_backend.ingest.decode import decode_request
from tradepulse_backend.performance import reports
from tradepulse_backend.performance.history import execution_figures, recompute
from tradepulse_backend.store import performance as stored
from tradepulse_backend.store import queries

S = 10**9
DAYS = 90
SERVICE = "long-bot"


@pytest.fixture
def running(tmp_path):
    app = InProcessApp(tmp_path / "data", monitoring={"storage": {"chunks": {"window": 86400}}})
    yield app
    app.close()


def _point(t: int, start: int, value: float, **attributes: str) -> m.NumberDataPoint:
    return m.NumberDataPoint(
        time_unix_nano=t, start_time_unix_nano=start, as_double=value,
        attributes=[KeyValue(key=k, value=AnyValue(string_value=v))
                    for k, v in attributes.items()])


def _create_series(store, first: int, start: int, value: float, flow: float, orders: float):
    metrics = [
        m.Metric(name=conv.METRIC_PORTFOLIO_VALUE, gauge=m.Gauge(data_points=[
            _point(first, 0, value)])),
        m.Metric(name=conv.METRIC_PORTFOLIO_CASH_FLOW, sum=m.Sum(
            aggregation_temporality=m.AGGREGATION_TEMPORALITY_CUMULATIVE, is_monotonic=False,
            data_points=[_point(first, start, flow)])),
        m.Metric(name=conv.METRIC_ORDERS, sum=m.Sum(
            aggregation_temporality=m.AGGREGATION_TEMPORALITY_CUMULATIVE, is_monotonic=True,
            data_points=[_point(first, start, orders,
                                **{conv.ATTR_ORDER_STATUS: "filled"})])),
    ]
    request = ExportMetricsServiceRequest.FromString(metrics_request(SERVICE, metrics))
    store.writer.write([decode_request("metrics", request)])


def test_a_90_day_summary_and_report_run_in_bounded_memory(running):
    store = running.backend.store
    now = running.clock.now_ns()
    n = DAYS * 8640
    times = now - (n - 1 - np.arange(n, dtype=np.int64)) * 10 * S
    start = int(times[0]) - S
    rng = np.random.default_rng(11)
    values = np.round(100_000 * np.exp(np.cumsum(rng.normal(0, 2e-4, n))), 2)
    # One deposit half way, with the last point of a minute: sealed history applies flows at
    # minute closes, which then equals applying it at its point.
    deposit = n // 2 + int(np.flatnonzero((times[n // 2:] + 10 * S) % (60 * S) == 0)[0])
    flows = np.zeros(n)
    flows[deposit:] = 5_000.0
    values[deposit:] += 5_000.0
    orders = np.cumsum(rng.integers(0, 2, n)).astype(float)
    _create_series(store, int(times[0]), start, values[0], flows[0], orders[0])
    with store.engine.connect() as conn:
        ids = {meta["name"]: meta["id"] for meta in queries.matching_series(
            conn, [conv.METRIC_PORTFOLIO_VALUE, conv.METRIC_PORTFOLIO_CASH_FLOW,
                   conv.METRIC_ORDERS], SERVICE)}
    starts = np.full(n, start, dtype=np.int64)
    store.append_points(ids[conv.METRIC_PORTFOLIO_VALUE], times[1:], np.zeros(n - 1, np.int64),
                        values[1:])
    store.append_points(ids[conv.METRIC_PORTFOLIO_CASH_FLOW], times[1:], starts[1:], flows[1:])
    store.append_points(ids[conv.METRIC_ORDERS], times[1:], starts[1:], orders[1:])
    hourly = times[::360]
    latency = np.cumsum(rng.integers(0, 5, (hourly.size, 5)), axis=0)
    request = ExportMetricsServiceRequest.FromString(metrics_request(SERVICE, [m.Metric(
        name=conv.METRIC_ORDER_DURATION, unit="s", histogram=m.Histogram(
            aggregation_temporality=m.AGGREGATION_TEMPORALITY_CUMULATIVE,
            data_points=[m.HistogramDataPoint(
                time_unix_nano=t, start_time_unix_nano=start, count=int(c.sum()),
                sum=float(c.sum()) * 0.01, explicit_bounds=[0.001, 0.005, 0.01, 0.05],
                bucket_counts=c.tolist()) for t, c in zip(hourly.tolist(), latency,
                                                          strict=True)]))]))
    store.writer.write([decode_request("metrics", request)])
    store.seal(now + 86_400 * S)
    monitor = running.backend.performance

    tracemalloc.start()
    try:
        summary = monitor.get_performance_summary(SERVICE, f"{DAYS}d", now_ns=now)
        report = reports.build_report(monitor, SERVICE, "week", now_ns=now)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2**20, f"peak {peak / 2**20:.1f} MiB"

    figures = summary["performance"]
    since = now - DAYS * 86_400 * S
    inside = times >= since
    aligned = np.zeros(n)
    aligned[deposit] = 5_000.0
    reference = recompute(times[inside], values[inside], aligned[inside], monitor.settings,
                          monitor.calendar)
    assert figures["portfolio_value"] == values[-1]
    for name in ("total_return", "sharpe_ratio", "volatility", "best_day", "worst_day",
                 "var_95", "annualized_return", "days"):
        assert figures[name] == pytest.approx(reference[name], rel=1e-9, abs=1e-12), name
    assert figures["max_drawdown"] >= reference["max_drawdown"] - 1e-12
    assert inside.all() and figures["orders"] == orders[-1] - orders[0]
    assert report.performance["portfolio_value"] == values[-1]
    raw = stored.raw_points(store, [conv.METRIC_ORDER_DURATION], since, now, service=SERVICE)
    every_point = execution_figures(raw, since, monitor.config.execution_window)
    for name in ("latency_p50_ms", "latency_p95_ms", "latency_p99_ms"):
        assert figures[name] is not None
        assert figures[name] == pytest.approx(every_point[name], rel=1e-9), name
