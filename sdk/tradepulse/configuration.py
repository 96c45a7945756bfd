"""``configure()`` and ``shutdown()``: the one place that brings in the OpenTelemetry SDK.

Builds a TracerProvider (BatchSpanProcessor) and a MeterProvider (PeriodicExportingMetricReader,
with Views recording the trading histograms as base-2 exponential histograms) with the official
OTLP exporters, installs them as the global providers, and optionally publishes the bot's
process metrics. Everything else in tradepulse needs only the API.
"""

from __future__ import annotations

import atexit
import importlib
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.util.types import AttributeValue

from tradepulse import conventions as conv
from tradepulse.settings import (
    METRICS_PATH,
    PROTOCOL_GRPC,
    TRACES_PATH,
    Settings,
    resolve_settings,
)
from tradepulse.version import __version__

__all__ = ["Telemetry", "configure", "shutdown", "trading_views"]

_logger = logging.getLogger(__name__)

PROCESS_METRICS: Final[Mapping[str, list[str] | None]] = {
    "process.cpu.time": ["user", "system"],
    "process.cpu.utilization": ["user", "system"],
    "process.memory.usage": None,
    "process.memory.virtual": None,
    "process.thread.count": None,
    "process.open_file_descriptor.count": None,
    "process.context_switches": ["involuntary", "voluntary"],
}
"""The SystemMetricsInstrumentor configuration: the bot's own process, no host-wide metrics."""

HISTOGRAM_MAX_SIZE: Final = 160
"""Buckets per sign of the exponential histograms (OpenTelemetry's default): 20-90 ms of order
latency resolve at scale 6, buckets 1.1% wide."""
HISTOGRAM_MAX_SCALE: Final = 20
"""The finest scale the exponential histograms start at; the SDK lowers it to fit the range."""


def trading_views() -> list[View]:
    """Views recording every trading histogram (order latency, fill slippage) as a base-2
    exponential histogram, whose percentiles are far finer than the explicit boundaries.

    ``configure()`` installs them; pass them among your own ``views`` when you build a
    MeterProvider yourself.
    """
    return [
        View(instrument_name=spec.name, aggregation=ExponentialBucketHistogramAggregation(
            max_size=HISTOGRAM_MAX_SIZE, max_scale=HISTOGRAM_MAX_SCALE))
        for spec in conv.METRICS.values() if spec.kind is conv.InstrumentKind.HISTOGRAM
    ]


_EXPORTER_MODULES: Final = {
    "http/protobuf": (
        "opentelemetry.exporter.otlp.proto.http.trace_exporter",
        "opentelemetry.exporter.otlp.proto.http.metric_exporter",
    ),
    PROTOCOL_GRPC: (
        "opentelemetry.exporter.otlp.proto.grpc.trace_exporter",
        "opentelemetry.exporter.otlp.proto.grpc.metric_exporter",
    ),
}


@dataclass(frozen=True, slots=True)
class Telemetry:
    """What ``configure()`` set up; the same object is returned by every later call."""

    settings: Settings
    resource: Resource
    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    system_metrics: Any | None = None


_lock = threading.Lock()
_state: Telemetry | None = None
_shut_down = False


def configure(
    service_name: str | None = None,
    *,
    endpoint: str | None = None,
    protocol: str | None = None,
    headers: Mapping[str, str] | str | None = None,
    resource_attributes: Mapping[str, AttributeValue] | None = None,
    export_interval_ms: int | None = None,
    system_metrics: bool | None = None,
) -> Telemetry:
    """Export this process's traces and metrics over OTLP; idempotent, returns the live state.

    Unset arguments fall back to OTEL_SERVICE_NAME, OTEL_EXPORTER_OTLP_ENDPOINT (base URL),
    OTEL_EXPORTER_OTLP_PROTOCOL (``http/protobuf`` default, or ``grpc`` with
    ``tradepulse[grpc]``), OTEL_EXPORTER_OTLP_HEADERS, OTEL_RESOURCE_ATTRIBUTES,
    OTEL_METRIC_EXPORT_INTERVAL and TRADEPULSE_SYSTEM_METRICS_ENABLED. A bad argument raises
    ValueError; a second call keeps the first setup (warning if its arguments differ).

    Order latency (``trading.order.duration``) and fill slippage (``trading.fill.slippage``)
    are recorded as base-2 exponential histograms (a View, see ``trading_views()``): with 160
    buckets, 20-90 ms latencies land in buckets 1.1% wide, so the backend's p50/p95/p99 are
    within about 1% of the exact values. Other instruments keep the SDK's default
    aggregation. A process that builds its own MeterProvider (its own views and readers)
    instead of calling ``configure()`` keeps working: without ``trading_views()`` among its
    views the histograms use the explicit boundaries advised in ``tradepulse.conventions``
    and the backend reads them at that coarser precision.
    """
    global _state
    settings = resolve_settings(
        service_name,
        endpoint=endpoint,
        protocol=protocol,
        headers=headers,
        resource_attributes=resource_attributes,
        export_interval_ms=export_interval_ms,
        system_metrics=system_metrics,
    )
    with _lock:
        if _state is not None:
            if _shut_down:
                _logger.warning(
                    "tradepulse.configure() called after shutdown(); OpenTelemetry's global "
                    "providers cannot be replaced, so nothing more is exported by this process"
                )
            elif settings != _state.settings:
                _logger.warning(
                    "tradepulse.configure() was already called with other settings; keeping "
                    "the first ones (%s), ignoring %s", _state.settings, settings,
                )
            return _state
        _state = _build(settings)
        return _state


def _build(settings: Settings) -> Telemetry:
    span_exporter, metric_exporter = _exporters(settings)
    resource = Resource.create(
        {
            "telemetry.distro.name": "tradepulse",
            "telemetry.distro.version": __version__,
            **dict(settings.resource_attributes),
        }
    )
    tracer_provider = TracerProvider(resource=resource, shutdown_on_exit=False)
    tracer_provider.add_span_processor(BatchSpanProcessor(span_exporter))
    reader = PeriodicExportingMetricReader(
        metric_exporter, export_interval_millis=settings.export_interval_ms
    )
    meter_provider = MeterProvider(
        resource=resource, metric_readers=[reader], views=trading_views(), shutdown_on_exit=False
    )
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(meter_provider)
    if trace.get_tracer_provider() is not tracer_provider:
        _logger.warning("tradepulse: another TracerProvider was already global; spans from "
                        "@traced go to that one, not to tradepulse's exporter")
    if metrics.get_meter_provider() is not meter_provider:
        _logger.warning("tradepulse: another MeterProvider was already global; trading "
                        "metrics go to that one, not to tradepulse's exporter")
    instrumentor = _start_system_metrics(meter_provider) if settings.system_metrics else None
    atexit.register(shutdown)
    _logger.info(
        "tradepulse: exporting service %r over OTLP %s to %s every %d ms",
        resource.attributes.get("service.name"), settings.protocol,
        settings.endpoint or "the exporters' default endpoint", settings.export_interval_ms,
    )
    return Telemetry(settings, resource, tracer_provider, meter_provider, instrumentor)


def _exporters(settings: Settings) -> tuple[Any, Any]:
    """The span and metric exporters for the configured protocol, imported only when needed."""
    trace_module, metric_module = _EXPORTER_MODULES[settings.protocol]
    try:
        span_cls = importlib.import_module(trace_module).OTLPSpanExporter
        metric_cls = importlib.import_module(metric_module).OTLPMetricExporter
    except ImportError as exc:
        if settings.protocol == PROTOCOL_GRPC:
            raise ImportError(
                "OTLP over gRPC needs the gRPC exporter: pip install 'tradepulse[grpc]'"
            ) from exc
        raise
    headers = None if settings.headers is None else dict(settings.headers)
    return (
        span_cls(endpoint=settings.signal_endpoint(TRACES_PATH), headers=headers),
        metric_cls(endpoint=settings.signal_endpoint(METRICS_PATH), headers=headers),
    )


def _start_system_metrics(meter_provider: MeterProvider) -> Any | None:
    """Publish process.* metrics of this process; a failure here never stops configure()."""
    try:
        from opentelemetry.instrumentation.system_metrics import SystemMetricsInstrumentor

        instrumentor = SystemMetricsInstrumentor(config=dict(PROCESS_METRICS))
        instrumentor.instrument(meter_provider=meter_provider)
    except Exception:
        _logger.warning("tradepulse: process metrics are unavailable", exc_info=True)
        return None
    return instrumentor


def shutdown(*, timeout_millis: int = 30_000) -> None:
    """Flush and stop exporting; safe to call twice or without ``configure()``."""
    global _shut_down
    with _lock:
        if _state is None or _shut_down:
            return
        _shut_down = True
        state = _state
    if state.system_metrics is not None:
        try:
            state.system_metrics.uninstrument()
        except Exception:
            _logger.warning("tradepulse: stopping process metrics failed", exc_info=True)
    try:
        state.tracer_provider.force_flush(timeout_millis)
        state.tracer_provider.shutdown()
    except Exception:
        _logger.warning("tradepulse: shutting down tracing failed", exc_info=True)
    try:
        state.meter_provider.force_flush(timeout_millis)
        state.meter_provider.shutdown(timeout_millis)
    except Exception:
        _logger.warning("tradepulse: shutting down metrics failed", exc_info=True)
