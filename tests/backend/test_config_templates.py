"""The seed's MonitoringConfig templates and `tradepulse init`."""

from __future__ import annotations

from pathlib import Path

import yaml

from tradepulse import conventions as conv
from tradepulse_backend.cli import main
from tradepulse_backend.config import MonitoringConfig, check_config_file, load_config
from tradepulse_backend.config.starter import starter_config
from tradepulse_backend.config.templates import LAYOUTS_DIR
from tradepulse_backend.dashboard.layouts import parse_layout
from tradepulse_backend.performance.snapshot import FIGURE_FIELDS

TEMPLATE_NAMES = {
    "daily_loss_5_percent", "max_drawdown_alert", "volatility_spike", "sharpe_collapse",
    "var_over_limit", "order_rejection_rate", "latency_p99", "broker_disconnected",
    "bot_heartbeat_lost", "cpu_usage_high", "memory_usage_high", "disk_usage_high"}


def _descriptions(model, found=None) -> set[str]:
    found = set() if found is None else found
    for info in model.model_fields.values():
        if info.description:
            found.add(info.description)
        annotation = info.annotation
        if isinstance(annotation, type) and hasattr(annotation, "model_fields"):
            _descriptions(annotation, found)
    return found


def test_init_writes_a_commented_starter_that_passes_check_config(tmp_path, capsys):
    path = tmp_path / "tradepulse.yaml"
    assert main(["init", "--path", str(path)]) == 0
    assert main(["check-config", str(path)]) == 0
    assert f"{path}: OK" in capsys.readouterr().out
    assert check_config_file(path) == []
    text = path.read_text()
    flat = " ".join(line.strip().lstrip("# ") for line in text.splitlines())
    for description in _descriptions(MonitoringConfig):
        assert " ".join(description.split()) in flat, description
    assert "# data_dir: ~/.local/share/tradepulse" in text


def test_the_starter_holds_every_default(tmp_path):
    path = tmp_path / "starter.yaml"
    path.write_text(starter_config())
    environ = {"HOME": str(tmp_path)}
    loaded = load_config(path, environ=environ).model_dump()
    assert loaded == load_config(None, environ=environ).model_dump()
    section = yaml.safe_load(path.read_text())["monitoring"]
    assert set(section) == set(MonitoringConfig.model_fields)


def test_init_refuses_to_overwrite_without_force(tmp_path, capsys):
    path = tmp_path / "existing.yaml"
    path.write_text("monitoring: {}\n")
    assert main(["init", "--path", str(path)]) == 1
    assert "exists" in capsys.readouterr().err
    assert path.read_text() == "monitoring: {}\n"
    assert main(["init", "--path", str(path), "--force"]) == 0
    assert "monitoring:" in path.read_text() and check_config_file(path) == []


def test_complete_monitoring_config_is_the_whole_default_config():
    complete = MonitoringConfig.get_complete_monitoring_config()
    assert list(complete) == ["monitoring"]
    assert MonitoringConfig.model_validate(complete["monitoring"]) == MonitoringConfig(
        storage={"data_dir": complete["monitoring"]["storage"]["data_dir"]})


def test_alert_rule_templates_use_the_rule_spec_on_known_figures():
    templates = MonitoringConfig.get_alert_rule_templates()
    assert set(templates) == TEMPLATE_NAMES
    health_figures = set(MonitoringConfig().system_health.thresholds)
    for name, rule in templates.items():
        assert {"conditions", "severity", "title", "message", "channels"} <= set(rule), name
        assert rule["severity"] in ("info", "warning", "critical"), name
        for condition in rule["conditions"]:
            field = condition["field"]
            assert field in FIGURE_FIELDS or field in health_figures or field in conv.METRICS, (
                name, field)
            assert condition["operator"] in ("lt", "gt", "absent"), name
            assert ("value" in condition) != (condition["operator"] == "absent"), name


def test_the_seed_rules_are_as_the_seed_writes_them():
    rules = MonitoringConfig.get_performance_alert_templates()
    assert rules["daily_loss_5_percent"]["conditions"] == [
        {"field": "daily_return", "operator": "lt", "value": -0.05}]
    assert (rules["daily_loss_5_percent"]["severity"], rules["daily_loss_5_percent"]["title"],
            rules["daily_loss_5_percent"]["channels"]) == (
        "warning", "Daily Loss Alert", ["email", "console"])
    assert rules["max_drawdown_alert"]["conditions"] == [
        {"field": "max_drawdown", "operator": "lt", "value": -0.15}]
    assert rules["max_drawdown_alert"]["channels"] == ["email", "slack", "console"]


def test_templates_are_fresh_copies():
    first = MonitoringConfig.get_alert_rule_templates()
    first["daily_loss_5_percent"]["conditions"][0]["value"] = -0.5
    assert MonitoringConfig.get_alert_rule_templates()["daily_loss_5_percent"][
        "conditions"][0]["value"] == -0.05


def test_dashboard_layout_templates_are_every_yaml_file_of_the_directory(tmp_path):
    (tmp_path / "trading.yaml").write_text("title: Trading\nsections: []\n")
    (tmp_path / "risk.yaml").write_text("title: Risk\nsections: []\n")
    (tmp_path / "notes.txt").write_text("not a layout")
    layouts = MonitoringConfig.get_dashboard_layout_templates(tmp_path)
    assert layouts == {"risk": {"title": "Risk", "sections": []},
                       "trading": {"title": "Trading", "sections": []}}
    shipped = MonitoringConfig.get_dashboard_layout_templates()
    assert set(shipped) == {p.stem for p in Path(LAYOUTS_DIR).glob("*.yaml")}
    assert "default" in shipped
    for name, document in shipped.items():
        layout = parse_layout(Path(LAYOUTS_DIR) / f"{name}.yaml", document)
        assert layout.sections, name


def test_the_starters_example_rules_load_once_uncommented_with_their_channels(tmp_path):
    lines = starter_config().splitlines()
    empty = lines.index("    rules: {}")
    start = lines.index("    # rules:")
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith("    # "))
    rules = [line.replace("    # ", "    ", 1) for line in lines[start:end]]
    (channels,) = [i for i, line in enumerate(lines) if line.startswith("    channels: {console")]
    lines[channels] = (
        "    channels: {console: {}, slack: {webhook_url: 'https://hooks.slack.com/x'}, "
        "email: {smtp_server: smtp.example.com, sender_email: bot@example.com, "
        "recipients: [trader@example.com]}}")
    edited = [*lines[:empty], *rules, *lines[end:]]
    path = tmp_path / "with-rules.yaml"
    path.write_text("\n".join(edited) + "\n")
    assert check_config_file(path) == []
    loaded = load_config(path, environ={"HOME": str(tmp_path)}).alerting_system.rules
    assert set(loaded) == {"daily_loss_5_percent", "max_drawdown_alert"}
