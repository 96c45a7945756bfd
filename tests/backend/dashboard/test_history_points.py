"""`/api/v1/performance/history?max_points=N`: a chart's range at most N points wide (the
last snapshot of each of N equal time buckets), on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest

from tests.support import InProcessApp
from tradepulse_backend.store import performance as stored

DAY_NS = 86_400 * 10**9


@pytest.fixture
def app(tmp_path, storage_url):
    section = {} if storage_url is None else {"storage": {"url": storage_url}}
    running = InProcessApp(tmp_path, section)
    yield running
    running.close()


def _seed(app: InProcessApp, count: int, span_ns: int) -> list[int]:
    end = app.clock.now_ns()
    times = [end - span_ns + i * span_ns // count for i in range(1, count + 1)]
    rows = [{"service_name": "hist-bot", "portfolio": "", "time_ns": t,
             "body": json.dumps({"portfolio_value": float(i)})} for i, t in enumerate(times)]
    stored.save(app.backend.store, rows, [])
    return times


def test_max_points_thins_a_long_range_to_at_most_that_many_points(app):
    times = _seed(app, 5000, 90 * DAY_NS)
    body = app.api("/performance/history?service=hist-bot&field=portfolio_value"
                   "&since=90d&max_points=100")
    points = body["points"]
    assert 90 <= len(points) <= 100
    assert points[-1] == [times[-1] / 1e6, 4999.0]
    assert [p[0] for p in points] == sorted(p[0] for p in points)
    assert points[0][0] >= (app.clock.now_ns() - 90 * DAY_NS) / 1e6


def test_max_points_above_the_stored_count_returns_every_point(app):
    times = _seed(app, 50, DAY_NS // 2)
    body = app.api("/performance/history?service=hist-bot&field=portfolio_value"
                   "&since=1d&max_points=1000")
    assert [p[0] for p in body["points"]] == [t / 1e6 for t in times]


def test_bad_max_points_is_a_400_naming_it(app):
    status, body = app.get("/api/v1/performance/history?service=hist-bot&field=cash"
                           "&max_points=0")
    assert status == 400 and body["error"].startswith("max_points:")
