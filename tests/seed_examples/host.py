"""Stand-ins for the seed's host application (`src.utils.config.ConfigManager` and the trading
system's portfolio manager, risk manager and execution engine), so the seed's examples run with
only their import lines changed."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any


def _deep_merge(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


class LayeredConfig(dict):
    """The host's config dict: its machine-local settings stay on top of whatever is merged
    in, as layered config managers (Dynaconf, Hydra) keep a local file over defaults. Here the
    local layer is port 0 for every listener and a temporary data directory."""

    def __init__(self, local: Mapping[str, Any]) -> None:
        super().__init__()
        self._local = local
        self._apply()

    def update(self, *args: Any, **kwargs: Any) -> None:
        super().update(*args, **kwargs)
        self._apply()

    def _apply(self) -> None:
        for key, value in self._local.items():
            self[key] = _deep_merge(self.get(key) or {}, value)


def config_manager_class(data_dir: Path, channels: Mapping[str, Any] | None = None) -> type:
    """A `ConfigManager` class whose instances hold `.config` with the local layer: port 0,
    the data directory, and the host's alert channels (the seed's rules name email and
    slack, which must be configured)."""
    local = {"monitoring": {"ingest": {"port": 0, "grpc_port": 0}, "dashboard": {"port": 0},
                            "storage": {"data_dir": str(data_dir)},
                            "alerting_system": {"channels": dict(channels or {})}}}

    class ConfigManager:
        def __init__(self) -> None:
            self.config = LayeredConfig(local)

    return ConfigManager


class PortfolioManager:
    """A host portfolio manager: value, cash, P&L and positions."""

    name = "main"
    currency = "USD"

    def __init__(self, total_value: float = 100_000.0) -> None:
        self.total_value = total_value
        self.cash = 25_000.0
        self.realized_pnl = 1_200.0
        self.unrealized_pnl = -300.0
        self.positions = {"AAPL": {"quantity": 100, "market_value": 19_000.0}}


class RiskManager:
    name = "main"
    currency = "USD"
    var = 2_500.0
    var_limit = 5_000.0
    gross_exposure = 19_000.0
    net_exposure = 19_000.0
    position_limits = {"AAPL": 500}


class ExecutionEngine:
    broker = "paper"

    def __init__(self) -> None:
        self.brokers = {"paper": True}
        self.open_orders = ["order-1", "order-2"]
