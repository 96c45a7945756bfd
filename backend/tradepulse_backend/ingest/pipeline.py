"""The bounded write queue between request threads and the single writer thread.

A request is answered only after its records are committed (a 200 means stored), and many
requests share one transaction (group commit). When the queue is full the receiver answers
503 with Retry-After instead of dropping anything.

A request waits at most `commit_timeout` for the writer to pick its batch up. The writer claims
each batch before its transaction and skips batches whose request gave up (cancelled them), so
a request answered "retry later" is never committed later as well: spans and logs have no
unique key, and the exporter's retry would store them twice. A batch the writer has already
claimed is waited for until its transaction ends, and the request gets its real outcome.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from bisect import bisect_left
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field

from tradepulse_backend.bus import EventBus, TelemetryStored
from tradepulse_backend.config import IngestConfig
from tradepulse_backend.store.writer import BatchWriter
from tradepulse_backend.telemetry.records import DecodedBatch

logger = logging.getLogger(__name__)


class QueueFull(Exception):
    """The write queue has no room; the client should retry later."""


class PipelineClosed(Exception):
    """The server is shutting down and takes no more writes."""


class WriteFailed(Exception):
    """The store did not commit the batch (disk full, locked database, too slow, ...)."""


class CommitTimedOut(WriteFailed):
    """The writer did not pick the batch up in time; it was withdrawn and will never commit."""


COMMIT_TIMEOUT_S: float = IngestConfig.model_fields["commit_timeout"].default


@dataclass
class PipelineStats:
    """Counters for /api/v1/status and the backend's own metrics."""

    accepted: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_SIGNALS, 0))
    rejected: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_SIGNALS, 0))
    transactions: int = 0
    write_failures: int = 0
    refused_full: int = 0
    commit_timeouts: int = 0
    claimed: int = 0
    """Batches the writer has taken into a transaction (withdrawn ones never are)."""
    commit_seconds: CommitDurations = field(default_factory=lambda: CommitDurations())
    """How long each committed transaction took (for /metrics)."""


COMMIT_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass
class CommitDurations:
    """A cumulative histogram of transaction durations: counts per upper bound (the last
    slot is +Inf), their sum and count; written by the writer thread only."""

    bounds: tuple[float, ...] = COMMIT_BUCKETS_S
    counts: list[int] = field(default_factory=lambda: [0] * (len(COMMIT_BUCKETS_S) + 1))
    sum: float = 0.0
    count: int = 0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(self.bounds, seconds)] += 1
        self.sum += seconds
        self.count += 1

    def cumulative(self) -> list[tuple[str, int]]:
        """(upper bound, observations at or below it) pairs ending with "+Inf"."""
        counts, total = list(self.counts), 0
        pairs = []
        for bound, n in zip((*map(str, self.bounds), "+Inf"), counts, strict=True):
            total += n
            pairs.append((bound, total))
        return pairs


_SIGNALS = ("traces", "metrics", "logs")
_LIVENESS_CHECK_S = 1.0
_STOP = object()


class WritePipeline:
    """Owns the queue and the writer thread."""

    def __init__(self, writer: BatchWriter, bus: EventBus, *, max_batches: int,
                 group_max_records: int, commit_timeout: float = COMMIT_TIMEOUT_S) -> None:
        self._writer = writer
        self.commit_timeout = commit_timeout
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

    def store(self, batch: DecodedBatch, timeout: float | None = None) -> None:
        """Queue a batch and wait for its commit (at most `timeout`, default `commit_timeout`,
        unless the writer has already started its transaction).

        Raises QueueFull, PipelineClosed or WriteFailed (CommitTimedOut when it waited too
        long): each means "not stored, and never will be; retry later".
        """
        future = self._submit(batch)
        try:
            future.result(timeout=self.commit_timeout if timeout is None else timeout)
        except FutureTimeout:
            if future.cancel():
                self.stats.commit_timeouts += 1
                raise CommitTimedOut("storage is slow to commit") from None
            self._outcome(future)
        except WriteFailed:
            raise
        except Exception as error:
            raise WriteFailed(str(error)) from None

    def _outcome(self, future: Future) -> None:
        """Wait for a claimed batch's transaction (bounded by one transaction while the writer
        lives) and raise its failure as WriteFailed."""
        while True:
            try:
                future.result(timeout=_LIVENESS_CHECK_S)
                return
            except FutureTimeout:
                if not self._thread.is_alive():
                    raise WriteFailed("the writer stopped before committing") from None
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
            if group:
                self._commit(group)
            if stop:
                return

    def _collect(self, first) -> tuple[list, bool]:
        """Queued batches for one transaction, each claimed; batches withdrawn by their
        request (cancelled after a commit timeout) are dropped here."""
        group = [first] if first[1].set_running_or_notify_cancel() else []
        records = first[0].accepted if group else 0
        self.stats.claimed += len(group)
        while records < self._group_max:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                return group, True
            if item[1].set_running_or_notify_cancel():
                group.append(item)
                records += item[0].accepted
                self.stats.claimed += 1
        return group, False

    def _commit(self, group: list) -> None:
        started = time.perf_counter()
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
        self.stats.commit_seconds.observe(time.perf_counter() - started)
        self.stats.transactions += 1
        for batch, future in group:
            self.stats.accepted[batch.signal] += batch.accepted
            self.stats.rejected[batch.signal] += batch.rejected
            future.set_result(batch.accepted)
            self._bus.publish(TelemetryStored(batch))
