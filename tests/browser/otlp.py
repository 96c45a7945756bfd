"""OTLP/JSON gauges posted straight to a server's receiver: the browser tests' telemetry."""

from __future__ import annotations

import json
import time

from tests.support import post
from tradepulse import conventions as c


def _value(value):
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, (int, float)):
        return {"doubleValue": float(value)}
    return {"stringValue": str(value)}


def _attributes(attrs: dict) -> list[dict]:
    return [{"key": key, "value": _value(value)} for key, value in attrs.items()]


def post_gauges(otlp_url: str, service: str, gauges: list[tuple[str, float, dict]],
                *, unit: str = "1") -> None:
    """POST one OTLP/JSON request with a gauge point per (name, value, attributes), now."""
    now = str(time.time_ns())
    metrics = [{"name": name, "unit": unit, "gauge": {"dataPoints": [{
        "asDouble": float(value), "timeUnixNano": now, "attributes": _attributes(attrs)}]}}
        for name, value, attrs in gauges]
    body = json.dumps({"resourceMetrics": [{
        "resource": {"attributes": _attributes({"service.name": service})},
        "scopeMetrics": [{"scope": {"name": "tests.browser"}, "metrics": metrics}],
    }]}).encode()
    status, _, answer = post(f"{otlp_url}/v1/metrics", body,
                             {"Content-Type": "application/json"})
    assert status == 200, (status, answer)


def post_portfolio(otlp_url: str, service: str, value: float, *, cash: float,
                   positions: dict[str, tuple[float, ...]] | None = None) -> None:
    """A bot's portfolio value and cash in USD, plus positions {symbol: (qty, market value)}
    or {symbol: (qty, market value, unrealized P&L)}."""
    money = {c.ATTR_CURRENCY: "USD"}
    gauges = [(c.METRIC_PORTFOLIO_VALUE, value, money), (c.METRIC_PORTFOLIO_CASH, cash, money)]
    for symbol, (quantity, market_value, *pnl) in (positions or {}).items():
        gauges.append((c.METRIC_POSITION_QUANTITY, quantity, {c.ATTR_SYMBOL: symbol}))
        gauges.append((c.METRIC_POSITION_MARKET_VALUE, market_value,
                       {c.ATTR_SYMBOL: symbol, **money}))
        gauges.extend((c.METRIC_POSITION_PNL_UNREALIZED, amount, {c.ATTR_SYMBOL: symbol, **money})
                      for amount in pnl)
    post_gauges(otlp_url, service, gauges)
