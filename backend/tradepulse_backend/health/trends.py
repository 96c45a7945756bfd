"""Trends over a window of samples: the rate of change, a linear projection to exhaustion with a
confidence guard, and a leak detector for sustained RSS growth."""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass

import numpy as np

from tradepulse_backend.config.health import LeakConfig, TrendConfig


@dataclass(frozen=True)
class LineFit:
    """Least-squares line through samples: slope per second, fit (R²), time span covered."""

    slope: float
    intercept: float
    r2: float
    points: int
    span_s: float

    def at(self, t: float) -> float:
        return self.intercept + self.slope * t


def fit_line(times: np.ndarray, values: np.ndarray) -> LineFit | None:
    """The least-squares line of `values` over `times`; None with fewer than two distinct times.
    A flat series fits perfectly (R² 1)."""
    if len(times) < 2:
        return None
    t0 = times[0]
    t = times - t0
    t_mean, v_mean = t.mean(), values.mean()
    st = ((t - t_mean) ** 2).sum()
    if st <= 0:
        return None
    slope = float(((t - t_mean) * (values - v_mean)).sum() / st)
    intercept = float(v_mean - slope * t_mean - slope * t0)
    residual = values - (v_mean + slope * (t - t_mean))
    total = float(((values - v_mean) ** 2).sum())
    r2 = 1.0 if total <= 0 else max(0.0, 1.0 - float((residual ** 2).sum()) / total)
    return LineFit(slope, intercept, r2, len(times), float(t[-1]))


class Window:
    """(seconds, value) samples of the last `window_s` seconds, oldest first."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._samples: deque[tuple[float, float]] = deque()
        self._lock = threading.Lock()

    def add(self, t: float, value: float) -> None:
        if not math.isfinite(value):
            return
        with self._lock:
            if self._samples and t < self._samples[-1][0]:
                return
            self._samples.append((t, value))
            while self._samples and self._samples[0][0] < t - self.window_s:
                self._samples.popleft()

    def fit(self) -> LineFit | None:
        with self._lock:
            if len(self._samples) < 2:
                return None
            data = np.array(self._samples, dtype=float)
        return fit_line(data[:, 0], data[:, 1])

    def last_time(self) -> float:
        """Time of the newest sample (the fitted line is read there: less noisy than it)."""
        with self._lock:
            return self._samples[-1][0]

    def __len__(self) -> int:
        return len(self._samples)


@dataclass(frozen=True)
class Projection:
    """A figure's rate of change (per hour) and, when the line is trustworthy and rising, the
    seconds until it reaches its limit."""

    rate_per_h: float | None
    eta_s: float | None
    r2: float | None


class Exhaustion:
    """Projects a percentage (disk, memory) to its limit along its recent line."""

    def __init__(self, config: TrendConfig, limit: float = 100.0) -> None:
        self.config = config
        self.limit = limit
        self.window = Window(config.window)

    def add(self, t: float, value: float) -> None:
        self.window.add(t, value)

    def projection(self) -> Projection:
        """No rate before `min_points` samples; no ETA unless R² ≥ `min_r2`, the line rises,
        and the limit is reached within `max_eta` (the confidence guard)."""
        fit = self.window.fit() if len(self.window) >= self.config.min_points else None
        if fit is None:
            return Projection(None, None, None)
        rate_h = fit.slope * 3600
        eta = None
        if fit.slope > 0 and fit.r2 >= self.config.min_r2:
            current = min(self.limit, fit.at(self.window.last_time()))
            seconds = (self.limit - current) / fit.slope
            if seconds <= self.config.max_eta:
                eta = max(0.0, seconds)
        return Projection(rate_h, eta, fit.r2)


@dataclass(frozen=True)
class LeakVerdict:
    """A bot's RSS growth per hour, and whether it counts as a leak."""

    growth_bytes_per_h: float | None
    leaking: bool
    message: str


class LeakDetector:
    """Sustained RSS growth: at least `min_duration` of samples, a line with R² ≥ `min_r2`
    and a slope of at least `min_slope_bytes_per_h`."""

    def __init__(self, config: LeakConfig) -> None:
        self.config = config
        self.window = Window(config.window)

    def add(self, t: float, rss_bytes: float) -> None:
        self.window.add(t, rss_bytes)

    def verdict(self) -> LeakVerdict:
        fit = self.window.fit()
        if fit is None or fit.points < 3:
            return LeakVerdict(None, False, "not enough RSS samples")
        per_h = fit.slope * 3600
        if fit.span_s < self.config.min_duration:
            return LeakVerdict(per_h, False,
                               f"{fit.span_s:.0f}s of samples, {self.config.min_duration:g}s "
                               "needed to judge a leak")
        leaking = per_h >= self.config.min_slope_bytes_per_h and fit.r2 >= self.config.min_r2
        if leaking:
            return LeakVerdict(per_h, True, f"RSS growing {per_h / 2**20:.1f} MiB/h for "
                                            f"{fit.span_s / 60:.0f} min (R² {fit.r2:.2f})")
        return LeakVerdict(per_h, False, f"RSS trend {per_h / 2**20:+.1f} MiB/h")
