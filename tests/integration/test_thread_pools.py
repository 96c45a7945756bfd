"""Each port has its own thread pool: a flood on one never starves the other; and `tradepulse
serve` stops cleanly on SIGHUP as on SIGTERM."""

from __future__ import annotations

import signal
import socket
import sqlite3
import threading
from urllib.parse import urlsplit

from tests.integration.otlp_samples import span, spans_request
from tests.support import post, wait_until

PROTOBUF = {"Content-Type": "application/x-protobuf"}
POOLS = {"server": {"ingest_threads": 2, "api_threads": 2},
         "dashboard": {"max_websockets": 1}}


def _export(running, results: list[int], index: int) -> None:
    body = spans_request("flood-bot", [span(bytes([index + 1]) * 16, b"\x07" * 8, f"s{index}")])
    results.append(post(f"{running.otlp}/v1/traces", body, PROTOBUF)[0])


def test_slow_ingest_filling_its_pool_leaves_the_dashboard_answering(start_server):
    running = start_server(POOLS)
    lock = sqlite3.connect(running.data_dir / "tradepulse.db", timeout=5)
    lock.execute("BEGIN IMMEDIATE")      # every export now waits in its commit
    results: list[int] = []
    flood = [threading.Thread(target=_export, args=(running, results, i)) for i in range(8)]
    for thread in flood:
        thread.start()
    wait_until(lambda: running.api("/status")["thread_pools"]["ingest"]["pending"] == 8,
               what="every export waiting in the ingest pool")

    assert running.get("/healthz") == (200, {"status": "ok"})
    status = running.api("/status")
    assert status["ingest"]["transactions"] == 0
    assert status["thread_pools"]["ingest"] == {"threads": 2, "pending": 8}
    workers = {w["name"]: w["state"] for w in status["workers"]}
    assert workers["writer"] == workers["grpc"] == "running"

    lock.rollback()
    lock.close()
    for thread in flood:
        thread.join()
    assert len(results) == 8 and set(results) <= {200, 503}   # 503 if the lock outlived
                                                              # SQLite's busy timeout


def test_stalled_dashboard_requests_filling_its_pool_leave_ingest_answering(start_server):
    running = start_server(POOLS)
    address = urlsplit(running.dashboard)
    stalled = []
    for _ in range(2 + 1 + 3):        # api_threads + max_websockets, and more waiting
        conn = socket.create_connection((address.hostname, address.port), timeout=10)
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")   # headers never finish
        stalled.append(conn)
    try:
        results: list[int] = []
        _export(running, results, 0)
        assert results == [200]
    finally:
        for conn in stalled:
            conn.close()
    wait_until(lambda: running.get("/healthz")[0] == 200, what="dashboard free again")


def test_sighup_stops_the_server_cleanly_and_frees_its_ports(start_server):
    running = start_server()
    results: list[int] = []
    _export(running, results, 0)
    assert results == [200]
    running.process.send_signal(signal.SIGHUP)
    assert running.process.wait(timeout=60) == 0
    for url in (running.otlp, running.dashboard):
        parts = urlsplit(url)
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((parts.hostname, parts.port))
    assert "Traceback" not in running.stderr
