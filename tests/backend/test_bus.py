"""The event bus: publish only enqueues; each subscriber's overflow policy, drops, failures and
flush behave as documented."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import pytest

from tests.support import wait_until
from tradepulse_backend import bus as bus_module
from tradepulse_backend.bus import EventBus, coalesce, drop_oldest
from tradepulse_backend.clock import ManualClock


@dataclass(frozen=True)
class Tick:
    key: str
    n: int


@dataclass(frozen=True)
class Other:
    n: int


class Gate:
    """A handler that records events and holds the first one until released."""

    def __init__(self) -> None:
        self.seen: list = []
        self.threads: set[str] = set()
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self, event) -> None:
        self.threads.add(threading.current_thread().name)
        self.entered.set()
        self.release.wait(30)
        self.seen.append(event)


@pytest.fixture
def bus():
    created = EventBus(clock=ManualClock())
    yield created
    created.close()


def test_publish_returns_without_running_the_handler_and_delivers_on_the_subscribers_thread(bus):
    gate = Gate()
    subscription = bus.subscribe(Tick, gate, name="slow", overflow=drop_oldest)
    bus.publish(Tick("a", 1))          # returns while the handler is held
    assert gate.entered.wait(10)
    assert gate.seen == []
    gate.release.set()
    assert subscription.flush()
    assert gate.seen == [Tick("a", 1)]
    assert gate.threads == {"tradepulse-bus-slow"}


def test_subscribers_get_only_their_event_type(bus):
    ticks, others = [], []
    first = bus.subscribe(Tick, ticks.append, name="ticks", overflow=drop_oldest)
    second = bus.subscribe(Other, others.append, name="others", overflow=drop_oldest)
    bus.publish(Tick("a", 1))
    bus.publish(Other(2))
    assert first.flush() and second.flush()
    assert ticks == [Tick("a", 1)] and others == [Other(2)]


def test_drop_oldest_keeps_the_newest_events_and_counts_each_drop(bus):
    gate = Gate()
    subscription = bus.subscribe(Tick, gate, name="bounded", capacity=3, overflow=drop_oldest)
    bus.publish(Tick("x", 0))
    assert gate.entered.wait(10)       # x0 is in the handler; the queue is empty
    for n in range(1, 6):
        bus.publish(Tick("x", n))
    assert subscription.depth == 3 and subscription.dropped == 2
    gate.release.set()
    assert subscription.flush()
    assert [e.n for e in gate.seen] == [0, 3, 4, 5]
    stats = {s["name"]: s for s in bus.stats()}["bounded"]
    assert stats == {"name": "bounded", "event": "Tick", "overflow": "drop_oldest",
                     "depth": 0, "capacity": 3, "delivered": 4, "dropped": 2, "failures": 0,
                     "last_error": None}


def test_coalesce_keeps_only_the_newest_event_per_key_and_counts_the_replaced(bus):
    gate = Gate()
    subscription = bus.subscribe(Tick, gate, name="live", capacity=10,
                                 overflow=coalesce(lambda e: e.key))
    bus.publish(Tick("x", 0))
    assert gate.entered.wait(10)
    for key, n in [("a", 1), ("b", 2), ("a", 3), ("a", 4), ("b", 5), ("c", 6)]:
        bus.publish(Tick(key, n))
    assert subscription.depth == 3 and subscription.dropped == 3
    gate.release.set()
    assert subscription.flush()
    assert gate.seen == [Tick("x", 0), Tick("a", 4), Tick("b", 5), Tick("c", 6)]


def test_coalesce_drops_the_oldest_key_when_more_keys_than_capacity(bus):
    gate = Gate()
    subscription = bus.subscribe(Tick, gate, name="live", capacity=2,
                                 overflow=coalesce(lambda e: e.key))
    bus.publish(Tick("x", 0))
    assert gate.entered.wait(10)
    for key, n in [("a", 1), ("b", 2), ("c", 3)]:
        bus.publish(Tick(key, n))
    assert subscription.dropped == 1
    gate.release.set()
    assert subscription.flush()
    assert [e.key for e in gate.seen] == ["x", "b", "c"]


def test_a_failing_handler_is_counted_and_logged_at_most_once_per_interval(caplog):
    clock = ManualClock()
    bus = EventBus(clock=clock)

    def explode(event: Tick) -> None:
        raise ValueError(f"bad tick {event.n}")

    subscription = bus.subscribe(Tick, explode, name="broken", overflow=drop_oldest)
    caplog.set_level(logging.ERROR, logger="tradepulse_backend.bus")
    for n in range(5):
        bus.publish(Tick("a", n))
    assert subscription.flush()
    assert subscription.failures == 5 and subscription.delivered == 0
    assert subscription.last_error == "ValueError: bad tick 4"
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and "broken failed 1 time(s)" in lines[0]

    clock.advance(bus_module.FAILURE_LOG_EVERY_S)
    bus.publish(Tick("a", 5))
    assert subscription.flush()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2 and "broken failed 5 time(s)" in lines[1]
    bus.close()


def test_a_failing_handler_does_not_stop_the_next_events_or_other_subscribers(bus):
    seen = []

    def sometimes(event: Tick) -> None:
        if event.n % 2:
            raise RuntimeError("odd")
        seen.append(event.n)

    flaky = bus.subscribe(Tick, sometimes, name="flaky", overflow=drop_oldest)
    others = []
    steady = bus.subscribe(Tick, others.append, name="steady", overflow=drop_oldest)
    for n in range(4):
        bus.publish(Tick("a", n))
    assert flaky.flush() and steady.flush()
    assert seen == [0, 2] and flaky.failures == 2 and len(others) == 4


def test_prepare_runs_before_delivery_and_events_wait_for_it(bus):
    ready = threading.Event()
    order = []

    def prepare() -> None:
        ready.wait(30)
        order.append("prepared")

    subscription = bus.subscribe(Tick, lambda e: order.append(e.n), name="restoring",
                                 overflow=drop_oldest, capacity=2, prepare=prepare)
    for n in range(3):
        bus.publish(Tick("a", n))
    assert subscription.flush(timeout=0.05) is False     # still preparing
    assert subscription.dropped == 1                     # the bound holds meanwhile
    ready.set()
    assert subscription.flush()
    assert order == ["prepared", 1, 2]


def test_flush_waits_for_events_published_before_it_not_after(bus):
    gate = Gate()
    subscription = bus.subscribe(Tick, gate, name="slow", overflow=drop_oldest)
    bus.publish(Tick("a", 1))
    assert gate.entered.wait(10)
    done = threading.Event()
    flusher = threading.Thread(target=lambda: done.set() if subscription.flush() else None)
    flusher.start()
    assert not done.wait(0.05)
    gate.release.set()
    flusher.join(10)
    assert done.is_set()


def test_closing_a_subscription_delivers_what_was_queued_and_stops_its_worker(bus):
    seen = []
    subscription = bus.subscribe(Tick, seen.append, name="closing", overflow=drop_oldest)
    for n in range(3):
        bus.publish(Tick("a", n))
    subscription.close()
    assert [e.n for e in seen] == [0, 1, 2]
    bus.publish(Tick("a", 9))
    assert len(seen) == 3
    wait_until(lambda: bus.supervisor["bus-closing"].state.value == "stopped")
    assert bus.supervisor.healthy
