"""In-process event bus: stored telemetry and derived figures fan out to whoever subscribed.

Events are typed (one frozen dataclass per topic) and subscribers subscribe by type. `publish`
only enqueues: each subscriber has its own bounded queue and worker thread, so a slow or failing
subscriber never delays the publisher (the ingest writer) or the other subscribers. When a queue
is full its overflow policy decides what goes: `drop_oldest`, or `coalesce(key)` which keeps only
the newest event per key (for live views). There is no blocking policy. Every drop and every
handler failure is counted per subscriber (`EventBus.stats()`); failures are logged at most once
per subscriber every `FAILURE_LOG_EVERY_S` seconds, with the count since the last line.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from tradepulse_backend.clock import Clock, SystemClock
from tradepulse_backend.workers import Supervisor, Worker

if TYPE_CHECKING:
    from tradepulse_backend.performance.reports import Report
    from tradepulse_backend.performance.snapshot import PerformanceSnapshot
    from tradepulse_backend.telemetry.records import DecodedBatch

logger = logging.getLogger(__name__)
FAILURE_LOG_EVERY_S = 60.0
DEFAULT_CAPACITY = 1024


# --- topics -------------------------------------------------------------------------------

@dataclass(frozen=True)
class TelemetryStored:
    """A decoded batch has been committed to the store."""

    batch: DecodedBatch


@dataclass(frozen=True)
class PerformanceUpdated:
    """A portfolio's live performance figures changed."""

    snapshot: PerformanceSnapshot


@dataclass(frozen=True)
class ReportReady:
    """A scheduled performance report was built."""

    report: Report


@dataclass(frozen=True)
class AlertChanged:
    """An alert instance changed state (pending, firing, resolved, acknowledged, silenced).

    `alert` is exactly the JSON object `GET /api/v1/alerts` returns for it."""

    alert: Mapping[str, Any]


@dataclass(frozen=True)
class NotificationChanged:
    """An outbox row changed (queued, sent, retrying, failed, suppressed).

    `notification` is exactly the JSON object `GET /api/v1/notifications` returns for it."""

    notification: Mapping[str, Any]


@dataclass(frozen=True)
class HealthChanged:
    """A component's health status changed.

    `component` is exactly the JSON object `GET /api/v1/health/components/<name>` returns."""

    component: Mapping[str, Any]


@dataclass(frozen=True)
class HealthSampled:
    """A host sample (and the figures derived from it) was taken.

    `sample` is exactly the JSON object `GET /api/v1/health` returns under `"metrics"`."""

    sample: Mapping[str, Any]


E = TypeVar("E")


# --- overflow policies --------------------------------------------------------------------

@dataclass(frozen=True)
class DropOldest:
    """When the queue is full, the oldest queued event is dropped to make room."""

    name = "drop_oldest"

    def key(self, event: Any, seq: int) -> Hashable:
        return seq


@dataclass(frozen=True)
class Coalesce:
    """Only the newest queued event per `key(event)` is kept; a full queue drops the oldest."""

    key_of: Callable[[Any], Hashable]
    name = "coalesce"

    def key(self, event: Any, seq: int) -> Hashable:
        return self.key_of(event)


drop_oldest = DropOldest()


def coalesce(key: Callable[[Any], Hashable]) -> Coalesce:
    """Keep only the newest event per `key(event)`, e.g. per (service, portfolio)."""
    return Coalesce(key)


Overflow = DropOldest | Coalesce


# --- subscriptions ------------------------------------------------------------------------

class Subscription:
    """One subscriber: a bounded queue, a worker thread and the counters of what happened."""

    def __init__(self, bus: EventBus, event_type: type, handler: Callable[[Any], Any], *,
                 name: str, capacity: int, overflow: Overflow,
                 prepare: Callable[[], Any] | None) -> None:
        if capacity < 1:
            raise ValueError(f"capacity of subscriber {name!r} must be at least 1")
        self.bus = bus
        self.event_type = event_type
        self.name = name
        self.capacity = capacity
        self.overflow = overflow
        self.delivered = 0
        self.dropped = 0
        self.failures = 0
        self.last_error: str | None = None
        self._handler = handler
        self._prepare = prepare
        self._queue: OrderedDict[Hashable, tuple[int, Any]] = OrderedDict()
        self._cond = threading.Condition()
        self._seq = 0
        self._in_flight: int | None = None
        self._preparing = prepare is not None
        self._unlogged_failures = 0
        self._last_log: float | None = None
        self._closed = False
        self.worker: Worker | None = None

    @property
    def depth(self) -> int:
        return len(self._queue)

    def offer(self, event: Any) -> None:
        """Queue `event` without waiting; may drop per the overflow policy."""
        with self._cond:
            if self._closed:
                return
            self._seq += 1
            key = self.overflow.key(event, self._seq)
            if key in self._queue:
                del self._queue[key]
                self.dropped += 1
            elif len(self._queue) >= self.capacity:
                self._queue.popitem(last=False)
                self.dropped += 1
            self._queue[key] = (self._seq, event)
            self._cond.notify_all()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every event offered before now has been handled (or dropped); False
        when `timeout` seconds passed first."""
        with self._cond:
            target = self._seq
            return self._cond.wait_for(lambda: self._settled_through(target), timeout)

    def _settled_through(self, seq: int) -> bool:
        if self._preparing:
            return False
        if self._in_flight is not None and self._in_flight <= seq:
            return False
        return not self._queue or next(iter(self._queue.values()))[0] > seq

    def close(self, timeout: float = 10.0) -> None:
        """Stop taking events, handle what is queued (up to `timeout`), and stop the worker."""
        self.bus._remove(self)
        if self.worker is not None:
            self.bus.supervisor.stop_worker(self.worker, timeout)

    def _wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def run(self, worker: Worker) -> None:
        """The worker thread: prepare, then deliver until stopped and drained."""
        if self._prepare is not None:
            self._call(self._prepare)
            with self._cond:
                self._preparing = False
                self._cond.notify_all()
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or worker.stop_event.is_set())
                if not self._queue:
                    self._closed = True
                    return
                _key, (seq, event) = self._queue.popitem(last=False)
                self._in_flight = seq
            if self._call(self._handler, event):
                self.delivered += 1
            with self._cond:
                self._in_flight = None
                self._cond.notify_all()

    def _call(self, function: Callable, *args: Any) -> bool:
        """Run a handler (or `prepare`); an Exception is counted and logged, never raised."""
        try:
            function(*args)
        except Exception as error:
            self.failures += 1
            self.last_error = f"{type(error).__name__}: {error}"
            self._log_failure(error)
            return False
        return True

    def _log_failure(self, error: Exception) -> None:
        """One log line per FAILURE_LOG_EVERY_S at most, counting the failures in between."""
        self._unlogged_failures += 1
        now = self.bus.clock.monotonic()
        if self._last_log is not None and now - self._last_log < FAILURE_LOG_EVERY_S:
            return
        count, self._unlogged_failures, self._last_log = self._unlogged_failures, 0, now
        logger.error("bus subscriber %s failed %d time(s) since its last report; latest: %s",
                     self.name, count, self.last_error, exc_info=error)

    def stats(self) -> dict[str, Any]:
        return {"name": self.name, "event": self.event_type.__name__,
                "overflow": self.overflow.name, "depth": self.depth,
                "capacity": self.capacity, "delivered": self.delivered,
                "dropped": self.dropped, "failures": self.failures,
                "last_error": self.last_error}


class EventBus:
    """Routes each published event to the subscribers of its type, through their queues.

    Subscriber threads run under `supervisor` (the runtime's, so `/healthz` sees them); a bus
    built without one makes and starts its own, stopped by `close()`.
    """

    def __init__(self, *, clock: Clock | None = None, supervisor: Supervisor | None = None
                 ) -> None:
        self.clock = clock or (supervisor.clock if supervisor else SystemClock())
        self._own_supervisor = supervisor is None
        self.supervisor = supervisor or Supervisor(self.clock)
        if self._own_supervisor:
            self.supervisor.start()
        self._subscriptions: dict[type, tuple[Subscription, ...]] = {}
        self._lock = threading.Lock()

    def subscribe(self, event_type: type[E], handler: Callable[[E], Any], *, name: str,
                  overflow: Overflow, capacity: int = DEFAULT_CAPACITY,
                  prepare: Callable[[], Any] | None = None) -> Subscription:
        """Call `handler(event)` on a worker of its own for each published `event_type`; when
        more than `capacity` events wait, `overflow` (`drop_oldest` or `coalesce(key)`, a
        choice every subscriber makes) decides which go.

        `prepare()` runs first on that worker (e.g. restoring saved state); events published
        meanwhile wait in the queue, up to `capacity`.
        """
        subscription = Subscription(self, event_type, handler, name=name, capacity=capacity,
                                    overflow=overflow, prepare=prepare)
        with self._lock:
            self._subscriptions[event_type] = (*self._subscriptions.get(event_type, ()),
                                               subscription)
        subscription.worker = self.supervisor.thread(f"bus-{name}", subscription.run,
                                                     wake=subscription._wake)
        return subscription

    def _remove(self, subscription: Subscription) -> None:
        with self._lock:
            kept = tuple(s for s in self._subscriptions.get(subscription.event_type, ())
                         if s is not subscription)
            self._subscriptions[subscription.event_type] = kept

    def publish(self, event: Any) -> None:
        """Queue `event` for every subscriber of its type; never waits, never runs a handler."""
        for subscription in self._subscriptions.get(type(event), ()):
            subscription.offer(event)

    def stats(self) -> list[dict[str, Any]]:
        """Per subscriber: queue depth and capacity, delivered, dropped, failures, last error."""
        with self._lock:
            every = [s for subs in self._subscriptions.values() for s in subs]
        return [s.stats() for s in every]

    def close(self, timeout: float = 10.0) -> None:
        """Stop every subscriber (after handling what is queued) when the bus owns them."""
        with self._lock:
            every = [s for subs in self._subscriptions.values() for s in subs]
        for subscription in every:
            subscription.close(timeout)
