"""Scheduled reports go out through the report channels (attachments where the channel takes
them) with their alerts section filled; rules added at run time survive a restart; and the
engine keeps its state on PostgreSQL as on SQLite."""

from __future__ import annotations

from tests.backend.alerting.conftest import SEED_RULE, RecordingChannel
from tradepulse_backend.alerting import build_pipeline
from tradepulse_backend.clock import ManualClock
from tradepulse_backend.config.alerting import AlertingSystemConfig
from tradepulse_backend.performance.reports import Report, ReportPeriod
from tradepulse_backend.performance.snapshot import PerformanceSnapshot
from tradepulse_backend.store import Store


def report(since_ms: float) -> Report:
    return Report(service="bot", portfolio="", period=ReportPeriod.DAY, since_unix_ms=since_ms,
                  until_unix_ms=since_ms + 86_400_000, day_label="2026-01-01", timezone="UTC",
                  performance={"portfolio_value": 94_000.0, "daily_return": -0.06},
                  best_trades=[], worst_trades=[])


def test_a_report_goes_to_email_with_attachments_and_a_summary_elsewhere(engine_factory):
    engine = engine_factory()
    engine.system.report_channels = ["email", "slack"]
    engine.channels["email"].supports_attachments = True
    since_ms = engine.clock.now_ns() / 1e6
    engine.system.add_rule("portfolio_loss_alert", SEED_RULE)
    engine.snapshot(daily_return=-0.06)
    engine.system.deliver_report(report(since_ms))
    engine.deliver()
    (mail,) = [n for n in engine.channels["email"].sent if n.receiver == "reports"]
    names = sorted(a.filename for a in mail.attachments)
    assert names == ["tradepulse-bot-day-2026-01-01.csv", "tradepulse-bot-day-2026-01-01.html"]
    html = next(a.data for a in mail.attachments if a.filename.endswith(".html")).decode()
    assert "Portfolio Loss Alert" in html                  # the alerts fired section
    (summary,) = engine.channels["slack"].sent
    assert summary.attachments == () and "alerts_fired 1" in summary.text


def test_rules_added_at_run_time_survive_a_restart(engine_factory):
    engine = engine_factory()
    engine.system.add_rule("loss", {"conditions": ["daily_return lt -0.05"]})
    engine.restart()
    assert [r["name"] for r in engine.system.list_rules()] == ["loss"]
    engine.system.remove_rule("loss")
    engine.restart()
    assert engine.system.list_rules() == []


def test_state_history_and_outbox_work_on_each_database(tmp_path, storage_url):
    url = storage_url or f"sqlite:///{tmp_path / 'a.db'}"
    config = AlertingSystemConfig.model_validate({"channels": {}, "group_wait": 0})
    clock = ManualClock()
    store = Store.open(url, tmp_path)
    try:
        channels = {"email": RecordingChannel("email"), "console": RecordingChannel("console")}
        system = build_pipeline(config, store=store, clock=clock, channels=channels)
        system.add_rule("portfolio_loss_alert", SEED_RULE)
        system.evaluate_alerts(PerformanceSnapshot(timestamp=0, service="bot",
                                                   daily_return=-0.06))
        system.outbox.deliver_all_due()
        again = build_pipeline(config, store=store, clock=clock, channels=channels)
        assert again.get_active_alerts()[0]["state"] == "firing"
        assert [h["state"] for h in again.get_alert_history()] == ["firing"]
        rows, _ = again.notifications()
        assert sorted(r["status"] for r in rows) == ["sent", "sent"]
        assert len(channels["email"].sent) == 1
    finally:
        store.close()
