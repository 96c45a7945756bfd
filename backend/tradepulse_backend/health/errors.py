"""Error rate and latency per service and span name over a sliding window, from stored spans
(status ERROR counts as an error). Spans of bot-side health checks are left out: they report
component health, not the bot's work; spans named in `latency_exclude` (trades, open to close)
count for errors but their durations are no latency."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from tradepulse import conventions as conv
from tradepulse_backend.config.health import ErrorRateConfig
from tradepulse_backend.telemetry.records import DecodedBatch

STATUS_ERROR = 2
BUCKETS = 30
DURATIONS_PER_BUCKET = 512


@dataclass
class _Bucket:
    start_ns: int
    spans: int = 0
    errors: int = 0
    durations_ms: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class SpanFigures:
    """Spans, errors, error rate and p99 latency of one (service, span name) in the window."""

    service: str
    span: str
    spans: int
    errors: int
    error_rate: float
    latency_p99_ms: float | None


class ErrorRates:
    """Bucketed span counts per (service, span name) covering the last `window` seconds."""

    def __init__(self, config: ErrorRateConfig) -> None:
        self.config = config
        self.bucket_ns = max(1, int(config.window * 1e9 / BUCKETS))
        self._buckets: dict[tuple[str, str], deque[_Bucket]] = {}
        self._lock = threading.Lock()
        self._no_latency = frozenset(config.latency_exclude)

    def absorb(self, batch: DecodedBatch, now_ns: int) -> set[str]:
        """Count a stored batch's spans at `now_ns` (arrival time: a late batch still counts
        now); returns the services it touched."""
        touched: set[str] = set()
        start = now_ns - now_ns % self.bucket_ns
        with self._lock:
            for span in batch.spans:
                if span.name == conv.SPAN_HEALTH_CHECK:
                    continue
                service = span.resource.service_name
                buckets = self._buckets.setdefault((service, span.name), deque())
                if not buckets or buckets[-1].start_ns != start:
                    buckets.append(_Bucket(start))
                bucket = buckets[-1]
                bucket.spans += 1
                bucket.errors += span.status_code == STATUS_ERROR
                if (span.name not in self._no_latency
                        and len(bucket.durations_ms) < DURATIONS_PER_BUCKET):
                    bucket.durations_ms.append(max(0, span.end_ns - span.start_ns) / 1e6)
                touched.add(service)
        return touched

    def figures(self, now_ns: int, service: str | None = None) -> list[SpanFigures]:
        """Each (service, span name) with spans in the window, oldest buckets dropped."""
        horizon = now_ns - int(self.config.window * 1e9)
        found = []
        with self._lock:
            for (svc, span), buckets in list(self._buckets.items()):
                while buckets and buckets[0].start_ns + self.bucket_ns <= horizon:
                    buckets.popleft()
                if not buckets:
                    del self._buckets[(svc, span)]
                    continue
                if service is not None and svc != service:
                    continue
                spans = sum(b.spans for b in buckets)
                errors = sum(b.errors for b in buckets)
                durations = [d for b in buckets for d in b.durations_ms]
                p99 = float(np.percentile(durations, 99)) if durations else None
                found.append(SpanFigures(svc, span, spans, errors, errors / spans, p99))
        return found

    def forget(self, service: str) -> None:
        with self._lock:
            for key in [k for k in self._buckets if k[0] == service]:
                del self._buckets[key]
