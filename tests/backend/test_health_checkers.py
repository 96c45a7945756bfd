"""Registered health checkers: outcomes, errors, deadlines (sync and async) and at most one run
in flight, on a manual clock driven by the test."""

from __future__ import annotations

import asyncio
import threading

import pytest

from tests.support import wait_until
from tradepulse_backend.clock import ManualClock
from tradepulse_backend.config import SystemHealthConfig
from tradepulse_backend.health import ComponentStatus, SystemHealthMonitor
from tradepulse_backend.health.checkers import interpret
from tradepulse_backend.workers import Supervisor


@pytest.fixture
def monitor():
    """A monitor on a manual clock; its checkers' event loop runs under a real supervisor."""
    clock = ManualClock()
    workers = Supervisor(clock)
    monitor = SystemHealthMonitor(SystemHealthConfig(), clock=clock, workers=workers)
    workers.thread("health-checkers", monitor.checkers.serve, wake=monitor.checkers.wake)
    workers.start()
    yield monitor
    workers.stop(timeout=5)


def status_of(monitor: SystemHealthMonitor, name: str) -> ComponentStatus:
    return monitor.get_component_health(name).status


def settled(monitor: SystemHealthMonitor, name: str) -> bool:
    checker = monitor.checkers.get(name)
    return checker is not None and not checker.in_flight


def run_once(monitor: SystemHealthMonitor, *names: str) -> None:
    monitor.evaluate()
    for name in names:
        wait_until(lambda n=name: settled(monitor, n), what=f"{name} to finish")


@pytest.mark.parametrize(("result", "status", "message"), [
    (True, ComponentStatus.HEALTHY, "ok"),
    (False, ComponentStatus.UNHEALTHY, "check returned False"),
    ("degraded", ComponentStatus.DEGRADED, "degraded"),
    (ComponentStatus.UNHEALTHY, ComponentStatus.UNHEALTHY, "unhealthy"),
    (("degraded", "replica lag 4 s"), ComponentStatus.DEGRADED, "replica lag 4 s"),
])
def test_a_checker_result_reads_as_a_status_and_a_message(result, status, message):
    assert interpret(result) == (status, message)


def test_an_unsupported_checker_result_is_unhealthy_and_says_what_was_returned():
    status, message = interpret(42)
    assert status is ComponentStatus.UNHEALTHY
    assert "int 42" in message and "expected a bool" in message


def test_raising_degraded_and_healthy_checkers_each_mark_their_component(monitor):
    def broken():
        raise ConnectionError("database refused the connection")

    monitor.register_health_checker("database", broken, interval=10, timeout=5)
    monitor.register_health_checker("feed", lambda: ("degraded", "quotes 3 s late"),
                                    interval=10, timeout=5)
    monitor.register_health_checker("risk", lambda: True, interval=10, timeout=5)
    run_once(monitor, "database", "feed", "risk")

    database = monitor.get_component_health("database")
    assert database.status is ComponentStatus.UNHEALTHY
    assert database.message == "ConnectionError: database refused the connection"
    assert database.kind == "checker"
    feed = monitor.get_component_health("feed")
    assert (feed.status, feed.message) == (ComponentStatus.DEGRADED, "quotes 3 s late")
    assert status_of(monitor, "risk") is ComponentStatus.HEALTHY
    summary = monitor.get_system_summary()
    assert summary["status"] == "unhealthy"
    assert [r["name"] for r in summary["reasons"]] == ["database", "feed"]
    assert summary["counts"]["unhealthy"] == 1 and summary["counts"]["degraded"] == 1


def test_a_healthy_checker_stays_fresh_while_another_hangs(monitor):
    release = threading.Event()
    monitor.register_health_checker("stuck", release.wait, interval=10, timeout=5)
    monitor.register_health_checker("risk", lambda: True, interval=10, timeout=5)
    try:
        seen = []
        for _ in range(3):
            run_once(monitor, "risk")
            seen.append(monitor.get_component_health("risk").last_seen_ns)
            monitor.clock.advance(10)
        assert seen == sorted(set(seen)), "the healthy checker ran at every interval"
        monitor.evaluate()
        stuck = monitor.get_component_health("stuck")
        assert stuck.status is ComponentStatus.UNHEALTHY
        assert stuck.message == "timed out after 5 s"
    finally:
        release.set()


def test_a_hung_sync_checker_never_has_more_than_one_run_in_flight(monitor):
    release = threading.Event()
    lock = threading.Lock()
    running = [0]
    most = [0]
    calls = [0]

    def hangs():
        with lock:
            running[0] += 1
            calls[0] += 1
            most[0] = max(most[0], running[0])
        try:
            release.wait()
        finally:
            with lock:
                running[0] -= 1
        return True

    monitor.register_health_checker("hangs", hangs, interval=1, timeout=2)
    try:
        for _ in range(20):
            monitor.evaluate()
            monitor.clock.advance(1)
        wait_until(lambda: calls[0] >= 1, what="the first run")
        assert (calls[0], most[0]) == (1, 1)
        assert status_of(monitor, "hangs") is ComponentStatus.UNHEALTHY
        assert monitor.get_component_health("hangs").message == "timed out after 2 s"
    finally:
        release.set()
    wait_until(lambda: settled(monitor, "hangs"), what="the hung run to return")
    assert status_of(monitor, "hangs") is ComponentStatus.UNHEALTHY, "a late result is stale"
    run_once(monitor, "hangs")
    assert calls[0] == 2
    assert status_of(monitor, "hangs") is ComponentStatus.HEALTHY


def test_an_async_checker_past_its_timeout_is_unhealthy_and_cancelled(monitor):
    cancelled = threading.Event()
    started = threading.Event()

    async def slow():
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return True

    async def fine():
        await asyncio.sleep(0)
        return "healthy"

    monitor.register_health_checker("slow-async", slow, interval=30, timeout=5)
    monitor.register_health_checker("fine-async", fine, interval=30, timeout=5)
    run_once(monitor, "fine-async")
    assert started.wait(10)
    assert status_of(monitor, "fine-async") is ComponentStatus.HEALTHY
    monitor.clock.advance(5)
    monitor.evaluate()
    slow_health = monitor.get_component_health("slow-async")
    assert (slow_health.status, slow_health.message) == (ComponentStatus.UNHEALTHY,
                                                          "timed out after 5 s")
    assert cancelled.wait(10)
    wait_until(lambda: settled(monitor, "slow-async"), what="the cancelled run to end")


def test_status_changes_are_kept_as_transitions_with_since(monitor):
    outcomes = iter([True, False, True])
    monitor.register_health_checker("flaky", lambda: next(outcomes), interval=10, timeout=5)
    for _ in range(3):
        run_once(monitor, "flaky")
        monitor.clock.advance(10)
    flaky = monitor.get_component_health("flaky").to_dict()
    assert [(t["from"], t["to"]) for t in flaky["transitions"]] == [
        ("unknown", "healthy"), ("healthy", "unhealthy"), ("unhealthy", "healthy")]
    assert flaky["since"] == flaky["transitions"][-1]["at"]
    assert flaky["response_time_ms"] is not None
    assert set(flaky) == {"name", "kind", "status", "last_seen", "response_time_ms",
                          "message", "since", "transitions"}
