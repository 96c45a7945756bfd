"""Tests of running_stats: values fed one by one give the vectorized statistics; state persists."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.backend.closeness import assert_close
from tradepulse_backend.performance import running_stats as rs
from tradepulse_backend.performance import stats as ps
from tradepulse_backend.performance.running_stats import (
    RunningDrawdown,
    RunningMoments,
    SortedReturns,
)

RF = 0.0001
ANN = 252
DAY_S = 86_400.0


def _crash() -> np.ndarray:
    rng = np.random.default_rng(21)
    return np.concatenate([rng.normal(0.0005, 0.01, 300), [-0.3], rng.normal(0.002, 0.02, 200)])


SERIES: dict[str, np.ndarray] = {
    "random_1000": np.random.default_rng(20).normal(0.0004, 0.012, 1000),
    "crash": _crash(),
    "flat_gap": np.concatenate([np.random.default_rng(22).normal(0, 0.01, 100), np.zeros(50)]),
    "constant": np.full(40, 0.002),
    "one": np.array([-0.015]),
    "two": np.array([0.01, -0.02]),
    "empty": np.array([], dtype=np.float64),
}


def _moments(r: np.ndarray, required_return: float = RF) -> RunningMoments:
    moments = RunningMoments(required_return)
    for x in r:
        moments.add(float(x))
    return moments


def _drawdown(levels: np.ndarray) -> RunningDrawdown:
    drawdown = RunningDrawdown()
    for i, level in enumerate(levels):
        drawdown.add(i * DAY_S, float(level))
    return drawdown


def _levels(r: np.ndarray) -> np.ndarray:
    """Index levels of an account starting at 100, one more than the returns."""
    return 100.0 * np.concatenate([[1.0], np.cumprod(1.0 + r)])


@pytest.mark.parametrize("series", SERIES)
def test_moments_fed_one_by_one_equal_the_vectorized_statistics(series: str) -> None:
    r = SERIES[series]
    m = _moments(r)
    assert m.count == r.size
    assert_close(rs.total_return(m), ps.cum_returns_final(r))
    assert_close(rs.cagr(m, ANN), ps.annual_return(r, ANN))
    assert_close(rs.volatility(m, ANN), ps.annual_volatility(r, ANN))
    assert_close(rs.sharpe(m, RF, ANN), ps.sharpe_ratio(r, RF, ANN))
    assert_close(rs.sortino(m, RF, ANN), ps.sortino_ratio(r, RF, ANN))
    downside = math.sqrt(m.downside_mean_square()) * math.sqrt(ANN)
    assert_close(downside, ps.downside_risk(r, RF, ANN))
    assert_close(m.best, float(r.max()) if r.size else math.nan)
    assert_close(m.worst, float(r.min()) if r.size else math.nan)


@pytest.mark.parametrize("series", SERIES)
def test_drawdown_fed_one_level_at_a_time_equals_the_vectorized_one(series: str) -> None:
    r = SERIES[series]
    levels = _levels(r)
    d = _drawdown(levels)
    assert_close(d.max_drawdown, ps.max_drawdown(r))
    times = np.arange(levels.size) * DAY_S
    assert (d.longest_duration_s, d.current_duration_s) == ps.drawdown_durations(times, levels)
    assert d.peak == levels.max()
    assert_close(d.current_drawdown, (levels[-1] - levels.max()) / levels.max())


def test_drawdown_durations_follow_irregular_times() -> None:
    times, levels = [0.0, 5.0, 6.5, 30.0, 31.0, 90.0], [10.0, 9.0, 10.0, 9.5, 9.9, 9.8]
    d = RunningDrawdown()
    for t, level in zip(times, levels, strict=True):
        d.add(t, level)
    assert (d.longest_duration_s, d.current_duration_s) == ps.drawdown_durations(times, levels)
    assert (d.longest_duration_s, d.current_duration_s) == (83.5, 83.5)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.floats(0.0, 1e4), st.floats(0.5, 2.0)), min_size=1, max_size=100))
def test_drawdown_spans_equal_the_vectorized_ones_on_any_path(
    steps: list[tuple[float, float]],
) -> None:
    times = np.cumsum([gap for gap, _ in steps])
    levels = np.array([level for _, level in steps])
    d = RunningDrawdown()
    for t, level in zip(times, levels, strict=True):
        d.add(float(t), float(level))
    assert (d.longest_duration_s, d.current_duration_s) == ps.drawdown_durations(times, levels)


@pytest.mark.parametrize("series", SERIES)
@pytest.mark.parametrize("cutoff", [0.0, 0.01, 0.05, 0.5, 1.0])
def test_sorted_returns_give_the_vectorized_var_and_cvar(series: str, cutoff: float) -> None:
    r = SERIES[series]
    tail = SortedReturns()
    for x in np.random.default_rng(0).permutation(r):
        tail.add(float(x))
    assert len(tail) == r.size
    assert_close(tail.var(cutoff), ps.value_at_risk(r, cutoff))
    assert_close(tail.cvar(cutoff), ps.conditional_value_at_risk(r, cutoff))


def test_empty_accumulators_answer_nan() -> None:
    m, d = RunningMoments(), RunningDrawdown()
    values = [m.mean, m.variance(), m.downside_mean_square(), m.best, m.worst]
    values += [rs.total_return(m), rs.cagr(m, ANN), rs.sharpe(m, 0.0, ANN)]
    values += [d.peak, d.max_drawdown, d.current_drawdown, d.longest_duration_s]
    values += [SortedReturns().var(), SortedReturns().cvar()]
    assert all(math.isnan(v) for v in values)


def test_plus_returns_a_new_accumulator_and_leaves_this_one_alone() -> None:
    r = SERIES["random_1000"]
    completed = _moments(r[:-1])
    before = completed.to_dict()
    provisional = completed.plus(float(r[-1]))
    assert completed.to_dict() == before
    assert provisional.to_dict() == _moments(r).to_dict()
    assert provisional.count == completed.count + 1


def test_a_total_loss_makes_growth_minus_infinity_and_total_return_minus_one() -> None:
    r = np.array([0.05, -1.0, 0.1])
    m = _moments(r)
    assert m.log_growth == -math.inf
    assert rs.total_return(m) == -1.0 == ps.cum_returns_final(r)
    assert rs.cagr(m, ANN) == -1.0 == ps.annual_return(r, ANN)


def test_sortino_refuses_a_threshold_it_did_not_accumulate() -> None:
    with pytest.raises(ValueError, match="required_return"):
        rs.sortino(_moments(SERIES["two"], 0.0), 0.01, ANN)


def _json_round_trip(state: object) -> object:
    return json.loads(json.dumps(state, allow_nan=False))


def test_moments_round_trip_through_json_after_a_total_loss() -> None:
    m = _moments(np.array([0.02, -1.0, 0.01]))
    restored = RunningMoments.from_dict(_json_round_trip(m.to_dict()))
    assert restored.to_dict() == m.to_dict()
    assert restored.log_growth == -math.inf and restored.required_return == RF


def test_moments_round_trip_through_json_with_nan_and_inf() -> None:
    m = _moments(np.array([0.01, math.inf, math.nan]))
    state = m.to_dict()
    assert {state["best"], state["mean"]} <= {"inf", "nan"}
    restored = RunningMoments.from_dict(_json_round_trip(state))
    assert restored.to_dict() == state


def test_restored_moments_continue_exactly_where_they_stopped() -> None:
    r = SERIES["crash"]
    restored = RunningMoments.from_dict(_json_round_trip(_moments(r[:250]).to_dict()))
    for x in r[250:]:
        restored.add(float(x))
    assert restored.to_dict() == _moments(r).to_dict()


def test_drawdown_round_trips_through_json() -> None:
    levels = _levels(SERIES["crash"])
    d = _drawdown(levels[:320])
    restored = RunningDrawdown.from_dict(_json_round_trip(d.to_dict()))
    assert restored.to_dict() == d.to_dict()
    for i in range(320, levels.size):
        restored.add(i * DAY_S, float(levels[i]))
    assert restored.to_dict() == _drawdown(levels).to_dict()
    empty = RunningDrawdown()
    assert RunningDrawdown.from_dict(_json_round_trip(empty.to_dict())).to_dict() == (
        empty.to_dict()
    )


def test_sorted_returns_round_trip_through_json_with_infinities() -> None:
    tail = SortedReturns([0.01, -math.inf, 0.02, math.inf, -0.05])
    restored = SortedReturns.from_list(_json_round_trip(tail.to_list()))
    assert restored.to_list() == tail.to_list() == ["-inf", -0.05, 0.01, 0.02, "inf"]


def test_sorted_returns_plus_adds_one_return_without_changing_the_original():
    from tradepulse_backend.performance.running_stats import SortedReturns

    base = SortedReturns([0.02, -0.01, 0.005])
    more = base.plus(-0.03)
    assert len(base) == 3 and len(more) == 4
    assert more.cvar(0.5) == pytest.approx((-0.03 - 0.01) / 2)
    assert base.var(0.0) == -0.01 and more.var(0.0) == -0.03
