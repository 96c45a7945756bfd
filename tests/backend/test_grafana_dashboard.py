"""The Grafana trading dashboard queries only series /metrics exports, its PromQL parses, and
it imports as is (a `${DS_PROMETHEUS}` datasource input, panels that do not overlap)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.prometheus_server import find_promtool
from tradepulse_backend.dashboard.prometheus import exported_series_names

DASHBOARD = Path(__file__).parents[2] / "dashboards" / "grafana" / "tradepulse-trading.json"
DATASOURCE = "${DS_PROMETHEUS}"
NOT_METRICS = frozenset({"and", "or", "unless", "bool", "offset", "inf", "nan"})
GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
LABEL_VALUES = re.compile(r"^label_values\((?P<selector>.*),\s*(?P<label>\w+)\)$")
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "1m", "$service": ".*",
                     "$portfolio": ".*"}


def _dashboard() -> dict:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def _panels(dashboard: dict) -> list[dict]:
    found = []
    for panel in dashboard["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found


def _expressions(dashboard: dict) -> list[str]:
    """Every PromQL expression: panel targets and the selectors of query variables."""
    exprs = [t["expr"] for p in _panels(dashboard) for t in p.get("targets", [])]
    for variable in _query_variables(dashboard):
        query = variable["query"]["query"]
        match = LABEL_VALUES.match(query)
        assert match, f"variable {variable['name']}: unexpected query {query!r}"
        exprs.append(match["selector"])
    return exprs


def _query_variables(dashboard: dict) -> list[dict]:
    return [v for v in dashboard["templating"]["list"] if v["type"] == "query"]


def metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression selects: identifiers left once strings, label matchers,
    range durations and grouping clauses are removed, and that do not call a function."""
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = GROUPING.sub(" ", text)
    names = set()
    for match in re.finditer(r"(?<![\w.$])[A-Za-z_:][A-Za-z0-9_:]*", text):
        if text[match.end():].lstrip().startswith("(") or match.group() in NOT_METRICS:
            continue
        names.add(match.group())
    return names


def test_metric_names_are_read_from_promql_as_expected():
    assert metric_names('histogram_quantile(0.99, sum by (le) (rate(a_bucket{x="y"}[5m])))'
                        ) == {"a_bucket"}
    assert metric_names("count(ALERTS{alertstate=\"firing\"}) or vector(0)") == {"ALERTS"}
    assert metric_names("a / on (service) b == bool 1") == {"a", "b"}


def test_every_query_names_only_series_that_metrics_exports():
    exported = exported_series_names()
    for expr in _expressions(_dashboard()):
        names = metric_names(expr)
        assert names, f"no metric in {expr!r}"
        assert names <= exported, f"{expr!r} queries {sorted(names - exported)}"


def test_every_promql_expression_parses_with_promtool(tmp_path):
    promtool = find_promtool()
    if promtool is None:
        if os.environ.get("CI"):
            pytest.fail("promtool not installed (apt-get install prometheus)")
        pytest.skip("promtool not installed (apt-get install prometheus)")
    rules = []
    for index, expr in enumerate(_expressions(_dashboard())):
        for variable, value in GRAFANA_VARIABLES.items():
            expr = expr.replace(variable, value)
        assert "$" not in expr, f"unknown Grafana variable in {expr!r}"
        rules.append({"record": f"dashboard:query_{index}", "expr": expr})
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    checked = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True,
                             text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_dashboard_imports_with_a_prometheus_datasource_input():
    dashboard = _dashboard()
    (source,) = dashboard["__inputs"]
    assert (source["name"], source["type"], source["pluginId"]) == (
        "DS_PROMETHEUS", "datasource", "prometheus")
    assert dashboard["id"] is None and dashboard["uid"] == "tradepulse-trading"
    for panel in _panels(dashboard):
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == DATASOURCE, panel["title"]
        assert all(t["datasource"]["uid"] == DATASOURCE for t in panel["targets"]), panel["title"]
    for variable in _query_variables(dashboard):
        assert variable["datasource"]["uid"] == DATASOURCE
    # Provisioned from a file there is no import to fill the input in: a datasource variable
    # of the same name resolves ${DS_PROMETHEUS} to the default Prometheus instead.
    (chooser,) = [v for v in dashboard["templating"]["list"] if v["type"] == "datasource"]
    assert (chooser["name"], chooser["query"]) == ("DS_PROMETHEUS", "prometheus")


def test_the_dashboard_has_every_section_and_no_overlapping_panels():
    dashboard = _dashboard()
    rows = [p["title"] for p in dashboard["panels"] if p["type"] == "row"]
    assert rows == ["Portfolio", "Returns", "Drawdown and risk", "Execution", "Health", "Alerts"]
    cells: dict[tuple[int, int], str] = {}
    for panel in _panels(dashboard):
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = panel["title"]
    assert len({p["id"] for p in _panels(dashboard)}) == len(_panels(dashboard))
