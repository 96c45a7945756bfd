"""A host sample as ordinary metric records under OpenTelemetry's semantic-convention names
(`system.cpu.utilization`, `system.memory.usage`, `system.filesystem.utilization`, ...) with the
backend's `service.name`, so they are stored, queried and retained like any telemetry."""

from __future__ import annotations

import socket

import psutil
from opentelemetry.semconv._incubating.attributes import disk_attributes as disk_attrs
from opentelemetry.semconv._incubating.attributes import network_attributes as net_attrs
from opentelemetry.semconv._incubating.attributes import system_attributes as sys_attrs
from opentelemetry.semconv._incubating.metrics import process_metrics as pm
from opentelemetry.semconv._incubating.metrics import system_metrics as sm

from tradepulse_backend.health.models import SystemMetrics
from tradepulse_backend.telemetry.records import (
    DecodedBatch,
    MetricKind,
    MetricSeries,
    Resource,
    Scope,
    SeriesPoints,
    Temporality,
)

BACKEND_SERVICE = "tradepulse-backend"
"""The `service.name` the backend stores its own host and process samples under."""
SCOPE = "tradepulse_backend.health"
LOAD_AVERAGE_1M = "system.cpu.load_average.1m"
"""Not (yet) in the semantic conventions; the name the OpenTelemetry Collector's hostmetrics
receiver uses."""
USED = "used"


class SampleRecords:
    """Turns samples into batches; series are built once and reused."""

    def __init__(self, service: str = BACKEND_SERVICE) -> None:
        self.service = service
        self.resource = Resource.of(service, {"service.name": service,
                                              "host.name": socket.gethostname()})
        self.scope = Scope.of(SCOPE, "", {})
        self._series: dict[tuple, MetricSeries] = {}
        self._boot_ns = int(psutil.boot_time() * 1e9)

    def _get(self, name: str, unit: str, attributes: dict, kind: MetricKind = MetricKind.GAUGE
             ) -> MetricSeries:
        key = (name, kind, tuple(sorted(attributes.items())))
        found = self._series.get(key)
        if found is None:
            cumulative = kind is MetricKind.SUM
            found = self._series[key] = MetricSeries.create(
                self.resource, self.scope, name, kind,
                Temporality.CUMULATIVE if cumulative else Temporality.UNSPECIFIED, cumulative,
                unit, "", attributes)
        return found

    def batch(self, sample: SystemMetrics, counters: dict[str, dict[str, int]] | None = None
              ) -> DecodedBatch:
        """Gauges of the sample, plus cumulative I/O counters when given ({"disk": {...},
        "network": {...}} as psutil names them)."""
        t = sample.timestamp_ns
        groups: list[SeriesPoints] = []

        def gauge(name: str, unit: str, value: float | None, **attributes) -> None:
            if value is not None:
                groups.append(SeriesPoints(self._get(name, unit, attributes), [(t, 0, value)]))

        def counter(name: str, unit: str, value: int | None, **attributes) -> None:
            if value is not None:
                groups.append(SeriesPoints(self._get(name, unit, attributes, MetricKind.SUM),
                                           [(t, self._boot_ns, float(value))]))

        gauge(sm.SYSTEM_CPU_UTILIZATION, "1", sample.cpu_percent / 100)
        gauge(sm.SYSTEM_CPU_LOGICAL_COUNT, "{cpu}", float(len(sample.cpu_per_core)))
        if sample.load_avg:
            gauge(LOAD_AVERAGE_1M, "{thread}", sample.load_avg[0])
        memory = {sys_attrs.SYSTEM_MEMORY_STATE: USED}
        gauge(sm.SYSTEM_MEMORY_USAGE, "By", float(sample.memory_used_bytes), **memory)
        gauge(sm.SYSTEM_MEMORY_UTILIZATION, "1", sample.memory_percent / 100, **memory)
        gauge(sm.SYSTEM_MEMORY_LIMIT, "By", float(sample.memory_total_bytes))
        paging = {sys_attrs.SYSTEM_PAGING_STATE: USED}
        gauge(sm.SYSTEM_PAGING_USAGE, "By", float(sample.swap_used_bytes), **paging)
        gauge(sm.SYSTEM_PAGING_UTILIZATION, "1", sample.swap_percent / 100, **paging)
        for disk in sample.disks:
            fs = {sys_attrs.SYSTEM_FILESYSTEM_MOUNTPOINT: disk.mount,
                  sys_attrs.SYSTEM_FILESYSTEM_STATE: USED}
            gauge(sm.SYSTEM_FILESYSTEM_USAGE, "By", float(disk.used_bytes), **fs)
            gauge(sm.SYSTEM_FILESYSTEM_UTILIZATION, "1", disk.percent / 100, **fs)
            gauge(sm.SYSTEM_FILESYSTEM_LIMIT, "By", float(disk.total_bytes),
                  **{sys_attrs.SYSTEM_FILESYSTEM_MOUNTPOINT: disk.mount})
        for direction, field in (("read", "read_bytes"), ("write", "write_bytes")):
            counter(sm.SYSTEM_DISK_IO, "By", (counters or {}).get("disk", {}).get(field),
                    **{disk_attrs.DISK_IO_DIRECTION: direction})
        for direction, suffix in (("receive", "recv"), ("transmit", "sent")):
            net = (counters or {}).get("network", {})
            tag = {net_attrs.NETWORK_IO_DIRECTION: direction}
            counter(sm.SYSTEM_NETWORK_IO, "By", net.get(f"bytes_{suffix}"), **tag)
            short = "in" if direction == "receive" else "out"
            counter(sm.SYSTEM_NETWORK_ERRORS, "{error}", net.get(f"err{short}"), **tag)
            counter(sm.SYSTEM_NETWORK_PACKET_DROPPED, "{packet}", net.get(f"drop{short}"),
                    **tag)
        process = sample.process
        gauge(pm.PROCESS_CPU_UTILIZATION, "1", process.cpu_percent / 100 / max(
            1, len(sample.cpu_per_core)))
        gauge(pm.PROCESS_MEMORY_USAGE, "By", float(process.rss_bytes))
        gauge(pm.PROCESS_THREAD_COUNT, "{thread}", float(process.threads))
        if process.open_fds is not None:
            gauge(pm.PROCESS_OPEN_FILE_DESCRIPTOR_COUNT, "{file_descriptor}",
                  float(process.open_fds))
        batch = DecodedBatch("metrics", metrics=groups)
        batch.accepted = len(groups)
        return batch
