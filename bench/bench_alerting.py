"""Alerting: rule evaluation CPU and outbox latency.

Rule evaluation: 1,000 rules (performance thresholds, a few percent of them crossing now and
then) against a stream of snapshots from 10 services, through `AlertingSystem.evaluate_alerts`
on a real store. Printed: rule evaluations per second, and the CPU share of one core that 10
snapshots/s cost, as a ratio to the same loop with no rules (the baseline: taking the
snapshot in). Target: under 20% of one core.

Outbox: notifications per second from the outbox to a local webhook receiver (http.server on
loopback in a process of its own, through the real webhook channel), and the latency from a
figure crossing its threshold to the receiver's accept, p50/p99, with `group_wait` 0.2 s.
Target: p99 under group_wait + 250 ms.
Run from the repo root: ``python -m bench.bench_alerting``.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from tradepulse_backend.alerting import build_pipeline
from tradepulse_backend.clock import ManualClock, SystemClock
from tradepulse_backend.config.alerting import AlertingSystemConfig
from tradepulse_backend.performance.snapshot import PerformanceSnapshot
from tradepulse_backend.store import Store
from tradepulse_backend.workers import Supervisor

CPU_TARGET = 0.20
RATE_PER_S = 10
SERVICES = 10
FIELDS = ("daily_return", "max_drawdown", "current_drawdown", "volatility", "var_95",
          "sharpe_ratio", "order_success_rate", "latency_p99_ms", "rejection_rate",
          "total_return")
GROUP_WAIT_S = 0.2


def _rules(count: int) -> dict[str, dict[str, Any]]:
    rules = {}
    for index in range(count):
        field = FIELDS[index % len(FIELDS)]
        op = "gt" if field in ("volatility", "latency_p99_ms", "rejection_rate") else "lt"
        threshold = -0.05 - (index % 17) * 0.002 if op == "lt" else 0.5 + (index % 13) * 0.01
        if field == "latency_p99_ms":
            threshold = 250.0 + index % 50
        rules[f"rule_{index}"] = {"conditions": [{"field": field, "operator": op,
                                                  "value": threshold}],
                                  "severity": ("info", "warning", "critical")[index % 3],
                                  "message": f"{field} is {{{field}}}",
                                  "channels": ["console"], "for": "30s" if index % 3 else 0}
    return rules


def _snapshot(step: int, service: int) -> PerformanceSnapshot:
    """Figures inside every threshold, except one service dipping past some of them for a
    few snapshots every 50 steps (alerts go pending, some fire, then resolve)."""
    wobble = ((step * 7 + service * 13) % 10) / 1000
    if step % 50 < 5 and service == (step // 50) % SERVICES:
        wobble = 0.04
    return PerformanceSnapshot(
        timestamp=step, service=f"bot-{service}", portfolio_value=100_000 - wobble * 1e4,
        daily_return=-0.02 - wobble, max_drawdown=-0.03 - wobble, current_drawdown=-wobble,
        volatility=0.2 + wobble, var_95=-0.02, sharpe_ratio=1.1 - wobble,
        order_success_rate=0.97, latency_p99_ms=120 + wobble * 1000, rejection_rate=0.03,
        total_return=0.04 - wobble)


def _evaluation_cpu(rules: int, snapshots: int, directory: Path) -> float:
    """CPU seconds per snapshot with `rules` rules."""
    config = AlertingSystemConfig.model_validate({"rules": _rules(rules),
                                                  "channels": {"console": {}}})
    clock = ManualClock(start_ns=1_767_225_600 * 10**9)
    store = Store.open(f"sqlite:///{directory / f'rules{rules}.db'}", directory)
    try:
        system = build_pipeline(config, store=store, clock=clock)
        start = time.process_time()
        for step in range(snapshots):
            clock.advance(1 / RATE_PER_S)
            system.evaluate_alerts(_snapshot(step, step % SERVICES))
            if step % RATE_PER_S == 0:
                system.tick()
        return (time.process_time() - start) / snapshots
    finally:
        store.close()


RECEIVER = """
import json, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        now = time.time_ns()
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
        services = [a["labels"].get("service", "") for a in body["alerts"]]
        sys.stdout.write(json.dumps([now, services]) + "\\n")
        sys.stdout.flush()

    def log_message(self, *args):
        return

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


class _Receiver:
    """A webhook receiver in its own process (so it shares no interpreter lock with the
    backend), reporting each accept's wall time by the services it names."""

    def __init__(self) -> None:
        self.arrivals: dict[str, int] = {}
        self.count = 0
        self.expected = 0
        self.done = threading.Event()
        self.process = subprocess.Popen([sys.executable, "-c", RECEIVER],
                                        stdout=subprocess.PIPE, text=True)
        port = int(self.process.stdout.readline())
        self.url = f"http://127.0.0.1:{port}/hook"
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            arrived, services = json.loads(line)
            for service in services:
                self.arrivals.setdefault(service, arrived)
            self.count += 1
            if self.count >= self.expected:
                self.done.set()

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def _outbox(directory: Path, latency_samples: int, burst: int) -> dict[str, float]:
    receiver = _Receiver()
    config = AlertingSystemConfig.model_validate({
        "group_wait": GROUP_WAIT_S, "evaluation_interval": 5,
        "channels": {"webhook": {"url": receiver.url, "timeout": 5}},
        "rate_limits": {"email": None, "slack": None},
        "rules": {"loss": {"conditions": ["daily_return lt -0.05"], "severity": "critical",
                           "channels": ["webhook"]}}})
    clock = SystemClock()
    store = Store.open(f"sqlite:///{directory / 'outbox.db'}", directory)
    supervisor = Supervisor(clock)
    system = build_pipeline(config, store=store, clock=clock)
    system.start(supervisor)
    supervisor.start()
    try:
        latencies = []
        for index in range(latency_samples):
            receiver.expected = receiver.count + 1
            receiver.done.clear()
            service = f"lat-{index}"
            crossed = time.time_ns()
            system.evaluate_alerts({"service": service, "daily_return": -0.06})
            receiver.done.wait(10)
            latencies.append((receiver.arrivals[service] - crossed) / 1e9)
        receiver.expected = receiver.count + burst
        receiver.done.clear()
        start = time.perf_counter()
        for index in range(burst):
            system.evaluate_alerts({"service": f"burst-{index}", "daily_return": -0.06})
        receiver.done.wait(120)
        elapsed = time.perf_counter() - start - GROUP_WAIT_S
        latencies.sort()
        return {"p50_ms": statistics.median(latencies) * 1e3,
                "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1e3,
                "per_s": burst / max(elapsed, 1e-9), "burst": burst}
    finally:
        supervisor.stop(5)
        system.close()
        store.close()
        receiver.close()


def run(rules: int = 1000, snapshots: int = 300, latency_samples: int = 100,
        burst: int = 300) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-alerting-") as tmp:
        directory = Path(tmp)
        baseline = _evaluation_cpu(0, snapshots, directory)
        loaded = _evaluation_cpu(rules, snapshots, directory)
        outbox = _outbox(directory, latency_samples, burst)
    return {"rules": rules, "baseline_us": baseline * 1e6, "per_snapshot_us": loaded * 1e6,
            "evaluations_per_s": rules / loaded,
            "cpu_share": loaded * RATE_PER_S, "ratio": loaded / baseline, **outbox}


def format_result(result: dict[str, float]) -> str:
    target_ms = GROUP_WAIT_S * 1e3 + 250
    return (f"alerting rules: {result['rules']:,} rules x 10 services: "
            f"{result['evaluations_per_s']:,.0f} rule evaluations/s; at {RATE_PER_S} snapshots/s "
            f"{result['cpu_share']:.1%} of one core (target < {CPU_TARGET:.0%}), "
            f"{result['per_snapshot_us']:,.0f}us per snapshot = {result['ratio']:.1f}x the "
            f"no-rule loop ({result['baseline_us']:,.0f}us)\n"
            f"alerting outbox: {result['per_s']:,.0f} notifications/s to a local webhook "
            f"({result['burst']:,} at once); threshold-to-receiver latency "
            f"p50={result['p50_ms']:.0f}ms p99={result['p99_ms']:.0f}ms "
            f"(target p99 < group_wait {GROUP_WAIT_S * 1e3:.0f}ms + 250ms = {target_ms:.0f}ms)")


if __name__ == "__main__":
    print(format_result(run()), flush=True)
