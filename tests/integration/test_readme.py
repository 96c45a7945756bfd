"""The README's Python examples run as written against a real server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def _run(code: str, otlp: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": otlp}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=60)


def test_the_quick_start_sends_spans_and_trading_metrics(server):
    result = _run(_python_blocks()[0], server.otlp)
    assert result.returncode == 0, result.stderr
    assert "slippage +1.6 bp" in result.stdout
    assert [s["name"] for s in server.api("/spans?service=my-bot")["spans"]] == ["on_bar"]
    names = {m["name"] for m in server.api("/metrics?service=my-bot")["metrics"]}
    assert {"trading.portfolio.value", "trading.orders", "trading.order.duration",
            "trading.fill.slippage", "process.cpu.utilization"} <= names


def test_the_observer_example_exports_the_portfolio_it_reads(server):
    result = _run(_python_blocks()[1], server.otlp)
    assert result.returncode == 0, result.stderr
    series = server.api("/metrics?name=trading.portfolio.value&service=my-bot"
                        "&attr.trading.portfolio=main")["series"]
    assert series[0]["points"][-1][1] == 41_872.0


def test_the_performance_monitor_example_prints_its_figures(server):
    block = next(b for b in _python_blocks() if "PerformanceMonitor()" in b)
    result = _run(block, server.otlp)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "+3.00% sharpe=10.55 max_dd=-0.69% win_rate=75%"
