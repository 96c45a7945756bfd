"""Speed of ``performance_stats.summary`` against empyrical's functions called one by one.

Both arms compute the same statistics (total and annual return, volatility, Sharpe, Sortino,
downside risk, max drawdown, Calmar, VaR, CVaR, best and worst) on the same seeded numpy array
of daily returns; the largest relative difference between their answers is reported too, so a
fast wrong answer shows. Trials alternate between arms; the median time per call is reported.
Run from the repo root: ``python -m bench.bench_performance_stats``.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable

import empyrical as ep
import numpy as np

from tradepulse_backend.performance import stats as performance_stats

TARGET_SPEEDUP = 5.0
SEED = 20240601
RISK_FREE = 0.0001
ANNUALIZATION = 252
CUTOFF = 0.05


def _empyrical_summary(r: np.ndarray) -> dict[str, float]:
    """The summary's statistics from empyrical, one function per statistic."""
    a = ANNUALIZATION
    return {
        "total_return": ep.cum_returns_final(r),
        "annual_return": ep.annual_return(r, annualization=a),
        "annual_volatility": ep.annual_volatility(r, annualization=a),
        "sharpe_ratio": ep.sharpe_ratio(r, risk_free=RISK_FREE, annualization=a),
        "sortino_ratio": ep.sortino_ratio(r, required_return=RISK_FREE, annualization=a),
        "downside_risk": ep.downside_risk(r, required_return=RISK_FREE, annualization=a),
        "max_drawdown": ep.max_drawdown(r),
        "calmar_ratio": ep.calmar_ratio(r, annualization=a),
        "var": ep.value_at_risk(r, CUTOFF),
        "cvar": ep.conditional_value_at_risk(r, CUTOFF),
        "best": float(np.max(r)),
        "worst": float(np.min(r)),
        "periods": float(len(r)),
    }


def _tradepulse_summary(r: np.ndarray) -> dict[str, float]:
    return performance_stats.summary(
        r, risk_free=RISK_FREE, annualization=ANNUALIZATION, cutoff=CUTOFF
    )


def _time_ms(call: Callable[[np.ndarray], dict[str, float]], r: np.ndarray) -> float:
    start = time.perf_counter_ns()
    call(r)
    return (time.perf_counter_ns() - start) / 1e6


def _max_rel_diff(ours: dict[str, float], theirs: dict[str, float]) -> float:
    """Largest relative difference between the arms' answers (0 where both are NaN)."""
    diffs = [
        abs(ours[k] - float(theirs[k])) / max(abs(float(theirs[k])), 1e-300)
        for k in theirs
        if not (math.isnan(ours[k]) and math.isnan(float(theirs[k])))
    ]
    return max(diffs, default=0.0)


def run(n: int = 1_000_000, trials: int = 5) -> dict[str, float]:
    """Time both arms on n seeded daily returns; medians in ms, speedup and answers' agreement."""
    r = np.random.default_rng(SEED).normal(0.0003, 0.01, n)
    arms = {"tradepulse": _tradepulse_summary, "empyrical": _empyrical_summary}
    max_rel_diff = _max_rel_diff(_tradepulse_summary(r), _empyrical_summary(r))  # also warms up
    samples: dict[str, list[float]] = {arm: [] for arm in arms}
    for trial in range(trials):
        order = list(arms) if trial % 2 == 0 else list(reversed(arms))
        for arm in order:
            samples[arm].append(_time_ms(arms[arm], r))
    tradepulse_ms = statistics.median(samples["tradepulse"])
    empyrical_ms = statistics.median(samples["empyrical"])
    return {
        "n": float(n),
        "tradepulse_ms": tradepulse_ms,
        "empyrical_ms": empyrical_ms,
        "speedup": empyrical_ms / tradepulse_ms,
        "target_speedup": TARGET_SPEEDUP,
        "max_rel_diff": max_rel_diff,
    }


def _count(n: float) -> str:
    """1000000 -> '1m', 10000 -> '10k'."""
    for size, suffix in ((1e6, "m"), (1e3, "k")):
        if n >= size and n % size == 0:
            return f"{int(n // size)}{suffix}"
    return str(int(n))


def format_result(result: dict[str, float]) -> str:
    """One line: median time of both arms and the speedup against the target."""
    return (
        f"stats_{_count(result['n'])}_returns: tradepulse={result['tradepulse_ms']:.1f}ms "
        f"empyrical={result['empyrical_ms']:.1f}ms speedup={result['speedup']:.2f}x "
        f"(target >= {result['target_speedup']:g}x)"
    )


if __name__ == "__main__":
    print(format_result(run()))
