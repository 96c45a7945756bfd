"""The health monitor's own cost: a real `tradepulse serve` idle (the baseline: its health
monitor samples the host but has nothing else to watch) against the same server with 50
registered checkers (half sync, half async) and 20 services exporting through the official
OpenTelemetry SDK exporters at the tradepulse default interval (metrics every 10 s, with
process and broker gauges, and one span per second each). Printed: CPU share of one core and
RSS of the server process tree in each arm, what the load added, and the ratio to idle
(target: the added CPU under 2% of one core); then the monitor's own work timed in-process
(absorbing a bot's export, one evaluation pass over 50 checkers and 20 services, one host
sample) scaled to the same rates, which is the monitor's share without ingest's.

    python -m bench.bench_health [--seconds S] [--checkers N] [--services M]
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from tradepulse import conventions as conv
from tradepulse.settings import DEFAULT_EXPORT_INTERVAL_MS
from tradepulse_backend.clock import ManualClock
from tradepulse_backend.config import SystemHealthConfig
from tradepulse_backend.health import SystemHealthMonitor
from tradepulse_backend.telemetry.records import (
    DecodedBatch,
    MetricKind,
    MetricSeries,
    Scope,
    SeriesPoints,
    Temporality,
)
from tradepulse_backend.telemetry.records import (
    Resource as RecordResource,
)

READY = re.compile(r"OTLP/HTTP receiver: (http://\S+)")
TARGET_CPU_SHARE = 0.02
WARMUP_S = 5.0


def start_server(data_dir: Path, checkers: int) -> tuple[subprocess.Popen, str]:
    data_dir.mkdir(parents=True, exist_ok=True)
    config = data_dir / "bench.yaml"
    config.write_text("monitoring:\n  ingest: {port: 0, grpc_port: null}\n"
                      "  dashboard: {port: 0}\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.health_server", str(checkers), "serve", "--config",
         str(config), "--data-dir", str(data_dir / "db"), "--log-level", "WARNING"],
        stdout=subprocess.PIPE, text=True)
    for line in process.stdout:
        if match := READY.search(line):
            threading.Thread(target=process.stdout.read, daemon=True).start()
            return process, match.group(1)
    raise RuntimeError(f"server exited with {process.wait()}")


def _tree(process: subprocess.Popen) -> list[psutil.Process]:
    root = psutil.Process(process.pid)
    return [root, *root.children(recursive=True)]


def _cpu_seconds(processes: list[psutil.Process]) -> float:
    total = 0.0
    for proc in processes:
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def measure(process: subprocess.Popen, seconds: float) -> dict[str, float]:
    """CPU share of one core and RSS of the server's process tree over `seconds`."""
    time.sleep(WARMUP_S)
    processes = _tree(process)
    cpu_before, wall_before = _cpu_seconds(processes), time.monotonic()
    time.sleep(seconds)
    cpu_after, wall_after = _cpu_seconds(processes), time.monotonic()
    rss = sum(p.memory_info().rss for p in processes if p.is_running())
    return {"cpu_share": (cpu_after - cpu_before) / (wall_after - wall_before),
            "rss_bytes": float(rss)}


class Exporters:
    """`count` services exporting metrics at the SDK's default interval and a span a second."""

    def __init__(self, url: str, count: int) -> None:
        self.meters: list[MeterProvider] = []
        self.tracers: list[TracerProvider] = []
        self._stop = threading.Event()
        for i in range(count):
            resource = Resource.create({"service.name": f"bench-bot-{i}"})
            reader = PeriodicExportingMetricReader(
                OTLPMetricExporter(endpoint=f"{url}/v1/metrics", timeout=10),
                export_interval_millis=DEFAULT_EXPORT_INTERVAL_MS)
            meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
            meter = meter_provider.get_meter("bench")
            meter.create_observable_gauge("process.memory.usage", [_constant(150e6)], unit="By")
            meter.create_observable_gauge("process.cpu.utilization", [_constant(0.02)],
                                          unit="1")
            meter.create_observable_gauge("process.thread.count", [_constant(12)])
            meter.create_observable_gauge(conv.METRIC_BROKER_CONNECTED, [_constant(
                1, {conv.ATTR_BROKER: "bench-broker"})])
            meter.create_observable_gauge(conv.METRIC_PORTFOLIO_VALUE, [_constant(100_000)])
            tracer_provider = TracerProvider(resource=resource)
            tracer_provider.add_span_processor(BatchSpanProcessor(
                OTLPSpanExporter(endpoint=f"{url}/v1/traces", timeout=10)))
            self.meters.append(meter_provider)
            self.tracers.append(tracer_provider)
        self._thread = threading.Thread(target=self._spans, daemon=True)
        self._thread.start()

    def _spans(self) -> None:
        tracers = [p.get_tracer("bench") for p in self.tracers]
        while not self._stop.wait(1.0):
            for tracer in tracers:
                with tracer.start_as_current_span(conv.SPAN_STRATEGY_STEP):
                    pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        for provider in [*self.meters, *self.tracers]:
            provider.shutdown()


def _constant(value: float, attributes: dict | None = None):
    def observe(_options: CallbackOptions):
        yield Observation(value, attributes or {})

    return observe


def run_arm(checkers: int, services: int, seconds: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="tradepulse-bench-health-") as tmp:
        process, url = start_server(Path(tmp), checkers)
        exporters = Exporters(url, services) if services else None
        try:
            return measure(process, seconds)
        finally:
            if exporters is not None:
                exporters.close()
            process.terminate()
            process.wait(timeout=60)


def _bot_batch(service: str, time_ns: int) -> DecodedBatch:
    resource = RecordResource.of(service, {"service.name": service})
    scope = Scope.of("bench", "", {})
    groups = []
    for name, value, attrs in (("process.memory.usage", 150e6, {}),
                               ("process.cpu.utilization", 0.02, {}),
                               ("process.thread.count", 12.0, {}),
                               (conv.METRIC_BROKER_CONNECTED, 1.0,
                                {conv.ATTR_BROKER: "bench-broker"}),
                               (conv.METRIC_PORTFOLIO_VALUE, 1e5, {})):
        series = MetricSeries.create(resource, scope, name, MetricKind.GAUGE,
                                     Temporality.UNSPECIFIED, False, "", "", attrs)
        groups.append(SeriesPoints(series, [(time_ns, 0, value)]))
    return DecodedBatch("metrics", metrics=groups)


def monitor_work(checkers: int, services: int, repeats: int = 200) -> dict[str, float]:
    """CPU microseconds (process time, so the checkers' threads count) of the monitor's own
    work per absorbed export, per evaluation pass and per host sample (not stored), and the
    CPU share of one core they add up to at the default rates (exports every 10 s per service,
    evaluation every tick, a sample every 30 s)."""
    config = SystemHealthConfig()
    clock = ManualClock()
    monitor = SystemHealthMonitor(config, clock=clock)
    for i in range(checkers):
        monitor.register_health_checker(f"c{i}", lambda: True)
    batches = [_bot_batch(f"bench-bot-{i}", clock.now_ns()) for i in range(services)]
    absorb = []
    for _ in range(repeats // 10):
        clock.advance(10)
        start = time.process_time()
        for batch in batches:
            monitor.absorb(batch)
        absorb.append((time.process_time() - start) / len(batches) * 1e6)
    evaluate = []
    for _ in range(repeats):
        clock.advance(config.checkers.tick)
        start = time.process_time()
        monitor.evaluate()
        evaluate.append((time.process_time() - start) * 1e6)
    sample = []
    for _ in range(10):
        start = time.process_time()
        monitor.sample(store=False)
        sample.append((time.process_time() - start) * 1e6)
    result = {"absorb_us": statistics.median(absorb),
              "evaluate_us": statistics.fmean(evaluate),
              "sample_us": statistics.median(sample)}
    export_s = DEFAULT_EXPORT_INTERVAL_MS / 1000
    per_second_us = (result["absorb_us"] * services / export_s
                     + result["evaluate_us"] / config.checkers.tick
                     + result["sample_us"] / config.monitoring_interval)
    result["cpu_share"] = per_second_us / 1e6
    return result


def run(seconds: float = 60.0, checkers: int = 50, services: int = 20) -> dict:
    idle = run_arm(0, 0, seconds)
    loaded = run_arm(checkers, services, seconds)
    added_cpu = loaded["cpu_share"] - idle["cpu_share"]
    return {"seconds": seconds, "checkers": checkers, "services": services, "idle": idle,
            "loaded": loaded, "added_cpu_share": added_cpu,
            "added_rss_bytes": loaded["rss_bytes"] - idle["rss_bytes"],
            "cpu_ratio": loaded["cpu_share"] / idle["cpu_share"] if idle["cpu_share"] else None,
            "rss_ratio": loaded["rss_bytes"] / idle["rss_bytes"],
            "monitor": monitor_work(checkers, services)}


def report(result: dict) -> list[str]:
    idle, loaded, own = result["idle"], result["loaded"], result["monitor"]
    ratio = "n/a" if result["cpu_ratio"] is None else f"{result['cpu_ratio']:.2f}x"
    verdict = "ok" if result["added_cpu_share"] < TARGET_CPU_SHARE else "ABOVE TARGET"
    return [
        f"health: {result['checkers']} checkers + {result['services']} exporting services, "
        f"{result['seconds']:.0f}s per arm",
        f"  idle backend:   cpu {idle['cpu_share']:.2%} of a core, "
        f"rss {idle['rss_bytes'] / 2**20:.1f} MiB",
        f"  loaded backend: cpu {loaded['cpu_share']:.2%} of a core, "
        f"rss {loaded['rss_bytes'] / 2**20:.1f} MiB",
        f"  added: cpu {result['added_cpu_share']:+.2%} of a core (ratio to idle {ratio}; "
        f"target < {TARGET_CPU_SHARE:.0%}: {verdict}), rss {result['added_rss_bytes'] / 2**20:+.1f}"
        f" MiB (ratio {result['rss_ratio']:.2f}x); includes ingesting the exports",
        f"  monitor's own work: absorb {own['absorb_us']:.0f}us/export, evaluate "
        f"{own['evaluate_us']:.0f}us/tick, sample {own['sample_us'] / 1e3:.1f}ms -> "
        f"{own['cpu_share']:.2%} of a core",
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--checkers", type=int, default=50)
    parser.add_argument("--services", type=int, default=20)
    args = parser.parse_args(argv)
    for line in report(run(args.seconds, args.checkers, args.services)):
        print(line, flush=True)


if __name__ == "__main__":
    main()
