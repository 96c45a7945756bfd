"""Smoke test of bench/bench_health.py: the in-process part runs and the report reads right,
untimed (the server arms run in `make bench`)."""

from __future__ import annotations

from bench import bench_health as bench


def test_monitor_work_is_measured_and_scaled_to_a_cpu_share():
    own = bench.monitor_work(checkers=5, services=3, repeats=20)
    assert own["absorb_us"] > 0 and own["evaluate_us"] > 0 and own["sample_us"] > 0
    assert 0 < own["cpu_share"] < 1


def test_the_report_prints_both_arms_what_was_added_and_the_target():
    arm = {"cpu_share": 0.004, "rss_bytes": 100 * 2**20}
    loaded = {"cpu_share": 0.012, "rss_bytes": 110 * 2**20}
    result = {"seconds": 60, "checkers": 50, "services": 20, "idle": arm, "loaded": loaded,
              "added_cpu_share": 0.008, "added_rss_bytes": 10 * 2**20, "cpu_ratio": 3.0,
              "rss_ratio": 1.1, "monitor": {"absorb_us": 30.0, "evaluate_us": 500.0,
                                            "sample_us": 1300.0, "cpu_share": 0.0012}}
    lines = bench.report(result)
    assert lines[0] == "health: 50 checkers + 20 exporting services, 60s per arm"
    assert "added: cpu +0.80% of a core (ratio to idle 3.00x; target < 2%: ok)" in lines[3]
    assert "rss +10.0 MiB" in lines[3]
    assert lines[4].endswith("-> 0.12% of a core")
