"""Performance reports: schedule arithmetic, rendering, and a scheduled run writing files."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from tradepulse_backend.bus import EventBus, PerformanceUpdated, drop_oldest
from tradepulse_backend.config import (
    MonitoringConfig,
    PerformanceMonitorConfig,
    ReportsConfig,
)
from tradepulse_backend.performance import PerformanceMonitor
from tradepulse_backend.performance.reports import ReportScheduler, build_report, next_run, render
from tradepulse_backend.runtime import Backend

NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize("now, config, expected", [
    (datetime(2026, 3, 2, 16, 0, tzinfo=NEW_YORK), ReportsConfig(),
     datetime(2026, 3, 2, 17, 0, tzinfo=NEW_YORK)),
    (datetime(2026, 3, 2, 17, 0, tzinfo=NEW_YORK), ReportsConfig(),
     datetime(2026, 3, 3, 17, 0, tzinfo=NEW_YORK)),
    (datetime(2026, 3, 2, 12, 0, tzinfo=NEW_YORK), ReportsConfig(schedule="weekly"),
     datetime(2026, 3, 6, 17, 0, tzinfo=NEW_YORK)),
    (datetime(2026, 3, 6, 18, 0, tzinfo=NEW_YORK), ReportsConfig(schedule="weekly"),
     datetime(2026, 3, 13, 17, 0, tzinfo=NEW_YORK)),
    # across the spring-forward change the report stays at 17:00 local time
    (datetime(2026, 3, 7, 18, 0, tzinfo=NEW_YORK), ReportsConfig(),
     datetime(2026, 3, 8, 17, 0, tzinfo=NEW_YORK)),
])
def test_next_run_is_the_next_local_report_time(now, config, expected):
    found = next_run(now.astimezone(UTC), config, NEW_YORK)
    assert found == expected and found.utcoffset() == expected.utcoffset()


def test_unknown_report_timezone_or_time_is_a_config_error():
    with pytest.raises(ValueError, match="timezone"):
        ReportsConfig(timezone="Mars/Olympus")
    with pytest.raises(ValueError, match="time"):
        ReportsConfig(time="25:00")


@pytest.fixture
def monitor(tmp_path):
    backend = Backend(MonitoringConfig(storage={"data_dir": tmp_path / "data"},
                                       ingest={"grpc_port": None}))
    backend.start()
    monitor = backend.performance
    base = datetime(2026, 3, 2, 10, tzinfo=UTC).timestamp()
    for i, value in enumerate([1000.0, 1010.0, 990.0, 1030.0]):
        monitor.update_portfolio_data({
            "service": "bot/../x", "timestamp": base + i * 3600, "portfolio_value": value,
            "currency": "USD",
            "trades": [{"symbol": "AAPL", "side": "buy", "pnl": p, "exit_time": base + i}
                       for p in ([25.0, -5.0, 8.0, 12.0, -30.0, 3.0, 1.0] if i == 0 else [])],
        })
    yield monitor
    backend.close()


def test_a_report_lists_the_best_and_worst_trades_and_renders_as_html_and_csv(monitor):
    now_ns = int(datetime(2026, 3, 2, 18, tzinfo=UTC).timestamp() * 1e9)
    report = build_report(monitor, "bot/../x", "day", now_ns=now_ns)
    assert [t["pnl"] for t in report.best_trades] == [25.0, 12.0, 8.0, 3.0, 1.0]
    assert [t["pnl"] for t in report.worst_trades] == [-30.0, -5.0]
    assert report.performance["total_return"] == pytest.approx(0.03)
    page, mimetype = render(report, "html")
    assert mimetype.startswith("text/html")
    assert "bot/../x day report, 2026-03-02" in page and "+3.00%" in page
    assert "http" not in page.replace("<!doctype html>", "")  # no external assets
    body, _ = render(report, "csv")
    rows = list(csv.reader(io.StringIO(body)))
    values = {(r[0], r[1]): r[2] for r in rows if len(r) == 3}
    assert float(values[("returns", "total_return")]) == pytest.approx(0.03)
    assert values[("trades", "trades")] == "7"
    assert values[("risk", "sharpe_ratio")] == ""


def test_a_scheduled_run_writes_each_bots_report_and_hands_it_on(monitor, tmp_path):
    delivered = []
    scheduler = ReportScheduler(monitor, ReportsConfig(), tmp_path / "reports",
                                deliver=delivered.append)
    now_ns = int(datetime(2026, 3, 2, 17, tzinfo=UTC).timestamp() * 1e9)
    written = scheduler.run_once(now_ns)
    assert sorted(p.name for p in written) == ["day-2026-03-02.csv", "day-2026-03-02.html"]
    assert all(p.parent == tmp_path / "reports" / "bot_.._x" for p in written)
    assert [r.service for r in delivered] == ["bot/../x"]


def test_each_snapshot_is_published_on_the_bus_with_fields_by_name():
    bus = EventBus()
    seen = []
    subscription = bus.subscribe(PerformanceUpdated, lambda e: seen.append(e.snapshot),
                                 name="test", overflow=drop_oldest)
    monitor = PerformanceMonitor(PerformanceMonitorConfig(), bus=bus)
    monitor.update_portfolio_data({"service": "bot", "timestamp": 1_767_225_600,
                                   "portfolio_value": 100.0})
    monitor.update_portfolio_data({"service": "bot", "timestamp": 1_767_225_660,
                                   "portfolio_value": 95.0})
    assert subscription.flush()
    bus.close()
    assert len(seen) == 2
    assert seen[-1].value("daily_return") == pytest.approx(-0.05)
    assert seen[-1].value("max_drawdown") == pytest.approx(-0.05)
