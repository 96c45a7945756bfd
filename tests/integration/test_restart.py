"""Stored telemetry survives a restart of the server."""

from __future__ import annotations

from tests.integration.otlp_samples import (
    SECOND,
    T0,
    cumulative_counter,
    metrics_request,
    span,
    spans_request,
)
from tests.support import post

PROTOBUF = {"Content-Type": "application/x-protobuf"}


def test_spans_and_points_are_still_there_after_a_restart(start_server, tmp_path, storage_url):
    data_dir = tmp_path / "persistent"
    first = start_server(data_dir=data_dir, storage_url=storage_url)
    trace_hex = "cd" * 16
    post(f"{first.otlp}/v1/traces",
         spans_request("restart-bot", [span(bytes.fromhex(trace_hex), b"\x08" * 8, "before")]),
         PROTOBUF)
    post(f"{first.otlp}/v1/metrics", metrics_request("restart-bot", [
        cumulative_counter("trading.orders", [(T0, T0 + SECOND, 3.0)])]), PROTOBUF)
    assert first.stop() == 0

    second = start_server(data_dir=data_dir, storage_url=storage_url)
    assert [s["name"] for s in second.api(f"/traces/{trace_hex}")["spans"]] == ["before"]
    series = second.api(f"/metrics?name=trading.orders&since={T0 // SECOND - 1}")["series"]
    assert series[0]["points"][0][1] == 3.0
    post(f"{second.otlp}/v1/metrics", metrics_request("restart-bot", [
        cumulative_counter("trading.orders", [(T0, T0 + 2 * SECOND, 5.0)])]), PROTOBUF)
    series = second.api(f"/metrics?name=trading.orders&since={T0 // SECOND - 1}")["series"]
    assert len(series) == 1 and [p[1] for p in series[0]["points"]] == [3.0, 5.0]


def test_status_reports_the_database_size_and_a_wal_only_where_the_store_owns_one(
        start_server, storage_url):
    running = start_server(storage_url=storage_url)
    storage = running.api("/status")["storage"]
    assert storage["database_bytes"] > 0 and storage["spans_written"] == 0
    assert (storage["wal_bytes"] is None) == (storage_url is not None)
