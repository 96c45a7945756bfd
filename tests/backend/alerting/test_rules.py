"""Rule specs: the seed's keys, key-path errors, operators, fields from figure sources, and
safe templates."""

from __future__ import annotations

import asyncio

import pytest

from tests.backend.alerting.conftest import SEED_RULE
from tradepulse_backend.alerting import RuleError
from tradepulse_backend.alerting.templates import render
from tradepulse_backend.config import ConfigError, load_config


class FakeHealth:
    """A health monitor as the health package will expose it: names and figures(service)."""

    names = ("cpu_usage", "memory_usage", "component_status")

    def __init__(self) -> None:
        self.values = {None: {"cpu_usage": 10.0}}

    def figures(self, service):
        return self.values.get(service, {})


def test_the_seed_rule_is_accepted_through_the_async_api(engine_factory):
    engine = engine_factory()
    rule = asyncio.run(engine.system.add_alert_rule("portfolio_loss_alert", SEED_RULE))
    assert rule["name"] == "portfolio_loss_alert"
    assert rule["conditions"][0] == {"field": "daily_return", "operator": "lt", "value": -0.05,
                                     "compare": None, "within": None}


def test_a_bad_operator_names_the_key_path_and_the_allowed_operators(engine_factory):
    engine = engine_factory()
    spec = {**SEED_RULE, "conditions": [{"field": "daily_return", "operator": "lessthan",
                                         "value": -0.05}]}
    with pytest.raises(RuleError) as caught:
        engine.system.add_rule("portfolio_loss_alert", spec)
    message = caught.value.errors[0]
    assert message.startswith("rules.portfolio_loss_alert.conditions[0].operator: "
                              "'lessthan' is not one of lt, le, gt")


def test_an_unknown_field_suggests_the_closest_known_figure(engine_factory):
    engine = engine_factory()
    spec = {**SEED_RULE, "conditions": [{"field": "daily_retrun", "operator": "<",
                                         "value": -0.05}]}
    with pytest.raises(RuleError) as caught:
        engine.system.add_rule("loss", spec)
    assert caught.value.errors == [
        "rules.loss.conditions[0].field: unknown field 'daily_retrun'; "
        "did you mean 'daily_return'?"]


def test_health_figures_come_from_the_source_passed_in(engine_factory):
    from tradepulse_backend.alerting.figures import HealthFigures

    health = FakeHealth()
    source = HealthFigures(health, health.names, lambda: 0)
    engine = engine_factory(extra_sources=[source])
    engine.system.add_rule("cpu", {"conditions": ["cpu_usage gt 90"], "channels": ["console"]})
    with pytest.raises(RuleError, match="did you mean 'cpu_usage'"):
        engine.system.add_rule("cpu2", {"conditions": ["cpu_usag gt 90"]})
    health.values[None]["cpu_usage"] = 95.0
    changed = engine.system.evaluate_alerts()
    assert [a["state"] for a in changed] == ["firing"]


def test_templates_refuse_attribute_access_indexing_and_conversions(engine_factory):
    engine = engine_factory()
    for bad in ("{daily_return.__class__}", "{daily_return[0]}", "{daily_return!r}",
                "{0}", "{daily_return:{x}}"):
        with pytest.raises(RuleError, match=r"rules\.t\.message: "):
            engine.system.add_rule("t", {**SEED_RULE, "message": bad})


def test_a_missing_template_field_renders_na_and_never_breaks():
    assert render("loss {daily_return:.2%} on {nothing} ({missing:.1f})",
                  {"daily_return": -0.052}) == "loss -5.20% on n/a (n/a)"
    assert render("{name:.2%}", {"name": "text"}) == "n/a"


def test_config_rules_report_key_paths_at_load(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("monitoring:\n  alerting_system:\n    rules:\n      portfolio_loss_alert:\n"
                    "        conditions: [{field: daily_return, operator: lessthan, value: 1}]\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.errors[0].startswith(
        "monitoring.alerting_system.rules.portfolio_loss_alert.conditions[0].operator: "
        "'lessthan' is not one of")


def test_conditions_accept_the_text_form_with_windows(engine_factory):
    engine = engine_factory()
    rule = engine.system.add_rule("drop", {
        "conditions": ["portfolio_value pct_change lt -0.03 within 10m"],
        "channels": ["console"]})
    assert rule["conditions"][0] == {"field": "portfolio_value", "operator": "pct_change",
                                     "compare": "lt", "value": -0.03, "within": 600.0}
    with pytest.raises(RuleError, match=r"conditions\[0\]: .*within"):
        engine.system.add_rule("bad", {"conditions": [{"field": "portfolio_value",
                                                       "operator": "change", "value": 1,
                                                       "compare": "lt"}]})


def test_a_rule_naming_an_unconfigured_channel_is_refused(engine_factory):
    engine = engine_factory(channels=("console",))
    with pytest.raises(RuleError, match=r"rules\.r\.channels\[0\]: channel 'email' is not "
                                        r"configured \(configured: console\)"):
        engine.system.add_rule("r", SEED_RULE)


def test_check_config_names_an_unknown_rule_field_by_key_path(tmp_path, capsys):
    from tradepulse_backend.cli import main

    path = tmp_path / "c.yaml"
    path.write_text("monitoring:\n  alerting_system:\n    rules:\n      loss:\n"
                    "        conditions: ['max_drawdwn lt -0.15']\n")
    assert main(["check-config", str(path)]) == 1
    assert capsys.readouterr().out == (
        "monitoring.alerting_system.rules.loss.conditions[0].field: unknown field "
        "'max_drawdwn'; did you mean 'max_drawdown'?\n")
