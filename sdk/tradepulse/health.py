"""Bot-side health checks: run a check on an interval and report each outcome as a
``trading.health.check`` span, which the tradepulse backend turns into a component's health.

Needs only the OpenTelemetry API; with ``configure()`` the spans are exported like any other.
A check returns a bool, a status (``healthy``/``degraded``/``unhealthy``) or a
``(status, message)`` pair; one that raises, or runs past its timeout, reports unhealthy. At most
one run of a check is in flight: a hung check is not started again until it returns.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

from tradepulse import _validation as check
from tradepulse import conventions as conv
from tradepulse.conventions import HealthStatus
from tradepulse.version import __version__

__all__ = ["HealthChecker", "register_health_checker"]

_logger = logging.getLogger(__name__)
_tracer = trace.get_tracer("tradepulse.health", __version__)


def outcome(result: Any) -> tuple[HealthStatus, str]:
    """A check's return value as (status, message)."""
    if isinstance(result, bool):
        return (HealthStatus.HEALTHY, "ok") if result else (HealthStatus.UNHEALTHY,
                                                            "check returned False")
    if isinstance(result, tuple) and len(result) == 2:
        return outcome(result[0])[0], str(result[1])
    try:
        status = HealthStatus.parse(result)
    except ValueError:
        return HealthStatus.UNHEALTHY, f"check returned {result!r:.60}"
    return status, status.value


class HealthChecker:
    """One check running on its own daemon thread until `stop()`."""

    def __init__(self, name: str, function: Callable[[], Any], *, interval_s: float,
                 timeout_s: float, start: bool = True) -> None:
        self.name = check.text("name", name)
        if not callable(function):
            raise ValueError(f"check must be callable; got {function!r}")
        self.function = function
        self.interval_s = check.positive("interval_s", interval_s)
        self.timeout_s = check.positive("timeout_s", timeout_s)
        self.runs = 0
        self._stop = threading.Event()
        self._run: threading.Thread | None = None
        self._result: tuple[HealthStatus, str] | None = None
        self._thread = threading.Thread(target=self._loop, name=f"tradepulse-health-{name}",
                                        daemon=True)
        if start:
            self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """End the loop (a run in flight finishes on its own)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.check_once()
            self._stop.wait(self.interval_s)

    def check_once(self) -> tuple[HealthStatus, str]:
        """Run the check (unless its previous run still hangs), report it, return the outcome."""
        start_ns = time.time_ns()
        if self._run is not None and self._run.is_alive():
            status, message = HealthStatus.UNHEALTHY, (
                f"previous run still running after {self.timeout_s:g} s timeout")
        else:
            self._result = None
            self._run = threading.Thread(target=self._call, daemon=True,
                                         name=f"tradepulse-health-run-{self.name}")
            self._run.start()
            self._run.join(self.timeout_s)
            if self._run.is_alive() or self._result is None:
                status, message = HealthStatus.UNHEALTHY, f"timed out after {self.timeout_s:g} s"
            else:
                status, message = self._result
        self.runs += 1
        self._report(status, message, start_ns)
        return status, message

    def _call(self) -> None:
        try:
            result = self.function()
            if inspect.isawaitable(result):
                result = asyncio.run(_awaited(result))
            self._result = outcome(result)
        except Exception as error:
            self._result = HealthStatus.UNHEALTHY, f"{type(error).__name__}: {error}"

    def _report(self, status: HealthStatus, message: str, start_ns: int) -> None:
        span = _tracer.start_span(
            conv.SPAN_HEALTH_CHECK, context=trace.set_span_in_context(trace.INVALID_SPAN),
            start_time=start_ns,
            attributes={conv.ATTR_COMPONENT: self.name, conv.ATTR_HEALTH_STATUS: status.value,
                        conv.ATTR_HEALTH_MESSAGE: message})
        if status is HealthStatus.UNHEALTHY:
            span.set_status(Status(StatusCode.ERROR, message))
        span.end()


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


def register_health_checker(name: str, function: Callable[[], Any], *, interval_s: float = 30.0,
                            timeout_s: float = 5.0) -> HealthChecker:
    """Run `function` every `interval_s` seconds (first run now) and report each outcome to the
    backend as a ``trading.health.check`` span; `stop()` the returned checker to end it."""
    return HealthChecker(name, function, interval_s=interval_s, timeout_s=timeout_s)
