"""Alert lifecycle, grouping, silences, acks, mute intervals and resolved notifications, all on
a manual clock against a real store."""

from __future__ import annotations

from tests.backend.alerting.conftest import SEED_RULE
from tradepulse_backend.alerting.channels.base import DeliveryResult, DeliveryStatus


def seed_engine(engine_factory, **rule):
    engine = engine_factory()
    engine.system.add_rule("portfolio_loss_alert", {**SEED_RULE, **rule})
    return engine


def test_a_loss_fires_after_group_wait_and_its_resolve_follows(engine_factory):
    engine = seed_engine(engine_factory)
    changed = engine.snapshot(daily_return=-0.052, portfolio_value=94_800.0)
    assert [a["state"] for a in changed] == ["firing"]
    assert engine.deliver() == 0                      # group_wait (2 s) not over yet
    engine.advance(2)
    engine.deliver()
    (sent,) = engine.channels["email"].sent
    assert sent.title == "Portfolio Loss Alert" and sent.status == "firing"
    assert "Daily return is -5.20%" in sent.text
    assert sent.alerts[0]["labels"]["service"] == "bot"
    assert [n.title for n in engine.channels["console"].sent] == [sent.title]
    assert engine.channels["slack"].sent == []         # the rule's channels win over routes

    engine.clock.advance(30)
    changed = engine.snapshot(daily_return=-0.01)
    assert [a["state"] for a in changed] == ["resolved"]
    engine.advance(60)
    engine.deliver()
    assert [n.status for n in engine.channels["email"].sent] == ["firing", "resolved"]
    assert engine.channels["email"].sent[1].alerts[0]["endsAt"] != "0001-01-01T00:00:00Z"


def test_for_keeps_an_alert_pending_until_the_condition_held_long_enough(engine_factory):
    engine = seed_engine(engine_factory, **{"for": "1m"})
    assert [a["state"] for a in engine.snapshot(daily_return=-0.06)] == ["pending"]
    engine.advance(30)
    assert engine.system.get_active_alerts()[0]["state"] == "pending"
    engine.advance(30)                                 # the timer fires it with no new data
    assert engine.system.get_active_alerts()[0]["state"] == "firing"


def test_a_pending_alert_that_clears_never_notifies(engine_factory):
    engine = seed_engine(engine_factory, **{"for": "1m"})
    engine.snapshot(daily_return=-0.06)
    engine.clock.advance(10)
    assert [a["state"] for a in engine.snapshot(daily_return=0.0)] == ["resolved"]
    engine.advance(300)
    engine.deliver()
    assert engine.channels["email"].sent == []


def test_keep_firing_for_holds_a_flapping_figure_in_one_notification(engine_factory):
    engine = seed_engine(engine_factory, keep_firing_for="5m")
    for step in range(10):                             # flaps every 20 s for 200 s
        engine.snapshot(daily_return=-0.06 if step % 2 == 0 else 0.01)
        engine.advance(20)
        engine.deliver()
    assert [n.status for n in engine.channels["email"].sent] == ["firing"]
    engine.advance(300)
    engine.advance(60)
    engine.deliver()
    assert [n.status for n in engine.channels["email"].sent] == ["firing", "resolved"]


def test_repeat_interval_renotifies_and_an_ack_stops_repeats(engine_factory):
    engine = seed_engine(engine_factory)
    engine.snapshot(daily_return=-0.06)
    engine.advance(2)
    engine.deliver()
    for _ in range(4 * 60 + 1):                        # 4 h of one-minute ticks
        engine.advance(60)
    engine.deliver()
    assert len(engine.channels["email"].sent) == 2
    fingerprint = engine.system.get_active_alerts()[0]["fingerprint"]
    acked = engine.system.acknowledge(fingerprint, by="ann")
    assert acked["acknowledged"] is True
    for _ in range(4 * 60 + 1):
        engine.advance(60)
    engine.deliver()
    assert len(engine.channels["email"].sent) == 2
    engine.snapshot(daily_return=0.0)
    engine.advance(60)
    engine.deliver()
    assert engine.channels["email"].sent[-1].status == "resolved"


def test_group_by_puts_alerts_of_many_services_in_one_notification(engine_factory):
    engine = seed_engine(engine_factory, group_by=["rule"])
    for service in ("bot-a", "bot-b", "bot-c"):
        engine.snapshot(service=service, daily_return=-0.07)
    engine.advance(2)
    engine.deliver()
    (sent,) = engine.channels["email"].sent
    assert sent.title == "portfolio_loss_alert"
    assert sorted(a["labels"]["service"] for a in sent.alerts) == ["bot-a", "bot-b", "bot-c"]


def test_a_silenced_alert_is_recorded_but_not_notified(engine_factory):
    engine = seed_engine(engine_factory)
    silence = engine.system.add_silence([{"name": "service", "value": "bot-.*", "op": "=~"}],
                                        created_by="ann", comment="maintenance",
                                        duration_s=3600)
    engine.snapshot(service="bot-a", daily_return=-0.07)
    engine.advance(2)
    engine.deliver()
    assert engine.channels["email"].sent == []
    (alert,) = engine.system.get_active_alerts()
    assert alert["silenced"] is True and alert["state"] == "firing"
    history = engine.system.get_alert_history(service="bot-a")
    assert [h["state"] for h in history] == ["firing"]

    engine.system.expire_silence(silence["id"])
    engine.advance(60)
    engine.deliver()
    assert [n.status for n in engine.channels["email"].sent] == ["firing"]


def test_a_mute_interval_holds_no_data_alerts_outside_market_hours(engine_factory):
    engine = engine_factory({"routes": [{"match": {"severity": "warning"}, "channels": ["slack"],
                                         "active_time_intervals": ["us_equities_regular"]}]})
    engine.system.add_rule("quiet", {"conditions": ["trading.portfolio.value absent 5m"]})
    engine.system.metrics.observe("trading.portfolio.value", "bot", {}, 1.0,
                                  engine.clock.now_ns())
    engine.advance(6 * 60)                             # Thursday 00:06 UTC: market closed
    engine.advance(60)
    engine.deliver()
    assert engine.system.get_active_alerts()[0]["state"] == "firing"
    assert engine.channels["slack"].sent == []
    engine.clock.advance(14 * 3600 + 30 * 60)          # 14:36 UTC = 09:36 New York
    engine.advance(60)
    engine.deliver()
    assert [n.status for n in engine.channels["slack"].sent] == ["firing"]


def test_absent_fires_when_a_metric_stops_and_resolves_when_it_returns(engine_factory):
    engine = engine_factory()
    engine.system.add_rule("silent_bot", {
        "conditions": [{"field": 'trading.broker.connected{trading.broker="alpaca"}',
                        "operator": "absent", "within": "2m"}], "channels": ["console"]})
    metrics = engine.system.metrics
    metrics.observe("trading.broker.connected", "bot", {"trading.broker": "alpaca"}, 1.0,
                    engine.clock.now_ns())
    metrics.observe("trading.broker.connected", "bot", {"trading.broker": "ib"}, 1.0,
                    engine.clock.now_ns() - 10**12)
    engine.advance(60)
    assert engine.system.get_active_alerts() == []
    engine.advance(61)
    (alert,) = engine.system.get_active_alerts()
    assert alert["labels"]["trading.broker"] == "alpaca"
    metrics.observe("trading.broker.connected", "bot", {"trading.broker": "alpaca"}, 1.0,
                    engine.clock.now_ns())
    engine.advance(1)
    assert engine.system.get_active_alerts() == []


def test_pct_change_over_a_window(engine_factory):
    engine = engine_factory()
    engine.system.add_rule("drop", {"conditions": [
        "portfolio_value pct_change lt -0.03 within 10m"], "channels": ["console"],
        "message": "value fell {value:.1%}"})
    engine.snapshot(portfolio_value=100_000.0)
    engine.clock.advance(300)
    assert engine.snapshot(portfolio_value=98_000.0) == []
    engine.clock.advance(240)
    (alert,) = engine.snapshot(portfolio_value=96_500.0)
    assert alert["state"] == "firing" and alert["message"] == "value fell -3.5%"


def test_a_channel_that_does_not_want_resolved_notifications_gets_none(engine_factory):
    engine = engine_factory(send_resolved={"email": False})
    engine.system.add_rule("portfolio_loss_alert", SEED_RULE)
    engine.snapshot(daily_return=-0.06)
    engine.advance(2)
    engine.snapshot(daily_return=0.0)
    engine.advance(60)
    engine.deliver()
    assert [n.status for n in engine.channels["email"].sent] == ["firing"]
    assert [n.status for n in engine.channels["console"].sent] == ["firing", "resolved"]


def test_a_restart_renotifies_nothing_and_sends_a_resolve_that_follows(engine_factory):
    engine = seed_engine(engine_factory)
    engine.snapshot(daily_return=-0.06)
    engine.advance(2)
    engine.deliver()
    engine.restart()
    assert engine.system.get_active_alerts()[0]["state"] == "firing"
    engine.advance(60)
    engine.snapshot(daily_return=-0.07)
    engine.advance(60)
    engine.deliver()
    assert len(engine.channels["email"].sent) == 1
    engine.snapshot(daily_return=0.01)
    engine.advance(60)
    engine.deliver()
    assert [n.status for n in engine.channels["email"].sent] == ["firing", "resolved"]


def test_a_route_failure_is_retried_with_backoff_until_it_succeeds(engine_factory):
    engine = seed_engine(engine_factory)
    email = engine.channels["email"]
    email.results = [DeliveryResult(DeliveryStatus.RETRY, "HTTP 500"),
                     DeliveryResult(DeliveryStatus.RETRY, "429", retry_after=30)]
    engine.snapshot(daily_return=-0.06)
    engine.advance(2)
    engine.deliver()
    (row,) = engine.system.notifications(channel="email")[0]
    assert row["status"] == "pending" and row["attempts"] == 1 and row["last_error"] == "HTTP 500"
    engine.clock.advance(1)                             # first backoff is at most 1 s
    engine.deliver()
    engine.clock.advance(29)
    assert engine.deliver() == 0                        # Retry-After: 30 s
    engine.clock.advance(1)
    engine.deliver()
    (row,) = engine.system.notifications(channel="email")[0]
    assert row["status"] == "sent" and row["attempts"] == 3
    assert len(email.sent) == 1
    assert len({n.key for n in email.attempts}) == 1    # one idempotency key throughout


def test_permanent_failure_is_recorded_and_raised_on_the_console(engine_factory):
    engine = seed_engine(engine_factory)
    engine.channels["email"].results = [DeliveryResult(DeliveryStatus.PERMANENT, "HTTP 403")]
    engine.snapshot(daily_return=-0.06)
    engine.advance(2)
    engine.deliver()
    engine.deliver()
    (row,) = engine.system.notifications(channel="email")[0]
    assert row["status"] == "failed" and row["last_error"] == "HTTP 403"
    titles = [n.title for n in engine.channels["console"].sent]
    assert "Alert channel email failed to deliver a notification" in titles


def test_max_attempts_gives_up(engine_factory):
    engine = seed_engine(engine_factory)
    engine.system.outbox.config = engine.system.outbox.config.model_copy(
        update={"max_attempts": 3})
    engine.channels["email"].results = [DeliveryResult(DeliveryStatus.RETRY, "timeout")] * 5
    engine.snapshot(daily_return=-0.06)
    engine.advance(2)
    for _ in range(5):
        engine.deliver()
        engine.clock.advance(300)
    (row,) = engine.system.notifications(channel="email")[0]
    assert row["status"] == "failed" and row["attempts"] == 3
    assert "gave up after 3 attempts" in row["last_error"]


def test_a_channel_with_a_resend_interval_hears_a_firing_alert_again(engine_factory):
    engine = engine_factory({"group_interval": 30}, channels=("alertmanager", "console"))
    engine.channels["alertmanager"].resend_interval = 60.0
    engine.system.add_rule("loss", {"conditions": ["daily_return lt -0.05"],
                                    "channels": ["alertmanager"]})
    engine.snapshot(daily_return=-0.06)
    engine.advance(2)
    fingerprint = engine.system.get_active_alerts()[0]["fingerprint"]
    engine.system.acknowledge(fingerprint)      # an ack stops repeats, not Alertmanager resends
    for _ in range(10):
        engine.advance(30)
    engine.deliver()
    assert len(engine.channels["alertmanager"].sent) == 6    # at 2 s, then every 60 s


def test_a_metric_rule_message_can_show_the_service_performance_figures(engine_factory):
    engine = engine_factory()
    engine.system.add_rule("broker", {
        "conditions": ["trading.broker.connected lt 1"], "channels": ["console"],
        "message": "{service} offline with a day at {daily_return:.1%} and {sharpe_ratio}"})
    engine.snapshot(daily_return=-0.021)
    engine.system.metrics.observe("trading.broker.connected", "bot", {"trading.broker": "ib"},
                                  0.0, engine.clock.now_ns())
    (alert,) = engine.system.evaluate_alerts()
    assert alert["message"] == "bot offline with a day at -2.1% and n/a"


def test_a_pending_timer_survives_a_restart(engine_factory):
    engine = seed_engine(engine_factory, **{"for": "1m"})
    engine.snapshot(daily_return=-0.06)
    engine.advance(40)
    engine.restart()
    assert engine.system.get_active_alerts()[0]["state"] == "pending"
    engine.clock.advance(20)                         # 60 s after it went pending
    (alert,) = engine.snapshot(daily_return=-0.06)
    assert alert["state"] == "firing"
