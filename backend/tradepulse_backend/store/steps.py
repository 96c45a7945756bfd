"""Step queries: one aggregate per step-aligned bucket, answered from the coarsest rollup tier
that holds the bucket, else from raw points (chunks and unsealed tables).

Buckets start at multiples of the step since the epoch and aggregate all their points; a bucket
is answered by a tier when the step is a multiple of the tier's, the bucket ended before the
series' sealing watermark, and it starts at or after the tier's oldest kept chunk.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy import Connection

from tradepulse_backend.store import chunks, histogram_rollups
from tradepulse_backend.store.rollups import (
    Aggregate,
    Rollup,
    combine,
    concat,
    from_points,
    values_of,
)
from tradepulse_backend.store.series_math import changes_array

NS = 10**9
MAX_NS = 2**63 - 1
STEP_LADDER_S = (1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600,
                 43200, 86400, 172800, 604800)
"""Steps `max_points` picks from: the smallest giving at most that many buckets."""


def step_for(since_ns: int, until_ns: int, max_points: int) -> int:
    """The step (ns) from the ladder that gives at most `max_points` buckets over the range
    (a whole number of weeks beyond the ladder)."""
    span = max(until_ns - since_ns, 0)
    for seconds in STEP_LADDER_S:
        step = seconds * NS
        if _buckets(since_ns, until_ns, step) <= max_points:
            return step
    week = STEP_LADDER_S[-1] * NS
    weeks = max(1, -(-span // (week * max(max_points - 1, 1))))
    while _buckets(since_ns, until_ns, weeks * week) > max_points:
        weeks += 1
    return weeks * week


def _buckets(since_ns: int, until_ns: int, step: int) -> int:
    return until_ns // step - since_ns // step + 1


def plan(conn: Connection, sid: int, since_ns: int, until_ns: int, step_ns: int
         ) -> list[tuple[int, int, int | None]]:
    """(low, high, tier or None for raw) segments covering the buckets of [since, until],
    oldest first."""
    first = since_ns // step_ns * step_ns
    end = min(until_ns // step_ns * step_ns + step_ns, MAX_NS)
    sealed_end = max(min(end, chunks.sealed_until(conn, sid) // step_ns * step_ns), first)
    oldest = chunks.tier_oldest(conn, sid)
    segments: list[tuple[int, int, int | None]] = []
    high = sealed_end
    for tier in chunks.ROLLUP_TIERS:
        if step_ns % (tier * NS) or tier not in oldest:
            continue
        low = max(-(-oldest[tier] // step_ns) * step_ns, first)
        if low < high:
            segments.append((low, high, tier))
            high = low
    if first < high:
        segments.append((first, high, None))
    segments.reverse()
    if sealed_end < end:
        segments.append((sealed_end, end, None))
    return segments


def step_entries(conn: Connection, meta: dict[str, Any], since_ns: int, until_ns: int,
                 step_ns: int, *, increases: bool = True) -> Rollup:
    """Rollup entries of `step_ns` buckets over [since, until] for one number series
    (`increases` False: their increase column may be left incomplete, saving a lookup)."""
    parts = []
    for low, high, tier in plan(conn, meta["id"], since_ns, until_ns, step_ns):
        if tier is not None:
            parts.append(combine(chunks.read_rollups(conn, meta["id"], tier, low, high),
                                 step_ns))
            continue
        points = chunks.read_points(conn, meta["id"], low, high - 1)
        valued = points.take(points.present)
        before = chunks.point_before(conn, meta["id"], low) if increases else None
        previous = None if before is None else before[1:]
        changes = changes_array(valued.starts, valued.values, kind=meta["kind"],
                                temporality=meta["temporality"], monotonic=meta["monotonic"],
                                previous=previous)
        parts.append(from_points(valued.times, valued.values, changes, step_ns))
    return concat(parts)


def step_values(conn: Connection, meta: dict[str, Any], since_ns: int, until_ns: int,
                step_ns: int, aggregate: Aggregate | str) -> tuple[np.ndarray, np.ndarray]:
    """(bucket start times ns, aggregate values) of one number series."""
    needs = Aggregate(aggregate) in (Aggregate.INCREASE, Aggregate.RATE)
    entries = step_entries(conn, meta, since_ns, until_ns, step_ns, increases=needs)
    return entries.time_ns, values_of(entries, aggregate, step_ns)


def sealed_entries(conn: Connection, sid: int, since_ns: int, until_ns: int
                   ) -> tuple[Rollup, np.ndarray]:
    """The finest rollup entries kept for [since, until): 1-minute ones where that tier still
    holds them, 1-hour ones before (a history at minute resolution in bounded memory); the
    first entry is the bucket holding `since`. Also each entry's end (bucket start + step - 1
    ns), the time its `last` value and `increase` stand for."""
    oldest = chunks.tier_oldest(conn, sid)
    minute = chunks.TIER_MINUTE * NS
    minute_from = max(oldest.get(chunks.TIER_MINUTE, until_ns), since_ns // minute * minute)
    parts, ends = [], []
    if chunks.TIER_HOUR in oldest and since_ns < minute_from:
        hour = chunks.TIER_HOUR * NS
        hours = chunks.read_rollups(conn, sid, chunks.TIER_HOUR, since_ns // hour * hour,
                                    minute_from)
        parts.append(hours)
        ends.append(hours.time_ns + (hour - 1))
    if minute_from < until_ns:
        minutes = chunks.read_rollups(conn, sid, chunks.TIER_MINUTE, minute_from, until_ns)
        parts.append(minutes)
        ends.append(minutes.time_ns + (minute - 1))
    return concat(parts), (np.concatenate(ends) if ends else np.empty(0, np.int64))


def histogram_steps(conn: Connection, meta: dict[str, Any], since_ns: int, until_ns: int,
                    step_ns: int) -> histogram_rollups.HistogramRollup:
    """Merged histograms of `step_ns` buckets over [since, until] for one explicit-bucket
    histogram series: rollup tiers where they hold the bucket, else its points."""
    parts = []
    for low, high, tier in plan(conn, meta["id"], since_ns, until_ns, step_ns):
        if tier is not None:
            parts.append(histogram_rollups.combine(
                chunks.read_histogram_rollups(conn, meta["id"], tier, low, high), step_ns))
            continue
        points = histogram_rollups.read_points(conn, meta["id"], low, high)
        if points is not None:
            previous = histogram_rollups.point_before(conn, meta["id"], low)
            parts.append(histogram_rollups.from_points(points, meta["temporality"], previous,
                                                       step_ns))
    return histogram_rollups.concat(parts)


def sealed_histogram_entries(conn: Connection, sid: int, since_ns: int, until_ns: int
                             ) -> histogram_rollups.HistogramRollup:
    """A histogram series' finest kept rollup entries over [since, until) (see
    `sealed_entries`)."""
    oldest = chunks.tier_oldest(conn, sid)
    minute = chunks.TIER_MINUTE * NS
    minute_from = max(oldest.get(chunks.TIER_MINUTE, until_ns), since_ns // minute * minute)
    parts = []
    if chunks.TIER_HOUR in oldest and since_ns < minute_from:
        hour = chunks.TIER_HOUR * NS
        parts.append(chunks.read_histogram_rollups(conn, sid, chunks.TIER_HOUR,
                                                   since_ns // hour * hour, minute_from))
    if minute_from < until_ns:
        parts.append(chunks.read_histogram_rollups(conn, sid, chunks.TIER_MINUTE, minute_from,
                                                   until_ns))
    return histogram_rollups.concat(parts)
