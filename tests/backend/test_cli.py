"""The `tradepulse` command line: version, check-config."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tradepulse_backend import __version__

SEED = Path(__file__).parent / "data" / "seed_config.yaml"


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tradepulse_backend.cli", *args],
                          capture_output=True, text=True, timeout=60)


def test_version_prints_the_package_version():
    result = _run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"tradepulse {__version__}"


def test_check_config_accepts_the_seed_configuration():
    result = _run("check-config", str(SEED))
    assert result.returncode == 0, result.stdout
    assert "OK" in result.stdout


def test_check_config_prints_each_error_with_its_key_path_and_exits_1(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("monitoring:\n  dashboard:\n    port: 99999\n  ingest:\n    prot: 1\n")
    result = _run("check-config", str(bad))
    assert result.returncode == 1
    lines = result.stdout.strip().splitlines()
    assert any(line.startswith("monitoring.dashboard.port:") for line in lines)
    assert any(line.startswith("monitoring.ingest.prot:") for line in lines)


def test_serve_refuses_an_invalid_config_with_exit_code_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("monitoring:\n  storage:\n    retention_check_interval: -1\n")
    result = _run("serve", "--config", str(bad), "--data-dir", str(tmp_path / "d"))
    assert result.returncode == 2
    assert "monitoring.storage.retention_check_interval" in result.stderr


def test_serve_with_an_unusable_data_dir_exits_2_with_one_clear_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = _run("serve", "--data-dir", str(blocker / "data"), "--ingest-port", "0",
                  "--dashboard-port", "0")
    assert result.returncode == 2
    assert result.stderr.startswith("error: cannot open storage at")
    assert "Traceback" not in result.stderr
    assert "ready" not in result.stdout


def test_serve_names_the_config_key_of_a_port_already_in_use(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _run("serve", "--data-dir", str(tmp_path / "d"), "--ingest-port", "0",
                      "--grpc-port", str(port), "--dashboard-port", "0")
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port} (monitoring.ingest.grpc_port)" in result.stderr
