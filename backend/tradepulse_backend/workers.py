"""The supervisor: the one place that starts, names, stops and watches every background thread.

Three kinds of worker: a loop (`thread`: a target that runs until its stop event is set), a
periodic task on the clock (`every`, `schedule`), and a part that runs its own threads
(`service`: the write pipeline, the gRPC server) watched through a liveness probe. A worker that
exits before it was asked to stop has died: `healthy` turns False and `/healthz` answers 503.
A periodic task that raises an Exception is counted and retried at its next run; anything
else (a BaseException such as SystemExit) kills its worker.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tradepulse_backend.clock import Clock, SystemClock

logger = logging.getLogger(__name__)
THREAD_PREFIX = "tradepulse-"


class WorkerState(enum.Enum):
    """Where a worker is in its life; DIED means it exited without being asked to."""

    PENDING = "pending"
    RUNNING = "running"
    STOPPED = "stopped"
    DIED = "died"


@dataclass
class _Service:
    """Start, stop and liveness of a part that owns its threads."""

    start: Callable[[], Any]
    stop: Callable[[float], Any]
    alive: Callable[[], bool]


class Worker:
    """One supervised worker: its state and the figures `/api/v1/status` shows."""

    def __init__(self, name: str, kind: str, clock: Clock) -> None:
        self.name = name
        self.kind = kind
        self.stop_event = threading.Event()
        self.runs = 0
        self.failures = 0
        self.last_run_ns: int | None = None
        self.last_error: str | None = None
        self._clock = clock
        self._state = WorkerState.PENDING
        self._thread: threading.Thread | None = None
        self._service: _Service | None = None
        self._wake: Callable[[], None] | None = None

    @property
    def state(self) -> WorkerState:
        if (self._state is WorkerState.RUNNING and self._service is not None
                and not self._safe_alive()):
            self._died("stopped answering its liveness check")
        return self._state

    def record_run(self, error: BaseException | None = None) -> None:
        """Count one run of the worker's task (with the error it raised, if any)."""
        self.runs += 1
        self.last_run_ns = self._clock.now_ns()
        if error is not None:
            self.failures += 1
            self.last_error = f"{type(error).__name__}: {error}"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "state": self.state.value,
                "runs": self.runs, "failures": self.failures,
                "last_run_unix_ms": None if self.last_run_ns is None else self.last_run_ns / 1e6,
                "last_error": self.last_error}

    def _safe_alive(self) -> bool:
        try:
            return bool(self._service.alive())
        except Exception:
            return False

    def _died(self, reason: str) -> None:
        self._state = WorkerState.DIED
        self.last_error = self.last_error or reason
        logger.critical("worker %s died: %s", self.name, reason)


class Supervisor:
    """Registers workers, starts them in order, stops them in reverse order."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or SystemClock()
        self._workers: dict[str, Worker] = {}
        self._lock = threading.Lock()
        self._started = False
        self._stopped = False

    # --- registering ----------------------------------------------------------------------

    def thread(self, name: str, target: Callable[[Worker], None], *,
               wake: Callable[[], None] | None = None) -> Worker:
        """A thread running `target(worker)` until `worker.stop_event` is set; `wake` (if
        given) is called on stop so a target blocked on its own condition notices."""
        worker = self._add(name, "thread")
        worker._wake = wake
        worker._thread = threading.Thread(target=self._guard, args=(worker, target),
                                          name=THREAD_PREFIX + name, daemon=True)
        self._start_if_running(worker)
        return worker

    def every(self, name: str, interval_s: float, task: Callable[[], Any]) -> Worker:
        """Run `task()` every `interval_s` seconds of the supervisor's clock."""
        return self.schedule(name, lambda: interval_s, task)

    def schedule(self, name: str, delay_s: Callable[[], float], task: Callable[[], Any]
                 ) -> Worker:
        """Run `task()` after waiting `delay_s()` seconds on the clock, again and again."""
        def loop(worker: Worker) -> None:
            while not self.clock.wait(delay_s(), worker.stop_event):
                try:
                    task()
                except Exception as error:
                    worker.record_run(error)
                    logger.exception("%s failed; it runs again at its next time", name)
                else:
                    worker.record_run()

        return self.thread(name, loop)

    def service(self, name: str, *, start: Callable[[], Any], stop: Callable[[float], Any],
                alive: Callable[[], bool]) -> Worker:
        """A part with its own threads: started and stopped here, watched through `alive`."""
        worker = self._add(name, "service")
        worker._service = _Service(start, stop, alive)
        self._start_if_running(worker)
        return worker

    def _add(self, name: str, kind: str) -> Worker:
        with self._lock:
            if name in self._workers:
                raise ValueError(f"a worker named {name!r} is already registered")
            worker = self._workers[name] = Worker(name, kind, self.clock)
        return worker

    # --- running --------------------------------------------------------------------------

    def start(self) -> None:
        """Start every registered worker, in the order they were registered."""
        with self._lock:
            self._started = True
            pending = list(self._workers.values())
        for worker in pending:
            self._launch(worker)

    def _start_if_running(self, worker: Worker) -> None:
        if self._started and not self._stopped:
            self._launch(worker)

    def _launch(self, worker: Worker) -> None:
        if worker._state is not WorkerState.PENDING:
            return
        worker._state = WorkerState.RUNNING
        if worker._service is not None:
            worker._service.start()
        else:
            worker._thread.start()

    def _guard(self, worker: Worker, target: Callable[[Worker], None]) -> None:
        """Run a worker's target; an exit before stop was asked for is a death."""
        try:
            target(worker)
        except BaseException as error:
            worker.last_error = f"{type(error).__name__}: {error}"
            logger.critical("worker %s raised", worker.name, exc_info=True)
        if worker.stop_event.is_set():
            worker._state = WorkerState.STOPPED
        else:
            worker._died(worker.last_error or "its thread exited")

    def stop_worker(self, worker: Worker, timeout: float = 10.0) -> None:
        """Ask one worker to stop and wait up to `timeout` seconds for it."""
        worker.stop_event.set()
        if worker._state is WorkerState.PENDING:
            worker._state = WorkerState.STOPPED
            return
        if worker._service is not None:
            worker._service.stop(timeout)
            worker._state = WorkerState.STOPPED
            return
        if worker._wake is not None:
            worker._wake()
        worker._thread.join(timeout)
        if worker._thread.is_alive():
            logger.error("worker %s did not stop within %.1fs", worker.name, timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop every worker in reverse order of registration: register consumers before
        their producers, so a producer's last output is still consumed."""
        with self._lock:
            self._stopped = True
            workers = list(self._workers.values())
        for worker in reversed(workers):
            self.stop_worker(worker, timeout)

    # --- watching -------------------------------------------------------------------------

    def __getitem__(self, name: str) -> Worker:
        return self._workers[name]

    @property
    def dead(self) -> list[str]:
        """Names of workers that exited without being asked to."""
        return [w.name for w in list(self._workers.values()) if w.state is WorkerState.DIED]

    @property
    def healthy(self) -> bool:
        return not self.dead

    def status(self) -> list[dict[str, Any]]:
        """Each worker with its state, runs, last run and last error."""
        return [worker.to_dict() for worker in list(self._workers.values())]


class Admission:
    """At most `limit` holders at once (e.g. open WebSockets, each holding a thread of its
    budget); `try_enter` never waits, so a refused caller can answer 503 at once."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_use = 0
        self.refused = 0
        self._lock = threading.Lock()

    def try_enter(self) -> bool:
        with self._lock:
            if self.in_use >= self.limit:
                self.refused += 1
                return False
            self.in_use += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self.in_use = max(0, self.in_use - 1)

    def stats(self) -> dict[str, int]:
        return {"open": self.in_use, "limit": self.limit, "refused": self.refused}
