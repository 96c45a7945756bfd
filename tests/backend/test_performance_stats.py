"""Tests of performance_stats: every statistic equals empyrical's, edge cases answer NaN."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import empyrical as ep
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tests.backend.closeness import assert_close
from tradepulse_backend.performance import stats as ps

RF = 0.0001
ANN = 252
FAST = settings(max_examples=150, deadline=None)


def _crash() -> np.ndarray:
    rng = np.random.default_rng(11)
    calm = rng.normal(0.0006, 0.008, 400)
    recovery = rng.normal(0.002, 0.015, 300)
    return np.concatenate([calm, [-0.30, -0.05], recovery])


def _flat_gaps() -> np.ndarray:
    rng = np.random.default_rng(12)
    parts = [rng.normal(0.0004, 0.01, 250), np.zeros(60), rng.normal(0, 0.01, 250), np.zeros(40)]
    return np.concatenate(parts)


SERIES: dict[str, np.ndarray] = {
    "normal_500": np.random.default_rng(1).normal(0.0005, 0.012, 500),
    "normal_2000": np.random.default_rng(2).normal(0.0003, 0.01, 2000),
    "losing_1000": np.random.default_rng(3).normal(-0.0008, 0.011, 1000),
    "fat_tails_3000": np.random.default_rng(4).standard_t(3, 3000) * 0.01,
    "uptrend_10000": np.random.default_rng(5).normal(0.002, 0.004, 10_000),
    "crash_then_recovery": _crash(),
    "flat_gaps": _flat_gaps(),
}

Pair = tuple[Callable[[np.ndarray], float], Callable[[np.ndarray], float]]
STATISTICS: dict[str, Pair] = {
    "total_return": (ps.cum_returns_final, ep.cum_returns_final),
    "annual_return": (
        lambda r: ps.annual_return(r, ANN),
        lambda r: ep.annual_return(r, annualization=ANN),
    ),
    "annual_volatility": (
        lambda r: ps.annual_volatility(r, ANN),
        lambda r: ep.annual_volatility(r, annualization=ANN),
    ),
    "sharpe_ratio": (
        lambda r: ps.sharpe_ratio(r, RF, ANN),
        lambda r: ep.sharpe_ratio(r, risk_free=RF, annualization=ANN),
    ),
    "sortino_ratio": (
        lambda r: ps.sortino_ratio(r, RF, ANN),
        lambda r: ep.sortino_ratio(r, required_return=RF, annualization=ANN),
    ),
    "downside_risk": (
        lambda r: ps.downside_risk(r, RF, ANN),
        lambda r: ep.downside_risk(r, required_return=RF, annualization=ANN),
    ),
    "max_drawdown": (ps.max_drawdown, ep.max_drawdown),
    "calmar_ratio": (
        lambda r: ps.calmar_ratio(r, ANN),
        lambda r: ep.calmar_ratio(r, annualization=ANN),
    ),
    "var": (ps.value_at_risk, ep.value_at_risk),
    "cvar": (ps.conditional_value_at_risk, ep.conditional_value_at_risk),
}


def _empyrical(stat: str, r: np.ndarray) -> float:
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return float(STATISTICS[stat][1](r))


@pytest.mark.parametrize("series", SERIES)
@pytest.mark.parametrize("stat", STATISTICS)
def test_statistic_matches_empyrical(stat: str, series: str) -> None:
    r = SERIES[series]
    assert_close(STATISTICS[stat][0](r), _empyrical(stat, r))


@pytest.mark.parametrize("series", ["normal_2000", "fat_tails_3000", "crash_then_recovery"])
@pytest.mark.parametrize("cutoff", [0.0, 0.01, 0.025, 0.1, 0.5, 0.99, 1.0])
def test_tail_matches_empyrical_at_any_cutoff(series: str, cutoff: float) -> None:
    r = SERIES[series]
    assert_close(ps.value_at_risk(r, cutoff), float(ep.value_at_risk(r, cutoff)))
    assert_close(
        ps.conditional_value_at_risk(r, cutoff), float(ep.conditional_value_at_risk(r, cutoff))
    )


@pytest.mark.parametrize("size", [1, 2, 31, 32, 33, 64, 1000, 1025, 5000])
@pytest.mark.parametrize("drift", [-0.002, 0.0, 0.003])
def test_max_drawdown_matches_empyrical_across_block_edges(size: int, drift: float) -> None:
    r = np.random.default_rng(size).normal(drift, 0.01, size)
    assert_close(ps.max_drawdown(r), float(ep.max_drawdown(r)))


@pytest.mark.parametrize("at", [0, 31, 32, 500, 999])
def test_max_drawdown_after_a_total_loss_anywhere_matches_empyrical(at: int) -> None:
    r = np.random.default_rng(at).normal(0.001, 0.01, 1000)
    r[at] = -1.0
    assert ps.max_drawdown(r) == -1.0 == ep.max_drawdown(r)
    assert_close(ps.cum_returns_final(r), float(ep.cum_returns_final(r)))


@FAST
@given(st.lists(st.floats(-1.5, 1.0), min_size=1, max_size=200))
def test_max_drawdown_matches_empyrical_even_with_losses_beyond_everything(r: list[float]) -> None:
    """Returns below -100% make wealth negative; the definition still holds."""
    arr = np.array(r)
    with np.errstate(all="ignore"):
        expected = float(ep.max_drawdown(arr))
    assert math.isclose(ps.max_drawdown(arr), expected, rel_tol=1e-9, abs_tol=1e-12)


@pytest.mark.parametrize("series", SERIES)
def test_summary_equals_the_individual_functions(series: str) -> None:
    r = SERIES[series]
    got = ps.summary(r, risk_free=RF, annualization=ANN, cutoff=0.05)
    assert tuple(got) == ps.SUMMARY_KEYS
    individual = {
        "total_return": ps.cum_returns_final(r),
        "annual_return": ps.annual_return(r, ANN),
        "annual_volatility": ps.annual_volatility(r, ANN),
        "sharpe_ratio": ps.sharpe_ratio(r, RF, ANN),
        "sortino_ratio": ps.sortino_ratio(r, RF, ANN),
        "downside_risk": ps.downside_risk(r, RF, ANN),
        "max_drawdown": ps.max_drawdown(r),
        "calmar_ratio": ps.calmar_ratio(r, ANN),
        "var": ps.value_at_risk(r, 0.05),
        "cvar": ps.conditional_value_at_risk(r, 0.05),
        "best": float(r.max()),
        "worst": float(r.min()),
        "periods": float(r.size),
    }
    for key, value in individual.items():
        assert_close(got[key], value, rel=1e-12)


def test_summary_of_a_plain_list_equals_that_of_an_array() -> None:
    r = SERIES["normal_500"]
    assert ps.summary(list(r), risk_free=0.0, annualization=365) == ps.summary(
        r, risk_free=0.0, annualization=365
    )


def test_no_returns_answer_nan_without_raising() -> None:
    empty = np.array([], dtype=np.float64)
    for stat in STATISTICS:
        assert math.isnan(STATISTICS[stat][0](empty)), stat
    got = ps.summary(empty, risk_free=RF, annualization=ANN)
    assert got["periods"] == 0.0
    assert all(math.isnan(v) for k, v in got.items() if k != "periods")


@pytest.mark.parametrize("value", [-0.02, 0.0, 0.03, -1.0])
def test_a_single_return_matches_empyrical_with_nan_ratios(value: float) -> None:
    r = np.array([value])
    for stat in STATISTICS:
        assert_close(STATISTICS[stat][0](r), _empyrical(stat, r))
    for stat in ("annual_volatility", "sharpe_ratio", "sortino_ratio"):
        assert math.isnan(STATISTICS[stat][0](r))


def test_constant_series_has_zero_volatility_and_nan_sharpe_where_empyrical_says_inf() -> None:
    r = np.full(50, 0.001)
    assert ep.sharpe_ratio(r) == math.inf
    assert math.isnan(ps.sharpe_ratio(r, 0.0, ANN))
    assert ps.annual_volatility(r, ANN) == 0.0
    got = ps.summary(r, risk_free=0.0, annualization=ANN)
    assert math.isnan(got["sharpe_ratio"]) and got["annual_volatility"] == 0.0
    assert math.isnan(got["calmar_ratio"]) and got["max_drawdown"] == 0.0


def test_all_zero_returns_have_nan_ratios_and_no_drawdown() -> None:
    got = ps.summary(np.zeros(30), risk_free=0.0, annualization=ANN)
    assert got["total_return"] == got["annual_return"] == got["max_drawdown"] == 0.0
    for key in ("sharpe_ratio", "sortino_ratio", "calmar_ratio"):
        assert math.isnan(got[key]), key


def test_sortino_is_nan_without_downside_where_empyrical_says_inf() -> None:
    """All returns above the required return: no downside risk, so no Sortino ratio."""
    r = np.random.default_rng(9).uniform(0.001, 0.02, 100)
    assert ep.sortino_ratio(r) == math.inf
    assert ps.downside_risk(r, 0.0, ANN) == 0.0
    assert math.isnan(ps.sortino_ratio(r, 0.0, ANN))
    assert math.isnan(ps.summary(r, risk_free=0.0, annualization=ANN)["sortino_ratio"])
    assert_close(
        ps.sortino_ratio(r, 0.01, ANN), float(ep.sortino_ratio(r, 0.01, annualization=ANN))
    )


def test_a_total_loss_is_minus_one_everywhere_as_in_empyrical() -> None:
    r = np.array([0.01, -1.0, 0.02])
    for stat in ("total_return", "annual_return", "max_drawdown", "calmar_ratio"):
        assert_close(STATISTICS[stat][0](r), _empyrical(stat, r))
    assert ps.max_drawdown(r) == -1.0


def test_infinite_calmar_is_nan() -> None:
    r = np.array([1e200, -0.5])
    assert math.isinf(ps.annual_return(r, ANN))
    assert math.isnan(ps.calmar_ratio(r, ANN))


def test_cutoff_outside_unit_interval_is_rejected() -> None:
    with pytest.raises(ValueError, match="cutoff"):
        ps.value_at_risk(SERIES["normal_500"], 1.5)


# --- drawdown durations -----------------------------------------------------------------------


def test_durations_run_from_peak_to_recovery_and_to_the_last_time() -> None:
    longest, current = ps.drawdown_durations([0, 1, 2, 3, 4, 5], [1, 2, 1.5, 1.8, 2.1, 2.0])
    assert (longest, current) == (3.0, 1.0)


def test_regaining_the_peak_exactly_ends_the_underwater_span() -> None:
    assert ps.drawdown_durations([0, 10, 20, 30], [1.0, 0.9, 1.0, 0.95]) == (20.0, 10.0)


def test_current_span_counts_towards_the_longest() -> None:
    assert ps.drawdown_durations([0, 1, 5], [2.0, 1.0, 1.5]) == (5.0, 5.0)


def test_an_index_that_never_falls_is_never_underwater() -> None:
    assert ps.drawdown_durations([0, 60, 120], [1.0, 1.0, 1.5]) == (0.0, 0.0)
    assert ps.drawdown_durations([7.0], [3.0]) == (0.0, 0.0)
    assert all(math.isnan(x) for x in ps.drawdown_durations([], []))


def test_durations_reject_mismatched_lengths() -> None:
    with pytest.raises(ValueError):
        ps.drawdown_durations([0, 1], [1.0])


# --- trades -----------------------------------------------------------------------------------


def test_trade_statistics_of_mixed_trades() -> None:
    got = ps.trade_statistics([10.0, -5.0, 0.0, 20.0, -15.0])
    assert got == {
        "trades": 5.0,
        "win_rate": 0.4,
        "profit_factor": 1.5,
        "best_trade": 20.0,
        "worst_trade": -15.0,
        "average_trade": 2.0,
    }


def test_trade_statistics_without_losses_have_no_profit_factor() -> None:
    got = ps.trade_statistics([1.0, 2.0, 3.0])
    assert got["win_rate"] == 1.0 and math.isnan(got["profit_factor"])
    assert (got["best_trade"], got["worst_trade"], got["average_trade"]) == (3.0, 1.0, 2.0)


def test_trade_statistics_without_trades_are_nan() -> None:
    got = ps.trade_statistics([])
    assert got["trades"] == 0.0
    assert set(got) == set(ps.TRADE_KEYS)
    assert all(math.isnan(v) for k, v in got.items() if k != "trades")


# --- histogram quantiles ----------------------------------------------------------------------


def test_quantile_of_an_empty_histogram_is_nan() -> None:
    assert math.isnan(ps.histogram_quantile(0.5, [1.0, 2.0], [0, 0, 0]))
    assert math.isnan(ps.histogram_quantile(0.5, [], [7]))


def test_quantile_interpolates_inside_a_bucket_from_zero() -> None:
    assert ps.histogram_quantile(0.5, [10.0], [4, 0]) == 5.0
    assert ps.histogram_quantile(0.75, [0.1, 0.5, 1.0], [0, 10, 10, 0]) == 0.75


def test_quantile_on_a_bucket_boundary_is_that_bound() -> None:
    assert ps.histogram_quantile(0.5, [1.0, 2.0, 4.0], [2, 2, 0, 0]) == 1.0
    assert ps.histogram_quantile(1.0, [1.0, 2.0], [1, 1, 0]) == 2.0


def test_quantile_in_the_inf_bucket_is_the_highest_finite_bound() -> None:
    assert ps.histogram_quantile(0.9, [1.0, 2.0], [1, 1, 8]) == 2.0


def test_quantile_accepts_numpy_arrays() -> None:
    assert ps.histogram_quantile(0.5, np.array([10.0]), np.array([4, 0])) == 5.0
    assert math.isnan(ps.histogram_quantile(0.5, np.array([]), np.array([3])))


def test_quantile_with_negative_bounds_for_signed_values() -> None:
    bounds, counts = [-0.01, 0.0, 0.01], [2, 3, 5, 0]
    assert ps.histogram_quantile(0.1, bounds, counts) == -0.01
    assert ps.histogram_quantile(0.3, bounds, counts) == pytest.approx(-0.01 + 0.01 / 3)
    assert ps.histogram_quantile(0.9, bounds, counts) == pytest.approx(0.008)


def test_quantile_outside_zero_one_is_infinite_and_nan_q_is_nan() -> None:
    assert ps.histogram_quantile(-0.1, [1.0], [1, 1]) == -math.inf
    assert ps.histogram_quantile(1.5, [1.0], [1, 1]) == math.inf
    assert math.isnan(ps.histogram_quantile(math.nan, [1.0], [1, 1]))


def test_zeroth_quantile_with_an_empty_first_bucket_is_nan_as_in_prometheus() -> None:
    assert math.isnan(ps.histogram_quantile(0.0, [1.0, 2.0], [0, 3, 0]))
    assert ps.histogram_quantile(0.0, [1.0, 2.0], [1, 3, 0]) == 0.0


def test_quantile_rejects_counts_not_one_longer_than_bounds() -> None:
    with pytest.raises(ValueError):
        ps.histogram_quantile(0.5, [1.0, 2.0], [1, 2])


# --- properties -------------------------------------------------------------------------------

returns_lists = st.lists(st.floats(-0.5, 0.5), min_size=1, max_size=300)


@FAST
@given(returns_lists)
def test_max_drawdown_is_never_positive(r: list[float]) -> None:
    assert ps.max_drawdown(r) <= 0.0


@FAST
@given(st.lists(st.floats(-0.5, 0.5), min_size=2, max_size=300), st.floats(0.01, 100.0))
def test_sharpe_is_invariant_to_scaling_returns(r: list[float], c: float) -> None:
    arr = np.array(r)
    assume(arr.std() > 1e-6)
    assert math.isclose(
        ps.sharpe_ratio(arr * c, 0.0, ANN),
        ps.sharpe_ratio(arr, 0.0, ANN),
        rel_tol=1e-9,
        abs_tol=1e-9,
    )


@FAST
@given(returns_lists, st.floats(0.0, 1.0))
def test_expected_shortfall_is_no_better_than_value_at_risk(r: list[float], cutoff: float) -> None:
    var, cvar = ps.value_at_risk(r, cutoff), ps.conditional_value_at_risk(r, cutoff)
    assert cvar <= var or math.isclose(cvar, var, rel_tol=1e-12)


@FAST
@given(st.lists(st.tuples(st.floats(0.001, 1e5), st.floats(0.01, 100.0)), min_size=1, max_size=200))
def test_current_underwater_span_is_at_most_the_longest(steps: list[tuple[float, float]]) -> None:
    times = np.cumsum([gap for gap, _ in steps])
    longest, current = ps.drawdown_durations(times, [level for _, level in steps])
    assert 0.0 <= current <= longest


@FAST
@given(st.integers(0, 2**32 - 1), st.integers(2, 3000), st.floats(0.001, 0.05))
def test_summary_matches_empyrical_on_random_series(seed: int, size: int, vol: float) -> None:
    r = np.random.default_rng(seed).normal(0.0004, vol, size)
    got = ps.summary(r, risk_free=RF, annualization=ANN)
    for stat in STATISTICS:
        expected = _empyrical(stat, r)
        undefined_ratio = stat.endswith("_ratio") and math.isinf(expected)
        assert_close(got[stat], math.nan if undefined_ratio else expected)
