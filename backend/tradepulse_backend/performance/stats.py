"""Performance statistics of a strategy's period returns, vectorized with numpy.

Every statistic follows empyrical's definition (the tests check each one against it); where
empyrical answers +-inf for an undefined ratio (zero deviation or zero downside), these answer
NaN, and none of them raises on an empty, one-value or constant series. Inputs are 1-D arrays of
finite simple returns (0.01 is +1%); empyrical's NaN skipping is not reproduced. ``summary``
computes all of them from one mean, one deviation, one cumulative product and one partition.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

NAN = math.nan
SUMMARY_KEYS = (
    "total_return",
    "annual_return",
    "annual_volatility",
    "sharpe_ratio",
    "sortino_ratio",
    "downside_risk",
    "max_drawdown",
    "calmar_ratio",
    "var",
    "cvar",
    "best",
    "worst",
    "periods",
)
TRADE_KEYS = ("trades", "win_rate", "profit_factor", "best_trade", "worst_trade", "average_trade")
_BLOCK = 32  # periods compounded per block (see _growth)


def _returns(returns: ArrayLike) -> np.ndarray:
    """The returns as a contiguous 1-D float64 array, without copying one that already is."""
    return np.ascontiguousarray(returns, dtype=np.float64).reshape(-1)


def _moments(r: np.ndarray, constant: bool) -> tuple[float, float]:
    """Mean and sample deviation (ddof=1, NaN below 2 values; exactly 0 for a constant series)."""
    mean = float(r.mean())
    if r.size < 2:
        return mean, NAN
    if constant:
        return mean, 0.0
    deviations = r - mean
    return mean, math.sqrt(float(deviations @ deviations) / (r.size - 1))


def _is_constant(r: np.ndarray) -> bool:
    """Whether every return is the same (so its deviation is zero, not a rounding residue)."""
    return bool(r.max() == r.min())


def _growth(r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Growth of 1 invested, compounded in blocks of _BLOCK periods: (within, start).

    Wealth after period b * _BLOCK + i is start[b] * within[i, b]: within[:, b] compounds block b
    (flat past the last period) and start[b] is the wealth before it, start[-1] the final one.
    Compounding every block at once, row by row, is several times faster than a sequential
    cumprod (whose every product waits for the previous one).
    """
    full, rest = divmod(r.size, _BLOCK)
    within = np.empty((_BLOCK, full + bool(rest)))
    np.add(r[: full * _BLOCK].reshape(full, _BLOCK).T, 1.0, out=within[:, :full])
    if rest:
        np.add(r[full * _BLOCK :], 1.0, out=within[:rest, full])
        within[rest:, full] = 1.0
    for i in range(1, _BLOCK):
        np.multiply(within[i], within[i - 1], out=within[i])
    start = np.empty(within.shape[1] + 1)
    start[0] = 1.0
    np.multiply.accumulate(within[-1], out=start[1:])
    return within, start


def _cagr(ending_value: float, periods: int, annualization: int) -> float:
    """Compound annual growth rate from the ending value of 1 invested, as empyrical computes it."""
    return float(np.power(ending_value, 1 / (periods / annualization)) - 1)


def _max_drawdown(within: np.ndarray, start: np.ndarray) -> float:
    """Deepest fall of wealth below its running peak (the starting 1 included), as a fraction <= 0.

    The fall from the peak before each block follows from the block's extremes alone; the running
    peak inside a block is only accumulated where the block's range could hold a deeper fall.
    """
    before = start[:-1]
    ends = within.min(axis=0) * before, within.max(axis=0) * before  # swapped if before < 0
    lows, highs = np.minimum(*ends), np.maximum(*ends)
    peaks = np.maximum.accumulate(np.concatenate(([1.0], highs)))
    prior, after = peaks[:-1], peaks[1:]
    # With wealth >= 0 the deeper of two peaks' falls is the higher peak's, so a block's fall
    # from the peak before it is (lows - prior) / prior, and from a peak inside it no deeper
    # than lows / after - 1; blocks with negative wealth (a return below -100%) are all walked.
    positive = lows >= 0
    deepest = min(float(np.where(positive, (lows - prior) / prior, 0.0).min()), 0.0)
    shallow = ((lows - after) / after >= deepest * (1 - 1e-9)) & positive
    blocks = np.flatnonzero(~shallow)
    if blocks.size:
        wealth = within[:, blocks] * before[blocks]
        peak = np.maximum.accumulate(wealth, axis=0)
        np.maximum(peak, prior[blocks], out=peak)
        deepest = min(deepest, float(((wealth - peak) / peak).min()))
    return deepest


def _downside_risk(r: np.ndarray, required_return: float, annualization: int) -> float:
    """Root mean square of the shortfalls below required_return over all periods, annualized."""
    shortfall = np.subtract(r, required_return) if required_return else r.copy()
    np.minimum(shortfall, 0.0, out=shortfall)
    return math.sqrt(float(shortfall @ shortfall) / r.size) * float(np.sqrt(annualization))


def _sharpe(mean: float, std: float, risk_free: float, annualization: int) -> float:
    """Annualized mean excess return over its deviation; NaN when the deviation is 0 or NaN."""
    if not std > 0:
        return NAN
    return float((mean - risk_free) / std * np.sqrt(annualization))


def _sortino(mean: float, downside: float, required_return: float, annualization: int) -> float:
    """Annualized mean excess return over the downside risk; NaN when there is no downside."""
    if not downside > 0:
        return NAN
    return (mean - required_return) * annualization / downside


def _calmar(annual: float, drawdown: float) -> float:
    """Annual return over the depth of the maximum drawdown; NaN without a drawdown."""
    if not drawdown < 0:
        return NAN
    ratio = annual / abs(drawdown)
    return NAN if math.isinf(ratio) else ratio


def _nth_smallest(part: np.ndarray, kth: int, index: int) -> float:
    """The index-th smallest value of an array partitioned at kth, for any index <= kth + 1."""
    if index == kth:
        return float(part[kth])
    if index > kth:
        return float(part[kth + 1 :].min())
    return float(np.partition(part[:kth], index)[index])


def _tail(r: np.ndarray, cutoff: float) -> tuple[float, float]:
    """VaR (np.percentile, linear) and CVaR (empyrical's mean of the lowest returns), one partition.

    np.percentile partitions at four indices, which takes numpy's slow multi-index path; one
    single-index partition and a min of what lies above it yields the same order statistics.
    """
    if not 0.0 <= cutoff <= 1.0:
        raise ValueError(f"cutoff must lie in [0, 1], got {cutoff!r}")
    last = r.size - 1
    virtual = last * ((100 * cutoff) / 100)
    lower = min(math.floor(virtual), last)
    tail = int(last * cutoff)
    kth = max(lower, tail)
    part = np.partition(r, kth)
    low = _nth_smallest(part, kth, lower)
    high = low if virtual >= last else _nth_smallest(part, kth, lower + 1)
    gamma = virtual - lower
    diff = high - low
    var = high - diff * (1 - gamma) if gamma >= 0.5 else low + diff * gamma
    lowest = part[: tail + 1] if tail == kth else np.partition(part[:kth], tail)[: tail + 1]
    return var, float(lowest.mean())


def cum_returns_final(returns: ArrayLike) -> float:
    """Total compounded return, prod(1 + r) - 1; NaN for no returns."""
    r = _returns(returns)
    return float(_growth(r)[1][-1] - 1.0) if r.size else NAN


def annual_return(returns: ArrayLike, annualization: int) -> float:
    """Compound annual growth rate (empyrical.annual_return); NaN for no returns."""
    r = _returns(returns)
    if not r.size:
        return NAN
    with np.errstate(all="ignore"):
        return _cagr(_growth(r)[1][-1], r.size, annualization)


def annual_volatility(returns: ArrayLike, annualization: int) -> float:
    """Sample deviation (ddof=1) scaled by sqrt(annualization); NaN below 2 returns."""
    r = _returns(returns)
    if r.size < 2:
        return NAN
    with np.errstate(all="ignore"):
        return _moments(r, _is_constant(r))[1] * annualization ** (1 / 2.0)


def sharpe_ratio(returns: ArrayLike, risk_free: float, annualization: int) -> float:
    """Annualized Sharpe ratio of r - risk_free; NaN below 2 returns or with zero deviation."""
    r = _returns(returns)
    if r.size < 2:
        return NAN
    with np.errstate(all="ignore"):
        mean, std = _moments(r, _is_constant(r))
        return _sharpe(mean, std, risk_free, annualization)


def downside_risk(returns: ArrayLike, required_return: float, annualization: int) -> float:
    """Annualized root mean square shortfall below required_return; NaN for no returns."""
    r = _returns(returns)
    if not r.size:
        return NAN
    with np.errstate(all="ignore"):
        return _downside_risk(r, required_return, annualization)


def sortino_ratio(returns: ArrayLike, required_return: float, annualization: int) -> float:
    """Annualized mean excess return over downside risk; NaN below 2 returns or no downside."""
    r = _returns(returns)
    if r.size < 2:
        return NAN
    with np.errstate(all="ignore"):
        downside = _downside_risk(r, required_return, annualization)
        return _sortino(float(r.mean()), downside, required_return, annualization)


def max_drawdown(returns: ArrayLike) -> float:
    """Deepest peak-to-trough fall of compounded returns as a fraction <= 0; NaN for none."""
    r = _returns(returns)
    if not r.size:
        return NAN
    with np.errstate(all="ignore"):
        return _max_drawdown(*_growth(r))


def calmar_ratio(returns: ArrayLike, annualization: int) -> float:
    """Annual return over |max drawdown|; NaN without a drawdown or when the ratio is infinite."""
    r = _returns(returns)
    if not r.size:
        return NAN
    with np.errstate(all="ignore"):
        within, start = _growth(r)
        return _calmar(_cagr(start[-1], r.size, annualization), _max_drawdown(within, start))


def value_at_risk(returns: ArrayLike, cutoff: float = 0.05) -> float:
    """The cutoff percentile of the returns (np.percentile, linear); NaN for no returns."""
    r = _returns(returns)
    return _tail(r, cutoff)[0] if r.size else NAN


def conditional_value_at_risk(returns: ArrayLike, cutoff: float = 0.05) -> float:
    """Mean of the int((n - 1) * cutoff) + 1 lowest returns (empyrical); NaN for no returns."""
    r = _returns(returns)
    return _tail(r, cutoff)[1] if r.size else NAN


def drawdown_durations(times_s: ArrayLike, index: ArrayLike) -> tuple[float, float]:
    """Longest and current underwater spans in seconds of a positive index; NaNs when empty.

    A span runs from a peak's time to the first later time the index is back at or above that
    peak, and only exists if the index was below it in between; the current one runs to the
    last time (0 at a peak) and counts towards the longest.
    """
    times, values = np.asarray(times_s, dtype=np.float64), np.asarray(index, dtype=np.float64)
    if times.shape != values.shape:
        raise ValueError(f"{times.size} times for {values.size} index values")
    if not values.size:
        return NAN, NAN
    peaks = np.flatnonzero(values >= np.maximum.accumulate(values))
    under = np.diff(peaks) > 1
    spans = times[peaks[1:][under]] - times[peaks[:-1][under]]
    current = float(times[-1] - times[peaks[-1]])
    return max(float(spans.max(initial=0.0)), current), current


def trade_statistics(pnls: ArrayLike) -> dict[str, float]:
    """Count, win rate, profit factor and best/worst/average of closed trades' profits."""
    p = _returns(pnls)
    if not p.size:
        return {**dict.fromkeys(TRADE_KEYS, NAN), "trades": 0.0}
    wins, losses = p[p > 0], p[p < 0]
    return {
        "trades": float(p.size),
        "win_rate": wins.size / p.size,
        "profit_factor": float(wins.sum() / -losses.sum()) if losses.size else NAN,
        "best_trade": float(p.max()),
        "worst_trade": float(p.min()),
        "average_trade": float(p.mean()),
    }


def histogram_quantile(q: float, bounds: Sequence[float], counts: Sequence[float]) -> float:
    """The q-quantile of an explicit-bucket histogram, as Prometheus' histogram_quantile.

    counts[i] is the number in (bounds[i-1], bounds[i]], the last one in (bounds[-1], +Inf).
    Interpolates linearly inside the bucket; the first bucket starts at 0 when bounds[0] > 0 and
    answers bounds[0] otherwise (signed values such as slippage); the +Inf bucket answers the
    highest finite bound. NaN for no observations or no finite bound; -Inf/+Inf for q < 0 / > 1.
    """
    if len(counts) != len(bounds) + 1:
        raise ValueError(f"{len(counts)} counts for {len(bounds)} bounds; need one more")
    if math.isnan(q) or len(bounds) == 0:
        return NAN
    if q < 0 or q > 1:
        return math.inf if q > 1 else -math.inf
    cumulative = np.cumsum(np.asarray(counts, dtype=np.float64))
    if not cumulative[-1] > 0:
        return NAN
    rank = q * float(cumulative[-1])
    b = int(np.searchsorted(cumulative[:-1], rank, side="left"))
    if b == len(bounds):
        return float(bounds[-1])
    if b == 0 and bounds[0] <= 0:
        return float(bounds[0])
    start = float(bounds[b - 1]) if b else 0.0
    below = float(cumulative[b - 1]) if b else 0.0
    count = float(cumulative[b]) - below
    if count == 0:
        return NAN  # q == 0 with leading empty buckets: Prometheus divides 0 by 0 here
    return start + (float(bounds[b]) - start) * ((rank - below) / count)


def summary(
    returns: ArrayLike, *, risk_free: float, annualization: int, cutoff: float = 0.05
) -> dict[str, float]:
    """Every statistic above in one pass over shared intermediates (Sortino's threshold: risk_free).

    Equal to calling the functions one by one: they share these helpers.
    """
    r = _returns(returns)
    n = r.size
    if not n:
        return {**dict.fromkeys(SUMMARY_KEYS, NAN), "periods": 0.0}
    with np.errstate(all="ignore"):
        best, worst = float(r.max()), float(r.min())
        mean, std = _moments(r, best == worst)
        within, start = _growth(r)
        annual = _cagr(start[-1], n, annualization)
        drawdown = _max_drawdown(within, start)
        downside = _downside_risk(r, risk_free, annualization)
        var, cvar = _tail(r, cutoff)
    return {
        "total_return": float(start[-1] - 1.0),
        "annual_return": annual,
        "annual_volatility": std * annualization ** (1 / 2.0),
        "sharpe_ratio": _sharpe(mean, std, risk_free, annualization),
        "sortino_ratio": _sortino(mean, downside, risk_free, annualization) if n > 1 else NAN,
        "downside_risk": downside,
        "max_drawdown": drawdown,
        "calmar_ratio": _calmar(annual, drawdown),
        "var": var,
        "cvar": cvar,
        "best": best,
        "worst": worst,
        "periods": float(n),
    }
