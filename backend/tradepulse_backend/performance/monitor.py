"""PerformanceMonitor: live trading performance per bot and portfolio, from ingested telemetry.

Every stored batch is handed to the monitor through the event bus; its trading points are
absorbed in O(1) each (running index, peak, moments; rolling execution counts), and a fresh
`PerformanceSnapshot` per touched portfolio is published on the bus for alert rules and the
dashboard. Snapshots and the monitor's state are persisted every `update_interval` seconds,
so a restart continues where it stopped; history summaries are recomputed vectorized from the
stored points.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Iterable
from typing import Any

from tradepulse import conventions as conv
from tradepulse_backend.bus import (
    EventBus,
    PerformanceUpdated,
    Subscription,
    TelemetryStored,
    drop_oldest,
)
from tradepulse_backend.clock import Clock, SystemClock
from tradepulse_backend.config import PerformanceMonitorConfig
from tradepulse_backend.ingest.pipeline import WriteFailed, WritePipeline
from tradepulse_backend.performance import update_records
from tradepulse_backend.performance.account import ReturnSettings
from tradepulse_backend.performance.bot_state import (
    EXECUTION_INPUTS,
    HANDLERS,
    BotState,
    observation_from_row,
)
from tradepulse_backend.performance.calendar import TradingCalendar
from tradepulse_backend.performance.exponential import ExponentialHistogram
from tradepulse_backend.performance.history import summarize_period
from tradepulse_backend.performance.inputs import (
    CUMULATIVE_INPUTS,
    Histogram,
    Observation,
    Trade,
    observations,
    trades,
)
from tradepulse_backend.performance.snapshot import PerformanceSnapshot
from tradepulse_backend.performance.updates import PortfolioUpdate, parse_update
from tradepulse_backend.store import performance as stored
from tradepulse_backend.telemetry.records import DecodedBatch

logger = logging.getLogger(__name__)

DEFAULT_UPDATE_TIMEOUT_S = 30.0
"""How long `update_portfolio_data` waits for its update to be stored and absorbed."""


class PerformanceMonitor:
    """Live performance per (service, portfolio); feed it from the bus or directly."""

    def __init__(self, config: PerformanceMonitorConfig | None = None, *, store=None,
                 bus: EventBus | None = None, pipeline: WritePipeline | None = None,
                 clock: Clock | None = None) -> None:
        self.config = config or PerformanceMonitorConfig()
        self.settings = ReturnSettings(self.config.annualization, self.config.risk_free_rate)
        self.calendar = TradingCalendar(self.config.timezone)
        self.store = store
        self.bus = bus
        self.pipeline = pipeline
        self.clock = clock or (bus.clock if bus is not None else SystemClock())
        self._services: dict[str, BotState] = {}
        self._dirty: set[tuple[str, str]] = set()
        self._latest: dict[tuple[str, str], PerformanceSnapshot] = {}
        self._lock = threading.RLock()
        self._subscription: Subscription | None = None
        self.skipped_points = 0
        self.restoring = False
        self._awaited: dict[int, threading.Event] = {}

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Absorb every batch the bus reports as stored, after restoring the saved state on the
        subscriber's own worker (replaying a long history must not hold up the server's start;
        batches stored meanwhile wait in its bounded queue)."""
        self.restoring = self.store is not None
        if self.bus is None:
            self._restore_or_start_afresh()
            return
        self._subscription = self.bus.subscribe(
            TelemetryStored, self._absorb_stored, name="performance",
            capacity=self.config.queue_size, overflow=drop_oldest,
            prepare=self._restore_or_start_afresh)

    def close(self) -> None:
        """Absorb what is queued, persist, and stop."""
        if self._subscription is not None:
            self._subscription.close()
        if self.store is not None:
            self.persist()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every batch stored so far has been absorbed; False on a timeout."""
        if self._subscription is None:
            return True
        return self._subscription.flush(timeout)

    @property
    def backlog(self) -> int:
        return 0 if self._subscription is None else self._subscription.depth

    def _restore_or_start_afresh(self) -> None:
        if self.restoring:
            try:
                self.restore()
            except Exception:
                logger.exception("performance state could not be restored; starting afresh")
        self.restoring = False

    def _absorb_stored(self, event: TelemetryStored) -> None:
        self.absorb(event.batch)

    # --- absorbing ------------------------------------------------------------------------

    def absorb(self, batch: DecodedBatch) -> list[PerformanceSnapshot]:
        """Absorb one stored batch; returns (and publishes) the snapshots it changed."""
        try:
            closed = list(trades(batch))
            if closed and self.store is not None:
                stored.add_trades(self.store, (_trade_row(t) for t in closed))
            return self._apply(observations(batch), closed)
        finally:
            awaited = self._awaited.pop(id(batch), None)
            if awaited is not None:
                awaited.set()

    def update_portfolio_data(self, data: PortfolioUpdate | dict[str, Any], *,
                              timeout: float = DEFAULT_UPDATE_TIMEOUT_S
                              ) -> PerformanceSnapshot:
        """Feed the monitor directly (the coordinator and tests do); returns the new snapshot.

        In a running backend the update is stored like exported telemetry (so history,
        summaries and reports include it) and absorbed through the same path; this returns
        once both are done. Raises ValueError naming the bad field (nothing of a rejected
        update is absorbed), TimeoutError when storing and absorbing take longer than
        `timeout` seconds, or the write pipeline's QueueFull / WriteFailed when storage
        cannot take it now.
        """
        update = parse_update(data, now_ns=self.clock.now_ns())
        obs, closed = update.observations(), update.trades_closed()
        if self.pipeline is None:
            self._apply(obs, closed)
        else:
            self._store_update(update.service, obs, closed, timeout)
        return self.get_current_performance(update.service, update.portfolio)

    def _store_update(self, service: str, obs: list[Observation], closed: list[Trade],
                      timeout: float) -> None:
        batches = [update_records.metrics_batch(service, obs)] if obs else []
        if closed:
            batches.append(update_records.traces_batch(service, closed))
        deadline = time.monotonic() + timeout
        absorbed = []
        try:
            for batch in batches:
                absorbed.append(self._awaited.setdefault(id(batch), threading.Event()))
                self._commit_update(batch, deadline, timeout)
            for event in absorbed:
                if not event.wait(max(0.0, deadline - time.monotonic())):
                    raise TimeoutError(
                        f"the portfolio update was stored but the performance monitor did not "
                        f"absorb it within {timeout:g}s")
        finally:
            for batch in batches:
                self._awaited.pop(id(batch), None)

    def _commit_update(self, batch: DecodedBatch, deadline: float, timeout: float) -> None:
        try:
            self.pipeline.store(batch, timeout=max(0.0, deadline - time.monotonic()))
        except WriteFailed as error:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"the portfolio update was not committed within {timeout:g}s "
                                   "(it may still be stored later)") from error
            raise

    def _apply(self, obs: Iterable[Observation], closed: list[Trade]
               ) -> list[PerformanceSnapshot]:
        ordered = sorted(obs, key=lambda o: (o.time_ns, o.name != conv.METRIC_PORTFOLIO_CASH_FLOW))
        touched: set[tuple[str, str]] = set()
        with self._lock:
            for item in ordered:
                if self._absorb_point(item):
                    touched.add((item.service, item.portfolio))
            for trade in closed:
                self._service(trade.service).count_trade(trade.portfolio, trade.span_key,
                                                         trade.pnl)
                touched.add((trade.service, trade.portfolio))
            touched |= self._execution_touched(ordered)
            self._dirty |= touched
            snapshots = [self._snapshot(service, portfolio) for service, portfolio in touched
                         if portfolio in self._services[service].accounts]
        if self.bus is not None:
            for snapshot in snapshots:
                self.bus.publish(PerformanceUpdated(snapshot))
        return snapshots

    def _execution_touched(self, ordered: list[Observation]) -> set[tuple[str, str]]:
        """Execution figures are per service: every portfolio of a bot sees its orders."""
        services = {o.service for o in ordered if o.name in EXECUTION_INPUTS}
        for service in services:
            if not self._services[service].accounts:
                self._services[service].account("")
        return {(s, p) for s in services for p in self._services[s].accounts}

    def _service(self, name: str) -> BotState:
        found = self._services.get(name)
        if found is None:
            found = self._services[name] = BotState(self.settings, self.calendar,
                                                          self.config.execution_window)
        return found

    def _absorb_point(self, obs: Observation) -> bool:
        if not _finite_input(obs.value):
            self.skipped_points += 1
            return False
        state = self._service(obs.service)
        state.last_ns = max(state.last_ns, obs.time_ns)
        value = obs.value
        if obs.name in CUMULATIVE_INPUTS:
            horizon = obs.time_ns - int(self.config.execution_window * 1e9)
            value = state.cursor.increase(obs, horizon)
            if value is None:
                return False
        handler = HANDLERS.get(obs.name)
        if handler is None:
            return False
        handler(state, obs, value)
        return obs.name not in EXECUTION_INPUTS

    # --- reading --------------------------------------------------------------------------

    def _snapshot(self, service: str, portfolio: str) -> PerformanceSnapshot:
        state = self._services[service]
        account = state.accounts[portfolio]
        state.execution.advance(state.last_ns)
        figures = {**account.figures(), **state.execution.figures()}
        snapshot = PerformanceSnapshot.from_figures(
            figures, timestamp=(account.last_ns or state.last_ns) / 1e9, service=service,
            portfolio=portfolio, currency=account.currency)
        self._latest[(service, portfolio)] = snapshot
        return snapshot

    def get_current_performance(self, service: str | None = None, portfolio: str | None = None
                                ) -> PerformanceSnapshot | None:
        """The latest snapshot of a bot's portfolio (its only or default one when not named)."""
        with self._lock:
            keys = [k for k in self._latest if service is None or k[0] == service]
            if portfolio is not None:
                keys = [k for k in keys if k[1] == portfolio]
            if not keys:
                return None
            key = (service, "") if (service, "") in keys else sorted(keys)[0]
            return self._snapshot(*key)

    def snapshots(self, service: str | None = None) -> list[PerformanceSnapshot]:
        """Current snapshots of every portfolio (of one service, if named)."""
        with self._lock:
            return [self._snapshot(*key) for key in sorted(self._latest)
                    if service is None or key[0] == service]

    def services(self) -> list[str]:
        with self._lock:
            return sorted(self._services)

    def get_performance_summary(self, service: str, period: str = "all",
                                portfolio: str | None = None, *, now_ns: int | None = None
                                ) -> dict[str, Any]:
        """Statistics of one period (`day`, `week`, `month`, `ytd`, `all` or a duration such
        as `30d`) recomputed from stored points; the bot's default portfolio unless named."""
        if self.store is None:
            raise RuntimeError("get_performance_summary needs the monitor's store")
        if portfolio is None:
            portfolio = stored.default_portfolio(self.store, service)
        return summarize_period(self, service, period, portfolio,
                                now_ns=self.clock.now_ns() if now_ns is None else now_ns)

    # --- persistence ----------------------------------------------------------------------

    def persist(self, now_ns: int | None = None) -> int:
        """Save a snapshot of each portfolio changed since the last call, and the state of
        their services; returns how many snapshots were written."""
        with self._lock:
            dirty, self._dirty = self._dirty, set()
            rows = [_snapshot_row(self._snapshot(*key)) for key in sorted(dirty)]
            saved_ns = self.clock.now_ns() if now_ns is None else now_ns
            states = [{"service_name": name, "saved_ns": saved_ns,
                       "body": json.dumps(self._services[name].to_dict())}
                      for name in sorted({service for service, _ in dirty})]
        try:
            stored.save(self.store, rows, states)
        except Exception:
            with self._lock:
                self._dirty |= dirty
            raise
        return len(rows)

    def restore(self) -> None:
        """Load saved states, recount trades, then replay stored points newer than each save."""
        saved = stored.load_states(self.store)
        since = min((d["saved_ns"] for d in saved.values()), default=0) - REPLAY_MARGIN_NS
        stored.add_trades(self.store, (_trade_row(trade) for trade in stored.trades_since(
            self.store, since)))
        with self._lock:
            for name, data in saved.items():
                self._services[name] = BotState.from_dict(
                    data, self.settings, self.calendar, self.config.execution_window)
            for service, portfolio, key, pnl in stored.trade_keys(self.store):
                self._service(service).count_trade(portfolio, key, pnl)
            for name, state in self._services.items():
                for portfolio in state.accounts:
                    self._snapshot(name, portfolio)
        replay = stored.raw_points(self.store, HANDLERS, since, 2**63 - 1)
        if replay:
            self._apply((observation_from_row(row) for row in replay), [])
            logger.info("performance: replayed %d stored points after restart", len(replay))


def _finite_input(value: float | Histogram | ExponentialHistogram) -> bool:
    """NaN or infinite inputs (valid OTLP, meaningless as money) would poison every figure."""
    if isinstance(value, ExponentialHistogram):
        return value.is_finite()
    if isinstance(value, Histogram):
        return math.isfinite(value.sum) and all(map(math.isfinite, value.counts))
    return math.isfinite(value)


REPLAY_MARGIN_NS = 300 * 10**9
"""Stored points this long before the last save are replayed too; repeats are skipped."""


def _snapshot_row(snapshot: PerformanceSnapshot) -> dict[str, Any]:
    return {"service_name": snapshot.service, "portfolio": snapshot.portfolio,
            "time_ns": int(snapshot.timestamp * 1e9), "body": json.dumps(snapshot.to_dict())}


def _trade_row(trade: Trade) -> dict[str, Any]:
    return {"service_name": trade.service, "portfolio": trade.portfolio,
            "symbol": trade.symbol, "side": trade.side, "pnl": trade.pnl,
            "trade_return": trade.trade_return, "quantity": trade.quantity,
            "entry_ns": trade.entry_ns, "exit_ns": trade.exit_ns, "span_key": trade.span_key}
