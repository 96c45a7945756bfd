"""Ingest throughput: protobuf batches of 512 spans or points posted over loopback HTTP to a real
`tradepulse serve` pinned to one core, committed to SQLite, against the parse-and-walk baseline
measured in the same run; then the same against a server with a deliberately slow bus subscriber
(1 s per stored batch), as a ratio to the first (target >= 0.9: ingest never waits on a consumer);
then the plain server against a PostgreSQL started for the run (Debian's `postgresql`; skipped
with a note when it is not installed), printed beside SQLite's.

    python -m bench.bench_ingest [--batches N] [--clients K] [--rounds R] [--no-postgres]
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from bench.baseline import walk_metrics, walk_spans
from bench.payloads import BATCH, metric_requests, span_requests
from tests.postgres_server import LIKE_SQLITE, PostgresServer, find_bin_dir

READY = re.compile(r"OTLP/HTTP receiver: (http://\S+)")
TARGETS = {"traces": (100_000, 0.7), "metrics": (200_000, 0.7)}
SLOW_SUBSCRIBER_TARGET = 0.9


def baseline_rate(walk, payloads: list[bytes], rounds: int = 3) -> float:
    """Items per second for parse + walk, best of `rounds`."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for body in payloads:
            walk(body)
        best = min(best, time.perf_counter() - start)
    return len(payloads) * BATCH / best


def start_server(data_dir: Path, cpu: int | None, *, slow_subscriber: bool = False,
                 storage_url: str | None = None
                 ) -> tuple[subprocess.Popen, str]:
    data_dir.mkdir(parents=True, exist_ok=True)
    config = data_dir / "bench.yaml"
    storage = f"  storage: {{url: '{storage_url}'}}\n" if storage_url else ""
    config.write_text("monitoring:\n  ingest: {port: 0, grpc_port: null, queue_max_batches: 1024}\n"
                      "  dashboard: {port: 0}\n" + storage)
    pin = (lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None
    module = "bench.slow_subscriber_server" if slow_subscriber else "tradepulse_backend.cli"
    process = subprocess.Popen(
        [sys.executable, "-m", module, "serve", "--config", str(config),
         "--data-dir", str(data_dir / "db"), "--log-level", "WARNING"],
        stdout=subprocess.PIPE, text=True, preexec_fn=pin)
    for line in process.stdout:
        if match := READY.search(line):
            threading.Thread(target=process.stdout.read, daemon=True).start()
            return process, match.group(1)
    raise RuntimeError("server did not start")


def post_all(base_url: str, path: str, payloads: list[bytes], clients: int) -> float:
    """Seconds to have every payload answered 200 (committed), over `clients` connections."""
    parts = urlsplit(base_url)
    shares = [payloads[i::clients] for i in range(clients)]
    failures: list[str] = []

    def client(share: list[bytes]) -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        for body in share:
            while True:
                conn.request("POST", path, body, {"Content-Type": "application/x-protobuf"})
                response = conn.getresponse()
                response.read()
                if response.status == 200:
                    break
                if response.status != 503:
                    failures.append(f"{path}: HTTP {response.status}")
                    return
                time.sleep(float(response.getheader("Retry-After", "1")))
        conn.close()

    threads = [threading.Thread(target=client, args=(share,)) for share in shares]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(failures[0])
    return time.perf_counter() - start


def run(batches: int = 200, clients: int = 4, rounds: int = 3, postgres: bool = True
        ) -> dict[str, dict]:
    """Measure both signals; returns {signal: {e2e, baseline, ratio}} in items per second, and
    under "slow_subscriber" {signal: {e2e, ratio}} against the plain server's e2e. The plain
    and the slow-subscriber server run side by side and take turns, best of `rounds` each, so
    load from elsewhere on the machine falls on both alike."""
    cpus = sorted(os.sched_getaffinity(0))
    server_cpu = cpus[0] if len(cpus) > 1 else None
    if server_cpu is not None:
        os.sched_setaffinity(0, set(cpus[1:]))
    payloads = {"traces": span_requests(batches), "metrics": metric_requests(batches)}
    walks = {"traces": walk_spans, "metrics": walk_metrics}
    best = {"plain": dict.fromkeys(payloads, 0.0), "slow": dict.fromkeys(payloads, 0.0)}
    with tempfile.TemporaryDirectory(prefix="tp-bench-") as tmp:
        servers = {kind: start_server(Path(tmp) / kind, server_cpu,
                                      slow_subscriber=kind == "slow") for kind in best}
        try:
            for signal, bodies in payloads.items():
                for _process, url in servers.values():
                    post_all(url, f"/v1/{signal}", _warmup(signal), 1)
                for _ in range(rounds):
                    for kind, (_process, url) in servers.items():
                        rate = len(bodies) * BATCH / post_all(url, f"/v1/{signal}", bodies,
                                                              clients)
                        best[kind][signal] = max(best[kind][signal], rate)
        finally:
            for process, _url in servers.values():
                process.terminate()
            for process, _url in servers.values():
                process.wait(timeout=120)
    results: dict = {}
    for signal, bodies in payloads.items():
        e2e, base = best["plain"][signal], baseline_rate(walks[signal], bodies)
        results[signal] = {"e2e": e2e, "baseline": base, "ratio": e2e / base}
    results["slow_subscriber"] = {signal: {"e2e": rate, "ratio": rate / best["plain"][signal]}
                                  for signal, rate in best["slow"].items()}
    results["postgresql"] = measure_postgres(payloads, clients, server_cpu) if postgres else {
        "skipped": "--no-postgres"}
    results["_server_cpu"] = {"pinned": float(server_cpu is not None)}
    return results


def measure_postgres(payloads: dict[str, list[bytes]], clients: int, server_cpu: int | None
                     ) -> dict[str, float | str]:
    """{signal: items per second committed} by a plain server on a fresh PostgreSQL."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        return {"skipped": "PostgreSQL binaries not found"}
    database = PostgresServer(bin_dir, settings=LIKE_SQLITE)
    results: dict[str, float | str] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="tp-bench-pg-") as tmp:
            process, url = start_server(Path(tmp), server_cpu,
                                        storage_url=database.create_database("bench"))
            try:
                for signal, bodies in payloads.items():
                    post_all(url, f"/v1/{signal}", _warmup(signal), 1)
                    results[signal] = len(bodies) * BATCH / post_all(
                        url, f"/v1/{signal}", bodies, clients)
            finally:
                process.terminate()
                process.wait(timeout=120)
    finally:
        database.stop()
    return results


def _warmup(signal: str) -> list[bytes]:
    return {"traces": span_requests(4, seed=99), "metrics": metric_requests(4, seed=99)}[signal]


def report(results: dict) -> list[str]:
    lines = []
    pinned = "server pinned to 1 core" if results["_server_cpu"]["pinned"] else "unpinned"
    for signal, unit in (("traces", "spans"), ("metrics", "points")):
        r = results[signal]
        floor, ratio = TARGETS[signal]
        lines.append(
            f"ingest_{signal}: e2e={r['e2e']:,.0f} {unit}/s baseline(parse+walk)="
            f"{r['baseline']:,.0f} {unit}/s ratio={r['ratio']:.2f} "
            f"(target >= {floor:,} {unit}/s and ratio >= {ratio}; {pinned})")
    postgres = results["postgresql"]
    for signal, unit in (("traces", "spans"), ("metrics", "points")):
        r = results[signal]
        beside = (f"e2e={postgres[signal]:,.0f} {unit}/s vs SQLite {r['e2e']:,.0f} "
                  f"(ratio {postgres[signal] / r['e2e']:.2f}; no target yet; {pinned}, "
                  "PostgreSQL unpinned)" if signal in postgres
                  else f"skipped: {postgres['skipped']}")
        lines.append(f"ingest_{signal}_postgresql: {beside}")
    for signal, unit in (("traces", "spans"), ("metrics", "points")):
        r = results["slow_subscriber"][signal]
        lines.append(
            f"ingest_{signal}_slow_subscriber: e2e={r['e2e']:,.0f} {unit}/s with a bus "
            f"subscriber sleeping 1 s per batch, ratio to none={r['ratio']:.2f} "
            f"(target >= {SLOW_SUBSCRIBER_TARGET}; {pinned})")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-postgres", action="store_true", help="measure SQLite only")
    args = parser.parse_args()
    for line in report(run(args.batches, args.clients, args.rounds,
                           postgres=not args.no_postgres)):
        print(line)


if __name__ == "__main__":
    main()
