"""Registered health checkers: sync or async callables run on their own interval, each with its
own deadline, never blocking the monitor or one another.

A sync checker runs on a short-lived thread of its own, an async one on the runner's event
loop. At most one run per checker is in flight: a hung sync checker (which no thread can be
made to abandon) keeps its one thread, is reported unhealthy once its timeout passes, and is
not started again until that run returns; an async one is cancelled at its deadline.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tradepulse_backend.clock import Clock
from tradepulse_backend.health.models import ComponentStatus
from tradepulse_backend.workers import Worker

logger = logging.getLogger(__name__)

Report = Callable[[str, ComponentStatus, str, float | None], None]
"""(checker name, status, message, response time in ms or None) for each finished check."""


def interpret(result: Any) -> tuple[ComponentStatus, str]:
    """A checker's return value as (status, message): a bool, a status (enum or its name),
    or a (status, message) pair. Anything else is a fault of the checker: unhealthy."""
    if isinstance(result, bool):
        return (ComponentStatus.HEALTHY, "ok") if result else (ComponentStatus.UNHEALTHY,
                                                               "check returned False")
    if isinstance(result, tuple) and len(result) == 2:
        status, _ = interpret(result[0])
        return status, str(result[1])
    if isinstance(result, ComponentStatus | str):
        try:
            status = ComponentStatus(str(result).lower())
        except ValueError:
            pass
        else:
            return status, status.value
    return (ComponentStatus.UNHEALTHY,
            f"checker returned {type(result).__name__} {result!r:.60}; expected a bool, a "
            "status or (status, message)")


@dataclass
class Checker:
    """One registered checker and the state of its runs."""

    name: str
    function: Callable[[], Any]
    interval: float
    timeout: float
    is_async: bool
    next_due: float = 0.0
    started: float | None = None
    run: int = 0
    timed_out: bool = False
    future: concurrent.futures.Future | None = None
    runs_started: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def in_flight(self) -> bool:
        return self.started is not None


class CheckerRunner:
    """Starts due checkers, enforces their deadlines, and reports each outcome."""

    def __init__(self, clock: Clock, report: Report) -> None:
        self.clock = clock
        self.report = report
        self._checkers: dict[str, Checker] = {}
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._closed = False

    # --- registering ----------------------------------------------------------------------

    def register(self, name: str, function: Callable[[], Any], *, interval: float,
                 timeout: float) -> Checker:
        """Add (or replace) a checker; its first run is due at once."""
        if not callable(function):
            raise TypeError(f"health checker {name!r} must be callable")
        if interval <= 0 or timeout <= 0:
            raise ValueError(f"health checker {name!r}: interval and timeout must be positive")
        checker = Checker(name, function, float(interval), float(timeout),
                          inspect.iscoroutinefunction(function),
                          next_due=self.clock.monotonic())
        with self._lock:
            self._checkers[name] = checker
        return checker

    def unregister(self, name: str) -> bool:
        with self._lock:
            return self._checkers.pop(name, None) is not None

    def names(self) -> list[str]:
        with self._lock:
            return list(self._checkers)

    def get(self, name: str) -> Checker | None:
        return self._checkers.get(name)

    # --- running --------------------------------------------------------------------------

    def run_due(self) -> None:
        """Start every checker whose time has come and report those past their deadline."""
        now = self.clock.monotonic()
        with self._lock:
            checkers = list(self._checkers.values())
        for checker in checkers:
            with self._lock:
                if checker.in_flight:
                    expired = (not checker.timed_out
                               and now - checker.started >= checker.timeout)
                    if expired:
                        checker.timed_out = True
                        if checker.future is not None:
                            checker.future.cancel()
                    start = False
                else:
                    expired = False
                    start = now >= checker.next_due
                    if start:
                        checker.run += 1
                        checker.runs_started += 1
                        checker.started, checker.timed_out = now, False
                        checker.next_due = now + checker.interval
                run = checker.run
            if expired:
                self.report(checker.name, ComponentStatus.UNHEALTHY,
                            f"timed out after {checker.timeout:g} s", None)
            if start:
                self._start(checker, run)

    def _start(self, checker: Checker, run: int) -> None:
        if checker.is_async:
            try:
                checker.future = asyncio.run_coroutine_threadsafe(
                    self._call_async(checker, run), self._loop)
            except RuntimeError as error:
                self._finish(checker, run, error=error)
            return
        threading.Thread(target=self._call_sync, args=(checker, run),
                         name=f"tradepulse-check-{checker.name}", daemon=True).start()

    def _call_sync(self, checker: Checker, run: int) -> None:
        try:
            result = checker.function()
        except Exception as error:
            self._finish(checker, run, error=error)
        else:
            self._finish(checker, run, result=result)

    async def _call_async(self, checker: Checker, run: int) -> None:
        try:
            result = await checker.function()
        except asyncio.CancelledError:
            self._finish(checker, run, cancelled=True)
            raise
        except Exception as error:
            self._finish(checker, run, error=error)
        else:
            self._finish(checker, run, result=result)

    def _finish(self, checker: Checker, run: int, *, result: Any = None,
                error: BaseException | None = None, cancelled: bool = False) -> None:
        """Record a run's end; a run that already timed out ends silently (its result is
        stale), and frees the checker for its next run either way."""
        now = self.clock.monotonic()
        with self._lock:
            if checker.run != run or checker.started is None:
                return
            elapsed_ms = (now - checker.started) * 1000
            late = checker.timed_out
            checker.started, checker.future = None, None
        if late or cancelled:
            return
        if error is not None:
            status, message = ComponentStatus.UNHEALTHY, f"{type(error).__name__}: {error}"
        else:
            status, message = interpret(result)
        try:
            self.report(checker.name, status, message, elapsed_ms)
        except Exception:
            logger.exception("reporting health check %s failed", checker.name)

    # --- the event loop of async checkers -------------------------------------------------

    def serve(self, worker: Worker) -> None:
        """A supervised thread: the event loop async checkers run on, until stopped."""
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_forever()
        finally:
            for task in asyncio.all_tasks(self._loop):
                task.cancel()
            self._loop.run_until_complete(asyncio.sleep(0))
            self._loop.close()

    def wake(self) -> None:
        """Stop the event loop (the supervisor's wake when the worker stops)."""
        self._closed = True
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._loop.stop)
