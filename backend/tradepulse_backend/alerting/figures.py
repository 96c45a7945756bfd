"""Figure sources: where rules read figures by name, per service, through one small protocol.

A source knows some names and gives the current samples of a figure (one per subject: a
portfolio, a metric series, a host). Performance figures come from `PerformanceUpdated`
snapshots, ingested metrics from `TelemetryStored` batches (warmed from the store through
`store.queries` at start), and health figures from any monitor exposing
`figures(service) -> dict` and its list of names, so health plugs in without this module
knowing it.
"""

from __future__ import annotations

import difflib
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from tradepulse_backend.config.alerting import parse_field
from tradepulse_backend.performance.snapshot import FIGURE_FIELDS, PerformanceSnapshot
from tradepulse_backend.store import Store, queries
from tradepulse_backend.telemetry.records import DecodedBatch, MetricKind

WARM_UP_NS = 3600 * 10**9
_METRIC_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)+$")


@dataclass(frozen=True, slots=True)
class Figure:
    """A parsed rule field: a figure name and attribute matchers (`{key="value"}`)."""

    text: str
    name: str
    matchers: tuple[tuple[str, str, str], ...] = ()

    @classmethod
    def parse(cls, text: str) -> Figure:
        name, matchers = parse_field(text)
        return cls(text, name, matchers)

    def accepts(self, attributes: Mapping[str, Any]) -> bool:
        """True when the attributes satisfy every matcher."""
        for key, op, value in self.matchers:
            actual = str(attributes.get(key, ""))
            if (op == "=" and actual != value) or (op == "!=" and actual == value):
                return False
            if op in ("=~", "!~") and (re.fullmatch(value, actual) is None) == (op == "=~"):
                return False
        return True


Sample = tuple[tuple, Mapping[str, str], "float | None", int]
"""(subject key, subject labels, value or None, time_ns the value was seen)."""


@runtime_checkable
class FigureSource(Protocol):
    """Names a source knows, and the current samples of one of its figures."""

    kind: str

    def knows(self, name: str) -> bool: ...

    def names(self) -> Iterable[str]: ...

    def samples(self, figure: Figure, service: str | None = None) -> Sequence[Sample]: ...

    def context(self, labels: Mapping[str, str]) -> Mapping[str, Any]: ...


class UnknownFigureError(ValueError):
    """A rule field no source knows; the message names it and the closest known figure."""


class FigureBook:
    """The figure sources rules read from, in order; the first that knows a name serves it."""

    def __init__(self, sources: Iterable[FigureSource] = ()) -> None:
        self.sources: list[FigureSource] = list(sources)

    def add(self, source: FigureSource) -> None:
        self.sources.append(source)

    def source_for(self, name: str) -> FigureSource:
        """The source serving `name`, or UnknownFigureError suggesting the closest name."""
        for source in self.sources:
            if source.knows(name):
                return source
        known = sorted({n for source in self.sources for n in source.names()})
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]!r}?" if close else \
            "; use a performance or health figure, or a metric's OTel name (with a dot)"
        raise UnknownFigureError(f"unknown field {name[:80]!r}{hint}")


class PerformanceFigures:
    """`PerformanceSnapshot` figures per (service, portfolio), from `PerformanceUpdated`."""

    kind = "performance"

    def __init__(self, clock_ns: Callable[[], int],
                 initial: Callable[[], Iterable[PerformanceSnapshot]] | None = None) -> None:
        self._now_ns = clock_ns
        self._lock = threading.Lock()
        self._by_service: dict[str, dict[str, tuple[tuple, dict[str, str],
                                                    PerformanceSnapshot, int]]] = {}
        self._names = frozenset(FIGURE_FIELDS)
        if initial is not None:
            for snapshot in initial():
                self.update(snapshot)

    def update(self, snapshot: PerformanceSnapshot) -> None:
        """Take the newest snapshot of its (service, portfolio)."""
        key = ("performance", snapshot.service, snapshot.portfolio)
        labels = {"service": snapshot.service, "portfolio": snapshot.portfolio}
        with self._lock:
            self._by_service.setdefault(snapshot.service, {})[snapshot.portfolio] = (
                key, labels, snapshot, self._now_ns())

    def knows(self, name: str) -> bool:
        return name in self._names

    def names(self) -> Iterable[str]:
        return self._names

    def services(self) -> list[str]:
        return list(self._by_service)

    def samples(self, figure: Figure, service: str | None = None) -> list[Sample]:
        name = figure.name
        if service is not None:
            groups = [self._by_service.get(service, {})]
        else:
            groups = list(self._by_service.values())
        return [(key, labels, getattr(snapshot, name), seen)
                for portfolios in groups for key, labels, snapshot, seen in portfolios.values()]

    def context(self, labels: Mapping[str, str]) -> Mapping[str, Any]:
        entry = self._by_service.get(labels.get("service", ""), {}).get(
            labels.get("portfolio", ""))
        if entry is None:
            return {}
        snapshot = entry[2]
        return {name: getattr(snapshot, name) for name in FIGURE_FIELDS}


class MetricFigures:
    """The newest value of every ingested gauge and sum series, by OTel name, from
    `TelemetryStored` batches; a name with a dot is a metric name."""

    kind = "metric"

    def __init__(self, clock_ns: Callable[[], int],
                 known_names: Callable[[], Iterable[str]] = tuple) -> None:
        self._now_ns = clock_ns
        self._known_names = known_names
        self._lock = threading.Lock()
        self._series: dict[str, dict[tuple, tuple[tuple, dict[str, str], float | None, int]]] = {}
        self.wanted: frozenset[str] = frozenset()
        """Metric names some rule reads; only these are kept from stored batches."""

    def knows(self, name: str) -> bool:
        return bool(_METRIC_NAME.match(name))

    def names(self) -> Iterable[str]:
        return {*self._series, *self._known_names()}

    def absorb(self, batch: DecodedBatch) -> set[str]:
        """Take the newest number point of each series in a stored batch; returns the
        services it touched."""
        touched: set[str] = set()
        now = self._now_ns()
        with self._lock:
            wanted = self.wanted
            for group in batch.metrics:
                series = group.series
                if series.name not in wanted:
                    continue
                if series.kind not in (MetricKind.GAUGE, MetricKind.SUM) or not group.points:
                    continue
                newest = max(group.points, key=lambda point: point[0])
                self.observe(series.name, series.resource.service_name, series.attributes,
                             newest[2], now)
                touched.add(series.resource.service_name)
        return touched

    def warm(self, store: Store, names: Iterable[str], now_ns: int) -> None:
        """Seed each metric's series with its newest stored value of the last hour (through
        `store.queries`), so a restart or a new rule starts from where the data stood."""
        for name in sorted(set(names)):
            for series in queries.series_points(store, name, since_ns=now_ns - WARM_UP_NS):
                if series["kind"] not in (MetricKind.GAUGE, MetricKind.SUM) \
                        or not series["points"]:
                    continue
                time_ms, value = series["points"][-1]
                self.observe(name, series["service"], series["attributes"], value,
                             int(time_ms * 1e6))

    def observe(self, name: str, service: str, attributes: Mapping[str, Any],
                value: float | None, seen_ns: int) -> None:
        """Record one series' newest value (also used to warm up from the store)."""
        attrs = {str(k): str(v) for k, v in attributes.items()}
        key = ("metric", name, service, tuple(sorted(attrs.items())))
        labels = {"service": service, **attrs}
        self._series.setdefault(name, {})[key] = (key, labels, value, seen_ns)

    def samples(self, figure: Figure, service: str | None = None) -> list[Sample]:
        found = self._series.get(figure.name)
        if not found:
            return []
        return [entry for entry in list(found.values())
                if (service is None or entry[1]["service"] == service)
                and (not figure.matchers or figure.accepts(entry[1]))]

    def context(self, labels: Mapping[str, str]) -> Mapping[str, Any]:
        return {}


class HealthFigures:
    """Health figures per service from a monitor with `figures(service) -> dict` (None is the
    host); `names` is the monitor's list of figure names."""

    kind = "health"

    def __init__(self, monitor: Any, names: Iterable[str], clock_ns: Callable[[], int],
                 services: Callable[[], Iterable[str]] = tuple) -> None:
        self._monitor = monitor
        self._names = frozenset(names)
        self._now_ns = clock_ns
        self._services = services

    def knows(self, name: str) -> bool:
        return name in self._names

    def names(self) -> Iterable[str]:
        return self._names

    def samples(self, figure: Figure, service: str | None = None) -> list[Sample]:
        now = self._now_ns()
        found = []
        for name in ([service] if service is not None else [None, *self._services()]):
            value = self._monitor.figures(name).get(figure.name)
            numeric = _number(value)
            labels = {"service": name or ""}
            found.append((("health", name or ""), labels, numeric, now))
        return found

    def context(self, labels: Mapping[str, str]) -> Mapping[str, Any]:
        return dict(self._monitor.figures(labels.get("service") or None))


_STATUS_NUMBERS = {"healthy": 0.0, "ok": 0.0, "degraded": 1.0, "warning": 1.0,
                   "unhealthy": 2.0, "critical": 2.0, "down": 2.0}


def _number(value: Any) -> float | None:
    """A health figure as a number; statuses map to 0 healthy, 1 degraded, 2 unhealthy."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        return _STATUS_NUMBERS.get(value.lower())
    return None
