"""In-process event bus: stored telemetry and derived figures fan out to whoever subscribed."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

TELEMETRY_STORED = "telemetry.stored"
PERFORMANCE_UPDATED = "performance.updated"
REPORT_READY = "report.ready"

Handler = Callable[[Any], None]


class EventBus:
    """Publishes each event to the topic's handlers in order; a failing handler is logged and
    skipped so it can never stop ingest or the other handlers."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = {}
        self._lock = threading.Lock()

    def subscribe(self, topic: str, handler: Handler) -> Callable[[], None]:
        """Call `handler(event)` for each event on `topic`; returns the unsubscribe function."""
        with self._lock:
            self._handlers.setdefault(topic, []).append(handler)

        def unsubscribe() -> None:
            with self._lock:
                self._handlers.get(topic, []).remove(handler)

        return unsubscribe

    def publish(self, topic: str, event: Any) -> None:
        for handler in tuple(self._handlers.get(topic, ())):
            try:
                handler(event)
            except Exception:
                logger.exception("event handler %r failed on %s", handler, topic)
