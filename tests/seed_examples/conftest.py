"""The seed's examples run in this process on port 0 with a temporary data directory; every
coordinator an example starts is shut down by the test that ran it."""

from __future__ import annotations

import types

import pytest

from tests.seed_examples import host as host_module


@pytest.fixture
def host(tmp_path, monkeypatch):
    """The seed's host: its ConfigManager (port 0, temp data dir), a portfolio manager, a risk
    manager and an execution engine. XDG_DATA_HOME points at the temp dir too, so the complete
    default config the seed merges in never names the user's real data directory."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    ConfigManager = host_module.config_manager_class(tmp_path / "data")
    return types.SimpleNamespace(
        ConfigManager=ConfigManager, config=ConfigManager(),
        portfolio_manager=host_module.PortfolioManager(),
        risk_manager=host_module.RiskManager(),
        execution_engine=host_module.ExecutionEngine(),
        data_dir=tmp_path / "data")
