"""Routes: the seed's severity routing by default, `continue`, matchers, unconfigured channels
skipped, a rule's own channels winning; time intervals in their own timezone."""

from __future__ import annotations

from datetime import UTC, datetime

from tradepulse_backend.alerting.routing import Router, interval_active
from tradepulse_backend.config.alerting import AlertingSystemConfig


def ns(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1e9)


def test_the_default_routes_send_by_severity_to_configured_channels_only():
    router = Router(AlertingSystemConfig(), ["email", "console"])
    assert [m.channels for m in router.routes({"severity": "critical"})] == [("email", "console")]
    assert [m.channels for m in router.routes({"severity": "warning"})] == [("console",)]
    assert [m.channels for m in router.routes({"severity": "info"})] == [("console",)]
    assert [m.channels for m in router.routes({"severity": "info"}, ["email"])] == [("email",)]


def test_continue_and_matchers_choose_several_routes():
    config = AlertingSystemConfig.model_validate({"routes": [
        {"match": {"service": "bot-a"}, "channels": ["slack"], "continue": True,
         "group_wait": "10s"},
        {"matchers": [{"name": "service", "value": "bot-.*", "op": "=~"}],
         "channels": ["email"]},
        {"channels": ["console"]}]})
    router = Router(config, ["email", "slack", "console"])
    found = router.routes({"service": "bot-a", "severity": "info"})
    assert [(m.channels, m.group_wait_ns) for m in found] == [(("slack",), 10 * 10**9),
                                                               (("email",), 2 * 10**9)]
    assert [m.channels for m in router.routes({"service": "x"})] == [("console",)]


def test_market_hours_follow_new_york_time_and_weekends():
    config = AlertingSystemConfig()
    regular = config.time_intervals["us_equities_regular"]
    assert interval_active(regular, ns("2026-01-05T14:30:00"))       # Mon 09:30 New York
    assert not interval_active(regular, ns("2026-01-05T14:29:00"))
    assert not interval_active(regular, ns("2026-01-05T21:00:00"))   # Mon 16:00 New York
    assert interval_active(regular, ns("2026-07-06T13:30:00"))       # Mon 09:30 EDT
    assert not interval_active(regular, ns("2026-01-03T15:00:00"))   # Saturday
    assert interval_active(config.time_intervals["always"], ns("2026-01-03T15:00:00"))
