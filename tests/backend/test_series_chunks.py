"""Series chunks on SQLite and PostgreSQL: sealing keeps every point readable and bit-exact,
rollups equal a numpy reference, step queries across tiers equal the same reference, and
truncated responses page through every point exactly once."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2 as m

from tests.integration.otlp_samples import metrics_request
from tradepulse_backend.ingest.decode import decode_request
from tradepulse_backend.store import NS_PER_DAY, Store, TierRetention, queries
from tradepulse_backend.store import performance as stored
from tradepulse_backend.store.chunks import (
    ROLLUP_WINDOW_NS,
    TIER_HOUR,
    TIER_MINUTE,
    read_points,
    read_rollups,
)
from tradepulse_backend.telemetry.counters import counter_change

S = 10**9
MINUTE, HOUR = 60 * S, 3600 * S
# Just before a 30-day boundary, so the 1-hour tier has two chunks around it.
BOUNDARY = 20_454 * NS_PER_DAY // ROLLUP_WINDOW_NS[TIER_HOUR] * ROLLUP_WINDOW_NS[TIER_HOUR]
T0 = BOUNDARY - NS_PER_DAY


@pytest.fixture
def store(storage_url, tmp_path):
    opened = Store.open(storage_url or f"sqlite:///{tmp_path / 'tp.db'}", tmp_path)
    yield opened
    opened.close()


def _attrs(**attributes: str) -> list[KeyValue]:
    return [KeyValue(key=k, value=AnyValue(string_value=v)) for k, v in attributes.items()]


def _number_points(points, **attributes):
    return [m.NumberDataPoint(start_time_unix_nano=s, time_unix_nano=t, as_double=v,
                              attributes=_attrs(**attributes)) for t, s, v in points]


def _gauge(name, points, **attributes):
    return m.Metric(name=name, gauge=m.Gauge(data_points=_number_points(points, **attributes)))


def _counter(name, points, *, temporality=m.AGGREGATION_TEMPORALITY_CUMULATIVE, **attributes):
    return m.Metric(name=name, sum=m.Sum(
        aggregation_temporality=temporality, is_monotonic=True,
        data_points=_number_points(points, **attributes)))


def _write(store: Store, service: str, metrics, batch: int = 2000) -> None:
    """Write the metrics' points through the writer in batches of `batch` points each."""
    for metric in metrics:
        kind = metric.WhichOneof("data")
        points = list(getattr(metric, kind).data_points)
        for low in range(0, len(points), batch):
            part = m.Metric()
            part.CopyFrom(metric)
            del getattr(part, kind).data_points[:]
            getattr(part, kind).data_points.extend(points[low:low + batch])
            request = ExportMetricsServiceRequest.FromString(metrics_request(service, [part]))
            store.writer.write([decode_request("metrics", request)])


def _walk(n: int, seed: int, step_s: int = 30, start: int = T0):
    rng = np.random.default_rng(seed)
    times = start + np.arange(n, dtype=np.int64) * step_s * S
    return times, np.round(100 + np.cumsum(rng.normal(0, 0.5, n)), 2)


def _counter_points(n: int, seed: int, step_s: int = 30, start: int = T0):
    """A cumulative counter with two restarts: a new start time, and a drop to a low value."""
    rng = np.random.default_rng(seed)
    times = start + np.arange(n, dtype=np.int64) * step_s * S
    values = np.cumsum(rng.integers(0, 4, n)).astype(float)
    starts = np.full(n, start - S, dtype=np.int64)
    values[n // 3:] -= values[n // 3] - 1.0
    starts[n // 3:] = times[n // 3] - S
    values[2 * n // 3:] -= values[2 * n // 3] - 2.0
    return times, starts, values


def _rows(times, starts, values) -> list[tuple]:
    starts = np.broadcast_to(starts, times.shape)
    return list(zip(times.tolist(), starts.tolist(), values.tolist(), strict=True))


def _sid(store: Store, name: str, service: str) -> int:
    with store.engine.connect() as conn:
        (meta,) = queries.matching_series(conn, [name], service)
    return meta["id"]


# --- reference ---------------------------------------------------------------------------------

def _reference(times, starts, values, step, *, counter: bool):
    """Per bucket (start, first, last, min, max, sum, count, increase), by plain loops."""
    out: dict[int, list] = {}
    previous = None
    for t, s, v in zip(times.tolist(), starts.tolist(), values.tolist(), strict=True):
        if previous is None:
            change = 0.0
        elif counter:
            change = counter_change(previous[0], previous[1], s, v, monotonic=True)
        else:
            change = v - previous[1]
        previous = (s, v)
        key = t // step * step
        if key not in out:
            out[key] = [key, v, v, v, v, 0.0, 0, 0.0]
        entry = out[key]
        entry[2] = v
        entry[3] = min(entry[3], v)
        entry[4] = max(entry[4], v)
        entry[5] += v
        entry[6] += 1
        entry[7] += change
    return [out[key] for key in sorted(out)]


def _expected(reference, agg: str, step: int) -> list[float]:
    column = {"first": 1, "last": 2, "min": 3, "max": 4, "sum": 5, "count": 6, "increase": 7}
    if agg == "avg":
        return [e[5] / e[6] for e in reference]
    if agg == "rate":
        return [e[7] / (step / S) for e in reference]
    return [float(e[column[agg]]) for e in reference]


# --- tests -------------------------------------------------------------------------------------

ADVERSARIAL = [float("nan"), -0.0, 0.0, float("inf"), float("-inf"), 5e-324, -5e-324,
               2.2250738585072014e-308, 1.7976931348623157e308, 1e-300,
               struct.unpack("<d", b"\x01\x00\x00\x00\x00\x00\xf8\x7f")[0],
               struct.unpack("<d", b"\xff\xff\xff\xff\xff\xff\xff\xff")[0], 3.0, 3.0, 1e300]


def test_points_come_back_bit_identical_through_chunks(store):
    _write(store, "bits-bot", [_gauge("bits", [(T0, 0, 1.0)])])
    sid = _sid(store, "bits", "bits-bot")
    rng = np.random.default_rng(3)
    n = 3000
    values = np.concatenate([np.array(ADVERSARIAL * 20), rng.normal(size=n - 300) * 1e9])
    bits = np.concatenate([rng.integers(0, 2**63, 100, dtype=np.int64).view(np.float64),
                           values])[:n]
    times = T0 + 10 * S + rng.permutation(n).astype(np.int64) * 7 * S  # out of order
    starts = np.where(np.arange(n) % 500 == 0, times - S, T0)
    assert store.append_points(sid, times, starts, bits) >= 3
    with store.engine.connect() as conn:
        back = read_points(conn, sid, 0, 2**63 - 1)
    order = np.argsort(times)
    assert np.array_equal(back.times, np.concatenate(([T0], times[order])))
    assert np.array_equal(back.values[1:].view(np.uint64), bits[order].view(np.uint64))
    assert np.array_equal(back.starts[1:], starts[order])


def test_sealing_keeps_every_point_readable_and_empties_the_points_table(store):
    times, values = _walk(2000, 1)
    _write(store, "seal-bot", [_gauge("price", _rows(times, 0, values))])
    before = queries.series_points(store, "price", since_ns=0, limit=10_000)[0]["points"]
    sealed = store.seal(int(times[-1]) + HOUR)
    assert sealed >= 8
    after = queries.series_points(store, "price", since_ns=0, limit=10_000)[0]["points"]
    assert after == before and len(after) == 2000
    with store.engine.connect() as conn:
        left = conn.exec_driver_sql("SELECT COUNT(*) FROM points").scalar()
    assert 0 < left < 200  # only the last, unsealed window
    late = (int(times[5]) + S, 0, 1234.5)
    _write(store, "seal-bot", [_gauge("price", [late])])
    store.seal(int(times[-1]) + HOUR)
    points = queries.series_points(store, "price", since_ns=0, limit=10_000)[0]["points"]
    assert len(points) == 2001 and [late[0] / 1e6, 1234.5] in points


def test_rollups_equal_a_numpy_reference_for_gauges_and_counters_with_resets(store):
    times, prices = _walk(6000, 2)
    ctimes, cstarts, counts = _counter_points(6000, 3)
    _write(store, "roll-bot", [_gauge("price", _rows(times, 0, prices)),
                               _counter("orders", _rows(ctimes, cstarts, counts))])
    store.seal(int(times[-1]) + 4 * HOUR)
    for tier in (TIER_MINUTE, TIER_HOUR):
        for name, (t, s, v), counter in (
                ("price", (times, np.zeros_like(times), prices), False),
                ("orders", (ctimes, cstarts, counts), True)):
            with store.engine.connect() as conn:
                entries = read_rollups(conn, _sid(store, name, "roll-bot"), tier, 0, 2**62)
            reference = _reference(t, s, v, tier * S, counter=counter)
            assert entries.time_ns.tolist() == [e[0] for e in reference]
            for column, index in (("first", 1), ("last", 2), ("min", 3), ("max", 4),
                                  ("count", 6)):
                assert getattr(entries, column).tolist() == [e[index] for e in reference]
            for column, index in (("sum", 5), ("increase", 7)):
                np.testing.assert_allclose(getattr(entries, column),
                                           [e[index] for e in reference],
                                           rtol=1e-12, atol=1e-9, err_msg=f"{name} {column}")


def test_step_queries_across_raw_1m_and_1h_tiers_equal_the_reference(store):
    """The oldest day only in the 1-minute tier (the 1-hour chunk before the boundary was
    dropped), the next hours in the 1-hour tier, the newest hours raw (not sealed)."""
    times, starts, counts = _counter_points(2 * 2880, 4)
    _write(store, "tier-bot", [_counter("orders", _rows(times, starts, counts))])
    store.seal(BOUNDARY + 12 * HOUR)
    now = BOUNDARY + NS_PER_DAY + HOUR
    removed = store.apply_retention(
        10_000, now_ns=now, tiers=TierRetention(raw_days=10_000, minute_days=10_000,
                                                 hour_days=(now - BOUNDARY) / NS_PER_DAY))
    assert removed["chunks_1h"] == 1
    reference = _reference(times, starts, counts, HOUR, counter=True)
    for agg in ("last", "avg", "min", "max", "sum", "count", "increase", "rate"):
        result = queries.series_query(store, "orders", since_ns=T0, until_ns=int(times[-1]),
                                      step_ns=HOUR, aggregate=agg)
        (series,) = result["series"]
        assert [p[0] for p in series["points"]] == [e[0] / 1e6 for e in reference]
        np.testing.assert_allclose([p[1] for p in series["points"]],
                                   _expected(reference, agg, HOUR), rtol=1e-12, err_msg=agg)
        assert not result["truncated"]


def test_max_points_picks_a_step_with_at_most_that_many_points(store):
    times, prices = _walk(5760, 5)
    _write(store, "chart-bot", [_gauge("equity", _rows(times, 0, prices))])
    store.seal(int(times[-1]))
    result = queries.series_query(store, "equity", since_ns=int(times[0]),
                                  until_ns=int(times[-1]), max_points=100, columnar=True)
    points = result["series"][0]["points"]
    assert 50 <= len(points["t"]) <= 100 and len(points["t"]) == len(points["v"])
    step = result["step_ms"] * 10**6
    reference = _reference(times, np.zeros_like(times), prices, int(step), counter=False)
    assert points["v"] == _expected(reference, "last", int(step))


@pytest.mark.parametrize("step_ns", [None, 10 * MINUTE])
def test_truncated_responses_page_through_every_point_exactly_once(store, step_ns):
    series = []
    for symbol, seed in (("AAA", 6), ("BBB", 7), ("CCC", 8)):
        times, prices = _walk(700, seed)
        series.append(_gauge("px", _rows(times, 0, prices), symbol=symbol))
    _write(store, "page-bot", series)
    store.seal(T0 + 3 * HOUR)
    query = {"since_ns": T0, "step_ns": step_ns}
    whole = queries.series_query(store, "px", limit=100_000, **query)
    assert not whole["truncated"] and whole["next_cursor"] is None
    expected = [(s["series_id"], tuple(p)) for s in whole["series"] for p in s["points"]]
    got, cursor, pages = [], None, 0
    while True:
        page = queries.series_query(store, "px", limit=97, cursor=cursor, **query)
        got += [(s["series_id"], tuple(p)) for s in page["series"] for p in s["points"]]
        pages += 1
        assert sum(len(s["points"]) for s in page["series"]) <= 97
        if not page["truncated"]:
            break
        cursor = page["next_cursor"]
    assert got == expected and pages > 1


def test_deltas_paged_with_a_cursor_equal_one_whole_query(store):
    times, starts, counts = _counter_points(900, 9)
    _write(store, "delta-bot", [_counter("orders", _rows(times, starts, counts))])
    store.seal(T0 + 4 * HOUR)
    whole = queries.series_query(store, "orders", since_ns=T0, function="delta",
                                 limit=100_000)["series"][0]["points"]
    got, cursor = [], None
    while True:
        page = queries.series_query(store, "orders", since_ns=T0, function="delta", limit=50,
                                    cursor=cursor)
        got += page["series"][0]["points"] if page["series"] else []
        if not page["truncated"]:
            break
        cursor = page["next_cursor"]
    assert got == whole and len(whole) == 899


def test_latest_values_come_from_one_table_kept_at_write_time(store):
    _write(store, "last-bot", [
        _gauge("cash", [(T0, 0, 5.0), (T0 + 2 * S, 0, 7.5), (T0 + S, 0, 6.0)]),
        _counter("orders", [(T0, T0 - S, 3.0)], symbol="X"),
        _counter("orders", [(T0, T0 - S, 4.0)], symbol="Y")])
    _write(store, "other-bot", [_gauge("cash", [(T0, 0, 1.0)])])
    found = queries.latest_values(store, service="last-bot")
    assert [(f["name"], f["attributes"], f["value"]) for f in found] == [
        ("cash", {}, 7.5), ("orders", {"symbol": "X"}, 3.0), ("orders", {"symbol": "Y"}, 4.0)]
    assert found[0]["time_unix_ms"] == (T0 + 2 * S) / 1e6
    assert [f["value"] for f in queries.latest_values(store, service="last-bot",
                                                      names=["cash"])] == [7.5]


def _histogram(name, points, bounds):
    """points: (time, start, bucket counts) of a cumulative explicit-bucket histogram."""
    return m.Metric(name=name, histogram=m.Histogram(
        aggregation_temporality=m.AGGREGATION_TEMPORALITY_CUMULATIVE,
        data_points=[m.HistogramDataPoint(
            time_unix_nano=t, start_time_unix_nano=s, count=int(sum(c)),
            sum=float(sum(c)) * 0.5, min=0.01, max=2.0, explicit_bounds=bounds,
            bucket_counts=[int(x) for x in c]) for t, s, c in points]))


def test_histogram_rollups_and_steps_equal_a_reference_with_resets(store):
    rng = np.random.default_rng(12)
    n, bounds = 1500, [0.1, 0.5, 1.0]
    times = T0 + np.arange(n, dtype=np.int64) * 30 * S
    counts = np.cumsum(rng.integers(0, 3, (n, 4)), axis=0)
    starts = np.full(n, T0 - S, dtype=np.int64)
    counts[n // 2:] -= counts[n // 2] - rng.integers(0, 2, 4)  # the process restarted
    starts[n // 2:] = times[n // 2] - S
    _write(store, "hist-bot", [_histogram("latency", list(zip(
        times.tolist(), starts.tolist(), counts.tolist(), strict=True)), bounds)], batch=500)
    store.seal(int(times[-1]) - 2 * HOUR)
    reference: dict[int, np.ndarray] = {}
    for i in range(1, n):
        reset = starts[i] != starts[i - 1] or counts[i].sum() < counts[i - 1].sum()
        change = counts[i] if reset else counts[i] - counts[i - 1]
        key = int(times[i]) // HOUR * HOUR
        reference[key] = reference.get(key, np.zeros(4)) + change
    first = int(times[0]) // HOUR * HOUR  # the first point carries its start: counted whole
    reference[first] = reference.get(first, np.zeros(4)) + counts[0]
    result = queries.series_query(store, "latency", since_ns=T0, until_ns=int(times[-1]),
                                  step_ns=HOUR)
    points = result["series"][0]["points"]
    assert [p[0] for p in points] == [k / 1e6 for k in sorted(reference)]
    for (_, value), key in zip(points, sorted(reference), strict=True):
        assert value["bucket_counts"] == reference[key].tolist()
        assert value["count"] == reference[key].sum() and value["bounds"] == bounds
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql(
            "SELECT COUNT(*) FROM series_chunks WHERE flags = 4").scalar() >= 2


def test_retention_thins_snapshots_to_hourly_after_a_week_and_daily_after_90_days(store):
    now = T0 + 100 * NS_PER_DAY
    every = 20 * MINUTE
    rows = [{"service_name": "thin-bot", "portfolio": "", "time_ns": t,
             "body": json.dumps({"portfolio_value": float(i)})}
            for i, t in enumerate(range(T0, now, every))]
    stored.save(store, rows, [])
    store.apply_retention(10_000, now_ns=now)
    with store.engine.connect() as conn:
        kept = [t for (t,) in conn.exec_driver_sql(
            "SELECT time_ns FROM performance_snapshots ORDER BY time_ns")]
    week, quarter = now - 7 * NS_PER_DAY, now - 90 * NS_PER_DAY
    recent = [t for t in kept if t >= week]
    middle = [t for t in kept if quarter <= t < week]
    old = [t for t in kept if t < quarter]
    assert recent == [r["time_ns"] for r in rows if r["time_ns"] >= week]
    assert len({t // HOUR for t in middle}) == len(middle) >= 83 * 24 - 1
    assert len({t // NS_PER_DAY for t in old}) == len(old) == len(
        {r["time_ns"] // NS_PER_DAY for r in rows if r["time_ns"] < quarter})
    assert all(t + every >= (t // NS_PER_DAY + 1) * NS_PER_DAY or t + every >= quarter
               for t in old)  # the newest snapshot of each day is the one kept
