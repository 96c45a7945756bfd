"""Incremental performance statistics: the live monitor absorbs one return or level at a time.

Each accumulator takes O(1) per value (``SortedReturns`` keeps every return, bisecting to insert)
and agrees with the vectorized ``performance_stats`` on the same values; the helpers mirror
empyrical's definitions, answering NaN where a ratio is undefined. Growth is summed as logs, so a
return at or below -100% pins the compounded return at -1 (empyrical's product would go below).
State persists as JSON through ``to_dict``/``from_dict``, with nan/inf/-inf written as the strings
"nan"/"inf"/"-inf" so that they round-trip exactly.
"""

from __future__ import annotations

import bisect
import copy
import math
from collections.abc import Iterable, Mapping

NAN = math.nan
JsonFloat = float | str


def _encode(x: float) -> JsonFloat:
    """A finite float as is, a non-finite one as its name (JSON has no nan or infinity)."""
    return x if math.isfinite(x) else repr(x)


def _decode(x: JsonFloat) -> float:
    """The float written by ``_encode``."""
    return float(x)


def _expm1(x: float) -> float:
    """exp(x) - 1 that overflows to +inf instead of raising, as numpy does."""
    try:
        return math.expm1(x)
    except OverflowError:
        return math.inf


def _check_cutoff(cutoff: float) -> None:
    """Reject a tail share outside [0, 1], as ``performance_stats`` does."""
    if not 0.0 <= cutoff <= 1.0:
        raise ValueError(f"cutoff must lie in [0, 1], got {cutoff!r}")


class RunningMoments:
    """Welford mean and variance, downside, log growth and extremes of a stream of returns."""

    __slots__ = (
        "_best",
        "_count",
        "_downside_sq",
        "_log_growth",
        "_m2",
        "_mean",
        "_worst",
        "required_return",
    )

    def __init__(self, required_return: float = 0.0) -> None:
        self.required_return = required_return
        self._count = 0
        self._mean = 0.0
        self._m2 = 0.0
        self._downside_sq = 0.0
        self._log_growth = 0.0
        self._best = NAN
        self._worst = NAN

    def add(self, x: float) -> None:
        """Absorb one period return."""
        x = float(x)
        self._count += 1
        delta = x - self._mean
        self._mean += delta / self._count
        self._m2 += delta * (x - self._mean)
        shortfall = min(x - self.required_return, 0.0)
        self._downside_sq += shortfall * shortfall
        self._log_growth += -math.inf if x <= -1 else math.log1p(x)
        self._best = x if self._count == 1 else max(self._best, x)
        self._worst = x if self._count == 1 else min(self._worst, x)

    def plus(self, x: float) -> RunningMoments:
        """A new accumulator holding one more return; this one is left as it was."""
        other = copy.copy(self)
        other.add(x)
        return other

    @property
    def count(self) -> int:
        """Number of returns absorbed."""
        return self._count

    @property
    def mean(self) -> float:
        """Arithmetic mean return; NaN before any."""
        return self._mean if self._count else NAN

    def variance(self) -> float:
        """Sample variance (ddof=1); NaN below 2 returns."""
        return self._m2 / (self._count - 1) if self._count > 1 else NAN

    def downside_mean_square(self) -> float:
        """Mean of min(r - required_return, 0)^2 over every return; NaN before any."""
        return self._downside_sq / self._count if self._count else NAN

    @property
    def log_growth(self) -> float:
        """Sum of log1p(r): log of the growth of 1; -inf once a return reaches -100%."""
        return self._log_growth

    @property
    def best(self) -> float:
        """Highest return; NaN before any."""
        return self._best

    @property
    def worst(self) -> float:
        """Lowest return; NaN before any."""
        return self._worst

    def to_dict(self) -> dict[str, JsonFloat]:
        """The state as JSON-safe values."""
        floats = {
            "required_return": self.required_return,
            "mean": self._mean,
            "m2": self._m2,
            "downside_sq": self._downside_sq,
            "log_growth": self._log_growth,
            "best": self._best,
            "worst": self._worst,
        }
        return {"count": self._count, **{key: _encode(value) for key, value in floats.items()}}

    @classmethod
    def from_dict(cls, state: Mapping[str, JsonFloat]) -> RunningMoments:
        """The accumulator ``to_dict`` saved."""
        moments = cls(_decode(state["required_return"]))
        moments._count = int(state["count"])
        moments._mean = _decode(state["mean"])
        moments._m2 = _decode(state["m2"])
        moments._downside_sq = _decode(state["downside_sq"])
        moments._log_growth = _decode(state["log_growth"])
        moments._best = _decode(state["best"])
        moments._worst = _decode(state["worst"])
        return moments


def volatility(m: RunningMoments, annualization: int) -> float:
    """Annualized sample deviation; NaN below 2 returns."""
    return math.sqrt(m.variance()) * annualization ** (1 / 2.0)


def sharpe(m: RunningMoments, risk_free: float, annualization: int) -> float:
    """Annualized Sharpe ratio (mean - risk_free) / deviation; NaN with zero or no deviation."""
    std = math.sqrt(m.variance())
    if not std > 0:
        return NAN
    return (m.mean - risk_free) / std * math.sqrt(annualization)


def sortino(m: RunningMoments, required_return: float, annualization: int) -> float:
    """Annualized mean excess return over downside risk; NaN below 2 returns or no downside.

    The downside is accumulated against ``m.required_return``, so that is the only threshold
    this can answer for.
    """
    if required_return != m.required_return:
        raise ValueError(f"accumulated for required_return={m.required_return}")
    downside = math.sqrt(m.downside_mean_square()) * math.sqrt(annualization)
    if m.count < 2 or not downside > 0:
        return NAN
    return (m.mean - required_return) * annualization / downside


def cagr(m: RunningMoments, annualization: int) -> float:
    """Compound annual growth rate; -1 after a -100% return, NaN before any return."""
    if not m.count:
        return NAN
    return _expm1(m.log_growth / (m.count / annualization))


def total_return(m: RunningMoments) -> float:
    """Compounded total return; -1 after a -100% return, NaN before any return."""
    return _expm1(m.log_growth) if m.count else NAN


class RunningDrawdown:
    """Peak, deepest fall and underwater spans of a positive index level sampled over time.

    Agrees with ``performance_stats.max_drawdown`` on the returns between the levels (the first
    level being the starting peak) and with ``performance_stats.drawdown_durations``.
    """

    __slots__ = ("_count", "_longest", "_max_drawdown", "_peak", "_peak_time", "_time", "_value")

    def __init__(self) -> None:
        self._count = 0
        self._peak = NAN
        self._peak_time = NAN
        self._time = NAN
        self._value = NAN
        self._max_drawdown = 0.0
        self._longest = 0.0

    def add(self, time_s: float, value: float) -> None:
        """Absorb the index level at time_s (seconds, not before the previous time)."""
        time_s, value = float(time_s), float(value)
        if self._count and (value < self._peak or self._value < self._peak):
            self._longest = max(self._longest, time_s - self._peak_time)
        if not self._count or value >= self._peak:
            self._peak, self._peak_time = value, time_s
        else:
            self._max_drawdown = min(self._max_drawdown, (value - self._peak) / self._peak)
        self._count += 1
        self._time, self._value = time_s, value

    @property
    def peak(self) -> float:
        """Highest level so far; NaN before any."""
        return self._peak

    @property
    def max_drawdown(self) -> float:
        """Deepest fall below a prior peak as a fraction <= 0; NaN below 2 levels (no returns)."""
        return self._max_drawdown if self._count > 1 else NAN

    @property
    def current_drawdown(self) -> float:
        """Fall of the latest level below the peak as a fraction <= 0; NaN before any."""
        return (self._value - self._peak) / self._peak if self._count else NAN

    @property
    def longest_duration_s(self) -> float:
        """Longest underwater span in seconds, the current one included; NaN before any level."""
        return self._longest if self._count else NAN

    @property
    def current_duration_s(self) -> float:
        """Seconds from the peak to the latest level while below it, else 0; NaN before any."""
        if not self._count:
            return NAN
        return self._time - self._peak_time if self._value < self._peak else 0.0

    def to_dict(self) -> dict[str, JsonFloat]:
        """The state as JSON-safe values."""
        floats = {
            "peak": self._peak,
            "peak_time": self._peak_time,
            "time": self._time,
            "value": self._value,
            "max_drawdown": self._max_drawdown,
            "longest": self._longest,
        }
        return {"count": self._count, **{key: _encode(value) for key, value in floats.items()}}

    @classmethod
    def from_dict(cls, state: Mapping[str, JsonFloat]) -> RunningDrawdown:
        """The accumulator ``to_dict`` saved."""
        drawdown = cls()
        drawdown._count = int(state["count"])
        drawdown._peak = _decode(state["peak"])
        drawdown._peak_time = _decode(state["peak_time"])
        drawdown._time = _decode(state["time"])
        drawdown._value = _decode(state["value"])
        drawdown._max_drawdown = _decode(state["max_drawdown"])
        drawdown._longest = _decode(state["longest"])
        return drawdown


class SortedReturns:
    """Every return kept in order, for the empirical tail: VaR and CVaR as the vectorized ones."""

    __slots__ = ("_values",)

    def __init__(self, values: Iterable[float] = ()) -> None:
        self._values: list[float] = sorted(float(x) for x in values if not math.isnan(x))

    def __len__(self) -> int:
        return len(self._values)

    def add(self, x: float) -> None:
        """Insert one return in order; NaN (a missing return) is skipped, as empyrical's CVaR."""
        if not math.isnan(x):
            bisect.insort(self._values, float(x))

    def plus(self, x: float) -> SortedReturns:
        """A new instance with one more return (the live monitor's provisional day); O(n) copy,
        no re-sort."""
        other = SortedReturns()
        other._values = list(self._values)
        other.add(x)
        return other

    def var(self, cutoff: float = 0.05) -> float:
        """The cutoff percentile with np.percentile's linear interpolation; NaN when empty."""
        _check_cutoff(cutoff)
        values = self._values
        if not values:
            return NAN
        last = len(values) - 1
        virtual = last * ((100 * cutoff) / 100)
        lower = min(math.floor(virtual), last)
        low = values[lower]
        high = low if virtual >= last else values[lower + 1]
        gamma, diff = virtual - lower, high - low
        return high - diff * (1 - gamma) if gamma >= 0.5 else low + diff * gamma

    def cvar(self, cutoff: float = 0.05) -> float:
        """Mean of the int((n - 1) * cutoff) + 1 lowest returns, as empyrical; NaN when empty."""
        _check_cutoff(cutoff)
        if not self._values:
            return NAN
        lowest = self._values[: int((len(self._values) - 1) * cutoff) + 1]
        return math.fsum(lowest) / len(lowest)

    def to_list(self) -> list[JsonFloat]:
        """The returns in order, JSON-safe."""
        return [_encode(x) for x in self._values]

    @classmethod
    def from_list(cls, values: Iterable[JsonFloat]) -> SortedReturns:
        """The returns ``to_list`` saved."""
        return cls(_decode(x) for x in values)
