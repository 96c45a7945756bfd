"""One forwarding destination: its disk queue, the filter that feeds it, and the sender loop
that drains it in order.

The sender sends the oldest queued request until it is delivered or given up, then the next,
so a destination receives requests in the order they were committed. A retryable failure waits
for the server's Retry-After (429, 503) or an exponential backoff with full jitter; a permanent
one (4xx other than 408 and 429), too many attempts or too great an age gives the request up,
counted as failed. Waits run on the injected clock.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tradepulse_backend.clock import Clock
from tradepulse_backend.config.forwarding import ForwardingDestination
from tradepulse_backend.forwarding.delivery import Attempt, Outcome, Poster, display_url
from tradepulse_backend.forwarding.filter import select
from tradepulse_backend.forwarding.spool import Item, Spool
from tradepulse_backend.ingest.committed import CommittedRequest
from tradepulse_backend.workers import Worker

logger = logging.getLogger(__name__)
IDLE_WAIT_S = 1.0
"""How long an idle sender sleeps before looking at its queue again (an append wakes it)."""
ERROR_WAIT_S = 1.0


class Destination:
    """The queue and sender of one configured destination."""

    def __init__(self, config: ForwardingDestination, directory: Path, *, clock: Clock,
                 user_agent: str, random_fraction: Callable[[], float] = random.random) -> None:
        self.config = config
        self.name = config.name
        self._clock = clock
        self._random = random_fraction
        self._services = frozenset(config.services) if config.services is not None else None
        self._signals = frozenset(config.signals)
        self.spool = Spool(directory, max_bytes=config.max_queue_bytes)
        self._poster = Poster(
            timeout=config.timeout, user_agent=user_agent,
            headers={k: v.get_secret_value() for k, v in config.headers.items()})
        self.sent = 0
        self.retried = 0
        self.failed = 0
        self.filtered = 0
        self.attempts = 0
        """Failed attempts at the request now at the head of the queue."""
        self.last_error: str | None = None
        self.last_error_ns: int | None = None
        self.last_sent_ns: int | None = None

    # --- the ingest side ------------------------------------------------------------------

    def submit(self, committed: CommittedRequest) -> None:
        """Queue what this destination takes of a committed request; never waits on the
        network."""
        if committed.signal not in self._signals:
            return
        outgoing = select(committed, self._services)
        if outgoing is None:
            self.filtered += 1
            return
        self.spool.append(outgoing.body, signal=committed.signal,
                          content_type=outgoing.content_type, encoding=outgoing.encoding,
                          enqueued_ns=self._clock.now_ns())

    # --- the sender -----------------------------------------------------------------------

    def step(self) -> float | None:
        """Try the oldest queued request once; returns the seconds to wait before the next
        step (0: go on at once) or None when the queue is empty."""
        item = self.spool.peek()
        if item is None:
            return None
        if item.entry.signal not in self._signals:
            self._give_up(item, f"{item.entry.signal} is no longer in signals")
            return 0.0
        age_s = (self._clock.now_ns() - item.entry.enqueued_ns) / 1e9
        if age_s > self.config.max_age:
            self._give_up(item, f"older than max_age ({self.config.max_age:g} s) unsent")
            return 0.0
        url = self.config.url(item.entry.signal)
        attempt = self._poster.post(url, item.body, content_type=item.entry.content_type,
                                    encoding=item.entry.encoding,
                                    now=datetime.fromtimestamp(self._clock.now_ns() / 1e9, UTC))
        return self._settle(item, attempt)

    def _settle(self, item: Item, attempt: Attempt) -> float:
        if attempt.outcome is Outcome.DELIVERED:
            self.sent += 1
            self.attempts = 0
            self.last_sent_ns = self._clock.now_ns()
            self.spool.complete(item.entry)
            return 0.0
        self._note_error(attempt.error or "unknown error")
        if attempt.outcome is Outcome.PERMANENT:
            self._give_up(item, attempt.error or "rejected")
            return 0.0
        self.attempts += 1
        if self.config.max_attempts is not None and self.attempts >= self.config.max_attempts:
            self._give_up(item, f"{self.attempts} attempts failed; last: {attempt.error}")
            return 0.0
        self.retried += 1
        if attempt.retry_after_s is not None:
            return attempt.retry_after_s
        ceiling = min(self.config.retry_max_interval,
                      self.config.retry_initial_interval * 2 ** (self.attempts - 1))
        return self._random() * ceiling

    def _give_up(self, item: Item, reason: str) -> None:
        self.failed += 1
        self.attempts = 0
        self._note_error(reason)
        logger.warning("forwarding %s: gave up a %s request: %s", self.name,
                       item.entry.signal, reason)
        self.spool.complete(item.entry)

    def _note_error(self, error: str) -> None:
        self.last_error = error
        self.last_error_ns = self._clock.now_ns()

    def run(self, worker: Worker) -> None:
        """The sender loop for the supervisor: drain the queue until asked to stop."""
        stop = worker.stop_event
        while not stop.is_set():
            try:
                delay = self.step()
            except Exception as error:
                logger.exception("forwarding %s: sender step failed", self.name)
                self._note_error(f"{type(error).__name__}: {error}")
                worker.record_run(error)
                delay = ERROR_WAIT_S
            if delay is None:
                self.spool.ready.wait(IDLE_WAIT_S)
            elif delay > 0 and self._clock.wait(delay, stop):
                break
        self._poster.close()

    def wake(self) -> None:
        """Let a sender idling on an empty queue see its stop event."""
        self.spool.ready.set()

    # --- figures --------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        oldest = self.spool.oldest_enqueued_ns()
        now = self._clock.now_ns()
        return {
            "urls": {s: display_url(self.config.url(s)) for s in self.config.signals},
            "signals": list(self.config.signals),
            "services": self.config.services,
            "queued": self.spool.appended,
            "sent": self.sent,
            "retried": self.retried,
            "dropped": self.spool.dropped,
            "failed": self.failed,
            "filtered": self.filtered,
            "queue_requests": self.spool.depth,
            "queue_bytes": self.spool.bytes,
            "queue_max_bytes": self.spool.max_bytes,
            "oldest_age_s": None if oldest is None else max(0.0, (now - oldest) / 1e9),
            "head_attempts": self.attempts,
            "last_error": self.last_error,
            "last_error_unix_ms": None if self.last_error_ns is None else self.last_error_ns / 1e6,
            "last_sent_unix_ms": None if self.last_sent_ns is None else self.last_sent_ns / 1e6,
        }

    def close(self) -> None:
        self.spool.close()
        self._poster.close()
