"""Tests of the public surface re-exported by ``import tradepulse``."""

from __future__ import annotations

import types

import tradepulse
from tradepulse import configuration, observers, tracing


def test_package_re_exports_the_public_api():
    assert tradepulse.configure is configuration.configure
    assert tradepulse.shutdown is configuration.shutdown
    assert tradepulse.traced is tracing.traced
    assert isinstance(tradepulse.metrics, types.ModuleType)
    assert tradepulse.metrics.record_fill
    assert tradepulse.observe_portfolio_manager is observers.observe_portfolio_manager
    assert tradepulse.observe_risk_manager is observers.observe_risk_manager
    assert tradepulse.observe_execution_engine is observers.observe_execution_engine
    assert set(tradepulse.__all__) >= {
        "configure", "shutdown", "traced", "metrics", "observe_portfolio_manager",
        "observe_risk_manager", "observe_execution_engine", "__version__",
    }


def test_version_comes_from_the_installed_distribution():
    from importlib.metadata import version

    assert tradepulse.__version__ == version("tradepulse")
