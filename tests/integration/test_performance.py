"""End to end: a bot instrumented with the tradepulse SDK exports over OTLP to a real server,
and the performance snapshot, its history, period summaries and reports come back over REST."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import textwrap
import urllib.request

import numpy as np
import pytest

from tests.support import wait_until

BOT = textwrap.dedent("""
    import sys, time
    import tradepulse
    from tradepulse import metrics

    telemetry = tradepulse.configure("perf-bot", endpoint=sys.argv[1],
                                     export_interval_ms=3_600_000, system_metrics=False)
    flush = telemetry.meter_provider.force_flush

    def export(value, *, deposit=None):
        if deposit:
            metrics.record_cash_flow(deposit, currency="USD")
        metrics.set_portfolio_value(value, cash=value / 2, currency="USD")
        flush()
        time.sleep(0.01)

    export(100_000.0)
    export(101_000.0)
    export(99_000.0)
    export(109_000.0, deposit=10_000.0)
    metrics.set_pnl(realized=1_500.0, unrealized=-200.0, currency="USD")
    metrics.set_position("AAPL", quantity=10, market_value=1_800.0, currency="USD")
    metrics.set_position("MSFT", quantity=-2, market_value=-600.0, currency="USD")
    for status, latency in [("filled", 0.02)] * 9 + [("rejected", 0.005)]:
        metrics.record_order(symbol="AAPL", side="buy", order_type="limit", status=status,
                             latency_s=latency, broker="paper")
    metrics.record_fill(symbol="AAPL", side="buy", quantity=10, price=180.03,
                        expected_price=180.0, broker="paper")
    now = time.time()
    for pnl in (120.0, -40.0, 60.0):
        metrics.record_trade(symbol="AAPL", side="buy", quantity=1, entry_price=100.0,
                             exit_price=100.0 + pnl, entry_time=now - 60, exit_time=now)
    export(112_000.0)
    tradepulse.shutdown()
""")


@pytest.fixture(scope="module")
def server(server_on_each_database):
    """This module runs on SQLite and on PostgreSQL."""
    return server_on_each_database


@pytest.fixture(scope="module")
def exported(server):
    subprocess.run([sys.executable, "-c", BOT, server.otlp], check=True, timeout=60)

    def snapshot_complete():
        found = server.api("/performance?service=perf-bot")["performance"]
        return found and found[0]["trades"] == 3 and found[0]["portfolio_value"] == 112_000.0

    wait_until(snapshot_complete, what="performance snapshot of perf-bot")
    return server


def test_sdk_telemetry_gives_the_expected_snapshot_over_rest(exported):
    (snap,) = exported.api("/performance?service=perf-bot")["performance"]
    assert snap["service"] == "perf-bot" and snap["currency"] == "USD"
    assert snap["portfolio_value"] == 112_000.0 and snap["cash"] == 56_000.0
    growth = (101_000 / 100_000) * (99_000 / 101_000) * (99_000 / 99_000) * (112_000 / 109_000)
    assert snap["total_return"] == pytest.approx(growth - 1, rel=1e-12)
    assert snap["total_pnl"] == pytest.approx(112_000 - 100_000 - 10_000)
    assert snap["max_drawdown"] == pytest.approx(99_000 / 101_000 - 1, rel=1e-12)
    assert (snap["realized_pnl"], snap["unrealized_pnl"]) == (1_500.0, -200.0)
    assert snap["gross_exposure"] == 2_400.0 and snap["net_exposure"] == 1_200.0
    assert snap["largest_position_share"] == 0.75
    assert snap["orders"] == 10 and snap["rejection_rate"] == pytest.approx(0.1)
    assert 10 < snap["latency_p50_ms"] <= 25
    assert snap["slippage_mean_bps"] == pytest.approx(0.03 / 180 * 10_000, rel=1e-6)
    assert snap["by_broker"]["paper"]["orders"] == 10
    assert snap["trades"] == 3 and snap["win_rate"] == pytest.approx(2 / 3)
    assert snap["profit_factor"] == pytest.approx(180 / 40)
    assert snap["sharpe_ratio"] is None and "daily returns" in snap["reasons"]["sharpe_ratio"]


def test_period_summary_recomputes_the_same_figures_from_stored_points(exported):
    live = exported.api("/performance?service=perf-bot")["performance"][0]
    summary = exported.api("/performance/summary?service=perf-bot&period=all")
    figures = summary["performance"]
    for name in ("total_return", "max_drawdown", "total_pnl", "orders", "rejection_rate",
                 "trades", "win_rate", "profit_factor", "latency_p99_ms"):
        assert figures[name] == pytest.approx(live[name], rel=1e-9), name
    assert len(summary["trades"]) == 3


def test_history_of_a_field_reads_persisted_snapshots(start_server, storage_url):
    server = start_server({"performance_monitor": {"update_interval": 0.2}},
                          storage_url=storage_url)
    subprocess.run([sys.executable, "-c", BOT, server.otlp], check=True, timeout=60)

    def persisted():
        points = server.api("/performance/history?service=perf-bot&field=total_return")["points"]
        return points and points[-1][1] == pytest.approx(112_000 / 109_000 * 0.99 - 1)

    wait_until(persisted, what="persisted snapshot")
    assert server.stop() == 0
    restarted = start_server(data_dir=server.data_dir, storage_url=storage_url)
    (snap,) = restarted.api("/performance?service=perf-bot")["performance"]
    assert snap["portfolio_value"] == 112_000.0 and snap["trades"] == 3


@pytest.mark.parametrize("query, named", [
    ("/performance/history?field=sharpe_ratio", "service"),
    ("/performance/history?service=perf-bot&field=colour", "field"),
    ("/performance/history?service=perf-bot&field=sharpe_ratio&since=yesterday", "since"),
    ("/performance/summary?service=perf-bot&period=fortnight", "period"),
    ("/reports?service=perf-bot&period=month", "period"),
    ("/reports?service=perf-bot&format=pdf", "format"),
])
def test_bad_performance_parameters_are_400s_naming_them(exported, query, named):
    status, body = exported.get("/api/v1" + query)
    assert status == 400 and body["error"].startswith(f"{named}:")


def test_reports_come_as_json_html_and_csv(exported):
    report = exported.api("/reports?service=perf-bot&period=day")
    assert report["service"] == "perf-bot" and report["period"] == "day"
    assert [t["pnl"] for t in report["best_trades"]] == [120.0, 60.0]
    assert [t["pnl"] for t in report["worst_trades"]] == [-40.0]
    with urllib.request.urlopen(
            f"{exported.dashboard}/api/v1/reports?service=perf-bot&format=html") as response:
        assert response.headers["Content-Type"].startswith("text/html")
        page = response.read().decode()
    assert "perf-bot day report" in page and "Win rate" in page and "<script" not in page
    with urllib.request.urlopen(
            f"{exported.dashboard}/api/v1/reports?service=perf-bot&format=csv") as response:
        rows = list(csv.reader(io.StringIO(response.read().decode())))
    values = {(r[0], r[1]): r[2] for r in rows if len(r) == 3}
    assert float(values[("trades", "win_rate")]) == pytest.approx(2 / 3)
    assert values[("report", "service")] == "perf-bot"


def test_report_command_prints_the_report_from_the_data_directory(exported):
    done = subprocess.run(
        [sys.executable, "-m", "tradepulse_backend.cli", "report", "--service", "perf-bot",
         "--period", "day", "--format", "csv", "--data-dir", str(exported.data_dir),
         "--config", str(exported.config_path)],
        capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "trades,trades,3" in done.stdout


def test_report_command_names_a_missing_database(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "tradepulse_backend.cli", "report", "--service", "x",
         "--data-dir", str(tmp_path / "nothing")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "no database" in done.stderr


@pytest.mark.parametrize("path", ["/performance/summary?service=nobody",
                                  "/reports?service=nobody"])
def test_summaries_and_reports_of_an_unknown_bot_are_404s_naming_it(exported, path):
    status, body = exported.get("/api/v1" + path)
    assert status == 404 and "'nobody'" in body["error"]


def test_report_command_names_an_unknown_bot(exported):
    done = subprocess.run(
        [sys.executable, "-m", "tradepulse_backend.cli", "report", "--service", "nobody",
         "--data-dir", str(exported.data_dir),
         "--config", str(exported.config_path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "'nobody'" in done.stderr


PERCENTILE_BOT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tradepulse
    from tradepulse import metrics

    telemetry = tradepulse.configure("pct-bot", endpoint=sys.argv[1],
                                     export_interval_ms=3_600_000, system_metrics=False)
    rng = np.random.default_rng(2026)
    latencies = rng.uniform(0.020, 0.088, 500)
    slippages = []
    for i, latency in enumerate(latencies):
        symbol, side = ("AAPL", "buy") if i % 3 else ("MSFT", "sell")
        metrics.record_order(symbol=symbol, side=side, order_type="market", status="filled",
                             latency_s=float(latency), broker="paper")
        expected = 100.0
        price = expected * (1 + rng.uniform(-4.0, 9.0) / 10_000 * (1 if side == "buy" else -1))
        slippages.append(metrics.record_fill(symbol=symbol, side=side, quantity=1.0,
                                             price=price, expected_price=expected,
                                             broker="paper"))
        if i % 125 == 124:
            telemetry.meter_provider.force_flush()
    tradepulse.shutdown()
    print(json.dumps({"latencies": latencies.tolist(), "slippages": slippages}))
""")


def test_latency_and_slippage_percentiles_are_within_3_percent_of_the_raw_values(start_server):
    server = start_server()
    done = subprocess.run([sys.executable, "-c", PERCENTILE_BOT, server.otlp], check=True,
                          timeout=90, capture_output=True, text=True)
    raw = json.loads(done.stdout)
    latencies_ms = np.asarray(raw["latencies"]) * 1000.0
    slippages = np.asarray(raw["slippages"])

    def all_orders_in():
        found = server.api("/performance?service=pct-bot")["performance"]
        return found and found[0]["orders"] == 500 and found[0]["by_broker"]

    wait_until(all_orders_in, what="500 orders of pct-bot")
    (snap,) = server.api("/performance?service=pct-bot")["performance"]
    exact = np.percentile(latencies_ms, [50, 95, 99])
    found = [snap["latency_p50_ms"], snap["latency_p95_ms"], snap["latency_p99_ms"]]
    np.testing.assert_allclose(found, exact, rtol=0.03)
    assert snap["slippage_p95_bps"] == pytest.approx(np.percentile(slippages, 95), rel=0.03)
    assert snap["slippage_mean_bps"] == pytest.approx(slippages.mean(), rel=1e-6)

    assert server.stop() == 0
    restarted = start_server(data_dir=server.data_dir)
    wait_until(lambda: not restarted.api("/status")["performance"]["restoring"],
               what="restored performance state")
    (again,) = restarted.api("/performance?service=pct-bot")["performance"]
    assert [again[f"latency_p{q}_ms"] for q in (50, 95, 99)] == pytest.approx(found, rel=1e-12)
    assert again["slippage_p95_bps"] == pytest.approx(snap["slippage_p95_bps"], rel=1e-12)
