"""Migration 0006 on a database written by the 0005 schema: every point stays readable through
the upgrade and through the background backfill into chunks, latest values and snapshot
columns are filled, and nothing is lost (SQLite and PostgreSQL)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from tradepulse_backend.store import Store, queries
from tradepulse_backend.store import performance as stored
from tradepulse_backend.store.chunks import ChunkSettings
from tradepulse_backend.store.migrate import upgrade

S = 10**9
T0 = 1_767_225_600 * S
N = 3000  # 10-second points: a little over 8 hours, five 2-hour windows


@pytest.fixture
def url(storage_url, tmp_path) -> str:
    return storage_url or f"sqlite:///{tmp_path / 'old.db'}"


def _write_like_0005(url: str) -> None:
    old = Store(url)
    try:
        upgrade(old.engine, "0005")
        with old.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO resources (id, fingerprint, service_name, attributes, "
                "first_seen_ns, last_seen_ns) VALUES (1, :fp, 'old-bot', '{}', 1, 2)"),
                {"fp": b"r"})
            conn.execute(text(
                "INSERT INTO scopes (id, fingerprint, name, version, attributes) "
                "VALUES (1, :fp, 'tests', '', '{}')"), {"fp": b"s"})
            for sid, name, kind in ((1, "px", "gauge"), (2, "orders", "sum"),
                                    (3, "latency", "histogram")):
                conn.execute(text(
                    "INSERT INTO series (id, fingerprint, name, service_name, resource_id, "
                    "scope_id, kind, temporality, monotonic, unit, description, attributes) "
                    "VALUES (:id, :fp, :name, 'old-bot', 1, 1, :kind, 2, 1, '1', '', '{}')"),
                    {"id": sid, "fp": bytes([sid]), "name": name, "kind": kind})
            rows = [{"sid": sid, "t": T0 + i * 10 * S, "s": T0 - S, "v": _value(sid, i)}
                    for sid in (1, 2) for i in range(N)]
            conn.execute(text("INSERT INTO points (series_id, time_ns, start_ns, value) "
                              "VALUES (:sid, :t, :s, :v)"), rows[:-10])
            conn.execute(text("INSERT INTO points_staging (series_id, time_ns, start_ns, "
                              "value) VALUES (:sid, :t, :s, :v)"), rows[-10:])
            conn.execute(text(
                "INSERT INTO distribution_points (series_id, time_ns, start_ns, count, sum, "
                "min, max, body) VALUES (3, :t, :s, 4, 1.5, 0.1, 0.9, :body)"),
                {"t": T0, "s": T0 - S, "body": b""})
            conn.execute(text(
                "INSERT INTO performance_snapshots (service_name, portfolio, time_ns, body) "
                "VALUES ('old-bot', '', :t, :body)"),
                {"t": T0, "body": json.dumps({"portfolio_value": 123.5, "sharpe_ratio": None,
                                              "trades": 4})})
    finally:
        old.release()


def _value(sid: int, i: int) -> float:
    return 100 + (i % 17) * 0.25 if sid == 1 else float(i // 3)


def _points(store: Store, name: str) -> list:
    return queries.series_points(store, name, since_ns=0, limit=10_000)[0]["points"]


def test_an_upgraded_database_keeps_every_point_through_the_background_backfill(url, tmp_path):
    _write_like_0005(url)
    store = Store.open(url, tmp_path, chunk_settings=ChunkSettings(max_windows_per_run=3))
    try:
        expected = {name: [[(T0 + i * 10 * S) / 1e6, _value(sid, i)] for i in range(N)]
                    for sid, name in ((1, "px"), (2, "orders"))}
        for name, points in expected.items():
            assert _points(store, name) == points
        latest = {e["name"]: e["value"] for e in queries.latest_values(store,
                                                                        service="old-bot")}
        assert latest == {"px": _value(1, N - 1), "orders": _value(2, N - 1),
                          "latency": {"count": 4, "sum": 1.5, "min": 0.1, "max": 0.9}}
        times, values = stored.field_history(store, "old-bot", "", "portfolio_value", 0,
                                             2**62, 10)
        assert times.tolist() == [T0] and values == [123.5]

        now = T0 + 12 * 3600 * S
        runs = []
        while (sealed := store.seal(now)) and len(runs) < 10:
            runs.append(sealed)
            for name, points in expected.items():
                assert _points(store, name) == points
        # 5 windows x 2 number series, and the histogram's one window, in steps of 3
        assert runs and max(runs) <= 3 and sum(runs) == 11
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM points")).scalar() == 0
        step = queries.series_query(store, "orders", since_ns=T0, step_ns=3600 * S,
                                    aggregate="increase")["series"][0]["points"]
        assert sum(v for _, v in step) == _value(2, N - 1) - _value(2, 0)
    finally:
        store.close()
