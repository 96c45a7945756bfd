"""SystemHealthMonitor in a running in-process backend on a manual clock: real psutil figures,
telemetry posted through the OTLP receiver feeding heartbeats, brokers, bot processes, error
rates and bot-side checks; figures by name; REST and bus shapes; stored samples and
transitions."""

from __future__ import annotations

import psutil
import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2 as m
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1 import trace_pb2

from tests.support import InProcessApp, wait_until
from tradepulse import conventions as conv
from tradepulse_backend.bus import HealthChanged, HealthSampled, drop_oldest
from tradepulse_backend.clock import ManualClock, SystemClock
from tradepulse_backend.config import SystemHealthConfig
from tradepulse_backend.health import (
    HEALTH_FIGURES,
    ComponentStatus,
    SystemHealthMonitor,
    SystemMetrics,
)
from tradepulse_backend.health.host import HostSampler
from tradepulse_backend.health.models import DiskUsage, ProcessFigures
from tradepulse_backend.store import queries
from tradepulse_backend.telemetry.records import DecodedBatch, SeriesPoints

PROTOBUF = {"Content-Type": "application/x-protobuf"}
MIB = 2**20


def _kv(key: str, value) -> KeyValue:
    if isinstance(value, float):
        return KeyValue(key=key, value=AnyValue(double_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=str(value)))


def gauges(service: str, time_ns: int, values: dict[str, tuple[float, dict]]) -> bytes:
    metrics = [m.Metric(name=name, unit="1", gauge=m.Gauge(data_points=[m.NumberDataPoint(
        time_unix_nano=time_ns, as_double=value,
        attributes=[_kv(k, v) for k, v in attrs.items()])]))
        for name, (value, attrs) in values.items()]
    return ExportMetricsServiceRequest(resource_metrics=[m.ResourceMetrics(
        resource=Resource(attributes=[_kv("service.name", service)]),
        scope_metrics=[m.ScopeMetrics(scope=InstrumentationScope(name="tests"),
                                      metrics=metrics)])]).SerializeToString()


def spans(service: str, time_ns: int, items: list[tuple[str, bool, int, dict]]) -> bytes:
    """items: (name, error, duration_ns, attributes)."""
    built = [trace_pb2.Span(
        trace_id=(i + 1).to_bytes(16, "big"), span_id=(i + 1).to_bytes(8, "big"), name=name,
        start_time_unix_nano=time_ns - duration, end_time_unix_nano=time_ns,
        attributes=[_kv(k, v) for k, v in attrs.items()],
        status=trace_pb2.Status(code=trace_pb2.Status.STATUS_CODE_ERROR if error else 0))
        for i, (name, error, duration, attrs) in enumerate(items)]
    return ExportTraceServiceRequest(resource_spans=[trace_pb2.ResourceSpans(
        resource=Resource(attributes=[_kv("service.name", service)]),
        scope_spans=[trace_pb2.ScopeSpans(spans=built)])]).SerializeToString()


def post(app: InProcessApp, path: str, body: bytes) -> None:
    """POST one export and wait until the health monitor absorbed it (the bus event follows
    the commit, so the 200 may come first)."""
    before = app.backend.health.batches_absorbed
    status, _headers, _body = app.post_otlp(path, body, PROTOBUF)
    assert status == 200
    wait_until(lambda: app.backend.health.batches_absorbed > before, what="absorbed")


def heartbeat(app: InProcessApp, service: str, **extra: tuple[float, dict]) -> None:
    values = {"process.memory.usage": (100.0 * MIB, {}), **extra}
    post(app, "/v1/metrics", gauges(service, app.clock.now_ns(), values))


@pytest.fixture
def health_app(tmp_path):
    """A backend whose checkers and heartbeats judge on calls to `evaluate()`."""
    app = InProcessApp(tmp_path / "data", {"system_health": {
        "heartbeat": {"degraded_after": 3, "unhealthy_after": 6, "min_interval": 1},
        "errors": {"min_spans": 5}}})
    yield app
    app.close()


def test_real_psutil_figures_fall_within_plausible_bounds():
    sampler = HostSampler(SystemClock())
    sampler.sample()
    sample = sampler.sample()
    assert 0 <= sample.cpu_percent <= 100
    assert len(sample.cpu_per_core) == psutil.cpu_count()
    assert all(0 <= core <= 100 for core in sample.cpu_per_core)
    assert len(sample.load_avg) == 3 and all(x >= 0 for x in sample.load_avg)
    assert 0 < sample.memory_used_bytes <= sample.memory_total_bytes
    assert 0 <= sample.memory_percent <= 100 and 0 <= sample.swap_percent <= 100
    assert sample.disks and all(d.total_bytes > 0 and 0 <= d.percent <= 100
                                and 0 <= d.used_bytes <= d.total_bytes for d in sample.disks)
    assert all(v is None or v >= 0 for v in {**sample.disk_io, **sample.network}.values())
    assert sample.open_fds is None or sample.open_fds > 0
    assert sample.process.rss_bytes > 0 and sample.process.threads >= 1
    assert sample.process.open_fds > 0 and sample.process.cpu_percent >= 0


def test_health_figures_are_readable_by_name_through_the_same_interface_alert_rules_use(
        health_app):
    health = health_app.backend.health
    health.sample()
    heartbeat(health_app, "fig-bot", **{
        conv.METRIC_BROKER_CONNECTED: (0.0, {conv.ATTR_BROKER: "ib"}),
        "process.cpu.utilization": (0.25, {}), "process.thread.count": (7.0, {})})
    health.evaluate()

    host = health.figures()
    bot = health.figures("fig-bot")
    assert set(host) <= HEALTH_FIGURES and set(bot) <= HEALTH_FIGURES
    body = health_app.api("/health")
    assert host["cpu_usage"] == body["metrics"]["cpu_percent"]
    assert host["memory_usage"] == body["metrics"]["memory_percent"]
    assert host["disk_usage"] == max(d["percent"] for d in body["metrics"]["disks"])
    assert {"swap_usage", "load_per_core", "component_status", "health_status",
            "ingest_queue_depth", "workers_dead"} <= set(host)
    assert host["component_status"] == "unhealthy" and host["broker_connected"] == 0.0
    assert bot["broker_connected"] == 0.0
    assert bot["bot_rss_bytes"] == 100.0 * MIB
    assert bot["bot_cpu_usage"] == 25.0 and bot["bot_threads"] == 7.0
    assert bot["heartbeat_age_s"] == 0.0
    assert bot["component_status"] == "unhealthy" and bot["component_status_level"] == 3.0
    assert [k for k, v in [*host.items(), *bot.items()] if not isinstance(v, float | str)] == []
    assert health.figures("no-such-bot") == {}


def test_a_silent_service_turns_degraded_then_unhealthy_then_recovers(health_app):
    health, clock = health_app.backend.health, health_app.clock
    changed = []
    health_app.backend.bus.subscribe(HealthChanged, changed.append, name="test-health",
                                     overflow=drop_oldest)
    for _ in range(4):
        heartbeat(health_app, "hb-bot")
        clock.advance(2)
    health.evaluate()
    assert health.get_component_health("service:hb-bot").status is ComponentStatus.HEALTHY
    assert health.figures("hb-bot")["export_interval_s"] == 2.0
    clock.advance(4)                       # 6 s silent: 3x the observed 2 s interval
    health.evaluate()
    component = health.get_component_health("service:hb-bot")
    assert component.status is ComponentStatus.DEGRADED
    assert component.message.startswith("no telemetry for 6.0s, 3.0x its observed")
    clock.advance(6)
    health.evaluate()
    assert component.status is ComponentStatus.UNHEALTHY
    assert health.get_system_summary()["reasons"][0]["name"] == "service:hb-bot"
    heartbeat(health_app, "hb-bot")
    assert component.status is ComponentStatus.HEALTHY
    assert [(t.before, t.after) for t in component.transitions][-3:] == [
        (ComponentStatus.HEALTHY, ComponentStatus.DEGRADED),
        (ComponentStatus.DEGRADED, ComponentStatus.UNHEALTHY),
        (ComponentStatus.UNHEALTHY, ComponentStatus.HEALTHY)]
    assert changed and _flush_subscriber(health_app, "test-health")
    events = [e.component for e in changed if e.component["name"] == "service:hb-bot"]
    assert [e["status"] for e in events] == ["healthy", "degraded", "unhealthy", "healthy"]
    assert events[-1] == health_app.api("/health/components/service:hb-bot")


def _flush_subscriber(app: InProcessApp, name: str) -> bool:
    return all(s.flush() for subs in app.backend.bus._subscriptions.values() for s in subs
               if s.name == name)


def test_a_broker_disconnect_makes_its_component_unhealthy_until_it_reconnects(health_app):
    health = health_app.backend.health
    broker = {conv.ATTR_BROKER: "alpaca"}
    heartbeat(health_app, "b-bot", **{conv.METRIC_BROKER_CONNECTED: (1.0, broker)})
    name = "broker:b-bot:alpaca"
    assert health.get_component_health(name).status is ComponentStatus.HEALTHY
    health_app.clock.advance(1)
    heartbeat(health_app, "b-bot", **{conv.METRIC_BROKER_CONNECTED: (0.0, broker)})
    found = health_app.api(f"/health/components/{name}")
    assert (found["status"], found["kind"], found["message"]) == (
        "unhealthy", "broker", "alpaca disconnected")
    health_app.clock.advance(1)
    heartbeat(health_app, "b-bot", **{conv.METRIC_BROKER_CONNECTED: (1.0, broker),
                                      conv.METRIC_BROKER_RATE_LIMIT_HEADROOM: (0.05, broker)})
    component = health.get_component_health(name)
    assert component.status is ComponentStatus.DEGRADED
    assert component.message == "alpaca connected; rate-limit headroom 5%"
    assert health.figures("b-bot")["broker_rate_limit_headroom"] == 0.05


def test_error_rate_and_latency_per_service_and_span_name_come_from_stored_spans(health_app):
    health = health_app.backend.health
    now = health_app.clock.now_ns()
    items = [("trading.order.submit", i < 3, 10_000_000, {}) for i in range(10)]
    items += [("trading.strategy.step", False, 3_000_000_000, {}) for _ in range(6)]
    post(health_app, "/v1/traces", spans("err-bot", now, items))
    health.evaluate()
    figures = health.figures("err-bot")
    assert figures["error_rate"] == pytest.approx(0.3)
    assert figures["latency_p99_ms"] == pytest.approx(3000.0)
    component = health.get_component_health("errors:err-bot")
    assert component.status is ComponentStatus.UNHEALTHY
    assert component.message.startswith("trading.order.submit: error_rate 0.3")


def test_a_trade_held_for_minutes_is_no_latency_but_its_errors_count(health_app):
    health = health_app.backend.health
    now = health_app.clock.now_ns()
    items = [(conv.SPAN_TRADE, i == 0, 600_000_000_000, {}) for i in range(25)]
    items += [("trading.order.submit", False, 40_000_000, {}) for _ in range(25)]
    post(health_app, "/v1/traces", spans("swing-bot", now, items))
    health.evaluate()
    figures = health.figures("swing-bot")
    assert figures["latency_p99_ms"] == pytest.approx(40.0)
    assert figures["error_rate"] == pytest.approx(0.04)
    assert health.get_component_health("errors:swing-bot").status is ComponentStatus.HEALTHY


def test_bot_side_checks_reported_as_spans_become_components(health_app):
    health = health_app.backend.health
    now = health_app.clock.now_ns()
    check = {conv.ATTR_COMPONENT: "database", conv.ATTR_HEALTH_STATUS: "degraded",
             conv.ATTR_HEALTH_MESSAGE: "replica lag 4 s"}
    post(health_app, "/v1/traces", spans("chk-bot", now, [
        (conv.SPAN_HEALTH_CHECK, False, 2_000_000, check)]))
    component = health.get_component_health("check:chk-bot:database")
    assert (component.status, component.message) == (ComponentStatus.DEGRADED,
                                                      "replica lag 4 s")
    assert component.response_time_ms == pytest.approx(2.0)
    assert component.kind == "bot_checker"
    assert health.figures("chk-bot")["component_status"] == "degraded"


def test_host_samples_are_stored_as_semantic_convention_series_and_published(health_app):
    sampled = []
    health_app.backend.bus.subscribe(HealthSampled, sampled.append, name="test-sampled",
                                     overflow=drop_oldest)
    health = health_app.backend.health
    first = health.sample()
    health_app.clock.advance(1)            # before the sampler's own first run (2 s)
    second = health.sample()
    names = _stored_names(health_app)
    assert {"system.cpu.utilization", "system.memory.usage", "system.memory.utilization",
            "system.filesystem.usage", "system.filesystem.utilization", "system.paging.usage",
            "system.disk.io", "system.network.io", "process.memory.usage"} <= names
    history = health_app.api("/health/history?figure=cpu_usage&since=1h")
    assert history["figure"] == "cpu_usage" and history["unit"] == "%"
    assert history["v"] == pytest.approx([first.cpu_percent, second.cpu_percent])
    assert history["t"] == [first.timestamp_ns / 1e6, second.timestamp_ns / 1e6]
    thinned = health_app.api("/health/history?figure=memory_usage&since=1h&max_points=1")
    assert len(thinned["v"]) == 1
    assert thinned["v"][0] == pytest.approx(max(first.memory_percent, second.memory_percent))
    assert _flush_subscriber(health_app, "test-sampled")
    assert [e.sample for e in sampled][-1] == health_app.api("/health")["metrics"]


def _stored_names(app: InProcessApp) -> set[str]:
    return {e["name"] for e in queries.metric_names(app.backend.store, "tradepulse-backend")}


@pytest.mark.parametrize(("query", "error"), [
    ("", "figure: required"),
    ("figure=nope", "figure: no history of 'nope'"),
    ("figure=bot_rss_bytes", "service: figure 'bot_rss_bytes' is per bot"),
    ("figure=cpu_usage&max_points=0", "max_points: must be between 1 and 10000"),
    ("figure=cpu_usage&since=-5m", "since: a duration back from now is positive"),
])
def test_bad_history_queries_are_400_naming_the_parameter(health_app, query, error):
    status, body = health_app.get(f"/api/v1/health/history?{query}")
    assert status == 400
    assert body["error"].startswith(error)


def test_unknown_component_is_a_404_with_a_json_error(health_app):
    status, body = health_app.get("/api/v1/health/components/nope")
    assert status == 404 and "nope" in body["error"]


def test_a_threshold_breach_is_a_reason_and_the_overview_has_every_part(tmp_path):
    app = InProcessApp(tmp_path / "data", {"system_health": {"thresholds": {
        "memory_usage": {"warning": 0, "critical": 0.001}}}})
    try:
        app.backend.health.sample()
        body = app.api("/health")
        assert body["status"] == "unhealthy"
        memory = [r for r in body["reasons"] if r["name"] == "memory_usage"]
        assert memory == [{"source": "threshold", "name": "memory_usage",
                           "status": "unhealthy", "message": memory[0]["message"]}]
        assert memory[0]["message"].endswith("at or above 0.001")
        assert body["reasons"][0]["status"] == "unhealthy"
        assert set(body) == {"status", "reasons", "counts", "metrics", "components", "bots",
                             "trends"}
        assert set(body["metrics"]) == {
            "timestamp", "cpu_percent", "cpu_per_core", "load_avg", "memory_percent",
            "memory_used_bytes", "memory_total_bytes", "swap_percent", "disks", "disk_io",
            "network", "open_fds", "process"}
        assert set(body["counts"]) == {"healthy", "degraded", "unhealthy", "unknown"}
        host = app.api("/health/components/host")
        assert host["status"] == "unhealthy" and "memory_usage" in host["message"]
        listed = app.api("/health/components")["components"]
        assert host in listed
    finally:
        app.close()


def test_transitions_are_stored_and_shown_again_after_a_restart(tmp_path):
    first = InProcessApp(tmp_path / "data")
    first.backend.health.register_health_checker("db", lambda: False, interval=30)
    first.backend.health.evaluate()
    wait_until(lambda: first.backend.health.get_component_health("db").status
               is ComponentStatus.UNHEALTHY, what="the check")
    first.close()
    second = InProcessApp(tmp_path / "data")
    try:
        restored = second.api("/health/components/db")
        assert [(t["from"], t["to"]) for t in restored["transitions"]] == [
            ("unknown", "unhealthy")]
        assert restored["since"] == restored["transitions"][-1]["at"]
    finally:
        second.close()


def test_a_service_silent_past_forget_after_is_dropped_with_its_components(tmp_path):
    app = InProcessApp(tmp_path / "data", {"system_health": {"heartbeat": {
        "forget_after": 600}}})
    try:
        heartbeat(app, "gone-bot", **{conv.METRIC_BROKER_CONNECTED: (1.0, {
            conv.ATTR_BROKER: "ib"})})
        health = app.backend.health
        assert {"service:gone-bot", "broker:gone-bot:ib"} <= {c.name for c in health.components()}
        app.clock.advance(601)
        health.evaluate()
        assert not [c.name for c in health.components() if "gone-bot" in c.name]
        assert health.figures("gone-bot") == {}
    finally:
        app.close()


def test_after_a_restart_services_are_judged_by_their_stored_last_export(tmp_path):
    first = InProcessApp(tmp_path / "data")
    heartbeat(first, "old-bot")
    first.close()
    second = InProcessApp(tmp_path / "data")
    try:
        second.clock.advance(3600)
        second.backend.health.evaluate()
        found = second.api("/health/components/service:old-bot")
        assert found["status"] == "unhealthy"
        assert found["message"].startswith("no telemetry for 3600.0s")
    finally:
        second.close()


def test_a_week_of_samples_is_thinned_to_max_points_keeping_the_oldest_and_the_spikes(
        health_app):
    health = health_app.backend.health
    now = health_app.clock.now_ns()
    step = 30 * 10**9
    count = 7 * 2880                                   # a week of 30 s samples
    times = [now - (count - i) * step for i in range(count)]
    values = [0.2] * count
    values[100] = 0.95                                 # a spike early in the week
    series = health.records._get("system.cpu.utilization", "1", {})
    batch = DecodedBatch("metrics", metrics=[SeriesPoints(series, [
        (t, 0, v) for t, v in zip(times, values, strict=True)])])
    batch.accepted = count
    health_app.backend.pipeline.store(batch)

    found = health_app.api("/health/history?figure=cpu_usage&since=8d&max_points=200")
    assert len(found["t"]) == len(found["v"]) == 200
    assert found["t"][0] < (times[0] + 3600 * 10**9) / 1e6
    assert max(found["v"]) == pytest.approx(95.0)
    assert sorted(found["t"]) == found["t"]


def test_another_part_publishes_its_backlog_among_the_health_figures(health_app):
    health = health_app.backend.health
    backlog = [3]
    health.add_backend_gauge("outbox_backlog", lambda: backlog[0])
    health.evaluate()
    assert health.figures()["outbox_backlog"] == 3.0
    with pytest.raises(ValueError, match="not a health figure"):
        health.add_backend_gauge("made_up", lambda: 1)


def test_the_names_alert_rules_rely_on_are_health_figures():
    assert {"cpu_usage", "memory_usage", "disk_usage", "swap_usage", "load_per_core",
            "component_status", "broker_connected", "heartbeat_age_s", "error_rate",
            "latency_p99_ms", "bot_rss_bytes", "bot_cpu_usage", "disk_full_eta_s",
            "memory_full_eta_s", "rss_growth_bytes_per_h"} <= HEALTH_FIGURES
    assert isinstance(HEALTH_FIGURES, frozenset)


class FillingDisk:
    """A host whose /data disk fills 1 % a minute from 30 %, CPU as the test sets it."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.counters: dict = {}
        self.disk = 30.0
        self.cpu = 10.0

    def sample(self) -> SystemMetrics:
        self.disk += 1.0
        return SystemMetrics(
            timestamp_ns=self.clock.now_ns(), cpu_percent=self.cpu, cpu_per_core=(self.cpu,),
            load_avg=(0.1, 0.1, 0.1), memory_percent=40.0, memory_used_bytes=4,
            memory_total_bytes=10, swap_percent=0.0, swap_used_bytes=0, swap_total_bytes=0,
            disks=(DiskUsage("/data", self.disk, int(self.disk), 100),), disk_io={},
            network={}, open_fds=10, process=ProcessFigures(1.0, 100, 3, 5))


def test_a_filling_disk_is_projected_and_warns_before_it_is_full_on_a_manual_clock():
    clock = ManualClock()
    host = FillingDisk(clock)
    monitor = SystemHealthMonitor(SystemHealthConfig(), clock=clock, sampler=host)
    for _ in range(12):
        monitor.sample()
        clock.advance(60)
    figures = monitor.figures()
    assert figures["disk_usage"] == 42.0
    assert figures["disk_full_eta_s"] == pytest.approx(58 * 60)
    assert figures["disk_usage_rate_per_h"] == pytest.approx(60.0)
    reason = next(r for r in monitor.get_system_summary()["reasons"] if r["source"] == "trend")
    assert reason == {"source": "trend", "name": "disk_full_eta_s", "status": "unhealthy",
                      "message": "disk /data full in 58 min at the current rate"}
    assert monitor.get_component_health("host").status is ComponentStatus.UNHEALTHY


def test_host_thresholds_hold_with_hysteresis_through_the_monitor():
    clock = ManualClock()
    host = FillingDisk(clock)
    monitor = SystemHealthMonitor(SystemHealthConfig(), clock=clock, sampler=host)
    statuses = []
    for cpu in (69.0, 71.0, 69.0, 67.0, 66.0):
        host.cpu = cpu
        monitor.sample()
        clock.advance(30)
        breach = [r for r in monitor.reasons() if r.name == "cpu_usage"]
        statuses.append(breach[0].status.value if breach else "healthy")
    assert statuses == ["healthy", "degraded", "degraded", "degraded", "healthy"]
