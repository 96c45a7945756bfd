"""Plain records that cross from ingest to storage: rows grouped by resource, scope and series."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

KIND_GAUGE = "gauge"
KIND_SUM = "sum"
KIND_HISTOGRAM = "histogram"
KIND_EXP_HISTOGRAM = "exponential_histogram"
KIND_SUMMARY = "summary"
DISTRIBUTION_KINDS = frozenset({KIND_HISTOGRAM, KIND_EXP_HISTOGRAM, KIND_SUMMARY})

TEMPORALITY_UNSPECIFIED = 0
TEMPORALITY_DELTA = 1
TEMPORALITY_CUMULATIVE = 2


@dataclass(slots=True)
class Origin:
    """Where a group of records came from: resource and scope messages with their raw encodings."""

    resource_key: bytes
    resource: Any
    scope_key: bytes
    scope: Any


@dataclass(slots=True)
class SpanGroup:
    """Spans of one resource and scope.

    rows: (trace_key, trace_id, span_id, parent_span_id, name, kind, start_ns, end_ns,
    status_code, body).
    """

    origin: Origin
    rows: list[tuple]


@dataclass(slots=True)
class MetricGroup:
    """Points of one metric (one resource, scope, name, kind, temporality and unit).

    `rows` are final rows for series the store already knows: (series_id, time_ns, start_ns,
    value) for number kinds, (series_id, time_ns, start_ns, count, sum, min, max, body) for
    distributions. `new_series` holds points of series not yet known, as
    (point_index, attributes_key, row with None for the series id); the writer creates them.
    """

    origin: Origin
    key: tuple
    name: str
    kind: str
    temporality: int
    monotonic: bool
    unit: str
    description: str
    points: Any
    rows: list[tuple] = field(default_factory=list)
    new_series: list[tuple] = field(default_factory=list)

    @property
    def is_distribution(self) -> bool:
        return self.kind in DISTRIBUTION_KINDS


# Committed series ids: metric group key -> attributes key -> series id.
SeriesIds = dict[tuple, dict[bytes, int]]


@dataclass(slots=True)
class LogGroup:
    """Log records of one resource and scope.

    rows: (time_ns, severity_number, severity_text, body_text, trace_id, span_id, body).
    """

    origin: Origin
    rows: list[tuple]


@dataclass(slots=True)
class DecodedBatch:
    """One request's records, plus what was rejected and why (for OTLP partial_success)."""

    signal: str
    spans: list[SpanGroup] = field(default_factory=list)
    metrics: list[MetricGroup] = field(default_factory=list)
    logs: list[LogGroup] = field(default_factory=list)
    accepted: int = 0
    rejected: int = 0
    errors: list[str] = field(default_factory=list)

    def reject(self, count: int, reason: str) -> None:
        """Count rejected items and keep the first few reasons for the response."""
        self.rejected += count
        if len(self.errors) < 5:
            self.errors.append(reason)
