"""Smoke test of bench/bench_performance_stats.py: it runs and reports its figures (no timing)."""

from __future__ import annotations

from bench import bench_performance_stats


def test_bench_reports_both_arms_their_speedup_and_agreement() -> None:
    result = bench_performance_stats.run(n=10_000, trials=1)

    assert set(result) == {
        "n",
        "tradepulse_ms",
        "empyrical_ms",
        "speedup",
        "target_speedup",
        "max_rel_diff",
    }
    assert result["speedup"] == result["empyrical_ms"] / result["tradepulse_ms"]
    assert result["max_rel_diff"] < 1e-9
    line = bench_performance_stats.format_result(result)
    assert line.startswith("stats_10k_returns: tradepulse=") and line.endswith("(target >= 5x)")
