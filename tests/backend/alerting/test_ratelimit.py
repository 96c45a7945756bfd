"""Per-channel rate limits with the seed's numbers: a critical reserve, suppressed rows in
history with the reason, and the "+N suppressed" line on the next notification."""

from __future__ import annotations

from tradepulse_backend.alerting.ratelimit import HOUR_NS, RateLimiter
from tradepulse_backend.config.alerting import AlertingSystemConfig


def test_warnings_stop_at_80_percent_of_the_hour_and_critical_use_the_reserve():
    limiter = RateLimiter(AlertingSystemConfig().rate_limits)   # email 10/h, 50/day
    now = 10**18
    assert [limiter.check("email", False, now + i) for i in range(8)] == [None] * 8
    assert limiter.check("email", False, now + 8) == (
        "rate limit: email max_per_hour 10 reached (2 reserved for critical alerts)")
    assert limiter.check("email", True, now + 9) is None
    assert limiter.check("email", True, now + 10) is None
    assert limiter.check("email", True, now + 11) == "rate limit: email max_per_hour 10 reached"
    assert limiter.check("console", False, now) is None        # unlimited where unset
    assert limiter.check("email", False, now + HOUR_NS + 20) is None


def test_the_day_limit_holds_across_hours():
    limiter = RateLimiter(AlertingSystemConfig().rate_limits)
    now = 10**18
    sent = 0
    for hour in range(24):
        for i in range(10):
            if limiter.check("slack", True, now + hour * HOUR_NS + i) is None:
                sent += 1
    assert sent == 100                                          # slack 20/h, 100/day


def test_suppressed_notifications_are_recorded_and_announced_on_the_next(engine_factory):
    engine = engine_factory({"rate_limits": {"email": {"max_per_hour": 2, "max_per_day": 50}},
                             "group_by": ["rule", "service"]})
    engine.system.add_rule("loss", {"conditions": ["daily_return lt -0.05"],
                                    "severity": "warning", "title": "Loss {service}",
                                    "channels": ["email"]})
    for index in range(4):                       # 2 * 0.8 = 1 warning per hour gets through
        engine.snapshot(service=f"bot-{index}", daily_return=-0.06)
    engine.advance(2)
    engine.deliver()
    assert len(engine.channels["email"].sent) == 1
    suppressed, _ = engine.system.notifications(status="suppressed")
    assert len(suppressed) == 3
    assert suppressed[0]["last_error"].startswith("rate limit: email max_per_hour 2 reached")
    stats = engine.system.stats()
    assert stats["outbox"]["email"] == {"sent": 1, "suppressed": 3}
    assert stats["suppressed_unreported"] == {"email": 3}
    engine.clock.advance(3600)
    engine.snapshot(service="bot-9", daily_return=-0.06)
    engine.advance(2)
    engine.deliver()
    last = engine.channels["email"].sent[-1]
    assert last.suppressed_note.startswith("+3 alerts suppressed by rate limit since 00:00 UTC: ")
    assert "Loss bot-1" in last.suppressed_note
    assert last.suppressed_note in last.text
