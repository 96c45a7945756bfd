"""Storage at scale, side by side with Prometheus on the same data: one bot, 53 series (portfolio
value, cash, P&L, prices, positions, order counters, latency, process figures), one point per
series every 10 s over `--days` days, loaded over OTLP/HTTP into a real `tradepulse serve` and,
when `/usr/bin/promtool` and `/usr/bin/prometheus` exist (Debian `prometheus`), with
`promtool tsdb create-blocks-from openmetrics` into a real Prometheus.

Printed for both, with tradepulse's ratio to Prometheus: bytes on disk per sample; one series
raw over the whole range (one request); one series at a 1 h step; the latest value of every
series; and for tradepulse the 30-day (or whole-range) summary time and the server's RSS.
Targets: bytes/sample <= 1.0x Prometheus, 1 h step <= 2x, latest <= 3x, summary < 300 ms,
backend RSS < 200 MiB.

    python -m bench.bench_storage [--days 7] [--no-prometheus]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2 as m
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from tradepulse import conventions as conv

SERVICE = "bench-bot"
STEP_S = 10
POINTS_PER_REQUEST = 60  # per series: ten minutes of every series in one export
READY = {"otlp": re.compile(r"OTLP/HTTP receiver: (http://\S+)"),
         "dashboard": re.compile(r"Dashboard: (http://\S+)")}
PROMETHEUS, PROMTOOL = Path("/usr/bin/prometheus"), Path("/usr/bin/promtool")
TARGETS = {"bytes_per_sample": 1.0, "step_1h": 2.0, "latest": 3.0}
SUMMARY_TARGET_MS, RSS_TARGET_MIB = 300, 200


@dataclass
class Series:
    """One series of the data set: name, kind, attributes and its values."""

    name: str
    kind: str  # "gauge" or "counter"
    attributes: dict[str, str]
    values: np.ndarray

    @property
    def prom_name(self) -> str:
        return self.name.replace(".", "_")

    def prom_selector(self) -> str:
        labels = {"service": SERVICE, **{_label(k): v for k, v in self.attributes.items()}}
        inner = ",".join(f'{k}="{v}"' for k, v in labels.items())
        return f"{self.prom_name}{{{inner}}}"


def _label(key: str) -> str:
    return key.replace(".", "_")


def dataset(days: float, seed: int = 42) -> tuple[np.ndarray, list[Series]]:
    """Times (ns) and 53 series of a trading bot, values as a real bot reports them (cents,
    whole quantities and counts, a few decimals for latencies and CPU)."""
    rng = np.random.default_rng(seed)
    n = int(days * 86_400 / STEP_S)
    end = int(time.time()) // STEP_S * STEP_S
    times = (end - STEP_S * np.arange(n - 1, -1, -1, dtype=np.int64)) * 10**9

    def walk(start: float, scale: float, decimals: int) -> np.ndarray:
        return np.round(start * np.exp(np.cumsum(rng.normal(0, scale, n))), decimals)

    def steps(rate: float, size: int) -> np.ndarray:
        return np.cumsum(rng.poisson(rate, n) * size).astype(float)

    series = [
        Series(conv.METRIC_PORTFOLIO_VALUE, "gauge", {}, walk(100_000, 2e-4, 2)),
        Series("trading.portfolio.cash", "gauge", {}, walk(40_000, 1e-4, 2)),
        Series("trading.pnl.realized", "gauge", {}, np.round(steps(0.01, 1) * 12.5, 2)),
        Series("trading.pnl.unrealized", "gauge", {}, np.round(rng.normal(0, 500, n), 2)),
    ]
    for i in range(12):
        symbol = {"trading.symbol": f"SYM{i}"}
        series.append(Series("trading.price", "gauge", symbol, walk(50 + 10 * i, 3e-4, 2)))
        series.append(Series("trading.position.quantity", "gauge", symbol,
                             np.floor(steps(0.002, 10) % 500)))
    for i in range(8):
        series.append(Series("trading.position.market_value", "gauge",
                             {"trading.symbol": f"SYM{i}"}, walk(5_000, 3e-4, 2)))
    for status, rate in (("filled", 0.3), ("rejected", 0.01), ("cancelled", 0.05),
                         ("submitted", 0.36)):
        series.append(Series(conv.METRIC_ORDERS, "counter", {"trading.order.status": status},
                             steps(rate, 1)))
    for quantile in ("0.5", "0.99"):
        base = 0.004 if quantile == "0.5" else 0.02
        series.append(Series("trading.order.latency", "gauge", {"quantile": quantile},
                             np.round(base + np.abs(rng.normal(0, base / 4, n)), 6)))
    series += [
        Series("process.cpu.utilization", "gauge", {}, np.round(rng.uniform(0, 0.4, n), 4)),
        Series("process.memory.usage", "gauge", {},
               np.round(200e6 + np.cumsum(rng.integers(-4096, 4097, n)), 0)),
        Series("process.memory.virtual", "gauge", {}, np.full(n, 1.2e9)),
        Series("process.thread.count", "gauge", {}, rng.integers(14, 17, n).astype(float)),
        Series("process.open_file_descriptor.count", "gauge", {},
               rng.integers(40, 44, n).astype(float)),
        Series("process.runtime.gc_count", "counter", {}, steps(0.5, 1)),
        Series("process.context_switches", "counter", {}, steps(80, 1)),
        Series("process.network.io", "counter", {"direction": "transmit"}, steps(4, 1500)),
        Series("process.network.io", "counter", {"direction": "receive"}, steps(9, 1500)),
        Series("process.disk.io", "counter", {"direction": "write"}, steps(2, 4096)),
        Series("process.disk.io", "counter", {"direction": "read"}, steps(0.1, 4096)),
    ]
    assert len(series) == 53, len(series)
    return times, series


# --- tradepulse ---------------------------------------------------------------------------------


def _kv(key: str, value: str) -> KeyValue:
    return KeyValue(key=key, value=AnyValue(string_value=value))


def otlp_requests(times: np.ndarray, series: list[Series], start_ns: int):
    """Export requests of POINTS_PER_REQUEST points of every series, oldest first."""
    resource = Resource(attributes=[_kv("service.name", SERVICE)])
    for low in range(0, times.size, POINTS_PER_REQUEST):
        chunk = times[low:low + POINTS_PER_REQUEST].tolist()
        metrics = []
        for item in series:
            points = [m.NumberDataPoint(time_unix_nano=t, start_time_unix_nano=start_ns,
                                        as_double=v,
                                        attributes=[_kv(k, a) for k, a in item.attributes.items()])
                      for t, v in zip(chunk, item.values[low:low + len(chunk)].tolist(),
                                      strict=True)]
            if item.kind == "counter":
                metrics.append(m.Metric(name=item.name, sum=m.Sum(
                    aggregation_temporality=m.AGGREGATION_TEMPORALITY_CUMULATIVE,
                    is_monotonic=True, data_points=points)))
            else:
                metrics.append(m.Metric(name=item.name, gauge=m.Gauge(data_points=points)))
        yield ExportMetricsServiceRequest(resource_metrics=[m.ResourceMetrics(
            resource=resource, scope_metrics=[m.ScopeMetrics(
                scope=InstrumentationScope(name="bench"), metrics=metrics)])]
        ).SerializeToString()


class Tradepulse:
    """A `tradepulse serve` for the run: compaction every second, every tier kept."""

    def __init__(self, workdir: Path, days: float) -> None:
        config = workdir / "tradepulse.yaml"
        keep = days + 2
        config.write_text(json.dumps({"monitoring": {
            "ingest": {"port": 0, "grpc_port": None, "queue_max_batches": 1024},
            "dashboard": {"port": 0},
            "storage": {"retention": {"raw": keep}, "chunks": {"interval": 1}},
            "performance_monitor": {"metrics_retention_days": int(keep) + 1}}}))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tradepulse_backend.cli", "serve", "--config", str(config),
             "--data-dir", str(workdir / "tp-data"), "--log-level", "WARNING"],
            stdout=subprocess.PIPE, text=True)
        self.urls: dict[str, str] = {}
        for line in self.process.stdout:
            for key, pattern in READY.items():
                if match := pattern.search(line):
                    self.urls[key] = match.group(1).rstrip("/")
            if len(self.urls) == len(READY):
                break
        threading.Thread(target=self.process.stdout.read, daemon=True).start()

    def load(self, requests) -> float:
        """Seconds to post every request (each answered 200: committed)."""
        parts = urllib.parse.urlsplit(self.urls["otlp"])
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
        started = time.perf_counter()
        for body in requests:
            while True:
                conn.request("POST", "/v1/metrics", body,
                             {"Content-Type": "application/x-protobuf"})
                response = conn.getresponse()
                response.read()
                if response.status == 200:
                    break
                if response.status not in (429, 503):
                    raise RuntimeError(f"OTLP export: HTTP {response.status}")
                time.sleep(float(response.getheader("Retry-After", "1")))
        conn.close()
        return time.perf_counter() - started

    def get(self, path: str) -> dict:
        with urllib.request.urlopen(self.urls["dashboard"] + path, timeout=300) as response:
            return json.loads(response.read())

    def wait_sealed(self, series: int, timeout_s: float = 1800) -> None:
        """Until compaction has sealed everything but the open windows."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            tiers = self.get("/api/v1/status")["storage"]["tiers"]
            if tiers["open"]["points"] <= series * (7200 + 600) // STEP_S:
                break
            time.sleep(1)
        else:
            raise RuntimeError("compaction did not catch up")
        sizes, steady = None, 0
        while steady < 3 and time.monotonic() < deadline:  # the last run's vacuum is done
            storage = self.get("/api/v1/status")["storage"]
            now = (storage["database_bytes"], storage["wal_bytes"])
            steady = steady + 1 if now == sizes else 0
            sizes = now
            time.sleep(1)

    def rss_mib(self) -> tuple[float, float]:
        """(current, peak) resident memory of the server in MiB."""
        return _rss(self.process.pid)

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _rss(pid: int) -> tuple[float, float]:
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0]) / 1024
    return found["VmRSS"], found["VmHWM"]


# --- Prometheus ---------------------------------------------------------------------------------


def openmetrics(path: Path, times: np.ndarray, series: list[Series]) -> None:
    """The data set as OpenMetrics text, one family after another, every series oldest first."""
    seconds = [f"{t / 1e9:.0f}" for t in times.tolist()]
    families: dict[str, list[Series]] = {}
    for item in series:
        families.setdefault(item.prom_name, []).append(item)
    with path.open("w") as out:
        for name, members in families.items():
            out.write(f"# TYPE {name} gauge\n")
            for item in members:
                selector = item.prom_selector()
                out.writelines(f"{selector} {v!r} {t}\n"
                               for v, t in zip(item.values.tolist(), seconds, strict=True))
        out.write("# EOF\n")


class Prometheus:
    """A Prometheus on a TSDB that promtool built from the OpenMetrics file."""

    def __init__(self, workdir: Path, source: Path, days: float) -> None:
        self.data = workdir / "prom-data"
        self.data.mkdir()
        subprocess.run([str(PROMTOOL), "tsdb", "create-blocks-from", "openmetrics",
                        str(source), str(self.data)], check=True, capture_output=True)
        config = workdir / "prometheus.yml"
        config.write_text("global: {scrape_interval: 1h}\nscrape_configs: []\n")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.process = subprocess.Popen(
            [str(PROMETHEUS), f"--config.file={config}", f"--storage.tsdb.path={self.data}",
             f"--web.listen-address=127.0.0.1:{self.port}",
             f"--storage.tsdb.retention.time={int(days) + 30}d"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=5):
                    return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError("prometheus did not become ready")

    def get(self, path: str, **params: str) -> dict:
        query = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}?{query}",
                                    timeout=300) as response:
            return json.loads(response.read())

    def bytes_on_disk(self) -> int:
        return sum(f.stat().st_size for f in self.data.rglob("*") if f.is_file())

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# --- the run ------------------------------------------------------------------------------------


def _best_ms(call, rounds: int = 5) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - started)
    return best * 1e3


def run(days: float = 7, prometheus: bool = True) -> dict[str, dict]:
    """Load both systems and measure them; {"tradepulse": {...}, "prometheus": {...} or None}."""
    times, series = dataset(days)
    samples = times.size * len(series)
    start_s, end_s = times[0] // 10**9, times[-1] // 10**9
    workdir = Path(tempfile.mkdtemp(prefix="bench-storage-"))
    results: dict[str, dict] = {"samples": {"count": samples, "days": days}}
    try:
        results["tradepulse"] = _measure_tradepulse(workdir, times, series, days, start_s,
                                                    end_s)
        if prometheus and PROMETHEUS.exists() and PROMTOOL.exists():
            results["prometheus"] = _measure_prometheus(workdir, times, series, days, start_s,
                                                        end_s)
        else:
            results["prometheus"] = None
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return results


def _measure_tradepulse(workdir: Path, times, series, days, start_s, end_s) -> dict:
    server = Tradepulse(workdir, days)
    try:
        load_s = server.load(otlp_requests(times, series, int(times[0]) - 10**9))
        server.wait_sealed(len(series))
        status = server.get("/api/v1/status")["storage"]
        samples = times.size * len(series)
        price = f"name=trading.price&service={SERVICE}&attr.trading.symbol=SYM0"
        span = f"&since={start_s}&until={end_s}"
        raw = server.get(f"/api/v1/metrics?{price}{span}&limit=1000000&format=columnar")
        assert len(raw["series"][0]["points"]["t"]) == times.size and not raw["truncated"]
        period = f"{int(min(days, 30) * 24)}h"
        figures = {
            "load_s": load_s,
            "bytes_per_sample": ((status["database_bytes"] or 0) + (status["wal_bytes"] or 0))
            / samples,
            "tiers": status["tiers"],
            "database_mib": (status["database_bytes"] or 0) / 2**20,
            "wal_mib": (status["wal_bytes"] or 0) / 2**20,
            "raw_ms": _best_ms(lambda: server.get(
                f"/api/v1/metrics?{price}{span}&limit=1000000&format=columnar"), 3),
            "step_1h_ms": _best_ms(lambda: server.get(
                f"/api/v1/metrics?{price}{span}&step=1h&agg=last&format=columnar")),
            "latest_ms": _best_ms(lambda: server.get(f"/api/v1/metrics/latest?service={SERVICE}")),
            "summary_period": period,
            "summary_ms": _best_ms(lambda: server.get(
                f"/api/v1/performance/summary?service={SERVICE}&period={period}"), 3),
        }
        latest = server.get(f"/api/v1/metrics/latest?service={SERVICE}")["latest"]
        assert len(latest) == len(series)
        figures["rss_mib"], figures["peak_rss_mib"] = server.rss_mib()
        return figures
    finally:
        server.close()


def _measure_prometheus(workdir: Path, times, series, days, start_s, end_s) -> dict:
    source = workdir / "data.om"
    openmetrics(source, times, series)
    built = time.perf_counter()
    prom = Prometheus(workdir, source, days)
    source.unlink()
    try:
        build_s = time.perf_counter() - built
        price = next(s for s in series if s.attributes.get("trading.symbol") == "SYM0"
                     and s.name == "trading.price")
        selector = price.prom_selector()
        raw = prom.get("/api/v1/query", query=f"{selector}[{int(end_s - start_s) + 1}s]",
                       time=str(end_s))
        assert len(raw["data"]["result"][0]["values"]) == times.size
        samples = times.size * len(series)
        figures = {
            "load_s": build_s,
            "bytes_per_sample": prom.bytes_on_disk() / samples,
            "raw_ms": _best_ms(lambda: prom.get(
                "/api/v1/query", query=f"{selector}[{int(end_s - start_s) + 1}s]",
                time=str(end_s)), 3),
            "step_1h_ms": _best_ms(lambda: prom.get(
                "/api/v1/query_range", query=f"last_over_time({selector}[1h])",
                start=str(start_s), end=str(end_s), step="3600")),
            "latest_ms": _best_ms(lambda: prom.get(
                "/api/v1/query", query=f'{{service="{SERVICE}"}}', time=str(end_s))),
        }
        latest = prom.get("/api/v1/query", query=f'{{service="{SERVICE}"}}', time=str(end_s))
        assert len(latest["data"]["result"]) == len(series)
        figures["rss_mib"], figures["peak_rss_mib"] = _rss(prom.process.pid)
        return figures
    finally:
        prom.close()


def report(results: dict) -> list[str]:
    tp, prom = results["tradepulse"], results["prometheus"]
    count = results["samples"]
    lines = [f"storage: {count['count']:,} samples (53 series, 10 s, {count['days']:g} days)"]

    def row(label: str, key: str, unit: str, target: float | None = None) -> str:
        line = f"  {label:<34} tradepulse {tp[key]:10.2f} {unit}"
        if prom is not None:
            ratio = tp[key] / prom[key] if prom[key] else float("inf")
            line += f" | prometheus {prom[key]:10.2f} {unit} | ratio {ratio:5.2f}"
            if target is not None:
                line += f" (target <= {target:g}) {'ok' if ratio <= target else 'MISSED'}"
        return line

    lines.append(row("bytes on disk per sample", "bytes_per_sample", "B ",
                     TARGETS["bytes_per_sample"]))
    lines.append(row("one series raw, whole range", "raw_ms", "ms"))
    lines.append(row("one series, 1 h step", "step_1h_ms", "ms", TARGETS["step_1h"]))
    lines.append(row("latest value of every series", "latest_ms", "ms", TARGETS["latest"]))
    lines.append(row("load (OTLP post / promtool build)", "load_s", "s "))
    summary_ok = "ok" if tp["summary_ms"] < SUMMARY_TARGET_MS else "MISSED"
    lines.append(f"  {tp['summary_period']} summary: {tp['summary_ms']:.1f} ms "
                 f"(target < {SUMMARY_TARGET_MS} ms) {summary_ok}")
    rss_ok = "ok" if tp["rss_mib"] < RSS_TARGET_MIB else "MISSED"
    prom_rss = (f"; prometheus {prom['rss_mib']:.0f} MiB (peak {prom['peak_rss_mib']:.0f})"
                if prom else "")
    lines.append(f"  backend RSS after the run: {tp['rss_mib']:.0f} MiB "
                 f"(peak {tp['peak_rss_mib']:.0f}; target < {RSS_TARGET_MIB}) {rss_ok}{prom_rss}")
    tiers = ", ".join(f"{name} {t['bytes_per_sample']} B/sample over {t['samples']:,}"
                      for name, t in tp["tiers"].items() if "bytes_per_sample" in t)
    lines.append(f"  tradepulse tiers: {tiers}; open points {tp['tiers']['open']['points']:,}; "
                 f"database {tp['database_mib']:.1f} MiB + WAL {tp['wal_mib']:.1f} MiB")
    if prom is None:
        lines.append("  prometheus: not measured (/usr/bin/prometheus and /usr/bin/promtool "
                     "needed; Debian package `prometheus`)")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=7, help="days of 10 s data (default 7)")
    parser.add_argument("--no-prometheus", action="store_true",
                        help="measure tradepulse alone")
    args = parser.parse_args()
    for line in report(run(args.days, prometheus=not args.no_prometheus)):
        print(line, flush=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
