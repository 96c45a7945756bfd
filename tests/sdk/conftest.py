"""Shared real OpenTelemetry SDK providers, installed as the globals once per test session.

OpenTelemetry's global providers can be set only once per process, so every test that needs
them shares these; tests keep their data apart with attribute values of their own.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import pytest
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


@dataclass
class Providers:
    """The session's global providers and the in-memory places they export to."""

    tracer_provider: TracerProvider
    span_exporter: InMemorySpanExporter
    meter_provider: MeterProvider
    metric_reader: InMemoryMetricReader


@pytest.fixture(scope="session")
def providers() -> Providers:
    """Install SDK tracer and meter providers as the process globals (once)."""
    span_exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(span_exporter))
    metric_reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[metric_reader])
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(meter_provider)
    if trace.get_tracer_provider() is not tracer_provider or (
        metrics.get_meter_provider() is not meter_provider
    ):
        pytest.fail("another test already set OpenTelemetry's global providers in this process")
    return Providers(tracer_provider, span_exporter, meter_provider, metric_reader)


class SpanRecorder:
    """Finished spans of the current test, read from the session's in-memory exporter."""

    def __init__(self, exporter: InMemorySpanExporter) -> None:
        self._exporter = exporter

    def all(self) -> list[ReadableSpan]:
        return list(self._exporter.get_finished_spans())

    def named(self, name: str) -> ReadableSpan:
        found = [span for span in self.all() if span.name == name]
        assert len(found) == 1, f"expected one span {name!r}, got {[s.name for s in self.all()]}"
        return found[0]


@pytest.fixture
def spans(providers: Providers) -> Iterator[SpanRecorder]:
    """Recorder of the spans finished during one test."""
    providers.span_exporter.clear()
    yield SpanRecorder(providers.span_exporter)
    providers.span_exporter.clear()


@dataclass(frozen=True)
class Point:
    """One exported data point: its scope, attributes and the SDK point object."""

    scope: str
    attributes: dict[str, object]
    data: object

    @property
    def value(self) -> float:
        return self.data.value  # type: ignore[attr-defined]


class MetricsReader:
    """Collects the session's meter provider on demand and finds points by metric name."""

    def __init__(self, reader: InMemoryMetricReader) -> None:
        self._reader = reader

    def collect(self) -> dict[str, list[Point]]:
        """Run one collection (observable callbacks included): metric name -> points."""
        found: dict[str, list[Point]] = {}
        data = self._reader.get_metrics_data()
        for resource_metrics in data.resource_metrics if data else ():
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    found.setdefault(metric.name, []).extend(
                        Point(scope_metrics.scope.name, dict(point.attributes or {}), point)
                        for point in metric.data.data_points
                    )
        return found

    def points(self, name: str, where: Mapping[str, object] | None = None) -> list[Point]:
        """Points of metric ``name`` whose attributes include every pair of ``where``."""
        wanted = dict(where or {})
        return [
            point
            for point in self.collect().get(name, [])
            if all(point.attributes.get(key) == value for key, value in wanted.items())
        ]

    def metric(self, name: str) -> object:
        """The SDK Metric object named ``name`` (for unit and description checks)."""
        data = self._reader.get_metrics_data()
        for resource_metrics in data.resource_metrics if data else ():
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    if metric.name == name:
                        return metric
        raise AssertionError(f"no metric {name!r} exported")


@pytest.fixture
def exported(providers: Providers) -> MetricsReader:
    """Reader of the metrics the session's global MeterProvider holds right now."""
    return MetricsReader(providers.metric_reader)
