"""One connected WebSocket client: what it subscribed to and its bounded outgoing queue.

The queue keeps the newest message per key for state (a service's performance, an alert, a
component's health), so a client that reads slowly still ends on the latest value; events
that each matter (spans, metric points) take a slot of their own. When a new event finds the
queue full, the queue is emptied and the client marked for resync: its connection then sends
`resync` and a fresh snapshot. Putting never blocks, so no client delays the others. While
nothing is queued, a message goes straight to the socket when the socket takes it without
waiting (`direct`), so a fan-out does not wake a thread per client.
"""

from __future__ import annotations

import functools
import itertools
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

_unique = itertools.count()


@dataclass(frozen=True)
class Subscription:
    """Services a client follows (None: every service) and the metric names it charts."""

    services: frozenset[str] | None = None
    metrics: frozenset[str] = field(default_factory=frozenset)

    def wants(self, service: str | None) -> bool:
        return service is None or self.services is None or service in self.services

    def accepts(self, message: Message) -> bool:
        """A message of a followed service; metric points only of the charted metrics."""
        if message.type == "metric" and message.data.get("name") not in self.metrics:
            return False
        return self.wants(message.service)


@dataclass(frozen=True)
class Message:
    """A server message before its `seq`: `key` None means it coalesces with nothing."""

    type: str
    service: str | None
    data: Any
    key: Hashable | None = None

    @functools.cached_property
    def head(self) -> str:
        """The JSON text up to `seq`, encoded once however many clients it goes to."""
        return (f'{{"type":{json.dumps(self.type)},"service":{json.dumps(self.service)},'
                f'"data":{json.dumps(self.data, separators=(",", ":"), default=str)},"seq":')


class Client:
    """A connection's subscription, queue and counters; `wake` is set on every put."""

    def __init__(self, subscription: Subscription, capacity: int, wake: threading.Event,
                 *, layout: str, address: str = "") -> None:
        self.subscription = subscription
        self.layout = layout
        self.address = address
        self.capacity = capacity
        self.wake = wake
        self.sent = 0
        self.resyncs = 0
        self.dropped = 0
        self.direct: Callable[[Message], bool] | None = None
        self._queue: OrderedDict[Hashable, Message] = OrderedDict()
        self._lock = threading.Lock()
        self._resync = False
        self._live = False
        self.resync_reason = ""

    def put_many(self, messages: Iterable[Message]) -> None:
        """Hand messages (those of its services) to this client without waiting: sent at once
        by `direct` when nothing is queued before them and the socket takes them, else
        queued for the connection's thread."""
        queued = False
        with self._lock:
            for message in messages:
                if self._resync or not self.subscription.accepts(message):
                    continue
                if (self._live and not self._queue and self.direct is not None
                        and self.direct(message)):
                    continue
                queued = True
                key = message.key if message.key is not None else ("event", next(_unique))
                if key in self._queue:
                    del self._queue[key]
                elif len(self._queue) >= self.capacity:
                    self.dropped += len(self._queue) + 1
                    self._queue.clear()
                    self._resync = True
                    self._live = False
                    self.resync_reason = "this client's queue overflowed"
                    break
                self._queue[key] = message
        if queued:
            self.wake.set()

    def go_live(self) -> None:
        """The snapshot is out: later messages may be sent directly."""
        with self._lock:
            self._live = True

    def force_resync(self) -> None:
        """Drop what is queued and resync (the source itself lost events)."""
        with self._lock:
            self.dropped += len(self._queue)
            self._queue.clear()
            self._resync = True
            self._live = False
            self.resync_reason = "the dashboard fell behind stored telemetry"
        self.wake.set()

    def take(self) -> tuple[bool, list[Message]]:
        """(resync needed, queued messages in order), emptying the queue."""
        with self._lock:
            resync, self._resync = self._resync, False
            if resync:
                self._live = False
            messages = list(self._queue.values())
            self._queue.clear()
        if resync:
            self.resyncs += 1
        return resync, messages

    def restart(self, subscription: Subscription | None = None) -> None:
        """Forget what is queued (a snapshot follows), optionally with a new subscription."""
        with self._lock:
            if subscription is not None:
                self.subscription = subscription
            self._queue.clear()
            self._resync = False
            self._live = False

    @property
    def depth(self) -> int:
        return len(self._queue)
