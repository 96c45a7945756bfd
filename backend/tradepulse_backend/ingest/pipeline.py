"""The bounded write queue between request threads and the single writer thread.

A request is answered only after its records are committed (a 200 means stored), and many
requests share one transaction (group commit). When the queue is full the receiver answers
503 with Retry-After instead of dropping anything.
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field

from tradepulse_backend.bus import EventBus, TelemetryStored
from tradepulse_backend.store.writer import BatchWriter
from tradepulse_backend.telemetry.records import DecodedBatch

logger = logging.getLogger(__name__)


class QueueFull(Exception):
    """The write queue has no room; the client should retry later."""


class PipelineClosed(Exception):
    """The server is shutting down and takes no more writes."""


class WriteFailed(Exception):
    """The store did not commit the batch (disk full, locked database, too slow, ...)."""


COMMIT_TIMEOUT_S = 30.0


@dataclass
class PipelineStats:
    """Counters for /api/v1/status and the backend's own metrics."""

    accepted: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_SIGNALS, 0))
    rejected: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_SIGNALS, 0))
    transactions: int = 0
    write_failures: int = 0
    refused_full: int = 0


_SIGNALS = ("traces", "metrics", "logs")
_STOP = object()


class WritePipeline:
    """Owns the queue and the writer thread."""

    def __init__(self, writer: BatchWriter, bus: EventBus, *, max_batches: int,
                 group_max_records: int) -> None:
        self._writer = writer
        self._bus = bus
        self._queue: queue.Queue = queue.Queue(maxsize=max_batches)
        self._group_max = group_max_records
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="tradepulse-writer", daemon=True)
        self.stats = PipelineStats()

    @property
    def series_ids(self):
        """The writer's committed series ids, read by request threads while decoding."""
        return self._writer.series_ids

    @property
    def depth(self) -> int:
        return self._queue.qsize()

    @property
    def running(self) -> bool:
        return self._thread.is_alive() and not self._closed

    @property
    def capacity(self) -> int:
        return self._queue.maxsize

    def start(self) -> None:
        self._thread.start()

    def _submit(self, batch: DecodedBatch) -> Future:
        """Queue a batch; the future completes when it is committed (or fails)."""
        if self._closed:
            raise PipelineClosed
        future: Future = Future()
        try:
            self._queue.put_nowait((batch, future))
        except queue.Full:
            self.stats.refused_full += 1
            raise QueueFull from None
        return future

    def store(self, batch: DecodedBatch, timeout: float = COMMIT_TIMEOUT_S) -> None:
        """Queue a batch and wait for its commit.

        Raises QueueFull, PipelineClosed or WriteFailed: each means "not stored, retry later".
        """
        future = self._submit(batch)
        try:
            future.result(timeout=timeout)
        except FutureTimeout:
            raise WriteFailed("storage is slow to commit") from None
        except WriteFailed:
            raise
        except Exception as error:
            raise WriteFailed(str(error)) from None

    def close(self, timeout: float = 10.0) -> None:
        """Stop taking writes, commit everything queued, and stop the writer thread."""
        if self._closed:
            return
        self._closed = True
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.error("writer did not finish within %.1fs; %d batches left",
                             timeout, self.depth)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            group, stop = self._collect(first)
            self._commit(group)
            if stop:
                return

    def _collect(self, first) -> tuple[list, bool]:
        group = [first]
        records = first[0].accepted
        while records < self._group_max:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                return group, True
            group.append(item)
            records += item[0].accepted
        return group, False

    def _commit(self, group: list) -> None:
        try:
            self._writer.write([batch for batch, _ in group])
        except Exception:
            if len(group) > 1:
                logger.warning("group write failed; retrying its %d requests one by one",
                               len(group))
                for item in group:
                    self._commit([item])
                return
            logger.exception("write failed; the client will be told to retry")
            self.stats.write_failures += 1
            group[0][1].set_exception(WriteFailed("storage failed to write"))
            return
        self.stats.transactions += 1
        for batch, future in group:
            self.stats.accepted[batch.signal] += batch.accepted
            self.stats.rejected[batch.signal] += batch.rejected
            future.set_result(batch.accepted)
            self._bus.publish(TelemetryStored(batch))
