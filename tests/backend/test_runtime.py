"""The runtime hands one clock to every part: persisting, reports and uptime move with a manual
clock, never with the wall clock (and the tests never sleep)."""

from __future__ import annotations

from tests.support import wait_until
from tradepulse_backend.bus import ReportReady, drop_oldest


def _advance_until(clock, seconds: float, condition, what: str):
    def step():
        clock.advance(seconds)
        return condition()

    return wait_until(step, what=what)


def _feed(app_client) -> float:
    start = app_client.clock.now_ns() / 1e9 - 7200
    for i, value in enumerate([1000.0, 1010.0, 1030.0]):
        app_client.backend.performance.update_portfolio_data(
            {"service": "bot", "timestamp": start + i * 60, "portfolio_value": value})
    return start


def test_snapshots_are_persisted_when_the_clock_reaches_the_update_interval(app_client):
    _feed(app_client)
    history = "/performance/history?service=bot&field=portfolio_value&since=1d"
    assert app_client.api(history)["points"] == []
    interval = app_client.backend.config.performance_monitor.update_interval
    _advance_until(app_client.clock, interval,
                   lambda: app_client.backend.workers["persist"].runs >= 1, "a persist run")
    assert [value for _t, value in app_client.api(history)["points"]] == [1030.0]


def test_the_daily_report_runs_at_its_time_on_the_clock_and_is_published(app_client):
    _feed(app_client)
    ready = []
    app_client.backend.bus.subscribe(ReportReady, ready.append, name="test-reports",
                                     overflow=drop_oldest)
    reports = app_client.backend.config.storage.data_dir / "reports" / "bot"
    worker = app_client.backend.workers["reports"]
    _advance_until(app_client.clock, 1800, lambda: ready and worker.runs, "the scheduled report")
    assert {p.suffix for p in reports.iterdir()} == {".html", ".csv"}
    assert ready[0].report.service == "bot"
    assert worker.runs == 1 and worker.failures == 0


def test_uptime_is_measured_on_the_backend_clock(app_client):
    before = app_client.api("/status")["uptime_s"]
    app_client.clock.advance(90)
    assert app_client.api("/status")["uptime_s"] == before + 90
