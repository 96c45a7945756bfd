"""Tests of observe_portfolio_manager / observe_risk_manager / observe_execution_engine."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

import tradepulse
from tests.sdk.conftest import MetricsReader
from tradepulse import conventions as conv
from tradepulse.observers import ObservedObject

OBSERVERS_SCOPE = "tradepulse.observers"


@pytest.fixture
def handles() -> Iterator[list[ObservedObject]]:
    """Handles to stop after the test, so observed objects never leak into other tests."""
    started: list[ObservedObject] = []
    yield started
    for handle in started:
        handle.stop()


def _values(exported: MetricsReader, metric: str, where: dict[str, str], key: str | None = None):
    points = [p for p in exported.points(metric, where) if p.scope == OBSERVERS_SCOPE]
    if key is None:
        return [p.value for p in points]
    return {p.attributes[key]: p.value for p in points}


@dataclass
class _Position:
    quantity: float
    market_value: float


@dataclass
class _PortfolioManager:
    name: str
    cash: float = 1_000.0
    realized_pnl: float = 50.0
    positions: dict[str, object] = field(default_factory=dict)
    currency: str = "USD"

    @property
    def total_value(self) -> float:
        return self.cash + sum(
            p.market_value if isinstance(p, _Position) else p["market_value"]
            for p in self.positions.values()
        )

    def unrealized_pnl(self) -> float:
        return -5.0


def test_portfolio_manager_figures_are_read_at_every_export(
    exported: MetricsReader, handles: list[ObservedObject]
):
    pm = _PortfolioManager(
        name="pm-values",
        positions={"AAPL": _Position(10, 1_900.0), "MSFT": {"quantity": -2, "market_value": -800}},
    )
    handles.append(tradepulse.observe_portfolio_manager(pm))
    where = {conv.ATTR_PORTFOLIO: "pm-values"}

    assert _values(exported, conv.METRIC_PORTFOLIO_VALUE, where) == [2_100.0]
    assert _values(exported, conv.METRIC_PORTFOLIO_CASH, where) == [1_000.0]
    assert _values(exported, conv.METRIC_PNL_REALIZED, where) == [50.0]
    assert _values(exported, conv.METRIC_PNL_UNREALIZED, where) == [-5.0]
    assert _values(exported, conv.METRIC_POSITION_QUANTITY, where, conv.ATTR_SYMBOL) == {
        "AAPL": 10, "MSFT": -2,
    }
    assert _values(exported, conv.METRIC_POSITION_MARKET_VALUE, where, conv.ATTR_SYMBOL) == {
        "AAPL": 1_900.0, "MSFT": -800.0,
    }
    [point] = [p for p in exported.points(conv.METRIC_PORTFOLIO_VALUE, where)
               if p.scope == OBSERVERS_SCOPE]
    assert point.attributes[conv.ATTR_CURRENCY] == "USD"

    pm.cash = 3_000.0
    assert _values(exported, conv.METRIC_PORTFOLIO_CASH, where) == [3_000.0]


def test_position_unrealized_pnl_is_read_or_computed_from_price_and_average_cost(
    exported: MetricsReader, handles: list[ObservedObject]
):
    @dataclass
    class Held(_Position):
        price: float
        average_cost: float

    pm = _PortfolioManager(
        name="pm-upl",
        positions={
            "AAPL": {"quantity": 10, "market_value": 1_900.0, "unrealized_pnl": 150.0},
            "MSFT": Held(-2, -800.0, price=400.0, average_cost=380.0),
            "TSLA": {"quantity": 1, "market_value": 250.0},
            "GOOG": 4,
        },
    )
    handles.append(tradepulse.observe_portfolio_manager(pm))
    where = {conv.ATTR_PORTFOLIO: "pm-upl"}

    assert _values(exported, conv.METRIC_POSITION_PNL_UNREALIZED, where, conv.ATTR_SYMBOL) == {
        "AAPL": 150.0, "MSFT": -40.0,
    }
    [point] = [p for p in exported.points(conv.METRIC_POSITION_PNL_UNREALIZED,
                                          {**where, conv.ATTR_SYMBOL: "AAPL"})
               if p.scope == OBSERVERS_SCOPE]
    assert point.attributes == {
        conv.ATTR_SYMBOL: "AAPL", conv.ATTR_CURRENCY: "USD", conv.ATTR_PORTFOLIO: "pm-upl",
    }


def test_portfolio_value_falls_back_to_portfolio_value_attribute(
    exported: MetricsReader, handles: list[ObservedObject]
):
    class Legacy:
        portfolio_value = 42.0

    handles.append(tradepulse.observe_portfolio_manager(Legacy(), name="pm-legacy"))

    assert _values(exported, conv.METRIC_PORTFOLIO_VALUE, {conv.ATTR_PORTFOLIO: "pm-legacy"}) == [
        42.0
    ]


def test_handle_reads_lists_what_the_observer_looks_for(handles: list[ObservedObject]):
    handle = tradepulse.observe_portfolio_manager(_PortfolioManager(name="pm-reads"))
    handles.append(handle)

    assert handle.reads[conv.METRIC_PORTFOLIO_VALUE] == ("total_value", "portfolio_value")
    assert handle.reads[conv.METRIC_POSITION_QUANTITY] == ("positions", "quantity")


def test_missing_attribute_is_skipped_with_one_warning_per_object_and_attribute(
    exported: MetricsReader, handles: list[ObservedObject], caplog: pytest.LogCaptureFixture
):
    class CashOnly:
        name = "pm-missing"
        cash = 10.0

    handles.append(tradepulse.observe_portfolio_manager(CashOnly()))
    caplog.set_level(logging.WARNING, logger="tradepulse.observers")

    for _ in range(3):
        exported.collect()

    assert _values(exported, conv.METRIC_PORTFOLIO_CASH, {conv.ATTR_PORTFOLIO: "pm-missing"}) == [
        10.0
    ]
    warnings = [r.getMessage() for r in caplog.records if "pm-missing" in r.getMessage()]
    assert len([w for w in warnings if "total_value or portfolio_value" in w]) == 1
    assert len([w for w in warnings if "realized_pnl" in w and "unrealized" not in w]) == 1
    assert len([w for w in warnings if "positions" in w]) == 1
    assert len(warnings) == 4  # value, realized, unrealized, positions


def test_object_raising_while_read_is_contained_and_logged(
    exported: MetricsReader, handles: list[ObservedObject], caplog: pytest.LogCaptureFixture
):
    class Flaky:
        name = "pm-flaky"
        cash = 7.0

        @property
        def total_value(self) -> float:
            raise RuntimeError("price feed down")

        def realized_pnl(self) -> float:
            raise ZeroDivisionError

        @property
        def positions(self) -> dict[str, object]:
            raise ConnectionError("broker")

    handles.append(tradepulse.observe_portfolio_manager(Flaky()))
    caplog.set_level(logging.WARNING, logger="tradepulse.observers")

    exported.collect()
    where = {conv.ATTR_PORTFOLIO: "pm-flaky"}
    assert _values(exported, conv.METRIC_PORTFOLIO_CASH, where) == [7.0]
    assert _values(exported, conv.METRIC_PORTFOLIO_VALUE, where) == []

    raised = [r for r in caplog.records if "raised" in r.getMessage() and r.exc_info]
    assert {r.exc_info[0] for r in raised} == {RuntimeError, ZeroDivisionError, ConnectionError}


def test_non_numeric_figure_is_skipped_with_a_warning(
    exported: MetricsReader, handles: list[ObservedObject], caplog: pytest.LogCaptureFixture
):
    class Odd:
        name = "pm-odd"
        cash = "lots"
        total_value = float("nan")

    handles.append(tradepulse.observe_portfolio_manager(Odd()))
    caplog.set_level(logging.WARNING, logger="tradepulse.observers")

    where = {conv.ATTR_PORTFOLIO: "pm-odd"}
    assert _values(exported, conv.METRIC_PORTFOLIO_CASH, where) == []
    assert _values(exported, conv.METRIC_PORTFOLIO_VALUE, where) == []
    assert any("'lots'" in r.getMessage() for r in caplog.records)


def test_several_portfolio_managers_are_told_apart_by_name(
    exported: MetricsReader, handles: list[ObservedObject]
):
    handles.append(tradepulse.observe_portfolio_manager(_PortfolioManager("pm-a", cash=1.0)))
    handles.append(tradepulse.observe_portfolio_manager(_PortfolioManager("pm-b", cash=2.0)))

    cash = {
        p.attributes[conv.ATTR_PORTFOLIO]: p.value
        for p in exported.points(conv.METRIC_PORTFOLIO_CASH)
        if p.scope == OBSERVERS_SCOPE
    }
    assert (cash["pm-a"], cash["pm-b"]) == (1.0, 2.0)


def test_observing_two_objects_under_one_name_is_refused(handles: list[ObservedObject]):
    handles.append(tradepulse.observe_portfolio_manager(_PortfolioManager("pm-dup")))

    with pytest.raises(ValueError, match="pm-dup"):
        tradepulse.observe_portfolio_manager(_PortfolioManager("pm-dup"))


def test_stop_ends_observation(exported: MetricsReader):
    handle = tradepulse.observe_portfolio_manager(_PortfolioManager("pm-stop"))
    where = {conv.ATTR_PORTFOLIO: "pm-stop"}
    assert _values(exported, conv.METRIC_PORTFOLIO_CASH, where) == [1_000.0]

    handle.stop()
    handle.stop()

    assert not handle.active
    assert _values(exported, conv.METRIC_PORTFOLIO_CASH, where) == []


@dataclass
class _RiskManager:
    name: str
    var_limit: float = 10_000.0
    gross_exposure: float = 50_000.0
    net_exposure: float = -5_000.0
    position_limits: dict[str, float] = field(default_factory=lambda: {"AAPL": 500, "BTC": 2})

    def value_at_risk(self) -> float:
        return 4_200.0


def test_risk_manager_figures_and_limits_are_published(
    exported: MetricsReader, handles: list[ObservedObject]
):
    handles.append(tradepulse.observe_risk_manager(_RiskManager("rm-values"), currency="USD"))
    where = {conv.ATTR_PORTFOLIO: "rm-values"}

    assert _values(exported, conv.METRIC_RISK_VAR, where) == [4_200.0]
    assert _values(exported, conv.METRIC_RISK_VAR_LIMIT, where) == [10_000.0]
    assert _values(exported, conv.METRIC_RISK_GROSS_EXPOSURE, where) == [50_000.0]
    assert _values(exported, conv.METRIC_RISK_NET_EXPOSURE, where) == [-5_000.0]
    assert _values(exported, conv.METRIC_RISK_POSITION_LIMIT, where, conv.ATTR_SYMBOL) == {
        "AAPL": 500, "BTC": 2,
    }
    [var] = [p for p in exported.points(conv.METRIC_RISK_VAR, where)
             if p.scope == OBSERVERS_SCOPE]
    assert var.attributes[conv.ATTR_CURRENCY] == "USD"


def test_execution_engine_single_broker_connectivity_and_open_orders(
    exported: MetricsReader, handles: list[ObservedObject]
):
    class Engine:
        broker = "ee-single"
        open_orders = ["o1", "o2", "o3"]

        def __init__(self) -> None:
            self.up = True

        def is_connected(self) -> bool:
            return self.up

    engine = Engine()
    handles.append(tradepulse.observe_execution_engine(engine))
    where = {conv.ATTR_BROKER: "ee-single"}

    assert _values(exported, conv.METRIC_BROKER_CONNECTED, where) == [1]
    assert _values(exported, conv.METRIC_OPEN_ORDERS, where) == [3]
    engine.up = False
    assert _values(exported, conv.METRIC_BROKER_CONNECTED, where) == [0]


def test_execution_engine_brokers_mapping_reports_each_broker(
    exported: MetricsReader, handles: list[ObservedObject]
):
    class Session:
        connected = False

    class Engine:
        brokers = {"ee-map-a": True, "ee-map-b": Session()}
        open_orders = 0

    handles.append(tradepulse.observe_execution_engine(Engine(), broker="ee-map"))

    states = {
        p.attributes[conv.ATTR_BROKER]: p.value
        for p in exported.points(conv.METRIC_BROKER_CONNECTED)
        if p.scope == OBSERVERS_SCOPE and p.attributes[conv.ATTR_BROKER].startswith("ee-map")
    }
    assert states == {"ee-map-a": 1, "ee-map-b": 0}


def test_execution_engine_without_connectivity_warns_once(
    exported: MetricsReader, handles: list[ObservedObject], caplog: pytest.LogCaptureFixture
):
    class Engine:
        open_orders = 2

    handles.append(tradepulse.observe_execution_engine(Engine(), broker="ee-none"))
    caplog.set_level(logging.WARNING, logger="tradepulse.observers")

    exported.collect()
    exported.collect()

    assert _values(exported, conv.METRIC_OPEN_ORDERS, {conv.ATTR_BROKER: "ee-none"}) == [2]
    assert len([r for r in caplog.records if "ee-none" in r.getMessage()]) == 1
