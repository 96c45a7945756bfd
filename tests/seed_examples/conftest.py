"""The seed's examples run in this process on port 0 with a temporary data directory; every
coordinator an example starts is shut down by the test that ran it."""

from __future__ import annotations

import socket
import types

import pytest

from tests.seed_examples import host as host_module


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def host(tmp_path, monkeypatch):
    """The seed's host: its ConfigManager (port 0, temp data dir, email and slack channels
    aimed at a closed loopback port: rules may name them, nothing is delivered), a portfolio
    manager, a risk manager and an execution engine. XDG_DATA_HOME points at the temp dir too,
    so the complete default config the seed merges in never names the user's real data
    directory."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    port = _closed_port()
    channels = {
        "email": {"smtp_server": "127.0.0.1", "smtp_port": port, "security": "none",
                  "sender_email": "trading.bot@example.com",
                  "recipients": ["trader@example.com"]},
        "slack": {"webhook_url": f"http://127.0.0.1:{port}/slack"},
        "console": {},
    }
    ConfigManager = host_module.config_manager_class(tmp_path / "data", channels)
    return types.SimpleNamespace(
        ConfigManager=ConfigManager, config=ConfigManager(),
        portfolio_manager=host_module.PortfolioManager(),
        risk_manager=host_module.RiskManager(),
        execution_engine=host_module.ExecutionEngine(),
        data_dir=tmp_path / "data")
