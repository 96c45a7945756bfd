"""The collector configs parse, every pipeline names only defined components, every component
exists in the pinned collector-contrib release, and the endpoints are the backend's defaults."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.backend.collector_release import MODULES, TYPE_MODULES
from tradepulse_backend.config import IngestConfig

ROOT = Path(__file__).parents[2] / "collector-config"
AGENT, GATEWAY = ROOT / "otelcol.yaml", ROOT / "otelcol-loadbalancing.yaml"
KINDS = ("receivers", "processors", "exporters", "extensions")
ENV_REFERENCE = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
VENDORS_ON = {
    "TRADEPULSE_TRACES_EXPORTERS": "[otlphttp/tradepulse, otlp/jaeger, otlp/tempo, datadog, "
                                   "otlphttp/honeycomb, otlphttp/grafanacloud, debug]",
    "TRADEPULSE_METRICS_EXPORTERS": "[otlphttp/tradepulse, prometheusremotewrite, datadog, "
                                    "otlphttp/honeycomb, otlphttp/grafanacloud]",
    "TRADEPULSE_LOGS_EXPORTERS": "[otlphttp/tradepulse, datadog, otlphttp/grafanacloud]",
}


def expand(value, env: dict[str, str]):
    """The collector's `${env:NAME:-default}` expansion: a string that is one whole reference
    becomes the YAML its expansion parses to (so a variable can hold a list)."""
    if isinstance(value, dict):
        return {key: expand(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [expand(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match) -> str:
        found = env.get(match[1])
        return found if found else (match[2] or "")

    if ENV_REFERENCE.fullmatch(value):
        return yaml.safe_load(ENV_REFERENCE.sub(substitute, value))
    return ENV_REFERENCE.sub(substitute, value)


def load(path: Path, env: dict[str, str] | None = None) -> dict:
    return expand(yaml.safe_load(path.read_text(encoding="utf-8")), env or {})


def component_type(name: str) -> str:
    """`otlphttp/tradepulse` is a component of type `otlphttp`."""
    return name.split("/", 1)[0]


@pytest.mark.parametrize("path", [AGENT, GATEWAY], ids=lambda p: p.name)
@pytest.mark.parametrize("env", [{}, VENDORS_ON], ids=["defaults", "vendors-on"])
def test_every_pipeline_component_is_defined(path, env):
    config = load(path, env)
    service = config["service"]
    assert set(service["extensions"]) <= set(config["extensions"])
    assert set(service["pipelines"]) == {"traces", "metrics", "logs"}
    for name, pipeline in service["pipelines"].items():
        for kind in ("receivers", "processors", "exporters"):
            listed = pipeline.get(kind, [])
            assert (isinstance(listed, list) and listed) or kind == "processors", (name, kind)
            missing = set(listed) - set(config.get(kind) or {})
            assert not missing, f"{path.name} {name} pipeline: undefined {kind} {missing}"
        assert pipeline["processors"][0] == "memory_limiter", name


@pytest.mark.parametrize("path", [AGENT, GATEWAY], ids=lambda p: p.name)
def test_every_component_type_exists_in_the_pinned_release(path):
    config = load(path)
    for kind in KINDS:
        for name in config.get(kind) or {}:
            kind_type = component_type(name)
            module = TYPE_MODULES[kind].get(kind_type)
            assert module is not None, f"{kind[:-1]} type {kind_type!r}: add it to TYPE_MODULES"
            assert module in MODULES[kind], f"{module} is not in the pinned contrib release"


def test_the_agent_exports_to_tradepulse_only_by_default_and_to_vendors_when_named():
    defaults = load(AGENT)["service"]["pipelines"]
    assert {p: defaults[p]["exporters"] for p in defaults} == {
        "traces": ["otlphttp/tradepulse"], "metrics": ["otlphttp/tradepulse"],
        "logs": ["otlphttp/tradepulse"]}
    config = load(AGENT, VENDORS_ON)
    named = {e for p in config["service"]["pipelines"].values() for e in p["exporters"]}
    assert named == set(config["exporters"]), "every vendor exporter can be switched on"
    assert "prometheusremotewrite" not in config["service"]["pipelines"]["traces"]["exporters"]


def test_endpoints_match_the_backends_defaults():
    ingest = IngestConfig()
    agent = load(AGENT)
    assert agent["exporters"]["otlphttp/tradepulse"]["endpoint"] == \
        f"http://{ingest.host}:{ingest.port}"
    receivers = agent["receivers"]["otlp"]["protocols"]
    assert receivers["http"]["endpoint"].endswith(f":{ingest.port}")
    assert receivers["grpc"]["endpoint"].endswith(f":{ingest.grpc_port}")
    gateway = load(GATEWAY)["exporters"]["loadbalancing"]
    assert gateway["routing_key"] == "service"
    assert gateway["resolver"]["static"]["hostnames"] == [f"{ingest.host}:{ingest.grpc_port}"]
    assert load(GATEWAY, {"TRADEPULSE_BACKENDS": "[a:4317, b:4317]"})["exporters"][
        "loadbalancing"]["resolver"]["static"]["hostnames"] == ["a:4317", "b:4317"]


def test_the_environment_overrides_the_tradepulse_endpoint():
    agent = load(AGENT, {"TRADEPULSE_OTLP_ENDPOINT": "http://tradepulse:4318"})
    assert agent["exporters"]["otlphttp/tradepulse"]["endpoint"] == "http://tradepulse:4318"
