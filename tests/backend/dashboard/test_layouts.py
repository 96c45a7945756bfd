"""Dashboard layouts: the default reproduces the page's sections, user files add metric
panels, bad files are refused naming file and key path (start-up and check-config), and a
layout's metrics reach its WebSocket clients in the REST metrics shape."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.backend.dashboard.wsclient import Stream, gauge_request, post_otlp
from tests.support import InProcessApp, RunningServer
from tradepulse_backend.dashboard.layouts import BUILTIN_DIR, LayoutCatalog, LayoutError

CUSTOM = {
    "title": "Desk",
    "sections": [{"id": "latency", "title": "Broker", "panels": [
        {"id": "conn", "title": "Broker connected", "source": "metric",
         "metric": "trading.broker.connected", "attributes": {"trading.broker": "alpaca"},
         "fn": "value", "chart": "line"}]}],
}


def _write(directory: Path, name: str, body) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.yaml"
    path.write_text(body if isinstance(body, str) else yaml.safe_dump(body))
    return path


def test_default_layout_has_every_section_of_the_page():
    layout = LayoutCatalog.load([BUILTIN_DIR], required=["default"]).get("default")
    assert [s["id"] for s in layout["sections"]] == [
        "bots", "overview", "performance", "health", "alerts", "positions", "execution"]
    sources = {p["source"] for s in layout["sections"] for p in s["panels"]}
    assert sources >= {"services", "performance", "performance_history", "health", "alerts",
                       "positions", "execution", "traces"}


@pytest.mark.parametrize(("panel", "where", "says"), [
    ({"id": "x", "title": "X", "source": "metric"}, "sections[0].panels[1].metric",
     "required when source is metric"),
    ({"id": "x", "title": "X", "source": "metric", "metric": "m", "chart": "lights"},
     "sections[0].panels[1].chart", "one of line, area, bar, stat, table"),
    ({"id": "x", "title": "X", "source": "performance", "fields": ["sharpe"]},
     "sections[0].panels[1].fields[0]", "unknown performance figure 'sharpe'"),
    ({"id": "x", "title": "X", "source": "metric", "metric": "m", "fn": "avg"},
     "sections[0].panels[1].fn", "'value', 'delta' or 'rate'"),
    ({"id": "conn", "title": "X", "source": "health"}, "sections[0].panels[1].id",
     "duplicate id 'conn'"),
    ({"id": "x", "title": "X", "source": "health", "colour": "red"},
     "sections[0].panels[1].colour", "Extra inputs are not permitted"),
])
def test_a_bad_layout_is_refused_naming_file_and_key_path(tmp_path, panel, where, says):
    body = {**CUSTOM, "sections": [{**CUSTOM["sections"][0],
                                    "panels": [*CUSTOM["sections"][0]["panels"], panel]}]}
    path = _write(tmp_path, "desk", body)
    with pytest.raises(LayoutError) as error:
        LayoutCatalog.load([tmp_path])
    [line] = error.value.errors
    assert line.startswith(f"{path}: {where}: ") and says in line


def test_unknown_selected_layout_and_bad_yaml_are_reported(tmp_path):
    _write(tmp_path, "broken", "sections: [\n")
    with pytest.raises(LayoutError) as error:
        LayoutCatalog.load([tmp_path])
    assert "broken.yaml: line" in error.value.errors[0]
    with pytest.raises(LayoutError) as error:
        LayoutCatalog.load([BUILTIN_DIR], required=["nope"])
    assert error.value.errors == ["dashboard.layout: no layout named 'nope'; known: default"]


def test_check_config_reports_layout_errors_with_key_paths(tmp_path):
    layouts = tmp_path / "layouts"
    _write(layouts, "desk", {"sections": [{"id": "a", "title": "A", "panels": [
        {"id": "p", "title": "P", "source": "metric"}]}]})
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"monitoring": {"dashboard": {
        "layouts_dir": str(layouts)}}}))
    result = subprocess.run([sys.executable, "-m", "tradepulse_backend.cli", "check-config",
                             str(config)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "desk.yaml: sections[0].panels[0].metric: required when source is metric" \
        in result.stdout


def test_server_refuses_to_start_with_a_bad_layout(tmp_path):
    layouts = tmp_path / "layouts"
    _write(layouts, "desk", {"sections": []})
    with pytest.raises(RuntimeError) as error:
        RunningServer(tmp_path / "data", {"dashboard": {"layouts_dir": str(layouts)}})
    assert "desk.yaml: sections: List should have at least 1 item" in str(error.value)


def test_layouts_api_lists_and_returns_validated_layouts(tmp_path):
    layouts = tmp_path / "layouts"
    _write(layouts, "desk", CUSTOM)
    app = InProcessApp(tmp_path / "data", {"dashboard": {"layouts_dir": str(layouts)}})
    try:
        assert app.api("/layouts") == {"default": "default", "layouts": ["default", "desk"]}
        desk = app.api("/layouts/desk")
        assert desk["name"] == "desk" and desk["sections"][0]["panels"][0]["width"] == 1
        status, body = app.get("/api/v1/layouts/nope")
        assert status == 404 and "known: default, desk" in body["error"]
    finally:
        app.close()


def test_layout_metric_panels_stream_their_metric_in_the_rest_shape(servers, tmp_path):
    layouts = tmp_path / "layouts"
    _write(layouts, "desk", CUSTOM)
    server = servers({"dashboard": {"layouts_dir": str(layouts)}})
    desk = Stream(server.dashboard, "layout=desk")
    plain = Stream(server.dashboard)
    try:
        assert desk.next()["data"]["layout"]["name"] == "desk"
        plain.next()
        post_otlp(server.otlp, "metrics", gauge_request(
            "desk-bot", "trading.broker.connected", 1.0,
            attributes={"trading.broker": "alpaca"}))
        post_otlp(server.otlp, "metrics", gauge_request("desk-bot", "other.metric", 2.0))
        message = desk.of_type("metric", "desk-bot")
        plain.send({"type": "subscribe", "metrics": ["other.metric"]})
        plain.of_type("snapshot")
        post_otlp(server.otlp, "metrics", gauge_request("desk-bot", "other.metric", 3.0))
        other = plain.of_type("metric", "desk-bot")
    finally:
        desk.close()
        plain.close()
    rest = server.api("/metrics?name=trading.broker.connected&service=desk-bot&since=0")
    assert message["data"] == rest
    assert other["data"]["name"] == "other.metric"
    assert other["data"]["series"][0]["points"][-1][1] == 3.0
