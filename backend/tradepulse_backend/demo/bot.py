"""The simulated trading bot behind ``tradepulse demo``, instrumented with the public SDK only.

Random-walk prices, a moving-average crossover strategy, a broker with realistic latency,
slippage, rejections and periodic disconnects, and a portfolio with average-cost accounting.
The simulation (prices, strategy, portfolio, broker) is pure and seeded; ``run_bot`` adds the
clock, the telemetry and the event messages.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import tradepulse
from tradepulse import conventions as conv
from tradepulse import metrics
from tradepulse.conventions import OrderStatus, OrderType, Side
from tradepulse.health import register_health_checker

_logger = logging.getLogger(__name__)

START_PRICES: Mapping[str, float] = {
    "AAPL": 187.0, "MSFT": 410.0, "NVDA": 120.0, "BTC-USD": 65_000.0,
}
TICK_VOLATILITY: Mapping[str, float] = {
    "AAPL": 0.0012, "MSFT": 0.0010, "NVDA": 0.0020, "BTC-USD": 0.0025,
}
"""Standard deviation of one tick's log return per symbol."""
TICK_INTERVAL_S = 0.3
INITIAL_CASH = 100_000.0
CURRENCY = "USD"
PORTFOLIO_NAME = "demo"
BROKER_NAME = "sim-broker"
STRATEGY_NAME = "ma_crossover"
TRADE_NOTIONAL = 8_000.0
REJECT_PROBABILITY = 0.03
REJECT_REASONS = ("insufficient_buying_power", "price_out_of_band", "rate_limited")
SUMMARY_EVERY_S = 15.0
HEALTH_CHECK_EVERY_S = 5.0
FLAKY_CHECK_FAILURE_PROBABILITY = 0.25


class PriceWalk:
    """Geometric random walk of several symbols' prices, reproducible from its ``rng``."""

    def __init__(
        self,
        start: Mapping[str, float],
        volatility: Mapping[str, float],
        rng: random.Random,
    ) -> None:
        self.prices = dict(start)
        self._volatility = dict(volatility)
        self._rng = rng

    def step(self) -> dict[str, float]:
        """Advance every price by one tick and return the new prices."""
        for symbol, price in self.prices.items():
            sigma = self._volatility[symbol]
            self.prices[symbol] = price * math.exp(self._rng.gauss(-sigma * sigma / 2, sigma))
        return dict(self.prices)


class CrossoverStrategy:
    """Moving-average crossover: BUY when the short average crosses above the long one."""

    def __init__(self, short: int = 5, long: int = 20) -> None:
        if not 0 < short < long:
            raise ValueError(f"need 0 < short < long; got short={short}, long={long}")
        self._short = short
        self._long = long
        self._history: dict[str, deque[float]] = {}
        self._above: dict[str, bool] = {}

    def update(self, symbol: str, price: float) -> Side | None:
        """Feed one price; return the side to trade if the averages just crossed, else None."""
        history = self._history.setdefault(symbol, deque(maxlen=self._long))
        history.append(price)
        if len(history) < self._long:
            return None
        short_avg = sum(list(history)[-self._short:]) / self._short
        long_avg = sum(history) / self._long
        above = short_avg > long_avg
        previous = self._above.get(symbol)
        self._above[symbol] = above
        if previous is None or previous == above:
            return None
        return Side.BUY if above else Side.SELL


@dataclass
class Position:
    """A signed holding (negative is short) at its average entry price, marked to ``last_price``."""

    quantity: float = 0.0
    average_price: float = 0.0
    last_price: float = 0.0
    opened_at: float = 0.0
    """Unix seconds when the position was opened from flat (or flipped to the other side)."""

    @property
    def market_value(self) -> float:
        return self.quantity * self.last_price

    @property
    def unrealized_pnl(self) -> float:
        return (self.last_price - self.average_price) * self.quantity


@dataclass(frozen=True)
class ClosedTrade:
    """The part of a position that a fill closed: one round trip from entry to exit."""

    symbol: str
    side: Side
    """Side of the position closed: BUY for a long, SELL for a short."""
    quantity: float
    entry_price: float
    exit_price: float
    pnl: float
    entry_time: float
    exit_time: float


@dataclass
class Portfolio:
    """Cash and positions with average-cost accounting; read by observe_portfolio_manager."""

    cash: float = INITIAL_CASH
    name: str = PORTFOLIO_NAME
    currency: str = CURRENCY
    realized_pnl: float = 0.0
    positions: dict[str, Position] = field(default_factory=dict)

    @property
    def total_value(self) -> float:
        return self.cash + sum(p.market_value for p in self.positions.values())

    @property
    def unrealized_pnl(self) -> float:
        return sum(p.unrealized_pnl for p in self.positions.values())

    @property
    def gross_exposure(self) -> float:
        return sum(abs(p.market_value) for p in self.positions.values())

    @property
    def net_exposure(self) -> float:
        return sum(p.market_value for p in self.positions.values())

    def quantity(self, symbol: str) -> float:
        position = self.positions.get(symbol)
        return position.quantity if position else 0.0

    def apply_fill(
        self, symbol: str, side: Side, quantity: float, price: float, *, at: float = 0.0
    ) -> float:
        """Book a fill at Unix time ``at``; return the P&L it realized (see :meth:`book_fill`)."""
        trade = self.book_fill(symbol, side, quantity, price, at=at)
        return 0.0 if trade is None else trade.pnl

    def book_fill(
        self, symbol: str, side: Side, quantity: float, price: float, *, at: float = 0.0
    ) -> ClosedTrade | None:
        """Book a fill at Unix time ``at``; return the trade it closed, if it reduced a position.

        A fill against a position closes up to its size at the average entry price; any rest
        opens a new position on the other side at the fill price.
        """
        if quantity <= 0 or price <= 0:
            raise ValueError(f"fill needs positive quantity and price; got {quantity}, {price}")
        position = self.positions.setdefault(symbol, Position(last_price=price))
        delta = side.sign * quantity
        trade = None
        if position.quantity == 0 or (position.quantity > 0) == (delta > 0):
            if position.quantity == 0:
                position.opened_at = at
            held = abs(position.quantity)
            position.average_price = (held * position.average_price + quantity * price) / (
                held + quantity
            )
        else:
            closed = min(quantity, abs(position.quantity))
            held_side = Side.BUY if position.quantity > 0 else Side.SELL
            trade = ClosedTrade(
                symbol, held_side, closed, position.average_price, price,
                pnl=closed * (price - position.average_price) * held_side.sign,
                entry_time=min(position.opened_at, at),  # a wall clock may step back
                exit_time=at,
            )
            if quantity > abs(position.quantity):
                position.average_price = price
                position.opened_at = at
        position.quantity = round(position.quantity + delta, 10)
        if position.quantity == 0:
            position.average_price = 0.0
        position.last_price = price
        self.cash -= delta * price
        if trade is not None:
            self.realized_pnl += trade.pnl
        return trade

    def mark(self, prices: Mapping[str, float]) -> None:
        """Revalue held positions at the latest prices."""
        for symbol, position in self.positions.items():
            if symbol in prices:
                position.last_price = prices[symbol]


@dataclass
class RiskManager:
    """Position limits, a VaR limit and a parametric VaR; read by observe_risk_manager."""

    portfolio: Portfolio
    volatility: Mapping[str, float]
    position_limits: dict[str, float] = field(default_factory=dict)
    var_limit: float = 5_000.0
    name: str = PORTFOLIO_NAME
    currency: str = CURRENCY
    z_score: float = 2.33
    horizon_ticks: int = 1_000

    @property
    def var(self) -> float:
        """99% VaR over ``horizon_ticks``, positions treated as independent."""
        variance = sum(
            (p.market_value * self.volatility.get(s, 0.0)) ** 2
            for s, p in self.portfolio.positions.items()
        )
        return self.z_score * math.sqrt(variance * self.horizon_ticks)

    @property
    def gross_exposure(self) -> float:
        return self.portfolio.gross_exposure

    @property
    def net_exposure(self) -> float:
        return self.portfolio.net_exposure

    def check(self, symbol: str, side: Side, quantity: float) -> str | None:
        """Reason to refuse the order, or None if it keeps the position within its limit."""
        limit = self.position_limits.get(symbol)
        after = self.portfolio.quantity(symbol) + side.sign * quantity
        if limit is not None and abs(after) > limit:
            return "position_limit"
        return None


@dataclass
class SimBroker:
    """Latency, slippage, rejections and a disconnect every 30-60 s lasting 3-8 s (sim time)."""

    rng: random.Random
    name: str = BROKER_NAME
    connected: bool = True
    median_latency_s: float = 0.045
    next_change_at: float = 0.0

    def __post_init__(self) -> None:
        self.next_change_at = self.rng.uniform(30.0, 60.0)

    def update(self, now: float) -> str | None:
        """Advance connectivity to sim time ``now``; describe a change if one happened."""
        if now < self.next_change_at:
            return None
        self.connected = not self.connected
        if self.connected:
            self.next_change_at = now + self.rng.uniform(30.0, 60.0)
            return f"broker {self.name} reconnected"
        self.next_change_at = now + self.rng.uniform(3.0, 8.0)
        return f"broker {self.name} disconnected"

    def latency_s(self) -> float:
        """Order acknowledgement latency: lognormal around ``median_latency_s``."""
        return min(2.0, self.rng.lognormvariate(math.log(self.median_latency_s), 0.35))

    def reject_reason(self) -> str | None:
        if not self.connected:
            return "broker_disconnected"
        if self.rng.random() < REJECT_PROBABILITY:
            return self.rng.choice(REJECT_REASONS)
        return None

    def fill_price(self, side: Side, expected: float) -> float:
        """Expected price moved by a few basis points, usually against the trader."""
        slippage_bps = self.rng.gauss(1.0, 2.5)
        return expected * (1 + side.sign * slippage_bps / 1e4)


@dataclass
class ExecutionEngine:
    """What observe_execution_engine reads: broker name, connectivity and open orders."""

    broker_api: SimBroker
    open_orders: list[str] = field(default_factory=list)

    @property
    def broker(self) -> str:
        return self.broker_api.name

    def is_connected(self) -> bool:
        return self.broker_api.connected


@dataclass(frozen=True)
class OrderResult:
    """Outcome of one simulated order."""

    symbol: str
    side: Side
    quantity: float
    expected_price: float
    latency_s: float
    fill_price: float | None = None
    slippage_bps: float | None = None
    reject_reason: str | None = None
    trade_pnl: float | None = None
    """P&L of the trade this fill closed, if it reduced a position."""

    def describe(self) -> str:
        head = (f"{self.side.value.upper()} {_format_qty(self.quantity)} {self.symbol} "
                f"@ {self.expected_price:,.2f}")
        if self.reject_reason is not None:
            return f"rejected {head}: {self.reject_reason}"
        trade = "" if self.trade_pnl is None else f" (trade {self.trade_pnl:+,.2f} {CURRENCY})"
        return (f"placed {head} ({self.latency_s * 1000:.0f} ms), filled @ "
                f"{self.fill_price:,.2f} ({self.slippage_bps:+.1f} bp){trade}")


def _format_qty(quantity: float) -> str:
    return f"{quantity:g}"


def order_quantity(price: float, notional: float = TRADE_NOTIONAL) -> float:
    """Units for about ``notional`` of value: whole shares, or 4 decimals when under one."""
    units = notional / price
    return float(max(1, round(units))) if units >= 1 else round(units, 4)


class DemoBot:
    """One trading loop: prices -> strategy -> risk -> broker -> portfolio, plus telemetry."""

    def __init__(
        self,
        *,
        seed: int | None = None,
        sleep: Callable[[float], None] = lambda _: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        rng = random.Random(seed)
        self.prices = PriceWalk(START_PRICES, TICK_VOLATILITY, rng)
        self.strategy = CrossoverStrategy()
        self.portfolio = Portfolio()
        limits = {s: 2 * order_quantity(p) for s, p in START_PRICES.items()}
        self.risk = RiskManager(self.portfolio, TICK_VOLATILITY, position_limits=limits)
        self.broker = SimBroker(rng)
        self.engine = ExecutionEngine(self.broker)
        self._sleep = sleep
        self._clock = clock
        self._health_rng = random.Random(rng.random())
        for _ in range(25):
            for symbol, price in self.prices.step().items():
                self.strategy.update(symbol, price)

    @tradepulse.traced(name=conv.SPAN_STRATEGY_STEP, attributes={conv.ATTR_STRATEGY: STRATEGY_NAME})
    def tick(self, now: float) -> list[str]:
        """One strategy step at sim time ``now`` (seconds); return what happened, as text."""
        events: list[str] = []
        change = self.broker.update(now)
        if change is not None:
            events.append(change)
        prices = self.prices.step()
        self.portfolio.mark(prices)
        for symbol, price in prices.items():
            signal = self.strategy.update(symbol, price)
            if signal is None:
                continue
            held = self.portfolio.quantity(symbol)
            if held * signal.sign > 0:
                continue
            quantity = abs(signal.sign * order_quantity(price) - held)
            events.append(self.submit_order(symbol, signal, quantity, price).describe())
        return events

    @tradepulse.traced(name=conv.SPAN_ORDER_SUBMIT)
    def submit_order(self, symbol: str, side: Side, quantity: float, price: float) -> OrderResult:
        """Send one market order through risk checks and the broker, and book the fill."""
        latency = self.broker.latency_s()
        self._sleep(min(latency / 10, 0.008))
        reason = self.risk.check(symbol, side, quantity) or self.broker.reject_reason()
        common = {"symbol": symbol, "side": side, "order_type": OrderType.MARKET,
                  "latency_s": latency, "broker": self.broker.name, "strategy": STRATEGY_NAME}
        if reason is not None:
            metrics.record_order(status=OrderStatus.REJECTED, **common)
            metrics.record_rejection(symbol=symbol, reason=reason, side=side,
                                     order_type=OrderType.MARKET, broker=self.broker.name,
                                     strategy=STRATEGY_NAME)
            return OrderResult(symbol, side, quantity, price, latency, reject_reason=reason)
        fill = self.broker.fill_price(side, price)
        trade = self.portfolio.book_fill(symbol, side, quantity, fill, at=self._clock())
        metrics.record_order(status=OrderStatus.FILLED, **common)
        slippage = metrics.record_fill(symbol=symbol, side=side, quantity=quantity, price=fill,
                                       expected_price=price, broker=self.broker.name,
                                       strategy=STRATEGY_NAME)
        if trade is None:
            return OrderResult(symbol, side, quantity, price, latency, fill, slippage)
        metrics.record_trade(
            symbol=symbol, side=trade.side, quantity=trade.quantity,
            entry_price=trade.entry_price, exit_price=trade.exit_price, pnl=trade.pnl,
            entry_time=trade.entry_time, exit_time=trade.exit_time,
            currency=self.portfolio.currency, portfolio=self.portfolio.name,
            broker=self.broker.name, strategy=STRATEGY_NAME,
        )
        return OrderResult(symbol, side, quantity, price, latency, fill, slippage,
                           trade_pnl=trade.pnl)

    def check_market_data(self) -> tuple[str, str]:
        """Bot-side health check: prices are flowing (healthy while the loop runs)."""
        symbols = len(self.prices.prices)
        return "healthy", f"{symbols} symbols priced"

    def check_reference_data(self) -> bool:
        """Bot-side health check of a simulated flaky dependency: fails now and then."""
        if self._health_rng.random() < FLAKY_CHECK_FAILURE_PROBABILITY:
            raise ConnectionError("reference data service did not answer")
        return True

    def summary(self) -> str:
        """One line on the portfolio: value, realized and unrealized P&L."""
        p = self.portfolio
        return (f"portfolio {p.total_value:,.2f} {p.currency} (realized {p.realized_pnl:+,.2f}, "
                f"unrealized {p.unrealized_pnl:+,.2f})")


def run_bot(
    *,
    duration_s: float | None,
    stop_event: threading.Event,
    endpoint: str,
    service_name: str = "demo-bot",
    seed: int | None = None,
    on_event: Callable[[str], None] | None = None,
) -> None:
    """Run the simulated bot, exporting to ``endpoint``, until ``stop_event`` or ``duration_s``."""
    emit = on_event or (lambda message: _logger.info("%s", message))
    tradepulse.configure(service_name, endpoint=endpoint, export_interval_ms=1000)
    bot = DemoBot(seed=seed, sleep=time.sleep)
    handles = [
        tradepulse.observe_portfolio_manager(bot.portfolio),
        tradepulse.observe_risk_manager(bot.risk),
        tradepulse.observe_execution_engine(bot.engine),
    ]
    checkers = [
        register_health_checker("market-data", bot.check_market_data,
                                interval_s=HEALTH_CHECK_EVERY_S),
        register_health_checker("reference-data", bot.check_reference_data,
                                interval_s=HEALTH_CHECK_EVERY_S),
    ]
    metrics.record_cash_flow(INITIAL_CASH, currency=CURRENCY, portfolio=PORTFOLIO_NAME)
    emit(f"started with {INITIAL_CASH:,.2f} {CURRENCY} trading {', '.join(START_PRICES)}")
    start = time.monotonic()
    next_summary = SUMMARY_EVERY_S
    try:
        while not stop_event.is_set():
            elapsed = time.monotonic() - start
            if duration_s is not None and elapsed >= duration_s:
                break
            for message in bot.tick(elapsed):
                emit(message)
            if elapsed >= next_summary:
                emit(bot.summary())
                next_summary += SUMMARY_EVERY_S
            stop_event.wait(TICK_INTERVAL_S)
        emit(f"stopping: {bot.summary()}")
    finally:
        for checker in checkers:
            checker.stop()
        tradepulse.shutdown()
        for handle in handles:
            handle.stop()
