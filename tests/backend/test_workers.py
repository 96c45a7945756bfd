"""The supervisor: periodic work on the clock, failures counted, and a dead worker turning
/healthz to 503 (in process, on a manual clock: no sleeps)."""

from __future__ import annotations

import threading

import pytest

from tests.integration.otlp_samples import span, spans_request
from tests.support import InProcessApp, wait_until
from tradepulse_backend.bus import TelemetryStored, drop_oldest
from tradepulse_backend.clock import ManualClock
from tradepulse_backend.workers import Admission, Supervisor, WorkerState

PROTOBUF = {"Content-Type": "application/x-protobuf"}


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def supervisor(clock):
    created = Supervisor(clock)
    yield created
    created.stop()


def _advance_until(clock: ManualClock, seconds: float, condition, what: str) -> None:
    """Move the clock a step at a time until `condition()` holds (the worker may not be
    waiting yet when the first step is taken)."""
    def step():
        clock.advance(seconds)
        return condition()

    wait_until(step, what=what)


def test_a_periodic_task_runs_when_the_clock_moves_and_records_its_runs(supervisor, clock):
    calls = []
    worker = supervisor.every("tick", 30, lambda: calls.append(clock.now_ns()))
    supervisor.start()
    assert calls == []
    _advance_until(clock, 30, lambda: worker.runs >= 2, "two runs")
    status = {s["name"]: s for s in supervisor.status()}["tick"]
    assert status["state"] == "running" and status["runs"] >= 2
    assert status["last_run_unix_ms"] == worker.last_run_ns / 1e6
    assert supervisor.healthy


def test_an_exception_is_counted_and_the_task_runs_again(supervisor, clock):
    attempts = []

    def flaky() -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise OSError("disk busy")

    worker = supervisor.every("flaky", 5, flaky)
    supervisor.start()
    _advance_until(clock, 5, lambda: worker.runs >= 2, "a retry")
    assert worker.failures == 1 and worker.last_error == "OSError: disk busy"
    assert worker.state is WorkerState.RUNNING and supervisor.healthy


def test_a_fatal_error_kills_the_worker_and_the_supervisor_reports_it(supervisor, clock):
    def fatal() -> None:
        raise SystemExit("out of file descriptors")

    supervisor.every("doomed", 5, fatal)
    supervisor.every("fine", 5, lambda: None)
    supervisor.start()
    _advance_until(clock, 5, lambda: not supervisor.healthy, "the worker's death")
    assert supervisor.dead == ["doomed"]
    assert supervisor["doomed"].last_error == "SystemExit: out of file descriptors"


def test_a_service_that_stops_answering_its_liveness_check_is_dead(supervisor):
    alive = threading.Event()
    supervisor.service("part", start=alive.set, stop=lambda _t: alive.clear(),
                       alive=alive.is_set)
    supervisor.start()
    assert supervisor.healthy
    alive.clear()
    assert supervisor.dead == ["part"]


def test_stop_stops_workers_in_reverse_order_of_registration(clock):
    supervisor = Supervisor(clock)
    order = []
    for name in ("consumer", "producer"):
        supervisor.service(name, start=lambda: None,
                           stop=lambda _t, name=name: order.append(name), alive=lambda: True)
    supervisor.start()
    supervisor.stop()
    assert order == ["producer", "consumer"]
    assert {s["state"] for s in supervisor.status()} == {"stopped"}
    assert supervisor.healthy


def test_admission_refuses_past_its_limit_without_waiting():
    slots = Admission(2)
    assert slots.try_enter() and slots.try_enter()
    assert not slots.try_enter()
    slots.leave()
    assert slots.try_enter()
    assert slots.stats() == {"open": 2, "limit": 2, "refused": 1}


def test_status_lists_every_backend_worker(app_client):
    workers = {w["name"]: w["state"] for w in app_client.api("/status")["workers"]}
    assert workers == {"bus-performance": "running", "writer": "running",
                       "maintenance": "running", "retention": "running", "persist": "running",
                       "reports": "running", "bus-health": "running",
                       "health-checkers": "running", "health-sample": "running",
                       "health-evaluate": "running", "alerting": "running",
                       "alerting-groups": "running", "bus-alerting-performance": "running",
                       "bus-alerting-metrics": "running", "bus-alerting-health": "running",
                       "bus-alerting-reports": "running", "outbox-console": "running",
                       "bus-dashboard-alerts": "running", "bus-dashboard-health": "running",
                       "bus-dashboard-health-samples": "running",
                       "bus-dashboard-performance": "running",
                       "bus-dashboard-telemetry": "running", "compaction": "running"}
    assert app_client.get("/healthz") == (200, {"status": "ok"})


def test_healthz_is_503_once_a_periodic_worker_died(app_client):
    def fatal() -> None:
        raise SystemExit("fatal")

    app_client.backend.workers.every("doomed", 5, fatal)
    _advance_until(app_client.clock, 5, lambda: app_client.get("/healthz")[0] == 503, "503")
    assert app_client.get("/healthz") == (503, {"status": "unavailable",
                                                "dead_workers": ["doomed"]})
    status = app_client.api("/status")
    assert status["healthy"] is False
    doomed = {w["name"]: w for w in status["workers"]}["doomed"]
    assert doomed["state"] == "died" and doomed["last_error"] == "SystemExit: fatal"


def test_healthz_is_503_once_the_performance_subscriber_died(app_client, monkeypatch):
    def fatal(_batch) -> None:
        raise SystemExit("monitor crashed")

    monkeypatch.setattr(app_client.backend.performance, "absorb", fatal)
    body = spans_request("bot", [span(b"\x01" * 16, b"\x02" * 8, "order")])
    assert app_client.post_otlp("/v1/traces", body, PROTOBUF)[0] == 200
    wait_until(lambda: app_client.get("/healthz")[0] == 503, what="503")
    assert app_client.get("/healthz")[1]["dead_workers"] == ["bus-performance"]


@pytest.fixture
def small_queue_app(tmp_path):
    running = InProcessApp(tmp_path / "data", {"ingest": {"queue_max_batches": 4}})
    yield running
    running.close()


def test_a_sleeping_subscriber_never_delays_ingest(small_queue_app):
    """With a subscriber that sleeps a second per batch and one stuck until the test ends, a
    burst of exports from several clients gets no 503 and every span is stored (a bus that ran
    them on the writer's thread would hold every commit; the bench measures throughput)."""
    app_client = small_queue_app
    backend = app_client.backend
    awake = threading.Event()
    backend.bus.subscribe(TelemetryStored, lambda _e: awake.wait(1), name="sleepy",
                          overflow=drop_oldest, capacity=4)
    backend.bus.subscribe(TelemetryStored, lambda _e: awake.wait(120), name="stuck",
                          overflow=drop_oldest, capacity=4)
    results: list[int] = []

    def client(first: int) -> None:
        for i in range(first, first + 10):
            body = spans_request("burst", [span(i.to_bytes(16, "big"), b"\x03" * 8, f"s{i}")])
            results.append(app_client.post_otlp("/v1/traces", body, PROTOBUF)[0])

    clients = [threading.Thread(target=client, args=(k * 10 + 1,)) for k in range(3)]
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join()
    awake.set()
    assert results == [200] * 30
    assert backend.pipeline.stats.refused_full == 0
    spans = app_client.api("/spans?service=burst&limit=100")["spans"]
    assert len(spans) == 30
