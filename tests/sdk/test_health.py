"""Bot-side health checks report each outcome as a `trading.health.check` span."""

from __future__ import annotations

import threading

import pytest

import tradepulse
from tests.sdk.conftest import SpanRecorder
from tradepulse import conventions as conv
from tradepulse import metrics
from tradepulse.conventions import HealthStatus
from tradepulse.health import HealthChecker, register_health_checker


def checker(function, timeout_s: float = 5.0) -> HealthChecker:
    return HealthChecker("component-x", function, interval_s=60, timeout_s=timeout_s,
                         start=False)


def reported(spans: SpanRecorder) -> list[tuple[str, str, str]]:
    return [(s.attributes[conv.ATTR_COMPONENT], s.attributes[conv.ATTR_HEALTH_STATUS],
             s.attributes[conv.ATTR_HEALTH_MESSAGE])
            for s in spans.all() if s.name == conv.SPAN_HEALTH_CHECK]


@pytest.mark.parametrize(("result", "expected"), [
    (True, ("healthy", "ok")),
    (False, ("unhealthy", "check returned False")),
    ("DEGRADED", ("degraded", "degraded")),
    ((HealthStatus.DEGRADED, "lag 3 s"), ("degraded", "lag 3 s")),
    (17, ("unhealthy", "check returned 17")),
])
def test_each_outcome_is_a_health_check_span(spans: SpanRecorder, result, expected):
    checker(lambda: result).check_once()
    assert reported(spans) == [("component-x", *expected)]
    span = spans.named(conv.SPAN_HEALTH_CHECK)
    assert span.parent is None and span.end_time >= span.start_time


def test_a_raising_check_is_unhealthy_with_the_error_and_an_error_status(spans):
    def broken():
        raise TimeoutError("feed silent")

    checker(broken).check_once()
    assert reported(spans) == [("component-x", "unhealthy", "TimeoutError: feed silent")]
    assert spans.named(conv.SPAN_HEALTH_CHECK).status.is_ok is False


def test_an_async_check_is_awaited(spans):
    async def fine():
        return "healthy"

    checker(fine).check_once()
    assert reported(spans) == [("component-x", "healthy", "healthy")]


def test_a_hung_check_times_out_and_is_not_started_again_while_it_hangs(spans):
    release = threading.Event()
    calls = []

    def hangs():
        calls.append(1)
        release.wait()
        return True

    hung = checker(hangs, timeout_s=0.05)
    try:
        assert hung.check_once() == (HealthStatus.UNHEALTHY, "timed out after 0.05 s")
        assert hung.check_once()[1] == "previous run still running after 0.05 s timeout"
        assert len(calls) == 1
    finally:
        release.set()


def test_register_runs_the_first_check_at_once(spans):
    done = threading.Event()
    running = register_health_checker("component-y", lambda: done.set() or True,
                                      interval_s=3600)
    try:
        assert done.wait(10)
    finally:
        running.stop()
    assert running.runs == 1


def test_bad_arguments_name_what_was_wrong():
    with pytest.raises(ValueError, match="interval_s"):
        HealthChecker("x", lambda: True, interval_s=0, timeout_s=1, start=False)
    with pytest.raises(ValueError, match="callable"):
        HealthChecker("x", 3, interval_s=1, timeout_s=1, start=False)


def test_broker_rate_limit_headroom_is_remaining_over_limit(exported):
    assert metrics.set_broker_rate_limit("rl-broker", remaining=5, limit=100) == 0.05
    points = [p.value for p in exported.points(conv.METRIC_BROKER_RATE_LIMIT_HEADROOM)
              if p.attributes.get(conv.ATTR_BROKER) == "rl-broker"]
    assert points == [0.05]
    with pytest.raises(ValueError, match="limit"):
        metrics.set_broker_rate_limit("rl-broker", remaining=1, limit=0)


def test_the_package_exports_register_health_checker():
    assert tradepulse.register_health_checker is register_health_checker
    assert "register_health_checker" in tradepulse.__all__
