"""Plain records that cross from ingest to storage and the monitor: no protobuf, no tuple indexes.

Resources and scopes are decoded once per request; a metric series once per process (decode
reuses committed series by their serialized attribute bytes). The only protobuf left is the
opaque `body` bytes the store keeps for lossless reads.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any


class MetricKind(StrEnum):
    """The OTLP metric data kinds, named as the `Metric.data` oneof (and the store) names them."""

    GAUGE = "gauge"
    SUM = "sum"
    HISTOGRAM = "histogram"
    EXP_HISTOGRAM = "exponential_histogram"
    SUMMARY = "summary"

    @property
    def is_distribution(self) -> bool:
        return self not in (MetricKind.GAUGE, MetricKind.SUM)


class Temporality(IntEnum):
    """OTLP AggregationTemporality, with its wire numbers (stored as they are)."""

    UNSPECIFIED = 0
    DELTA = 1
    CUMULATIVE = 2


def fingerprint(*parts: object) -> bytes:
    """A stable identity for attribute sets whatever order their keys arrived in."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).digest()


def attributes_json(attributes: dict[str, Any]) -> str:
    """Attributes as the store keeps them: JSON with sorted keys."""
    return json.dumps(attributes, sort_keys=True, default=str)


@dataclass(frozen=True, slots=True)
class Resource:
    """The entity that produced telemetry; `key` is its content fingerprint."""

    service_name: str
    attributes: dict[str, Any]
    key: bytes

    @classmethod
    def of(cls, service_name: str, attributes: dict[str, Any]) -> Resource:
        return cls(service_name, attributes, fingerprint(attributes))


@dataclass(frozen=True, slots=True)
class Scope:
    """The instrumentation scope; `key` is its content fingerprint."""

    name: str
    version: str
    attributes: dict[str, Any]
    key: bytes

    @classmethod
    def of(cls, name: str, version: str, attributes: dict[str, Any]) -> Scope:
        return cls(name, version, attributes, fingerprint(name, version, attributes))


@dataclass(slots=True, eq=False)
class MetricSeries:
    """One time series: a metric of one resource and scope with one attribute set.

    `id` is the store's id once the series is committed; `attributes_key` (the attributes as
    they arrived, serialized) lets decode recognise a known series without decoding them.
    `attributes_json` is the attributes' stored text, which the fingerprint also covers.
    """

    resource: Resource
    scope: Scope
    name: str
    kind: MetricKind
    temporality: Temporality
    monotonic: bool
    unit: str
    description: str
    attributes: dict[str, Any]
    attributes_json: str
    fingerprint: bytes
    attributes_key: bytes = b""
    id: int | None = None

    @classmethod
    def create(cls, resource: Resource, scope: Scope, name: str, kind: MetricKind,
               temporality: Temporality, monotonic: bool, unit: str, description: str,
               attributes: dict[str, Any], attributes_key: bytes = b"") -> MetricSeries:
        text = attributes_json(attributes)
        identity = json.dumps([resource.key.hex(), scope.key.hex(), name, kind.value,
                               int(temporality), monotonic, unit])
        key = hashlib.sha256(f"{identity}\n{text}".encode()).digest()
        return cls(resource, scope, name, kind, temporality, monotonic, unit, description,
                   attributes, text, key, attributes_key)

    @property
    def metric_key(self) -> tuple:
        """Everything but the attributes: the first level of the decode cache."""
        return metric_key(self.resource.key, self.scope.key, self.name, self.kind,
                          self.temporality, self.monotonic, self.unit)


def metric_key(resource_key: bytes, scope_key: bytes, name: str, kind: str, temporality: int,
               monotonic: bool, unit: str) -> tuple:
    return (resource_key, scope_key, name, kind, temporality, monotonic, unit)


NumberPoint = tuple[int, int, float | None]
"""(time_ns, start_ns, value) of a gauge or sum; value None when the point carried none."""


@dataclass(slots=True)
class Distribution:
    """A histogram, exponential histogram or summary point as plain fields.

    Only the fields of its kind are filled; `body` is the serialized OTLP point the store keeps.
    """

    time_ns: int
    start_ns: int
    count: int
    sum: float | None
    min: float | None
    max: float | None
    body: bytes
    bounds: tuple[float, ...] = ()
    bucket_counts: tuple[int, ...] = ()
    scale: int = 0
    zero_count: int = 0
    positive_offset: int = 0
    positive_counts: tuple[int, ...] = ()
    negative_offset: int = 0
    negative_counts: tuple[int, ...] = ()
    quantiles: tuple[tuple[float, float], ...] = ()


@dataclass(slots=True)
class SeriesPoints:
    """Points of one series from one request, oldest first as sent."""

    series: MetricSeries
    points: list[Any] = field(default_factory=list)


@dataclass(slots=True)
class SpanRecord:
    """One span: the fields the store indexes, its attributes (decoded on first read), and its
    lossless body."""

    resource: Resource
    scope: Scope
    trace_id: bytes
    span_id: bytes
    parent_span_id: bytes
    name: str
    kind: int
    start_ns: int
    end_ns: int
    status_code: int
    attributes: Mapping[str, Any]
    body: bytes


@dataclass(slots=True)
class LogRecord:
    """One log record: indexed fields, attributes (decoded on first read), lossless body."""

    resource: Resource
    scope: Scope
    time_ns: int
    severity_number: int
    severity_text: str
    body_text: str
    trace_id: bytes
    span_id: bytes
    attributes: Mapping[str, Any]
    body: bytes


@dataclass(frozen=True, slots=True)
class TradeRecord:
    """One closed round-trip trade, read from a `trading.trade` span."""

    service: str
    portfolio: str
    symbol: str
    side: str
    pnl: float
    entry_ns: int
    exit_ns: int
    quantity: float | None = None
    trade_return: float | None = None
    span_key: bytes = b""


@dataclass(slots=True)
class DecodedBatch:
    """One request's records, plus what was rejected and why (for OTLP partial_success)."""

    signal: str
    spans: list[SpanRecord] = field(default_factory=list)
    metrics: list[SeriesPoints] = field(default_factory=list)
    logs: list[LogRecord] = field(default_factory=list)
    trades: list[TradeRecord] = field(default_factory=list)
    accepted: int = 0
    rejected: int = 0
    errors: list[str] = field(default_factory=list)

    def reject(self, count: int, reason: str) -> None:
        """Count rejected items and keep the first few reasons for the response."""
        self.rejected += count
        if len(self.errors) < 5:
            self.errors.append(reason)


class SeriesCatalog:
    """Committed series by metric key and serialized attributes, read by request threads.

    Only the writer thread adds to it, after a commit, by swapping whole inner dicts, so
    readers never see a half-updated map. `max_new_per_request` bounds how many series one
    request may create (`ingest.max_new_series_per_request`).
    """

    def __init__(self, max_new_per_request: int = 10_000) -> None:
        self.max_new_per_request = max_new_per_request
        self._by_metric: dict[tuple, dict[bytes, MetricSeries]] = {}

    def known(self, key: tuple) -> dict[bytes, MetricSeries]:
        return self._by_metric.get(key, _EMPTY)

    def add(self, committed: list[MetricSeries]) -> None:
        grouped: dict[tuple, dict[bytes, MetricSeries]] = {}
        for item in committed:
            if item.attributes_key or not item.attributes:
                grouped.setdefault(item.metric_key, {})[item.attributes_key] = item
        for key, found in grouped.items():
            self._by_metric[key] = {**self._by_metric.get(key, _EMPTY), **found}


_EMPTY: dict = {}
