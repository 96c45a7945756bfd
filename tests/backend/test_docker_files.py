"""Dockerfile and docker-compose.yml: every file they reference exists, their ports are the
backend's config defaults, the image runs as non-root with a health check and a data volume,
and the Prometheus and Grafana files they mount are valid. No Docker engine runs here: these
read the files, they do not build or start the images."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.backend.collector_release import IMAGE as COLLECTOR_IMAGE
from tests.prometheus_server import find_promtool
from tradepulse_backend.config import DashboardConfig, IngestConfig, check_config_file, load_config
from tradepulse_backend.dashboard.layouts import BUILTIN_DIR

ROOT = Path(__file__).parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DATA_DIR = "/var/lib/tradepulse"


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per Dockerfile instruction, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text(encoding="utf-8"))
    found = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, rest = line.strip().partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def _bind_mounts(service: dict) -> list[tuple[str, str]]:
    mounts = []
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith("."):
            mounts.append((source, target))
    return mounts


def _container_ports(service: dict) -> dict[int, int]:
    """container port -> published host port."""
    return {int(p.split(":")[1]): int(p.split(":")[0]) for p in service.get("ports", [])}


def test_every_file_the_compose_file_mounts_or_builds_exists():
    services = _compose()["services"]
    for name, service in services.items():
        for source, _ in _bind_mounts(service):
            assert (ROOT / source).exists(), f"{name}: {source} does not exist"
        if "build" in service:
            assert (ROOT / service["build"] / "Dockerfile").is_file()
    for keyword, args in _instructions():
        if keyword == "COPY" and "--from" not in args:
            *sources, _ = args.split()
            for source in sources:
                assert (ROOT / source).exists(), f"Dockerfile COPY {source}: missing"


def test_compose_ports_agree_with_the_config_defaults():
    services = _compose()["services"]
    ingest, dashboard = IngestConfig(), DashboardConfig()
    assert _container_ports(services["tradepulse"]) == {dashboard.port: dashboard.port}
    assert _container_ports(services["collector"]) == {
        ingest.port: ingest.port, ingest.grpc_port: ingest.grpc_port}
    endpoint = services["collector"]["environment"]["TRADEPULSE_OTLP_ENDPOINT"]
    assert endpoint == f"http://tradepulse:{ingest.port}"
    scrape = yaml.safe_load((ROOT / "docker/prometheus.yml").read_text())["scrape_configs"][0]
    assert scrape["metrics_path"] == "/metrics"
    assert scrape["static_configs"][0]["targets"] == [f"tradepulse:{dashboard.port}"]


def test_the_image_config_passes_check_config_and_keeps_the_default_ports():
    path = ROOT / "docker/tradepulse.yaml"
    assert check_config_file(path) == []
    config = load_config(path)
    assert (config.ingest.host, config.dashboard.host) == ("0.0.0.0", "0.0.0.0")
    assert (config.ingest.port, config.ingest.grpc_port, config.dashboard.port) == (
        IngestConfig().port, IngestConfig().grpc_port, DashboardConfig().port)


def test_the_image_is_slim_non_root_with_a_health_check_and_a_data_volume():
    instructions = _instructions()
    bases = [args for keyword, args in instructions if keyword == "FROM"]
    assert all(base.split()[0].endswith("-slim") for base in bases)
    (user,) = [args for keyword, args in instructions if keyword == "USER"]
    assert user not in ("root", "0")
    (volume,) = [args for keyword, args in instructions if keyword == "VOLUME"]
    assert volume == DATA_DIR
    (health,) = [args for keyword, args in instructions if keyword == "HEALTHCHECK"]
    assert f"http://127.0.0.1:{DashboardConfig().port}/healthz" in health
    (expose,) = [args for keyword, args in instructions if keyword == "EXPOSE"]
    assert {int(p) for p in expose.split()} == {
        IngestConfig().port, IngestConfig().grpc_port, DashboardConfig().port}
    (command,) = [json.loads(args) for keyword, args in instructions if keyword == "CMD"]
    assert command[command.index("--data-dir") + 1] == DATA_DIR
    assert command[command.index("--config") + 1] == "/etc/tradepulse/tradepulse.yaml"
    volumes = _compose()["services"]["tradepulse"]["volumes"]
    assert volumes == [f"tradepulse-data:{DATA_DIR}"]


def test_the_image_puts_the_built_in_layouts_where_the_installed_package_reads_them():
    instructions = _instructions()
    copied = [args.split() for keyword, args in instructions if keyword == "COPY"]
    assert ["dashboards", "/opt/tradepulse/dashboards"] in copied
    (link,) = [args for keyword, args in instructions
               if keyword == "RUN" and "BUILTIN_DIR" in args]
    assert link.startswith("ln -s /opt/tradepulse/dashboards ")
    assert "from tradepulse_backend.dashboard.layouts import BUILTIN_DIR" in link
    assert BUILTIN_DIR.name == "dashboards" and (ROOT / "dashboards" / "default.yaml").is_file()


def test_images_are_pinned_and_profiles_are_jaeger_and_prometheus():
    services = _compose()["services"]
    assert services["collector"]["image"] == COLLECTOR_IMAGE
    for name, service in services.items():
        if "image" in service and "build" not in service:
            assert not service["image"].endswith(":latest") and ":" in service["image"], name
    profiles = {name: tuple(s.get("profiles", ())) for name, s in services.items()}
    assert profiles == {"collector": (), "tradepulse": (), "jaeger": ("jaeger",),
                        "prometheus": ("prometheus",), "grafana": ("prometheus",)}
    command = services["collector"]["command"][0]
    mounted = dict((target, source) for source, target in _bind_mounts(services["collector"]))
    assert mounted[shlex.split(command)[0].removeprefix("--config=")] == \
        "./collector-config/otelcol.yaml"


def test_grafana_provisioning_points_at_the_mounted_dashboard():
    grafana = _compose()["services"]["grafana"]
    mounts = dict((target, source) for source, target in _bind_mounts(grafana))
    provisioning = ROOT / mounts["/etc/grafana/provisioning"]
    (provider,) = yaml.safe_load(
        (provisioning / "dashboards/tradepulse.yaml").read_text())["providers"]
    dashboards = ROOT / mounts[provider["options"]["path"]]
    assert (dashboards / "tradepulse-trading.json").is_file()
    (source,) = yaml.safe_load(
        (provisioning / "datasources/prometheus.yaml").read_text())["datasources"]
    assert source["type"] == "prometheus" and source["isDefault"] is True
    assert source["url"] == "http://prometheus:9090"


def test_the_prometheus_config_passes_promtool(tmp_path):
    promtool = find_promtool()
    if promtool is None:
        if os.environ.get("CI"):
            pytest.fail("promtool not installed (apt-get install prometheus)")
        pytest.skip("promtool not installed (apt-get install prometheus)")
    checked = subprocess.run([promtool, "check", "config", str(ROOT / "docker/prometheus.yml")],
                             capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
