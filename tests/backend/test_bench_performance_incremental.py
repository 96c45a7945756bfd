"""Smoke test of bench/bench_performance_incremental.py: it runs and reports, untimed."""

from __future__ import annotations

from bench import bench_performance_incremental as bench


def test_bench_reports_both_arms_and_their_ratios():
    result = bench.run(n=2_000, trials=1, extra=400)

    assert result["points"] == 2_000
    assert result["ratio"] == result["recompute_us"] / result["absorb_us"]
    assert result["read_ratio"] == result["recompute_us"] / result["absorb_and_read_us"]
    line = bench.format_result(result)
    assert line.startswith("performance_incremental: points=2,000") and "(target >= 100x)" in line
