"""Forwarding overhead: ingest throughput of a real `tradepulse serve` (pinned to one core,
SQLite) that forwards every committed request to one destination (a local recording server in
its own process), as a ratio to the same server without forwarding. Target >= 0.8.

The two servers run side by side and take turns, best of `rounds` each, so load from elsewhere
on the machine falls on both alike. The forwarding server's sender works while ingest is
measured (it shares the server's core); how far it was behind when ingest finished, and how long
it then took to drain, are printed too.

    python -m bench.bench_forwarding [--batches N] [--clients K] [--rounds R]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from bench.bench_ingest import post_all
from bench.payloads import BATCH, metric_requests, span_requests

READY = re.compile(r"OTLP/HTTP receiver: (http://\S+)")
DASHBOARD = re.compile(r"Dashboard: (http://\S+)")
TARGET = 0.8


def start_server(data_dir: Path, cpu: int | None, forward_to: str | None
                 ) -> tuple[subprocess.Popen, str, str]:
    """A server, forwarding to `forward_to` when given; returns (process, otlp, dashboard)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    config = data_dir / "bench.yaml"
    forwarding = (f"  forwarding:\n    - {{name: recorder, endpoint: '{forward_to}'}}\n"
                  if forward_to else "")
    config.write_text("monitoring:\n  ingest: {port: 0, grpc_port: null, queue_max_batches: 1024}\n"
                      "  dashboard: {port: 0}\n" + forwarding)
    pin = (lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None
    process = subprocess.Popen(
        [sys.executable, "-m", "tradepulse_backend.cli", "serve", "--config", str(config),
         "--data-dir", str(data_dir / "db"), "--log-level", "WARNING"],
        stdout=subprocess.PIPE, text=True, preexec_fn=pin)
    urls = {}
    for line in process.stdout:
        for key, pattern in (("otlp", READY), ("dashboard", DASHBOARD)):
            if match := pattern.search(line):
                urls[key] = match.group(1).rstrip("/")
        if len(urls) == 2:
            threading.Thread(target=process.stdout.read, daemon=True).start()
            return process, urls["otlp"], urls["dashboard"]
    raise RuntimeError("server did not start")


def start_recorder() -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen([sys.executable, "-m", "bench.forward_recorder"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    return process, process.stdout.readline().strip()


def forwarding_stats(dashboard: str) -> dict:
    with urllib.request.urlopen(f"{dashboard}/api/v1/status", timeout=30) as response:
        return json.load(response)["forwarding"]["recorder"]


def wait_drained(dashboard: str, timeout: float = 300) -> float:
    """Seconds until the forwarding queue is empty."""
    start = time.perf_counter()
    while forwarding_stats(dashboard)["queue_requests"]:
        if time.perf_counter() - start > timeout:
            raise RuntimeError("forwarding did not drain")
        time.sleep(0.05)
    return time.perf_counter() - start


def run(batches: int = 200, clients: int = 4, rounds: int = 3) -> dict[str, dict]:
    """{signal: {plain, forwarding, ratio, behind, drain_s}} in items per second."""
    cpus = sorted(os.sched_getaffinity(0))
    server_cpu = cpus[0] if len(cpus) > 1 else None
    if server_cpu is not None:
        os.sched_setaffinity(0, set(cpus[1:]))
    payloads = {"traces": span_requests(batches), "metrics": metric_requests(batches)}
    best = {kind: dict.fromkeys(payloads, 0.0) for kind in ("plain", "forwarding")}
    behind = dict.fromkeys(payloads, 0)
    drain = dict.fromkeys(payloads, 0.0)
    recorder, recorder_url = start_recorder()
    with tempfile.TemporaryDirectory(prefix="tp-bench-fwd-") as tmp:
        servers = {kind: start_server(Path(tmp) / kind, server_cpu,
                                      recorder_url if kind == "forwarding" else None)
                   for kind in best}
        try:
            for signal, bodies in payloads.items():
                warmup = {"traces": span_requests(4, seed=99),
                          "metrics": metric_requests(4, seed=99)}[signal]
                for _process, url, _dashboard in servers.values():
                    post_all(url, f"/v1/{signal}", warmup, 1)
                wait_drained(servers["forwarding"][2])
                for _ in range(rounds):
                    for kind, (_process, url, dashboard) in servers.items():
                        rate = len(bodies) * BATCH / post_all(url, f"/v1/{signal}", bodies,
                                                              clients)
                        best[kind][signal] = max(best[kind][signal], rate)
                        if kind == "forwarding":
                            behind[signal] = max(behind[signal],
                                                 forwarding_stats(dashboard)["queue_requests"])
                            drain[signal] = max(drain[signal], wait_drained(dashboard))
            final = forwarding_stats(servers["forwarding"][2])
        finally:
            for process, _url, _dashboard in servers.values():
                process.terminate()
            for process, _url, _dashboard in servers.values():
                process.wait(timeout=120)
            recorder.stdin.close()
            recorder.wait(timeout=30)
    results: dict = {signal: {"plain": best["plain"][signal],
                              "forwarding": best["forwarding"][signal],
                              "ratio": best["forwarding"][signal] / best["plain"][signal],
                              "behind": behind[signal], "drain_s": drain[signal]}
                     for signal in payloads}
    results["_delivery"] = {key: final[key] for key in ("queued", "sent", "retried", "dropped",
                                                        "failed")}
    results["_server_cpu"] = {"pinned": float(server_cpu is not None)}
    return results


def report(results: dict) -> list[str]:
    pinned = "server pinned to 1 core" if results["_server_cpu"]["pinned"] else "unpinned"
    lines = []
    for signal, unit in (("traces", "spans"), ("metrics", "points")):
        r = results[signal]
        lines.append(
            f"forwarding_{signal}: e2e={r['forwarding']:,.0f} {unit}/s with one destination vs "
            f"{r['plain']:,.0f} {unit}/s without, ratio={r['ratio']:.2f} (target >= {TARGET}; "
            f"{pinned}); queue at the end of a round <= {r['behind']} requests, "
            f"drained in <= {r['drain_s']:.2f} s")
    d = results["_delivery"]
    lines.append(f"forwarding_delivery: queued={d['queued']} sent={d['sent']} "
                 f"retried={d['retried']} dropped={d['dropped']} failed={d['failed']}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for line in report(run(args.batches, args.clients, args.rounds)):
        print(line, flush=True)


if __name__ == "__main__":
    main()
