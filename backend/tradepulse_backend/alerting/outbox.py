"""The durable outbox: every notification is a stored row before any attempt to send it; one
sender per channel works through its rows with exponential backoff and full jitter, honours
Retry-After, and gives up after `max_attempts` or `max_age` (marking the row failed and
raising a log alert about the channel, never through the failing channel).

After a restart the pending rows are simply still there: each is sent once. The one
unavoidable duplicate (a crash after the channel accepted and before the row was marked) goes
out with the same idempotency key, so the receiver can drop it.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Mapping
from typing import Any

from tradepulse_backend.alerting.channels.base import (
    AlertChannel,
    DeliveryStatus,
)
from tradepulse_backend.alerting.notifications import from_json
from tradepulse_backend.alerting.state import iso
from tradepulse_backend.alerting.testalert import attempt
from tradepulse_backend.clock import Clock
from tradepulse_backend.config.alerting import OutboxConfig
from tradepulse_backend.store import Store
from tradepulse_backend.store import alerts as stored
from tradepulse_backend.workers import Supervisor, Worker

logger = logging.getLogger(__name__)
NS = 1_000_000_000
IDLE_WAIT_S = 1.0


def full_jitter(attempt: int, base_s: float, cap_s: float, rng: random.Random) -> float:
    """AWS's "full jitter": a uniform wait up to min(cap, base * 2**attempt)."""
    return rng.uniform(0, min(cap_s, base_s * 2 ** max(0, attempt - 1)))


def row_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """An outbox row as `GET /api/v1/notifications` and `NotificationChanged` show it."""
    body = row["body"]
    return {
        "id": row["id"], "key": row["key"], "channel": row["channel"],
        "status": row["status"], "severity": row["severity"], "title": row["title"],
        "attempts": row["attempts"], "last_error": row["last_error"],
        "created_at": iso(row["created_ns"]), "updated_at": iso(row["updated_ns"]),
        "next_attempt_at": iso(row["next_attempt_ns"]) if row["status"] == "pending" else None,
        "group_key": row["group_key"], "notification_status": body.get("status"),
        "fingerprints": [a.get("fingerprint") for a in body.get("alerts", ())],
    }


class Outbox:
    """Sends stored notifications through their channels, one sender thread per channel."""

    def __init__(self, store: Store, channels: Mapping[str, AlertChannel], config: OutboxConfig,
                 *, clock: Clock, publish: Callable[[dict[str, Any]], None] = lambda row: None,
                 on_failed: Callable[[str, dict[str, Any]], None] | None = None,
                 rng: random.Random | None = None) -> None:
        self.store = store
        self.channels = dict(channels)
        self.config = config
        self.clock = clock
        self.publish = publish
        self.on_failed = on_failed
        self.rng = rng or random.Random()
        self._wake: dict[str, threading.Event] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # --- senders --------------------------------------------------------------------------

    def deliver_due(self, channel: str) -> int:
        """Attempt every due row of `channel` once, oldest first; returns how many."""
        rows = stored.due(self.store, channel, self.clock.now_ns(), self.config.batch)
        for row in rows:
            if self._stop.is_set():
                break
            self._attempt(row)
        return len(rows)

    def deliver_all_due(self) -> int:
        """One pass over every channel with pending rows (tests and one-shot commands)."""
        return sum(self.deliver_due(channel) for channel in stored.pending_channels(self.store))

    def _attempt(self, row: dict[str, Any]) -> None:
        channel = self.channels.get(row["channel"])
        if channel is None:
            self._finish(row, "failed", f"channel {row['channel']!r} is not configured")
            return
        notification = from_json(row["body"])
        result = attempt(channel, notification)
        attempts = row["attempts"] + 1
        now = self.clock.now_ns()
        if result.status is DeliveryStatus.OK:
            self._update(row, status="sent", attempts=attempts, last_error=None)
            logger.debug("notification %s sent on %s", row["key"], row["channel"])
            return
        too_old = now - row["created_ns"] >= self.config.max_age * NS
        if result.status is DeliveryStatus.PERMANENT or attempts >= self.config.max_attempts \
                or too_old:
            why = result.detail or result.status.value
            if result.status is DeliveryStatus.RETRY:
                why += (f" (gave up after {attempts} attempts)" if not too_old
                        else " (gave up: older than max_age)")
            self._finish({**row, "attempts": attempts}, "failed", why)
            return
        wait = result.retry_after if result.retry_after is not None else full_jitter(
            attempts, self.config.backoff_base, self.config.backoff_max, self.rng)
        self._update(row, attempts=attempts, last_error=result.detail or "retrying",
                     next_attempt_ns=now + int(wait * NS))
        logger.info("notification %s on %s: attempt %d failed (%s); next in %.1f s",
                    row["key"], row["channel"], attempts, result.detail, wait)

    def _finish(self, row: dict[str, Any], status: str, error: str) -> None:
        updated = self._update(row, status=status, attempts=row["attempts"], last_error=error)
        logger.error("notification %s on channel %s failed permanently: %s",
                     row["key"], row["channel"], error)
        if self.on_failed is not None:
            self.on_failed(row["channel"], updated)

    def _update(self, row: dict[str, Any], **values: Any) -> dict[str, Any]:
        values["updated_ns"] = self.clock.now_ns()
        updated = stored.update_row(self.store, row["id"], **values)
        self.publish(row_json(updated))
        return updated

    # --- workers --------------------------------------------------------------------------

    def wake(self, channel: str) -> None:
        """A row for `channel` was queued: its sender looks now."""
        event = self._wake.get(channel)
        if event is not None:
            event.set()

    def start(self, supervisor: Supervisor | None = None) -> None:
        """Start one sender per channel, under the runtime's supervisor when given."""
        for orphan in set(stored.pending_channels(self.store)) - set(self.channels):
            while self.deliver_due(orphan):      # rows of a channel no longer configured fail
                pass
        for name in self.channels:
            event = self._wake[name] = threading.Event()
            target = self._sender_loop(name)
            if supervisor is not None:
                supervisor.thread(f"outbox-{name}", target, wake=event.set)
            else:
                worker = threading.Thread(target=target, args=(None,), name=f"outbox-{name}",
                                          daemon=True)
                worker.start()
                self._threads.append(worker)

    def _sender_loop(self, channel: str) -> Callable[[Worker | None], None]:
        def run(worker: Worker | None) -> None:
            event = self._wake[channel]

            def stopped() -> bool:
                return self._stop.is_set() or (worker is not None
                                               and worker.stop_event.is_set())

            while not stopped():
                event.clear()
                try:
                    self.deliver_due(channel)
                    wait = self._seconds_until_due(channel)
                except Exception:
                    logger.exception("outbox sender %s failed; retrying", channel)
                    wait = IDLE_WAIT_S
                event.wait(wait)
        return run

    def _seconds_until_due(self, channel: str) -> float:
        due = stored.next_due_ns(self.store, channel)
        if due is None:
            return IDLE_WAIT_S * 5
        return min(IDLE_WAIT_S, max(0.0, (due - self.clock.now_ns()) / NS))

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        for event in self._wake.values():
            event.set()
        for worker in self._threads:
            worker.join(timeout)
