"""Series chunks: sealing windows of number points into compressed rows with their 1-minute and
1-hour rollups, and reading raw points back from chunks and the not yet sealed tables.

A raw chunk holds one series' points of one window (2 h by default); a rollup chunk holds one
tier's entries of one series over a longer window (a day of minutes, 30 days of hours). The
compaction worker seals every window that ended `seal_delay` ago, oldest first and a bounded
number per run, so the backfill after an upgrade runs in the background.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import Connection, text

from tradepulse_backend.store import chunk_codec, histogram_rollups
from tradepulse_backend.store.rollups import Rollup, concat, from_points, replace_range
from tradepulse_backend.store.series_math import changes_array
from tradepulse_backend.telemetry.records import MetricKind

if TYPE_CHECKING:
    from tradepulse_backend.store import Store

logger = logging.getLogger(__name__)
NS = 10**9
DAY_NS = 86_400 * NS
TIER_RAW, TIER_MINUTE, TIER_HOUR = 0, 60, 3600
ROLLUP_TIERS = (TIER_HOUR, TIER_MINUTE)
"""Rollup tiers by step in seconds, coarsest first."""
TIER_NAMES = {TIER_RAW: "raw", TIER_MINUTE: "1m", TIER_HOUR: "1h"}
ROLLUP_WINDOW_NS = {TIER_MINUTE: DAY_NS, TIER_HOUR: 30 * DAY_NS}
MAX_RAW_WINDOW_NS = DAY_NS
FLAG_STARTS, FLAG_NULLS, FLAG_HISTOGRAM = 1, 2, 4
_NUMBER_KINDS = frozenset({MetricKind.GAUGE, MetricKind.SUM})


@dataclass(frozen=True)
class ChunkSettings:
    """How windows are sealed: their length, the wait for late points, the work per run."""

    window_ns: int = 7200 * NS
    seal_delay_ns: int = 600 * NS
    max_windows_per_run: int = 5000

    def __post_init__(self) -> None:
        if self.window_ns % (3600 * NS) or not 0 < self.window_ns <= MAX_RAW_WINDOW_NS:
            raise ValueError("storage.chunks.window: a whole number of hours, at most 24")


@dataclass
class Points:
    """Number points of one series, sorted by time; `present` is False where a point has no
    value (its `values` entry is NaN then)."""

    times: np.ndarray
    starts: np.ndarray
    values: np.ndarray
    present: np.ndarray

    @classmethod
    def empty(cls) -> Points:
        return cls(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0), np.empty(0, bool))

    @classmethod
    def from_rows(cls, rows: list[tuple]) -> Points:
        if not rows:
            return cls.empty()
        times, starts, values = zip(*rows, strict=True)
        present = np.array([v is not None for v in values], dtype=bool)
        return cls(np.array(times, dtype=np.int64), np.array(starts, dtype=np.int64),
                   np.array([np.nan if v is None else v for v in values], dtype=np.float64),
                   present)

    def __len__(self) -> int:
        return int(self.times.size)

    def take(self, keep) -> Points:
        return Points(self.times[keep], self.starts[keep], self.values[keep], self.present[keep])

    def rows(self) -> list[tuple[int, int, float | None]]:
        """(time_ns, start_ns, value or None) tuples, for the per-point series functions."""
        values = [float(v) if p else None for v, p in
                  zip(self.values.tolist(), self.present.tolist(), strict=True)]
        return list(zip(self.times.tolist(), self.starts.tolist(), values, strict=True))


def merge_points(parts: list[Points]) -> Points:
    """Points of every part sorted by time; of points at the same time the earliest part's
    wins (chunks before tables, as the first stored copy wins a duplicate insert)."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return Points.empty()
    if len(parts) == 1 and np.all(parts[0].times[1:] > parts[0].times[:-1]):
        return parts[0]
    joined = Points(*(np.concatenate(c) for c in zip(
        *((p.times, p.starts, p.values, p.present) for p in parts), strict=True)))
    order = np.argsort(joined.times, kind="stable")
    joined = joined.take(order)
    first = np.concatenate(([True], joined.times[1:] != joined.times[:-1]))
    return joined.take(first)


def encode_raw(points: Points) -> tuple[bytes, int | None, int]:
    """A raw chunk's body, its shared counter start time (None when the starts vary) and
    flags naming the optional columns."""
    columns = [points.times, points.values]
    flags = 0
    shared: int | None = int(points.starts[0]) if len(points) else 0
    if len(points) and np.any(points.starts != points.starts[0]):
        columns.append(points.starts)
        flags |= FLAG_STARTS
        shared = None
    if not np.all(points.present):
        columns.append(points.present.astype(np.int64))
        flags |= FLAG_NULLS
    return chunk_codec.encode(columns), shared, flags


def decode_raw(body: bytes, shared_start: int | None, flags: int) -> Points:
    columns = chunk_codec.decode(bytes(body))
    times, values = columns[0], columns[1]
    rest = columns[2:]
    starts = rest.pop(0) if flags & FLAG_STARTS else np.full(times.size, shared_start or 0,
                                                              dtype=np.int64)
    present = rest.pop(0).astype(bool) if flags & FLAG_NULLS else np.ones(times.size, bool)
    return Points(times, starts, values, present)


# --- reading -----------------------------------------------------------------------------------

_TABLE_RANGE = ("SELECT time_ns, start_ns, value FROM {} WHERE series_id = :sid "
                "AND time_ns >= :since AND time_ns <= :until")
_RAW_CHUNKS = ("SELECT start_time_ns, flags, body FROM series_chunks WHERE series_id = :sid "
               "AND tier = 0 AND start_ns > :low AND start_ns <= :until "
               "AND max_time_ns >= :since ORDER BY start_ns")


def read_points(conn: Connection, sid: int, since_ns: int, until_ns: int) -> Points:
    """Every number point of a series in [since, until], from the staging table, the points
    table and the raw chunks, read in that order so a concurrent compaction or seal can only
    show a point twice (folded here), never hide it."""
    params = {"sid": sid, "since": since_ns, "until": until_ns}
    staged = Points.from_rows(conn.execute(text(_TABLE_RANGE.format("points_staging")),
                                           params).all())
    table = Points.from_rows(conn.execute(text(_TABLE_RANGE.format("points")), params).all())
    chunks = []
    for shared, flags, body in conn.execute(
            text(_RAW_CHUNKS), {**params, "low": since_ns - MAX_RAW_WINDOW_NS}):
        found = decode_raw(body, shared, flags)
        inside = (found.times >= since_ns) & (found.times <= until_ns)
        chunks.append(found if inside.all() else found.take(inside))
    return merge_points([*chunks, table, staged])


def point_before(conn: Connection, sid: int, before_ns: int) -> tuple[int, int, float] | None:
    """(time_ns, start_ns, value) of the newest point with a value before `before_ns`, or
    None."""
    best: tuple[int, int, float] | None = None
    for table in ("points_staging", "points"):
        row = conn.execute(text(
            f"SELECT time_ns, start_ns, value FROM {table} WHERE series_id = :sid "
            "AND time_ns < :before AND value IS NOT NULL ORDER BY time_ns DESC LIMIT 1"),
            {"sid": sid, "before": before_ns}).first()
        if row is not None and (best is None or row[0] > best[0]):
            best = tuple(row)
    for shared, flags, body in conn.execute(text(
            "SELECT start_time_ns, flags, body FROM series_chunks WHERE series_id = :sid "
            "AND tier = 0 AND start_ns < :before ORDER BY start_ns DESC LIMIT 2"),
            {"sid": sid, "before": before_ns}):
        found = decode_raw(body, shared, flags)
        keep = np.flatnonzero((found.times < before_ns) & found.present)
        if keep.size:
            i = keep[np.argmax(found.times[keep])]
            if best is None or found.times[i] > best[0]:
                best = (int(found.times[i]), int(found.starts[i]), float(found.values[i]))
            break
    return best


def read_rollups(conn: Connection, sid: int, tier: int, since_ns: int, until_ns: int
                 ) -> Rollup:
    """Entries of one tier whose bucket starts in [since, until)."""
    window = ROLLUP_WINDOW_NS[tier]
    parts = []
    for (body,) in conn.execute(text(
            "SELECT body FROM series_chunks WHERE series_id = :sid AND tier = :tier "
            "AND start_ns > :low AND start_ns < :until ORDER BY start_ns"),
            {"sid": sid, "tier": tier, "low": since_ns - window, "until": until_ns}):
        entries = Rollup.decode(bytes(body))
        parts.append(entries.take((entries.time_ns >= since_ns) & (entries.time_ns < until_ns)))
    return concat(parts)


def tier_oldest(conn: Connection, sid: int) -> dict[int, int]:
    """The window start of each tier's oldest chunk of a series: from there on a tier holds
    every sealed bucket (retention drops whole chunks, oldest first)."""
    return {tier: oldest for tier, oldest in conn.execute(text(
        "SELECT tier, MIN(start_ns) FROM series_chunks WHERE series_id = :sid GROUP BY tier"),
        {"sid": sid})}


def sealed_until(conn: Connection, sid: int) -> int:
    """Every point of the series before this time is in chunks and rollups."""
    found = conn.execute(text("SELECT sealed_until_ns FROM latest_values WHERE series_id = :sid"),
                         {"sid": sid}).scalar()
    return found or 0


# --- sealing -----------------------------------------------------------------------------------


def seal(store: Store, now_ns: int, settings: ChunkSettings) -> int:
    """Seal every window that ended `seal_delay` before now (at most `max_windows_per_run`),
    oldest first per series; returns how many windows were sealed."""
    window = settings.window_ns
    boundary = (now_ns - settings.seal_delay_ns) // window * window
    budget = settings.max_windows_per_run
    with store.engine.connect() as conn:
        metas = {row.id: row for row in conn.execute(text(
            "SELECT id, kind, temporality, monotonic FROM series ORDER BY id"))}
    sealed = 0
    for sid, meta in metas.items():
        if meta.kind == MetricKind.HISTOGRAM:
            done, finished = _seal_histograms(store, meta, boundary, window, budget - sealed)
        elif meta.kind in _NUMBER_KINDS:
            done, finished = _seal_series(store, meta, boundary, window, budget - sealed)
        else:
            continue
        sealed += done
        if finished:
            with store.engine.begin() as conn:
                _advance_watermark(conn, sid, boundary)
        if sealed >= budget:
            break
    if sealed:
        logger.debug("sealed %d series windows before %d", sealed, boundary)
    return sealed


def _seal_series(store: Store, meta, boundary: int, window: int, budget: int
                 ) -> tuple[int, bool]:
    """Seal this series' windows before `boundary`; (windows sealed, all of them done)."""
    sealed = 0
    after = -(2**63)
    while True:
        with store.engine.connect() as conn:
            first = conn.execute(text(
                "SELECT MIN(time_ns) FROM points WHERE series_id = :sid AND time_ns >= :after "
                "AND time_ns < :boundary"),
                {"sid": meta.id, "after": after, "boundary": boundary}).scalar()
        if first is None:
            return sealed, True
        if sealed >= budget:
            return sealed, False
        start = first // window * window
        with store.engine.begin() as conn:
            _seal_window(conn, meta, start, start + window)
            _advance_watermark(conn, meta.id, start + window)
        sealed += 1
        after = start + window


def _seal_histograms(store: Store, meta, boundary: int, window: int, budget: int
                     ) -> tuple[int, bool]:
    """Build the rollup entries of this histogram series' windows between its watermark and
    `boundary` (its points stay in `distribution_points`); (windows done, all of them)."""
    sealed = 0
    with store.engine.connect() as conn:
        after = sealed_until(conn, meta.id)
    while True:
        with store.engine.connect() as conn:
            first = conn.execute(text(
                "SELECT MIN(time_ns) FROM distribution_points WHERE series_id = :sid "
                "AND time_ns >= :after AND time_ns < :boundary"),
                {"sid": meta.id, "after": after, "boundary": boundary}).scalar()
        if first is None:
            return sealed, True
        if sealed >= budget:
            return sealed, False
        start = first // window * window
        with store.engine.begin() as conn:
            points = histogram_rollups.read_points(conn, meta.id, start, start + window)
            if points is not None:
                previous = histogram_rollups.point_before(conn, meta.id, start)
                for tier in ROLLUP_TIERS:
                    entries = histogram_rollups.from_points(points, meta.temporality, previous,
                                                            tier * NS)
                    _merge_histogram_rollups(conn, meta.id, tier, start, start + window,
                                             entries)
            _advance_watermark(conn, meta.id, start + window)
        sealed += 1
        after = start + window


def _merge_histogram_rollups(conn: Connection, sid: int, tier: int, start: int, end: int,
                             entries) -> None:
    window = ROLLUP_WINDOW_NS[tier]
    chunk_start = start // window * window
    found = conn.execute(text(
        "SELECT body FROM series_chunks WHERE series_id = :sid AND tier = :tier "
        "AND start_ns = :start"), {"sid": sid, "tier": tier, "start": chunk_start}).scalar()
    old = (histogram_rollups.HistogramRollup.decode(bytes(found)) if found is not None
           else histogram_rollups.HistogramRollup.empty(entries.bounds))
    merged = histogram_rollups.replace_range(old, entries, start, end)
    if len(merged) == 0:
        return
    _upsert_chunk(conn, sid, tier, chunk_start, {
        "min_time_ns": int(merged.time_ns[0]), "max_time_ns": int(merged.time_ns[-1]),
        "count": int(merged.count.sum()), "first_value": None, "last_value": None,
        "min_value": _number(np.fmin.reduce(merged.min, keepdims=True)),
        "max_value": _number(np.fmax.reduce(merged.max, keepdims=True)), "start_time_ns": None,
        "flags": FLAG_HISTOGRAM, "body": merged.encode()})


def read_histogram_rollups(conn: Connection, sid: int, tier: int, since_ns: int,
                           until_ns: int):
    """Histogram entries of one tier whose bucket starts in [since, until)."""
    window = ROLLUP_WINDOW_NS[tier]
    parts = []
    for (body,) in conn.execute(text(
            "SELECT body FROM series_chunks WHERE series_id = :sid AND tier = :tier "
            "AND start_ns > :low AND start_ns < :until ORDER BY start_ns"),
            {"sid": sid, "tier": tier, "low": since_ns - window, "until": until_ns}):
        entries = histogram_rollups.HistogramRollup.decode(bytes(body))
        parts.append(entries.take((entries.time_ns >= since_ns)
                                  & (entries.time_ns < until_ns)))
    return histogram_rollups.concat(parts)


def _seal_window(conn: Connection, meta, start: int, end: int) -> None:
    """Fold the window's points into its chunk and rollups, then delete them from `points`."""
    params = {"sid": meta.id, "start": start, "end": end}
    rows = conn.execute(text(
        "SELECT time_ns, start_ns, value FROM points WHERE series_id = :sid "
        "AND time_ns >= :start AND time_ns < :end ORDER BY time_ns"), params).all()
    _store_window(conn, meta, start, end, Points.from_rows(rows))
    conn.execute(text("DELETE FROM points WHERE series_id = :sid AND time_ns >= :start "
                      "AND time_ns < :end"), params)


def _store_window(conn: Connection, meta, start: int, end: int, new: Points) -> None:
    """Merge points into the window's raw chunk (a point already sealed at the same time
    wins) and rebuild the window's rollup entries of every tier."""
    sid = meta.id
    existing = conn.execute(text(
        "SELECT start_time_ns, flags, body FROM series_chunks WHERE series_id = :sid "
        "AND tier = 0 AND start_ns = :start"), {"sid": sid, "start": start}).first()
    parts = [decode_raw(existing[2], existing[0], existing[1])] if existing else []
    points = merge_points([*parts, new])
    _write_raw_chunk(conn, sid, start, points)
    before = point_before(conn, sid, start)
    previous = None if before is None else before[1:]
    valued = points.take(points.present)
    changes = changes_array(valued.starts, valued.values, kind=meta.kind,
                            temporality=meta.temporality, monotonic=bool(meta.monotonic),
                            previous=previous)
    for tier in ROLLUP_TIERS:
        entries = from_points(valued.times, valued.values, changes, tier * NS)
        _merge_rollups(conn, sid, tier, start, end, entries)


def append(store: Store, sid: int, points: Points, settings: ChunkSettings) -> int:
    """Write a series' points straight into sealed chunks and rollups, window by window,
    oldest first (a bulk load of history); returns how many windows were written. The
    series' watermark moves to the end of the last window."""
    if len(points) == 0:
        return 0
    window = settings.window_ns
    order = np.argsort(points.times, kind="stable")
    points = points.take(order)
    keys = points.times // window * window
    cuts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    with store.engine.connect() as conn:
        meta = conn.execute(text(
            "SELECT id, kind, temporality, monotonic FROM series WHERE id = :sid"),
            {"sid": sid}).one()
    bounds = [*cuts.tolist(), len(points)]
    for low, high in itertools.pairwise(bounds):
        start = int(keys[low])
        with store.engine.begin() as conn:
            _store_window(conn, meta, start, start + window, points.take(slice(low, high)))
            _advance_watermark(conn, sid, start + window)
    return len(cuts)


def _write_raw_chunk(conn: Connection, sid: int, start: int, points: Points) -> None:
    body, shared, flags = encode_raw(points)
    valued = points.values[points.present]
    summary = {
        "min_time_ns": int(points.times.min()), "max_time_ns": int(points.times.max()),
        "count": len(points), "first_value": _number(valued[:1]),
        "last_value": _number(valued[-1:]),
        "min_value": _number(valued.min(keepdims=True)) if valued.size else None,
        "max_value": _number(valued.max(keepdims=True)) if valued.size else None,
        "start_time_ns": shared, "flags": flags, "body": body}
    _upsert_chunk(conn, sid, TIER_RAW, start, summary)


def _merge_rollups(conn: Connection, sid: int, tier: int, start: int, end: int,
                   entries: Rollup) -> None:
    window = ROLLUP_WINDOW_NS[tier]
    chunk_start = start // window * window
    found = conn.execute(text(
        "SELECT body FROM series_chunks WHERE series_id = :sid AND tier = :tier "
        "AND start_ns = :start"), {"sid": sid, "tier": tier, "start": chunk_start}).scalar()
    old = Rollup.decode(bytes(found)) if found is not None else Rollup.empty()
    merged = replace_range(old, entries, start, end)
    if len(merged) == 0:
        conn.execute(text("DELETE FROM series_chunks WHERE series_id = :sid AND tier = :tier "
                          "AND start_ns = :start"),
                     {"sid": sid, "tier": tier, "start": chunk_start})
        return
    _upsert_chunk(conn, sid, tier, chunk_start, {
        "min_time_ns": int(merged.time_ns[0]), "max_time_ns": int(merged.time_ns[-1]),
        "count": int(merged.count.sum()), "first_value": _number(merged.first[:1]),
        "last_value": _number(merged.last[-1:]), "min_value": _number(np.min(merged.min,
                                                                              keepdims=True)),
        "max_value": _number(np.max(merged.max, keepdims=True)), "start_time_ns": None,
        "flags": 0, "body": merged.encode()})


def _upsert_chunk(conn: Connection, sid: int, tier: int, start: int,
                  values: dict[str, Any]) -> None:
    key = {"sid": sid, "tier": tier, "start": start}
    conn.execute(text("DELETE FROM series_chunks WHERE series_id = :sid AND tier = :tier "
                      "AND start_ns = :start"), key)
    conn.execute(text(
        "INSERT INTO series_chunks (series_id, tier, start_ns, min_time_ns, max_time_ns, "
        "count, first_value, last_value, min_value, max_value, start_time_ns, flags, body) "
        "VALUES (:sid, :tier, :start, :min_time_ns, :max_time_ns, :count, :first_value, "
        ":last_value, :min_value, :max_value, :start_time_ns, :flags, :body)"),
        {**key, **values})


def _advance_watermark(conn: Connection, sid: int, until_ns: int) -> None:
    conn.execute(text("UPDATE latest_values SET sealed_until_ns = :until WHERE series_id = :sid "
                      "AND sealed_until_ns < :until"), {"sid": sid, "until": until_ns})


def _number(array: np.ndarray) -> float | None:
    """The single value of a 0/1-element array as a float column value (None if empty or not
    finite, which SQL columns of some databases cannot hold)."""
    if array.size == 0:
        return None
    value = float(array[0])
    return value if np.isfinite(value) else None
