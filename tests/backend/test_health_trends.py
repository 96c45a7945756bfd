"""Thresholds with hysteresis, the projection to exhaustion with its confidence guard, and the
leak detector, on synthetic series driven by a manual clock."""

from __future__ import annotations

import random

import pytest

from tradepulse_backend.clock import ManualClock
from tradepulse_backend.config import Threshold
from tradepulse_backend.config.health import LeakConfig, TrendConfig
from tradepulse_backend.health import ComponentStatus
from tradepulse_backend.health.figures import duration_text
from tradepulse_backend.health.thresholds import ThresholdBook
from tradepulse_backend.health.trends import Exhaustion, LeakDetector

H, D, U = ComponentStatus.HEALTHY, ComponentStatus.DEGRADED, ComponentStatus.UNHEALTHY
MIB = 2**20


def judged(values, hysteresis=0.05):
    book = ThresholdBook({"cpu_usage": Threshold(warning=70, critical=90)}, hysteresis)
    return [book.judge("cpu_usage", v).status for v in values]


def test_a_value_hovering_on_the_warning_line_does_not_flap():
    assert judged([69, 70.5, 69.5, 70.2, 68, 69.9, 70]) == [H, D, D, D, D, D, D]


def test_a_breach_clears_once_the_value_falls_below_the_hysteresis_band():
    assert judged([71, 67, 66.4, 71]) == [D, D, H, D]


def test_critical_is_entered_at_once_and_left_level_by_level():
    assert judged([95, 86, 85.4, 80, 66]) == [U, U, D, D, H]


def test_without_hysteresis_every_crossing_changes_the_status():
    assert judged([69, 70.5, 69.5], hysteresis=0) == [H, D, H]


def test_levels_are_remembered_per_key_so_bots_do_not_share_a_state():
    book = ThresholdBook({"error_rate": Threshold(warning=0.05, critical=0.2)}, 0.1)
    assert book.judge("error_rate", 0.3, "bot-a").status is U
    assert book.judge("error_rate", 0.0475, "bot-b").status is H
    assert book.judge("error_rate", 0.0475, "bot-a").status is D
    assert book.judge("unknown_figure", 1.0) is None
    book.judge("error_rate", 0.3, ("bot-a", "trading.order.submit"))
    book.forget("bot-a")
    assert book.judge("error_rate", 0.0475, "bot-a").status is H
    assert book.judge("error_rate", 0.0475, ("bot-a", "trading.order.submit")).status is H


def trend_config(**overrides) -> TrendConfig:
    return TrendConfig(**{"window": 6 * 3600, "min_points": 10, "min_r2": 0.8, **overrides})


def test_a_steadily_filling_disk_is_projected_to_be_full_at_the_right_time():
    clock = ManualClock()
    disk = Exhaustion(trend_config())
    level = 60.0
    for _ in range(60):
        disk.add(clock.now_ns() / 1e9, level)
        clock.advance(60)
        level += 0.1                       # 6 % an hour: 100 % in (100 - 65.9) / 6 h
    projection = disk.projection()
    assert projection.rate_per_h == pytest.approx(6.0, rel=1e-6)
    assert projection.eta_s == pytest.approx((100 - 65.9) / 6 * 3600, rel=1e-3)
    assert projection.r2 == pytest.approx(1.0)


def test_noise_around_a_flat_level_gives_no_eta():
    clock = ManualClock()
    rng = random.Random(7)
    memory = Exhaustion(trend_config())
    for _ in range(120):
        memory.add(clock.now_ns() / 1e9, 50 + rng.uniform(-5, 5))
        clock.advance(30)
    projection = memory.projection()
    assert projection.rate_per_h is not None
    assert projection.r2 < 0.8
    assert projection.eta_s is None, "the confidence guard keeps noise from giving an ETA"


def test_too_few_samples_give_no_trend_and_a_falling_line_no_eta():
    clock = ManualClock()
    few = Exhaustion(trend_config())
    falling = Exhaustion(trend_config())
    for i in range(20):
        if i < 5:
            few.add(clock.now_ns() / 1e9, 50 + i)
        falling.add(clock.now_ns() / 1e9, 80 - i)
        clock.advance(60)
    assert few.projection().rate_per_h is None
    assert falling.projection().rate_per_h < 0
    assert falling.projection().eta_s is None


def test_an_eta_beyond_the_horizon_is_not_reported():
    clock = ManualClock()
    slow = Exhaustion(trend_config(max_eta=86_400))
    for i in range(30):
        slow.add(clock.now_ns() / 1e9, 10 + i * 0.001)
        clock.advance(60)
    assert slow.projection().eta_s is None


def leak_config(**overrides) -> LeakConfig:
    return LeakConfig(**{"min_duration": 1800, "min_slope_bytes_per_h": 10 * MIB,
                         "min_r2": 0.8, "window": 4 * 3600, **overrides})


def feed(detector: LeakDetector, clock: ManualClock, minutes: int, rss, step_s: float = 60):
    for i in range(minutes):
        detector.add(clock.now_ns() / 1e9, rss(i))
        clock.advance(step_s)


def test_sustained_rss_growth_is_a_leak_once_it_lasted_the_minimum_duration():
    clock = ManualClock()
    leak = LeakDetector(leak_config())
    feed(leak, clock, 20, lambda i: 200 * MIB + i * MIB * 40 / 60)     # 40 MiB/h for 20 min
    early = leak.verdict()
    assert early.growth_bytes_per_h == pytest.approx(40 * MIB, rel=1e-6)
    assert not early.leaking and "needed to judge a leak" in early.message
    feed(leak, clock, 40, lambda i: 200 * MIB + (20 + i) * MIB * 40 / 60)
    verdict = leak.verdict()
    assert verdict.leaking
    assert verdict.message.startswith("RSS growing 40.0 MiB/h")


def test_slow_or_noisy_growth_is_no_leak():
    clock = ManualClock()
    rng = random.Random(3)
    slow = LeakDetector(leak_config())
    noisy = LeakDetector(leak_config())
    feed(slow, clock, 60, lambda i: 200 * MIB + i * MIB * 2 / 60)       # 2 MiB/h
    feed(noisy, clock, 60, lambda i: 200 * MIB + rng.uniform(-80, 80) * MIB + i * MIB / 6)
    assert not slow.verdict().leaking
    assert slow.verdict().growth_bytes_per_h == pytest.approx(2 * MIB, rel=1e-6)
    assert not noisy.verdict().leaking


def test_eta_reads_as_hours_and_minutes():
    assert duration_text(3 * 3600 + 20 * 60 + 5) == "3 h 20 min"
    assert duration_text(12 * 60) == "12 min"
    assert duration_text(45) == "45 s"
    assert duration_text(2 * 86_400 + 3600) == "2 d 1 h"
