"""Per-point incremental update of the live performance state against a full recompute.

Both arms produce the same figures (a test holds them equal): the live `PortfolioAccount`
absorbs one more portfolio value in O(1), the batch `recompute` redoes every figure over the
whole history with numpy. Measured at 100,000 one-minute points (about 70 days); the ratio is
recompute time over per-point time. Also printed: absorbing one point and then reading a whole
snapshot. Run from the repo root: ``python -m bench.bench_performance_incremental``.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from tradepulse_backend.performance.account import PortfolioAccount, ReturnSettings
from tradepulse_backend.performance.calendar import TradingCalendar
from tradepulse_backend.performance.history import recompute

TARGET_RATIO = 100.0
START_NS = 1_767_225_600 * 10**9  # 2026-01-01 UTC
MINUTE_NS = 60 * 10**9
READS = 200


def _series(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(42)
    values = 100_000 * np.cumprod(1 + rng.normal(0.00001, 0.0008, n))
    return START_NS + np.arange(n, dtype=np.int64) * MINUTE_NS, values


def _primed(times: np.ndarray, values: np.ndarray) -> PortfolioAccount:
    account = PortfolioAccount(ReturnSettings(), TradingCalendar())
    for t, v in zip(times.tolist(), values.tolist(), strict=True):
        account.add_value(t, v)
    return account


def run(n: int = 100_000, trials: int = 5, extra: int = 20_000) -> dict[str, float]:
    """Median per-point absorb time, absorb-and-read time and recompute time, in microseconds."""
    times, values = _series(n + extra)
    settings, calendar = ReturnSettings(), TradingCalendar()
    flows = np.zeros(n)
    absorb, read, full = [], [], []
    for _ in range(trials):
        account = _primed(times[:n], values[:n])
        tail = list(zip(times[n:].tolist(), values[n:].tolist(), strict=True))
        absorbed, read_tail = tail[:-READS], tail[-READS:]
        start = time.perf_counter()
        for t, v in absorbed:
            account.add_value(t, v)
        absorb.append((time.perf_counter() - start) / len(absorbed) * 1e6)
        start = time.perf_counter()
        for t, v in read_tail:
            account.add_value(t, v)
            account.figures()
        read.append((time.perf_counter() - start) / READS * 1e6)
        start = time.perf_counter()
        recompute(times[:n], values[:n], flows, settings, calendar)
        full.append((time.perf_counter() - start) * 1e6)
    result = {"points": n, "absorb_us": statistics.median(absorb),
              "absorb_and_read_us": statistics.median(read),
              "recompute_us": statistics.median(full)}
    result["ratio"] = result["recompute_us"] / result["absorb_us"]
    result["read_ratio"] = result["recompute_us"] / result["absorb_and_read_us"]
    return result


def format_result(result: dict[str, float]) -> str:
    return (f"performance_incremental: points={result['points']:,} "
            f"absorb={result['absorb_us']:.2f}us recompute={result['recompute_us'] / 1e3:.1f}ms "
            f"ratio={result['ratio']:,.0f}x (target >= {TARGET_RATIO:.0f}x); "
            f"absorb+snapshot={result['absorb_and_read_us']:.1f}us "
            f"ratio={result['read_ratio']:,.0f}x")


if __name__ == "__main__":
    print(format_result(run()), flush=True)
