"""Execution quality: order outcomes, latency and slippage over a rolling window, per broker
and per symbol.

Counts are kept in time slots; a running total per dimension is updated on every increase and
on every expired slot, so absorbing a point and reading the figures are both O(1) in the
window's length. Latency and slippage are kept twice over: explicit-bucket counts (from SDKs
that send explicit histograms) and a base-2 exponential histogram (tradepulse's SDK), whose
percentiles are within about a bucket's width of the exact ones (1.1% over 20-90 ms).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tradepulse import conventions as conv
from tradepulse_backend.performance import exponential
from tradepulse_backend.performance.exponential import ExponentialHistogram
from tradepulse_backend.performance.stats import histogram_quantile

ALL = ("all", "")
_SUCCESS_FAILURES = (conv.OrderStatus.REJECTED.value, conv.OrderStatus.EXPIRED.value)
_FILLED = (conv.OrderStatus.FILLED.value, conv.OrderStatus.PARTIALLY_FILLED.value)
LATENCY_BOUNDS_S = conv.ORDER_LATENCY_BUCKETS_S
SLIPPAGE_BOUNDS_BPS = conv.SLIPPAGE_BUCKETS_BPS
# Signed slippage buckets: favorable magnitudes mirrored below zero, adverse ones above.
SIGNED_SLIPPAGE_BOUNDS = (*(-b for b in reversed(SLIPPAGE_BOUNDS_BPS[1:])), *SLIPPAGE_BOUNDS_BPS)


@dataclass(slots=True)
class ExecutionCounts:
    """Additive execution figures of one dimension (all orders, one broker or one symbol)."""

    orders: dict[str, float] = field(default_factory=dict)
    latency: list[float] = field(default_factory=lambda: [0.0] * (len(LATENCY_BOUNDS_S) + 1))
    slippage: list[float] = field(
        default_factory=lambda: [0.0] * (len(SIGNED_SLIPPAGE_BOUNDS) + 1))
    slippage_sum: float = 0.0
    slippage_count: float = 0.0
    latency_exp: ExponentialHistogram | None = None
    slippage_exp: ExponentialHistogram | None = None

    def add(self, other: ExecutionCounts, sign: float = 1.0) -> None:
        for status, count in other.orders.items():
            self.orders[status] = self.orders.get(status, 0.0) + sign * count
        _add_into(self.latency, other.latency, sign)
        _add_into(self.slippage, other.slippage, sign)
        self.slippage_sum += sign * other.slippage_sum
        self.slippage_count += sign * other.slippage_count
        self.latency_exp = _combined(self.latency_exp, other.latency_exp, sign)
        self.slippage_exp = _combined(self.slippage_exp, other.slippage_exp, sign)

    def figures(self) -> dict[str, float | None]:
        """Rates, latency percentiles (ms) and slippage (bps); None where nothing was seen."""
        total = sum(self.orders.values())
        rejected = self.orders.get(conv.OrderStatus.REJECTED.value, 0.0)
        failed = sum(self.orders.get(s, 0.0) for s in _SUCCESS_FAILURES)
        filled = sum(self.orders.get(s, 0.0) for s in _FILLED)
        return {
            "orders": round(total),
            "order_success_rate": _ratio(total - failed, total),
            "rejection_rate": _ratio(rejected, total),
            "fill_rate": _ratio(filled, total - rejected),
            "latency_p50_ms": _ms(self._latency_quantile(0.50)),
            "latency_p95_ms": _ms(self._latency_quantile(0.95)),
            "latency_p99_ms": _ms(self._latency_quantile(0.99)),
            "slippage_mean_bps": _ratio(self.slippage_sum, self.slippage_count),
            "slippage_p95_bps": _mixed_quantile(0.95, SIGNED_SLIPPAGE_BOUNDS, self.slippage,
                                                self.slippage_exp),
        }

    def _latency_quantile(self, q: float) -> float | None:
        return _mixed_quantile(q, LATENCY_BOUNDS_S, self.latency, self.latency_exp)

    def to_dict(self) -> dict[str, Any]:
        return {"orders": self.orders, "latency": self.latency, "slippage": self.slippage,
                "slippage_sum": self.slippage_sum, "slippage_count": self.slippage_count,
                "latency_exp": _exp_dict(self.latency_exp),
                "slippage_exp": _exp_dict(self.slippage_exp)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExecutionCounts:
        return cls(dict(data["orders"]), list(data["latency"]), list(data["slippage"]),
                   data["slippage_sum"], data["slippage_count"],
                   _exp_of(data.get("latency_exp")), _exp_of(data.get("slippage_exp")))


def _combined(mine: ExponentialHistogram | None, other: ExponentialHistogram | None,
              sign: float) -> ExponentialHistogram | None:
    """`mine` plus (or minus) `other`; None once nothing is left."""
    if other is None or not other.count:
        return mine
    if mine is None:
        return other if sign > 0 else None
    found = (exponential.merge([mine, other]) if sign > 0
             else exponential.subtract(mine, other))
    return found if found is not None and found.count > 0 else None


def _mixed_quantile(q: float, bounds: Sequence[float], explicit: Sequence[float],
                    exp: ExponentialHistogram | None) -> float | None:
    """From the exponential histogram alone when no explicit-bucket counts were seen; else at
    the explicit buckets' precision, with the exponential counts moved into them."""
    if not any(explicit):
        return None if exp is None else _finite(exponential.quantile(exp, q))
    counts = list(explicit)
    if exp is not None:
        _add_into(counts, exponential.explicit_counts(exp, bounds), 1.0)
    return _quantile(q, bounds, counts)


def _finite(value: float) -> float | None:
    return value if value == value else None


def _exp_dict(histogram: ExponentialHistogram | None) -> dict[str, Any] | None:
    return None if histogram is None else histogram.to_dict()


def _exp_of(data: dict[str, Any] | None) -> ExponentialHistogram | None:
    return None if data is None else ExponentialHistogram.from_dict(data)


def _add_into(target: list[float], source: Sequence[float], sign: float) -> None:
    for index, count in enumerate(source):
        if count:
            target[index] += sign * count


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole > 0 else None


def _quantile(q: float, bounds: Sequence[float], counts: Sequence[float]) -> float | None:
    value = histogram_quantile(q, bounds, counts) if sum(counts) > 0 else float("nan")
    return value if value == value else None


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000.0


def rebin(bounds: Sequence[float], counts: Sequence[float], target: Sequence[float]
          ) -> list[float]:
    """Counts of one explicit-bucket histogram moved into `target`'s buckets by upper bound,
    so series recorded with other boundaries still add up (approximately) with ours."""
    if tuple(bounds) == tuple(target):
        return list(counts)
    out = [0.0] * (len(target) + 1)
    for index, count in enumerate(counts):
        upper = bounds[index] if index < len(bounds) else float("inf")
        slot = next((i for i, bound in enumerate(target) if upper <= bound), len(target))
        out[slot] += count
    return out


def signed_slippage(direction: str, counts: Sequence[float]) -> list[float]:
    """A magnitude histogram of one slippage direction placed on the signed buckets."""
    out = [0.0] * (len(SIGNED_SLIPPAGE_BOUNDS) + 1)
    mirror = len(SLIPPAGE_BOUNDS_BPS) - 1
    for index, count in enumerate(counts):
        if direction == conv.SlippageDirection.FAVORABLE.value and index > 0:
            out[mirror - index + 1] += count
        else:
            out[mirror + index] += count
    return out


Dimension = tuple[str, str]


def dimensions(attributes: dict[str, Any]) -> list[Dimension]:
    """The breakdowns a point counts toward: all, its broker and its symbol when present."""
    found = [ALL]
    for label, key in (("broker", conv.ATTR_BROKER), ("symbol", conv.ATTR_SYMBOL)):
        value = attributes.get(key)
        if value not in (None, ""):
            found.append((label, str(value)))
    return found


class ExecutionWindow:
    """Execution counts of the last `window_s` seconds (of data time), in `slots` slots."""

    def __init__(self, window_s: float, slots: int = 60) -> None:
        self.window_s = window_s
        self.slot_s = window_s / slots
        self._span = slots
        self._slots: deque[tuple[int, dict[Dimension, ExecutionCounts]]] = deque()
        self.totals: dict[Dimension, ExecutionCounts] = {}

    def add(self, time_ns: int, attributes: dict[str, Any], counts: ExecutionCounts) -> None:
        """Count an increase observed at `time_ns` toward every dimension it belongs to; one
        older than the window is dropped, a late one inside it joins the newest slot."""
        slot = int(time_ns / 1e9 // self.slot_s)
        self.advance(time_ns)
        if self._slots and slot < self._slots[-1][0]:
            if slot <= self._slots[-1][0] - self._span:
                return
            slot = self._slots[-1][0]
        if not self._slots or self._slots[-1][0] != slot:
            self._slots.append((slot, {}))
        current = self._slots[-1][1]
        for dim in dimensions(attributes):
            current.setdefault(dim, ExecutionCounts()).add(counts)
            self.totals.setdefault(dim, ExecutionCounts()).add(counts)

    def advance(self, time_ns: int) -> None:
        """Drop slots that have left the window ending at `time_ns`."""
        oldest = int(time_ns / 1e9 // self.slot_s) - self._span + 1
        changed: set[Dimension] = set()
        while self._slots and self._slots[0][0] < oldest:
            _, expired = self._slots.popleft()
            for dim, counts in expired.items():
                self.totals[dim].add(counts, -1.0)
                if counts.latency_exp is not None or counts.slippage_exp is not None:
                    changed.add(dim)
        for dim in changed:
            self._remerge(dim)

    def _remerge(self, dim: Dimension) -> None:
        """Rebuild a dimension's exponential totals from the slots left: subtracting cannot
        restore the finer scale or the min/max that an expired slot had."""
        kept = [dims[dim] for _, dims in self._slots if dim in dims]
        total = self.totals[dim]
        total.latency_exp = exponential.merge(
            c.latency_exp for c in kept if c.latency_exp is not None)
        total.slippage_exp = exponential.merge(
            c.slippage_exp for c in kept if c.slippage_exp is not None)

    def figures(self) -> dict[str, Any]:
        """Overall figures plus `by_broker` and `by_symbol` breakdowns."""
        overall = self.totals.get(ALL, ExecutionCounts()).figures()
        breakdown: dict[str, dict[str, Any]] = {"by_broker": {}, "by_symbol": {}}
        for (label, name), counts in sorted(self.totals.items()):
            if label != "all" and sum(counts.orders.values()) + counts.slippage_count > 0:
                breakdown[f"by_{label}"][name] = counts.figures()
        return {**overall, **breakdown}

    def to_dict(self) -> dict[str, Any]:
        return {"window_s": self.window_s, "slot_s": self.slot_s, "slots": [
            [slot, [[list(dim), counts.to_dict()] for dim, counts in dims.items()]]
            for slot, dims in self._slots]}

    @classmethod
    def from_dict(cls, data: dict[str, Any], window_s: float) -> ExecutionWindow:
        window = cls(window_s)
        if data.get("window_s") != window_s:
            return window
        for slot, dims in data["slots"]:
            restored = {tuple(dim): ExecutionCounts.from_dict(c) for dim, c in dims}
            window._slots.append((slot, restored))
            for dim, counts in restored.items():
                window.totals.setdefault(dim, ExecutionCounts()).add(counts)
        return window

