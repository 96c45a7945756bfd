"""Dashboard live stream and chart history against a real `tradepulse serve`.

1. Latency from OTLP ingest (the 200 answer to a posted portfolio value) to the `performance`
   message carrying that value on the WebSocket, p50 and p99, with 1 and with 100 connected
   clients (target p99 <= 250 ms). The clients run as threads of one child process, so their
   own parsing is part of the figure.
2. Fan-out: 200 clients, 10 updates/s for 30 s. Every client must get every update, or a newer
   value of it (state messages keep the newest per key while a client is behind), or a resync;
   anything else is "missed" (target 0). REST `GET /api/v1/performance` p99 while the 200
   clients listen, as a ratio to the same updates with no client (measured before and after
   the fan-out, pooled; target <= 1.5).
3. Equity chart history: 90 days of 10-second snapshots (777,600 rows) read at 1,000 px
   (`max_points=1000`): points returned (target <= 1,000) and time, beside reading the newest
   100,000 rows of the same range unthinned (the endpoint's largest `limit`).

    python -m bench.bench_dashboard [--seconds 30] [--fanout 200] [--latency-updates 60]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import multiprocessing
import re
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import websocket
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2 as m
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from tests.support import RunningServer
from tradepulse_backend.store import Store
from tradepulse_backend.store import performance as stored

SERVICE = "bench-bot"
_SEQ = re.compile(r'"seq":(\d+)\}$')
_VALUE = re.compile(r'"portfolio_value":(-?[0-9.eE+-]+)')
"""The bench's clients read `performance` messages with these (json.loads of every message
cost this 2-core machine more CPU than the server's whole fan-out)."""
LATENCY_TARGET_MS = 250.0
REST_RATIO_TARGET = 1.5
HISTORY_DAYS = 90
HISTORY_STEP_S = 10
PIXELS = 1000


# --- OTLP -----------------------------------------------------------------------------------

def _kv(key: str, value: str) -> KeyValue:
    return KeyValue(key=key, value=AnyValue(string_value=value))


def portfolio_body(value: float) -> bytes:
    point = m.NumberDataPoint(time_unix_nano=time.time_ns(), as_double=value,
                              attributes=[_kv("trading.currency", "USD")])
    metric = m.Metric(name="trading.portfolio.value", unit="{currency}",
                      gauge=m.Gauge(data_points=[point]))
    return ExportMetricsServiceRequest(resource_metrics=[m.ResourceMetrics(
        resource=Resource(attributes=[_kv("service.name", SERVICE)]),
        scope_metrics=[m.ScopeMetrics(metrics=[metric])])]).SerializeToString()


class Poster:
    """Posts portfolio values over one keep-alive connection; `post` returns at the 200."""

    def __init__(self, otlp_url: str) -> None:
        parts = urlsplit(otlp_url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)

    def post(self, value: float) -> float:
        self.conn.request("POST", "/v1/metrics", portfolio_body(value),
                          {"Content-Type": "application/x-protobuf"})
        response = self.conn.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"OTLP answered {response.status}")
        return time.perf_counter()


# --- WebSocket clients ----------------------------------------------------------------------

class Listener:
    """One WebSocket client on its own thread, recording when each portfolio value arrived
    and when it was told to resync."""

    def __init__(self, dashboard_url: str) -> None:
        url = dashboard_url.replace("http", "ws", 1) + f"/ws?service={SERVICE}"
        self.ws = websocket.create_connection(url, timeout=60, enable_multithread=False,
                                                skip_utf8_validation=True)
        self.values: dict[float, float] = {}
        self.resyncs: list[float] = []
        self.messages = 0
        self.seq_gaps = 0
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        last_seq = 0
        while True:
            try:
                raw = self.ws.recv()
            except Exception:
                return
            if not raw:
                return
            now = time.perf_counter()
            self.messages += 1
            seq = int(_SEQ.search(raw, len(raw) - 24).group(1))
            if seq != last_seq + 1:
                self.seq_gaps += 1
            last_seq = seq
            head = raw[:40]
            if '"performance"' in head:
                for value in _VALUE.findall(raw):
                    self.values.setdefault(float(value), now)
            elif '"snapshot"' in head:
                message = json.loads(raw)
                self._record(message["data"]["performance"].get(SERVICE, {})
                             .get("performance", []), now)
                self.ready.set()
            elif '"resync"' in head:
                self.resyncs.append(now)

    def _record(self, snapshots: list[dict], now: float) -> None:
        for snap in snapshots:
            if snap.get("portfolio_value") is not None:
                self.values.setdefault(snap["portfolio_value"], now)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ws.close(timeout=1)


def connect(dashboard_url: str, count: int) -> list[Listener]:
    listeners = [Listener(dashboard_url) for _ in range(count)]
    for listener in listeners:
        if not listener.ready.wait(30):
            raise RuntimeError("a client got no snapshot")
    return listeners


def _clients_process(dashboard_url: str, count: int, pipe) -> None:
    """The clients, in a process of their own (their JSON parsing must not hold this
    process's GIL while it times REST). Answers the parent's requests over `pipe`."""
    listeners = connect(dashboard_url, count)
    pipe.send("ready")
    while True:
        request, *args = pipe.recv()
        if request == "arrivals":
            value, timeout = args
            deadline = time.perf_counter() + timeout
            while (time.perf_counter() < deadline
                   and not all(value in listener.values for listener in listeners)):
                time.sleep(0.001)
            pipe.send([listener.values.get(value) for listener in listeners])
        elif request == "await":
            value, timeout = args
            deadline = time.perf_counter() + timeout
            while time.perf_counter() < deadline and not all(
                    listener.values and max(listener.values) >= value
                    for listener in listeners):
                time.sleep(0.05)
            time.sleep(0.5)
            pipe.send([(listener.values, listener.resyncs, listener.seq_gaps)
                       for listener in listeners])
        else:
            for listener in listeners:
                listener.close()
            pipe.send("closed")
            return


class Clients:
    """`count` WebSocket clients in a child process (perf_counter is system-wide on Linux,
    so arrival times compare with this process's)."""

    def __init__(self, dashboard_url: str, count: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipe, child = context.Pipe()
        self.process = context.Process(target=_clients_process,
                                       args=(dashboard_url, count, child), daemon=True)
        self.process.start()
        if not self.pipe.poll(120) or self.pipe.recv() != "ready":
            raise RuntimeError("clients did not connect")

    def ask(self, *request):
        self.pipe.send(request)
        return self.pipe.recv()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ask("close")
        self.process.join(10)
        if self.process.is_alive():
            self.process.kill()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# --- 1. latency -----------------------------------------------------------------------------

def measure_latency(server: RunningServer, clients: int, updates: int, base: float
                    ) -> dict[str, float]:
    """Sequential updates; each waits until every client has it (or 5 s)."""
    listeners = Clients(server.dashboard, clients)
    poster = Poster(server.otlp)
    samples: list[float] = []
    missing = 0
    try:
        for i in range(updates):
            sent = poster.post(base + i)
            for arrived in listeners.ask("arrivals", base + i, 5.0):
                if arrived is None:
                    missing += 1
                else:
                    samples.append((arrived - sent) * 1000)
            time.sleep(0.02)
    finally:
        listeners.close()
    return {"clients": clients, "samples": len(samples), "missing": missing,
            "p50_ms": percentile(samples, 0.50), "p99_ms": percentile(samples, 0.99)}


# --- 2. fan-out -----------------------------------------------------------------------------

def _rest_sampler(dashboard_url: str, stop: threading.Event, out: list[float]) -> None:
    parts = urlsplit(dashboard_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    while not stop.is_set():
        start = time.perf_counter()
        conn.request("GET", f"/api/v1/performance?service={SERVICE}")
        response = conn.getresponse()
        response.read()
        out.append((time.perf_counter() - start) * 1000)
        time.sleep(0.02)


def _updates(server: RunningServer, seconds: float, rate: float, base: float
             ) -> list[tuple[float, float]]:
    """Post `rate` values per second for `seconds`; (value, time of its 200) each."""
    poster = Poster(server.otlp)
    sent: list[tuple[float, float]] = []
    start = time.perf_counter()
    for i in range(int(seconds * rate)):
        due = start + i / rate
        if (wait := due - time.perf_counter()) > 0:
            time.sleep(wait)
        sent.append((base + i, poster.post(base + i)))
    return sent


def rest_during_updates(server: RunningServer, seconds: float, base: float) -> list[float]:
    """REST timings (ms) while 10 updates/s are posted and no client listens."""
    stop, timings = threading.Event(), []
    sampler = threading.Thread(target=_rest_sampler, args=(server.dashboard, stop, timings))
    sampler.start()
    _updates(server, seconds, 10, base)
    stop.set()
    sampler.join()
    return timings


def measure_fanout(server: RunningServer, clients: int, seconds: float, base: float
                   ) -> dict[str, float]:
    listeners = Clients(server.dashboard, clients)
    stop, timings = threading.Event(), []
    sampler = threading.Thread(target=_rest_sampler, args=(server.dashboard, stop, timings))
    sampler.start()
    try:
        sent = _updates(server, seconds, 10, base)
        stop.set()
        sampler.join()
        seen = listeners.ask("await", sent[-1][0], 30.0)
    finally:
        listeners.close()
    counts = {"received": 0, "superseded": 0, "resynced": 0, "missed": 0}
    for values, resyncs, _gaps in seen:
        newest = max(values) if values else float("-inf")
        for value, posted in sent:
            if value in values:
                counts["received"] += 1
            elif any(t >= posted for t in resyncs):
                counts["resynced"] += 1
            elif newest > value:
                counts["superseded"] += 1
            else:
                counts["missed"] += 1
    status = server.api("/status")
    return {"clients": clients, "updates": len(sent), **counts,
            "resync_messages": sum(len(resyncs) for _v, resyncs, _g in seen),
            "seq_gaps": sum(gaps for _v, _r, gaps in seen),
            "server_dropped": status["websockets"]["dropped_messages"],
            "server_resyncs": status["websockets"]["resyncs"],
            "rest_p99_ms": percentile(timings, 0.99)}


# --- 3. history -----------------------------------------------------------------------------

def seed_history(data_dir: Path) -> int:
    """90 days of 10-second snapshots of SERVICE's equity, written straight to the store."""
    store = Store.open(f"sqlite:///{data_dir / 'tradepulse.db'}", data_dir)
    try:
        end = time.time_ns()
        step = HISTORY_STEP_S * 10**9
        count = HISTORY_DAYS * 86_400 // HISTORY_STEP_S
        chunk = 50_000
        for first in range(0, count, chunk):
            rows = [{"service_name": "history-bot", "portfolio": "",
                     "time_ns": end - (count - i) * step,
                     "body": json.dumps({"portfolio_value": 100_000.0 + i % 977})}
                    for i in range(first, min(count, first + chunk))]
            stored.save(store, rows, [])
        return count
    finally:
        store.close()


def _timed_get(server: RunningServer, path: str, rounds: int = 5) -> tuple[float, dict]:
    best, body = float("inf"), {}
    for _ in range(rounds):
        start = time.perf_counter()
        status, body = server.get(path)
        best = min(best, time.perf_counter() - start)
        if status != 200:
            raise RuntimeError(f"{path}: {status} {body}")
    return best * 1000, body


def measure_history(root: Path) -> dict[str, float]:
    data_dir = root / "history"
    data_dir.mkdir()
    rows = seed_history(data_dir)
    server = RunningServer(data_dir)
    try:
        base = "/api/v1/performance/history?service=history-bot&field=portfolio_value&since=90d"
        thin_ms, thin = _timed_get(server, f"{base}&max_points={PIXELS}")
        raw_ms, raw = _timed_get(server, f"{base}&limit=100000")
    finally:
        server.stop()
    return {"rows": rows, "points": len(thin["points"]), "ms": thin_ms,
            "raw_points": len(raw["points"]), "raw_ms": raw_ms}


# --- running and reporting ------------------------------------------------------------------

def run(seconds: float = 30, fanout: int = 200, latency_updates: int = 60) -> dict:
    with tempfile.TemporaryDirectory(prefix="tradepulse-bench-dash-") as tmp:
        root = Path(tmp)
        limit = max(fanout, 100) + 8
        server = RunningServer(root / "live", {"dashboard": {"max_websockets": limit}})
        try:
            alone = rest_during_updates(server, min(seconds, 10), 3_000_000)
            results = {
                "latency_1": measure_latency(server, 1, latency_updates, 1_000_000),
                "latency_100": measure_latency(server, 100, latency_updates, 2_000_000),
                "fanout": measure_fanout(server, fanout, seconds, 4_000_000),
            }
            alone += rest_during_updates(server, min(seconds, 10), 5_000_000)
            results["rest_alone_p99_ms"] = percentile(alone, 0.99)
        finally:
            server.stop()
        results["history"] = measure_history(root)
    return results


def report(results: dict) -> list[str]:
    lines = []
    for key in ("latency_1", "latency_100"):
        r = results[key]
        lines.append(
            f"dashboard_ws_latency_{r['clients']}_clients: p50={r['p50_ms']:.1f} ms "
            f"p99={r['p99_ms']:.1f} ms over {r['samples']} deliveries, {r['missing']} not "
            f"delivered within 5 s (target p99 <= {LATENCY_TARGET_MS:.0f} ms; from the OTLP 200 "
            "to the performance message)")
    f = results["fanout"]
    expected = f["clients"] * f["updates"]
    lines.append(
        f"dashboard_fanout: {f['clients']} clients x {f['updates']} updates = {expected}: "
        f"received={f['received']} newer-value={f['superseded']} resync={f['resynced']} "
        f"missed={f['missed']} (target missed = 0); resync messages={f['resync_messages']}, "
        f"seq gaps={f['seq_gaps']}, server dropped={f['server_dropped']}")
    ratio = f["rest_p99_ms"] / results["rest_alone_p99_ms"]
    lines.append(
        f"dashboard_rest_under_fanout: /api/v1/performance p99={f['rest_p99_ms']:.1f} ms with "
        f"{f['clients']} clients vs {results['rest_alone_p99_ms']:.1f} ms with none, "
        f"ratio={ratio:.2f} (target <= {REST_RATIO_TARGET})")
    h = results["history"]
    lines.append(
        f"dashboard_history_90d: {h['rows']:,} snapshots at {PIXELS} px -> {h['points']} "
        f"points in {h['ms']:.1f} ms (target <= {PIXELS} points); the newest 100,000 "
        f"unthinned: {h['raw_points']:,} points in {h['raw_ms']:.1f} ms")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--fanout", type=int, default=200)
    parser.add_argument("--latency-updates", type=int, default=60)
    args = parser.parse_args()
    for line in report(run(args.seconds, args.fanout, args.latency_updates)):
        print(line, flush=True)


if __name__ == "__main__":
    main()
