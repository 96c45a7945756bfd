"""PerformanceSnapshot.value: alert rules name figures with user text, and reach nothing else."""

from __future__ import annotations

import pytest

from tradepulse_backend.performance.reports import FORMATS, ReportFormat, ReportPeriod
from tradepulse_backend.performance.snapshot import (
    FIGURE_FIELDS,
    PerformanceSnapshot,
    UnknownFigure,
)


def snapshot() -> PerformanceSnapshot:
    return PerformanceSnapshot(timestamp=1.0, service="bot", sharpe_ratio=1.5, trades=3)


def test_figures_are_read_by_name():
    assert snapshot().value("sharpe_ratio") == 1.5
    assert snapshot().value("trades") == 3
    assert snapshot().value("max_drawdown") is None


@pytest.mark.parametrize("name", ["__class__", "__dict__", "to_dict", "from_figures",
                                  "service", "timestamp", "reasons", "positions", "value", ""])
def test_methods_identity_and_dunder_attributes_are_unknown_figures(name):
    with pytest.raises(KeyError) as refused:
        snapshot().value(name)
    assert repr(name[:60]) in str(refused.value)


def test_an_unknown_figure_names_the_close_matches():
    with pytest.raises(ValueError, match=r"unknown performance figure 'sharpe'; did you mean "
                                         r"sharpe_ratio"):
        snapshot().value("sharpe")
    with pytest.raises(UnknownFigure, match="one of portfolio_value, cash"):
        snapshot().value("zzzz")


def test_figures_are_the_numbers_other_than_the_timestamp():
    assert "sharpe_ratio" in FIGURE_FIELDS and "days" in FIGURE_FIELDS
    assert not {"timestamp", "service", "portfolio", "currency", "reasons"} & set(FIGURE_FIELDS)


def test_report_enums_keep_their_wire_words():
    assert [str(f) for f in FORMATS] == ["json", "html", "csv"]
    assert ReportFormat("csv") is ReportFormat.CSV
    assert [str(p) for p in ReportPeriod] == ["day", "week"]
    assert f"{ReportPeriod.WEEK}" == "week"
