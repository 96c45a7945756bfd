"""A short-lived bot using the public SDK: orders, fills, trades and traced order code, so
the execution panel and the trace waterfall have real data."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import sys
    import tradepulse
    from tradepulse import metrics

    telemetry = tradepulse.configure(sys.argv[2], endpoint=sys.argv[1],
                                     export_interval_ms=3_600_000, system_metrics=False)

    @tradepulse.traced(name="trading.order.submit")
    def submit(symbol, latency, status, broker):
        metrics.record_order(symbol=symbol, side="buy", order_type="limit", status=status,
                             latency_s=latency, broker=broker)

    @tradepulse.traced(name="trading.strategy.step")
    def step(i):
        broker = "alpaca" if i % 2 else "ibkr"
        submit("AAPL" if i % 3 else "MSFT", 0.01 + i * 0.004,
               "rejected" if i % 7 == 6 else "filled", broker)
        metrics.record_fill(symbol="AAPL", side="buy", quantity=10, price=190.0 + i * 0.01,
                            expected_price=190.0, broker=broker)

    for i in range(14):
        step(i)
    telemetry.meter_provider.force_flush()
    tradepulse.shutdown()
""")


def run_sdk_bot(otlp_url: str, service: str) -> None:
    """Run the bot to completion (it exports everything before exiting)."""
    subprocess.run([sys.executable, "-c", SCRIPT, otlp_url, service], check=True, timeout=60)
