"""Closed trades as the `trading.trade` span convention describes them."""

from __future__ import annotations

from typing import Any

from tradepulse import conventions as conv
from tradepulse_backend.telemetry.records import TradeRecord


def trade_of(service: str, attributes: dict[str, Any], entry_ns: int, exit_ns: int,
             span_key: bytes) -> TradeRecord | None:
    """The trade a `trading.trade` span's attributes describe, or None without a numeric P&L."""
    pnl = attributes.get(conv.ATTR_TRADE_PNL)
    if not _numeric(pnl):
        return None
    return TradeRecord(
        service=service, portfolio=str(attributes.get(conv.ATTR_PORTFOLIO, "")),
        symbol=str(attributes.get(conv.ATTR_SYMBOL, "")),
        side=str(attributes.get(conv.ATTR_SIDE, "")), pnl=float(pnl),
        entry_ns=entry_ns, exit_ns=exit_ns,
        quantity=_number(attributes.get(conv.ATTR_TRADE_QUANTITY)),
        trade_return=_number(attributes.get(conv.ATTR_TRADE_RETURN)), span_key=span_key)


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(value: Any) -> float | None:
    return float(value) if _numeric(value) else None
