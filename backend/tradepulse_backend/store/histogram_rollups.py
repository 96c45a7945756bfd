"""Rollup tiers of explicit-bucket histograms: per time bucket the increase of the count, the
sum and every bucket count (resets handled as for counters), and the min and max seen.

Histogram points stay rows in `distribution_points` (their raw tier); sealing adds 1-minute
and 1-hour entries to `series_chunks` like number series get, with the bucket bounds in front
of the compressed columns. Points whose bounds differ from the window's last point are left
out of that window's entries.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import numpy as np
from opentelemetry.proto.metrics.v1 import metrics_pb2
from sqlalchemy import Connection, text

from tradepulse_backend.store import chunk_codec
from tradepulse_backend.telemetry.counters import restarted
from tradepulse_backend.telemetry.records import Temporality

_BOUNDS = struct.Struct("<H")


@dataclass
class HistogramRollup:
    """Entries in ascending bucket time; `buckets` has one row per entry."""

    bounds: tuple[float, ...]
    time_ns: np.ndarray
    count: np.ndarray
    sum: np.ndarray
    min: np.ndarray
    max: np.ndarray
    buckets: np.ndarray

    def __len__(self) -> int:
        return int(self.time_ns.size)

    @classmethod
    def empty(cls, bounds: tuple[float, ...] = ()) -> HistogramRollup:
        return cls(bounds, np.empty(0, np.int64), *(np.empty(0) for _ in range(4)),
                   np.empty((0, len(bounds) + 1)))

    def take(self, keep) -> HistogramRollup:
        return HistogramRollup(self.bounds, self.time_ns[keep], self.count[keep],
                               self.sum[keep], self.min[keep], self.max[keep],
                               self.buckets[keep])

    def encode(self) -> bytes:
        head = _BOUNDS.pack(len(self.bounds)) + np.asarray(self.bounds, "<f8").tobytes()
        columns = [self.time_ns, self.count, self.sum, self.min, self.max,
                   *(self.buckets[:, i].copy() for i in range(self.buckets.shape[1]))]
        return head + chunk_codec.encode(columns)

    @classmethod
    def decode(cls, body: bytes) -> HistogramRollup:
        (size,) = _BOUNDS.unpack_from(body, 0)
        offset = _BOUNDS.size + 8 * size
        bounds = tuple(np.frombuffer(body, "<f8", count=size, offset=_BOUNDS.size).tolist())
        columns = chunk_codec.decode(bytes(body[offset:]))
        time_ns, count, total, low, high, *buckets = columns
        matrix = (np.column_stack(buckets) if buckets
                  else np.empty((time_ns.size, 0)))
        return cls(bounds, time_ns, count, total, low, high, matrix)

    def to_values(self) -> list[dict[str, Any]]:
        """Each entry as the REST value of a histogram bucket."""
        return [{"count": c, "sum": _finite(s), "min": _finite(lo), "max": _finite(hi),
                 "bounds": list(self.bounds), "bucket_counts": b}
                for c, s, lo, hi, b in zip(self.count.tolist(), self.sum.tolist(),
                                           self.min.tolist(), self.max.tolist(),
                                           self.buckets.tolist(), strict=True)]


def _finite(value: float) -> float | None:
    return value if np.isfinite(value) else None


@dataclass
class HistogramPoints:
    """Decoded histogram points of one series, sorted by time, all with the same bounds."""

    bounds: tuple[float, ...]
    times: np.ndarray
    starts: np.ndarray
    count: np.ndarray
    sum: np.ndarray
    min: np.ndarray
    max: np.ndarray
    buckets: np.ndarray


_ROWS = ("SELECT time_ns, start_ns, count, sum, min, max, body FROM distribution_points "
         "WHERE series_id = :sid AND time_ns >= :since AND time_ns < :until ORDER BY time_ns")


def read_points(conn: Connection, sid: int, since_ns: int, until_ns: int
                ) -> HistogramPoints | None:
    """Points in [since, until) with the bounds of the newest one; None when there are none."""
    rows = conn.execute(text(_ROWS), {"sid": sid, "since": since_ns, "until": until_ns}).all()
    if not rows:
        return None
    decoded = [metrics_pb2.HistogramDataPoint.FromString(row[6]) for row in rows]
    bounds = tuple(decoded[-1].explicit_bounds)
    keep = [i for i, point in enumerate(decoded) if tuple(point.explicit_bounds) == bounds
            and len(point.bucket_counts) == len(bounds) + 1]
    pick = [rows[i] for i in keep]
    return HistogramPoints(
        bounds=bounds,
        times=np.array([r[0] for r in pick], dtype=np.int64),
        starts=np.array([r[1] for r in pick], dtype=np.int64),
        count=np.array([r[2] for r in pick], dtype=np.float64),
        sum=np.array([np.nan if r[3] is None else r[3] for r in pick], dtype=np.float64),
        min=np.array([np.nan if r[4] is None else r[4] for r in pick], dtype=np.float64),
        max=np.array([np.nan if r[5] is None else r[5] for r in pick], dtype=np.float64),
        buckets=np.array([list(decoded[i].bucket_counts) for i in keep], dtype=np.float64
                         ).reshape(len(keep), len(bounds) + 1))


def point_before(conn: Connection, sid: int, before_ns: int) -> tuple | None:
    """(start_ns, count, sum, bucket counts, bounds) of the newest point before `before_ns`."""
    row = conn.execute(text(
        "SELECT start_ns, count, sum, body FROM distribution_points WHERE series_id = :sid "
        "AND time_ns < :before ORDER BY time_ns DESC LIMIT 1"),
        {"sid": sid, "before": before_ns}).first()
    if row is None:
        return None
    point = metrics_pb2.HistogramDataPoint.FromString(row[3])
    return (row[0], float(row[1]), float(row[2] or 0.0),
            np.array(list(point.bucket_counts), dtype=np.float64), tuple(point.explicit_bounds))


def increases(points: HistogramPoints, temporality: int, previous: tuple | None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per point the increase of count, sum and bucket counts since the point before (delta
    points are increases already); a reset (new start time, or the count going down) counts
    the new values whole; a series' first point counts whole when it carries its start time
    (everything since the start is new), else it only sets the baseline."""
    if temporality == Temporality.DELTA:
        return points.count, np.nan_to_num(points.sum), points.buckets
    n = points.times.size
    prev_starts = np.concatenate(([0], points.starts[:-1]))
    prev_count = np.concatenate(([0.0], points.count[:-1]))
    prev_sum = np.concatenate(([0.0], np.nan_to_num(points.sum[:-1])))
    prev_buckets = np.vstack((np.zeros((1, points.buckets.shape[1])), points.buckets[:-1]))
    first_known = previous is not None and previous[4] == points.bounds
    if first_known:
        prev_starts[0], prev_count[0], prev_sum[0] = previous[0], previous[1], previous[2]
        prev_buckets[0] = previous[3]
    reset = np.array([restarted(int(a), int(b)) for a, b in
                      zip(prev_starts.tolist(), points.starts.tolist(), strict=True)],
                     dtype=bool) | (points.count < prev_count)
    count = np.where(reset, points.count, points.count - prev_count)
    total = np.where(reset, np.nan_to_num(points.sum), np.nan_to_num(points.sum) - prev_sum)
    buckets = np.where(reset[:, None], points.buckets, points.buckets - prev_buckets)
    if n and not first_known and not points.starts[0]:
        count[0], total[0] = 0.0, 0.0
        buckets[0] = 0.0
    return count, total, buckets


def from_points(points: HistogramPoints, temporality: int, previous: tuple | None,
                step_ns: int) -> HistogramRollup:
    """Entries of `step_ns` buckets from a series' histogram points."""
    if points.times.size == 0:
        return HistogramRollup.empty(points.bounds)
    count, total, buckets = increases(points, temporality, previous)
    keys = points.times // step_ns * step_ns
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    with np.errstate(invalid="ignore"):
        return HistogramRollup(
            points.bounds, keys[starts], np.add.reduceat(count, starts),
            np.add.reduceat(total, starts), np.fmin.reduceat(points.min, starts),
            np.fmax.reduceat(points.max, starts), np.add.reduceat(buckets, starts, axis=0))


def combine(entries: HistogramRollup, step_ns: int) -> HistogramRollup:
    """Entries of a finer tier combined into `step_ns` buckets."""
    if len(entries) == 0:
        return entries
    keys = entries.time_ns // step_ns * step_ns
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    with np.errstate(invalid="ignore"):
        return HistogramRollup(
            entries.bounds, keys[starts], np.add.reduceat(entries.count, starts),
            np.add.reduceat(entries.sum, starts), np.fmin.reduceat(entries.min, starts),
            np.fmax.reduceat(entries.max, starts),
            np.add.reduceat(entries.buckets, starts, axis=0))


def concat(parts: list[HistogramRollup]) -> HistogramRollup:
    """Entries of parts with the newest part's bounds (others with different bounds dropped)."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return HistogramRollup.empty()
    bounds = parts[-1].bounds
    same = [p for p in parts if p.bounds == bounds]
    return HistogramRollup(bounds, *(np.concatenate(c) for c in (
        [p.time_ns for p in same], [p.count for p in same], [p.sum for p in same],
        [p.min for p in same], [p.max for p in same])),
        np.vstack([p.buckets for p in same]))


def replace_range(old: HistogramRollup, new: HistogramRollup, low_ns: int, high_ns: int
                  ) -> HistogramRollup:
    """`old` with its entries in [low, high) replaced by `new`, sorted by time."""
    if old.bounds != new.bounds:
        old = HistogramRollup.empty(new.bounds)
    outside = (old.time_ns < low_ns) | (old.time_ns >= high_ns)
    merged = concat([old.take(outside), new]) if len(new) else old.take(outside)
    return merged.take(np.argsort(merged.time_ns, kind="stable"))
