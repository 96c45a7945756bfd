"""Smoke test of bench/bench_traced.py: it runs and reports its figures (no timing asserted)."""

from __future__ import annotations

from bench import bench_traced


def test_bench_reports_both_arms_and_their_ratio(spans):
    result = bench_traced.run(trials=2, calls=20)

    assert set(result) == {"traced_us", "raw_us", "ratio", "target_ratio"}
    assert result["ratio"] == result["traced_us"] / result["raw_us"]
    line = bench_traced.format_result(result)
    assert line.startswith("traced_overhead: traced=") and "(target <= 1.10)" in line
    assert {s.name for s in spans.all()} == {"_work"}
