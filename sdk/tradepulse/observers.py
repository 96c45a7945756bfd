"""Observe a bot's own portfolio, risk and execution objects: read at every metric export.

The objects are duck-typed: each figure is looked up by attribute name and may be a plain
attribute, a property or a zero-argument method. A figure the object lacks is skipped with one
warning per object and attribute; an error raised by the object is logged and contained.
Uses only the OpenTelemetry metrics API (meter scope ``tradepulse.observers``).
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from numbers import Real
from types import MappingProxyType
from typing import Any

from opentelemetry import metrics as otel_metrics
from opentelemetry.metrics import CallbackOptions, Observation

from tradepulse import conventions as conv
from tradepulse.version import __version__

__all__ = [
    "ObservedObject",
    "observe_execution_engine",
    "observe_portfolio_manager",
    "observe_risk_manager",
]

_logger = logging.getLogger(__name__)

_MISSING = object()
_FAILED = object()

_Attrs = dict[str, str]
_Collect = Callable[[], Iterator[Observation]]


class ObservedObject:
    """Handle on one observed object; ``stop()`` ends its observation (also on ``with`` exit).

    ``reads`` maps each metric name to the attribute names looked up for it, in order.
    """

    def __init__(
        self,
        target: object,
        *,
        kind: str,
        name: str,
        attributes: _Attrs,
        reads: Mapping[str, tuple[str, ...]],
    ) -> None:
        self.kind = kind
        self.name = name
        self.reads: Mapping[str, tuple[str, ...]] = MappingProxyType(dict(reads))
        self._target = target
        self._attributes = attributes
        self._reported: set[str] = set()
        self._collectors: dict[str, _Collect] = {}
        self._stopped = False

    @property
    def active(self) -> bool:
        """True until :meth:`stop` is called."""
        return not self._stopped

    def stop(self) -> None:
        """Stop reading the object; safe to call more than once."""
        self._stopped = True
        _registry.remove(self)

    def __enter__(self) -> ObservedObject:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "active" if self.active else "stopped"
        return f"<ObservedObject {self.kind} {self.name!r} {state}>"

    def _describe(self) -> str:
        return f"{self.kind} {self.name!r} ({type(self._target).__name__})"

    def _warn_once(self, key: str, message: str, *args: object, exc_info: bool = False) -> None:
        if key in self._reported:
            _logger.debug(message, *args, exc_info=exc_info)
            return
        self._reported.add(key)
        _logger.warning(message, *args, exc_info=exc_info)

    def _read_from(self, source: object, names: tuple[str, ...], where: str) -> Any:
        """First of ``names`` on ``source``, called if it is a method; _MISSING or _FAILED."""
        for attr in names:
            try:
                if isinstance(source, Mapping):
                    value = source.get(attr, _MISSING)
                else:
                    value = getattr(source, attr, _MISSING)
                if value is _MISSING:
                    continue
                if callable(value):
                    value = value()
            except Exception:
                self._warn_once(
                    f"error:{where}{attr}",
                    "tradepulse: reading %s%s of %s raised; skipped",
                    where, attr, self._describe(), exc_info=True,
                )
                return _FAILED
            return value
        return _MISSING

    def _read(self, names: tuple[str, ...], metric: str) -> Any:
        """Read a figure of the target, warning once if it has none of ``names``."""
        value = self._read_from(self._target, names, "")
        if value is _MISSING:
            self._warn_once(
                f"missing:{names}",
                "tradepulse: %s has no %s; %s is not reported",
                self._describe(), " or ".join(names), metric,
            )
        return value

    def _number(self, value: Any, label: str, metric: str) -> float | None:
        """``value`` as a finite float, None if absent, warning once if it is not a number."""
        if value is _MISSING or value is _FAILED or value is None:
            return None
        if isinstance(value, Real) and not isinstance(value, bool):
            number = float(value)
            if math.isfinite(number):
                return number
        self._warn_once(
            f"type:{label}",
            "tradepulse: %s of %s is %r, not a finite number; %s skipped",
            label, self._describe(), value, metric,
        )
        return None

    def _figure(self, names: tuple[str, ...], metric: str) -> _Collect:
        def collect() -> Iterator[Observation]:
            number = self._number(self._read(names, metric), names[0], metric)
            if number is not None:
                yield Observation(number, self._attributes)

        return collect

    def _per_key(
        self,
        names: tuple[str, ...],
        metric: str,
        key_attribute: str,
        value_of: Callable[[str, Any], float | None],
        attributes: _Attrs,
    ) -> _Collect:
        """Collector for a mapping figure (symbol -> entry): one point per key."""

        def collect() -> Iterator[Observation]:
            mapping = self._read(names, metric)
            if mapping is _MISSING or mapping is _FAILED or mapping is None:
                return
            if not isinstance(mapping, Mapping):
                self._warn_once(
                    f"type:{names[0]}",
                    "tradepulse: %s of %s is not a mapping; %s skipped",
                    names[0], self._describe(), metric,
                )
                return
            for key, entry in list(mapping.items()):
                number = value_of(str(key), entry)
                if number is not None:
                    yield Observation(number, {**attributes, key_attribute: str(key)})

        return collect

    def _observe(self, metric: str) -> Iterator[Observation]:
        collect = self._collectors.get(metric)
        if collect is None or self._stopped:
            return iter(())
        try:
            return iter(list(collect()))
        except Exception:
            self._warn_once(
                f"error:{metric}",
                "tradepulse: observing %s for %s failed; skipped",
                self._describe(), metric, exc_info=True,
            )
            return iter(())


class _Registry:
    """The observable gauges (created once per metric) and the objects they read."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._gauge_lock = threading.Lock()
        self._handles: list[ObservedObject] = []
        self._gauges: set[str] = set()

    def add(self, handle: ObservedObject) -> None:
        with self._lock:
            for other in self._handles:
                if other.kind == handle.kind and other.name == handle.name:
                    raise ValueError(
                        f"a {handle.kind} named {handle.name!r} is already observed; "
                        "pass another name or stop() the other one"
                    )
            self._handles.append(handle)
        # Gauges are created outside _lock: the SDK runs callbacks under its own lock.
        with self._gauge_lock:
            for metric in handle._collectors:
                if metric not in self._gauges:
                    self._create_gauge(metric)
                    self._gauges.add(metric)

    def remove(self, handle: ObservedObject) -> None:
        with self._lock:
            if handle in self._handles:
                self._handles.remove(handle)

    def _create_gauge(self, metric: str) -> None:
        spec = conv.METRICS[metric]
        meter = otel_metrics.get_meter("tradepulse.observers", __version__)

        def callback(options: CallbackOptions) -> Iterable[Observation]:
            with self._lock:
                handles = list(self._handles)
            return [point for handle in handles for point in handle._observe(metric)]

        meter.create_observable_gauge(
            metric, callbacks=[callback], unit=spec.unit, description=spec.description
        )


_registry = _Registry()


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _checked(argument: str, given: str | None) -> str | None:
    if given is not None and _text_or_none(given) is None:
        raise ValueError(f"{argument} must be a non-empty string; got {given!r}")
    return given


def _money_attributes(obj: object, name: str | None, currency: str | None) -> _Attrs:
    """trading.portfolio (argument, else ``obj.name``, else "default") and trading.currency."""
    label = _checked("name", name) or _text_or_none(getattr(obj, "name", None)) or "default"
    code = _checked("currency", currency) or _text_or_none(getattr(obj, "currency", None))
    attrs = {conv.ATTR_PORTFOLIO: label}
    if code:
        attrs[conv.ATTR_CURRENCY] = code
    return attrs


def _is_number(value: object) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


PORTFOLIO_MANAGER_READS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    conv.METRIC_PORTFOLIO_VALUE: ("total_value", "portfolio_value"),
    conv.METRIC_PORTFOLIO_CASH: ("cash",),
    conv.METRIC_PNL_REALIZED: ("realized_pnl",),
    conv.METRIC_PNL_UNREALIZED: ("unrealized_pnl",),
    conv.METRIC_POSITION_QUANTITY: ("positions", "quantity"),
    conv.METRIC_POSITION_MARKET_VALUE: ("positions", "market_value"),
    conv.METRIC_POSITION_PNL_UNREALIZED: ("positions", "unrealized_pnl"),
})
"""Metric name -> attribute names a portfolio manager is read for (positions: then per entry)."""

POSITION_PRICE_READS: tuple[str, ...] = ("price", "market_price", "last_price")
"""Names read on a position for its current price when it gives no ``unrealized_pnl``."""
POSITION_COST_READS: tuple[str, ...] = ("average_cost", "avg_cost", "average_price", "entry_price")
"""Names read on a position for its average cost when it gives no ``unrealized_pnl``."""


def observe_portfolio_manager(
    pm: object, *, name: str | None = None, currency: str | None = None
) -> ObservedObject:
    """Publish a portfolio manager's figures at every export; return the handle to stop it.

    Reads (attribute, property or zero-argument method; first name found wins):
    ``total_value`` or ``portfolio_value`` -> trading.portfolio.value; ``cash`` ->
    trading.portfolio.cash; ``realized_pnl`` / ``unrealized_pnl`` -> trading.pnl.realized /
    trading.pnl.unrealized; ``positions``: mapping symbol -> object or dict with ``quantity``
    and optionally ``market_value`` (or a bare number, the quantity) ->
    trading.position.quantity / trading.position.market_value by trading.symbol; each position's
    ``unrealized_pnl`` -> trading.position.pnl.unrealized, else, when the position has a price
    (``price``, ``market_price`` or ``last_price``) and an average cost (``average_cost``,
    ``avg_cost``, ``average_price`` or ``entry_price``), quantity * (price - average cost);
    a position with neither reports no P&L point and no warning. Points carry
    trading.portfolio = ``name`` (else ``pm.name``, else "default") and trading.currency =
    ``currency`` (else ``pm.currency``, else none). ``handle.reads`` lists the same.
    """
    attrs = _money_attributes(pm, name, currency)
    label = attrs[conv.ATTR_PORTFOLIO]
    handle = ObservedObject(
        pm, kind="portfolio manager", name=label, attributes=attrs,
        reads=PORTFOLIO_MANAGER_READS,
    )
    quantity_attrs = {conv.ATTR_PORTFOLIO: label}

    def position_field(field: str, metric: str) -> Callable[[str, Any], float | None]:
        def value_of(symbol: str, entry: Any) -> float | None:
            if _is_number(entry):
                return float(entry) if field == "quantity" else None
            value = handle._read_from(entry, (field,), f"positions[{symbol!r}].")
            if value is _MISSING:
                handle._warn_once(
                    f"missing:positions.{field}",
                    "tradepulse: positions of %s lack %s (e.g. %r); %s is not reported",
                    handle._describe(), field, symbol, metric,
                )
            return handle._number(value, f"positions[{symbol!r}].{field}", metric)

        return value_of

    def position_pnl(symbol: str, entry: Any) -> float | None:
        if _is_number(entry):
            return None
        where = f"positions[{symbol!r}]."
        metric = conv.METRIC_POSITION_PNL_UNREALIZED
        given = handle._read_from(entry, ("unrealized_pnl",), where)
        if given is not _MISSING:
            return handle._number(given, f"{where}unrealized_pnl", metric)
        price = handle._read_from(entry, POSITION_PRICE_READS, where)
        cost = handle._read_from(entry, POSITION_COST_READS, where)
        if price is _MISSING or cost is _MISSING:
            return None
        figures = (
            handle._number(handle._read_from(entry, ("quantity",), where),
                           f"{where}quantity", metric),
            handle._number(price, f"{where}price", metric),
            handle._number(cost, f"{where}average_cost", metric),
        )
        if None in figures:
            return None
        quantity, last, average = figures
        return quantity * (last - average)

    handle._collectors = {
        metric: handle._figure(names, metric)
        for metric, names in PORTFOLIO_MANAGER_READS.items()
        if names[0] != "positions"
    }
    handle._collectors[conv.METRIC_POSITION_QUANTITY] = handle._per_key(
        ("positions",), conv.METRIC_POSITION_QUANTITY, conv.ATTR_SYMBOL,
        position_field("quantity", conv.METRIC_POSITION_QUANTITY), quantity_attrs,
    )
    handle._collectors[conv.METRIC_POSITION_MARKET_VALUE] = handle._per_key(
        ("positions",), conv.METRIC_POSITION_MARKET_VALUE, conv.ATTR_SYMBOL,
        position_field("market_value", conv.METRIC_POSITION_MARKET_VALUE), attrs,
    )
    handle._collectors[conv.METRIC_POSITION_PNL_UNREALIZED] = handle._per_key(
        ("positions",), conv.METRIC_POSITION_PNL_UNREALIZED, conv.ATTR_SYMBOL,
        position_pnl, attrs,
    )
    _registry.add(handle)
    return handle


RISK_MANAGER_READS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    conv.METRIC_RISK_VAR: ("var", "value_at_risk"),
    conv.METRIC_RISK_GROSS_EXPOSURE: ("gross_exposure",),
    conv.METRIC_RISK_NET_EXPOSURE: ("net_exposure",),
    conv.METRIC_RISK_VAR_LIMIT: ("var_limit",),
    conv.METRIC_RISK_POSITION_LIMIT: ("position_limits",),
})
"""Metric name -> attribute names a risk manager is read for."""


def observe_risk_manager(
    rm: object, *, name: str | None = None, currency: str | None = None
) -> ObservedObject:
    """Publish a risk manager's figures and limits at every export; return the handle.

    Reads: ``var`` or ``value_at_risk`` (a positive loss amount) -> trading.risk.var;
    ``gross_exposure`` / ``net_exposure`` -> trading.risk.gross_exposure / net_exposure;
    ``var_limit`` -> trading.risk.var_limit; ``position_limits``: mapping symbol -> maximum
    absolute quantity -> trading.risk.position_limit by trading.symbol. Points carry
    trading.portfolio = ``name`` (else ``rm.name``, else "default") and trading.currency
    (``currency``, else ``rm.currency``). ``handle.reads`` lists the same.
    """
    attrs = _money_attributes(rm, name, currency)
    label = attrs[conv.ATTR_PORTFOLIO]
    handle = ObservedObject(
        rm, kind="risk manager", name=label, attributes=attrs, reads=RISK_MANAGER_READS
    )
    handle._collectors = {
        metric: handle._figure(names, metric)
        for metric, names in RISK_MANAGER_READS.items()
        if metric != conv.METRIC_RISK_POSITION_LIMIT
    }

    def limit_of(symbol: str, entry: Any) -> float | None:
        return handle._number(
            entry, f"position_limits[{symbol!r}]", conv.METRIC_RISK_POSITION_LIMIT
        )

    handle._collectors[conv.METRIC_RISK_POSITION_LIMIT] = handle._per_key(
        ("position_limits",), conv.METRIC_RISK_POSITION_LIMIT, conv.ATTR_SYMBOL, limit_of,
        {conv.ATTR_PORTFOLIO: label},
    )
    _registry.add(handle)
    return handle


EXECUTION_ENGINE_READS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    conv.METRIC_BROKER_CONNECTED: ("brokers", "is_connected", "connected"),
    conv.METRIC_OPEN_ORDERS: ("open_orders",),
})
"""Metric name -> attribute names an execution engine is read for."""


def observe_execution_engine(ee: object, *, broker: str | None = None) -> ObservedObject:
    """Publish an execution engine's broker connectivity and open orders; return the handle.

    Reads: ``brokers`` (mapping broker name -> bool, or -> object with ``is_connected`` /
    ``connected``), else ``is_connected`` or ``connected`` (bool) of the one broker named
    ``broker`` (else ``ee.broker``, else "default") -> trading.broker.connected (1 or 0) by
    trading.broker; ``open_orders`` (a count or a sized collection) -> trading.open_orders
    by trading.broker. ``handle.reads`` lists the same.
    """
    label = _checked("broker", broker) or _text_or_none(getattr(ee, "broker", None)) or "default"
    attrs = {conv.ATTR_BROKER: label}
    handle = ObservedObject(
        ee, kind="execution engine", name=label, attributes=attrs,
        reads=EXECUTION_ENGINE_READS,
    )
    connected_metric = conv.METRIC_BROKER_CONNECTED

    def as_flag(value: Any, where: str) -> float | None:
        if value is _MISSING or value is _FAILED or value is None:
            return None
        if not isinstance(value, (bool, int)):
            value = handle._read_from(value, ("is_connected", "connected"), where)
            if value is _MISSING or value is _FAILED or value is None:
                return None
        if isinstance(value, (bool, int)):
            return 1.0 if value else 0.0
        handle._warn_once(
            f"type:{where}connected", "tradepulse: %sconnected of %s is %r, not a bool; skipped",
            where, handle._describe(), value,
        )
        return None

    def connectivity() -> Iterator[Observation]:
        brokers = handle._read_from(ee, ("brokers",), "")
        if isinstance(brokers, Mapping):
            for broker_name, state in list(brokers.items()):
                flag = as_flag(state, f"brokers[{broker_name!r}].")
                if flag is not None:
                    yield Observation(flag, {conv.ATTR_BROKER: str(broker_name)})
            return
        if brokers is _FAILED:
            return
        state = handle._read_from(ee, ("is_connected", "connected"), "")
        if state is _MISSING:
            handle._warn_once(
                "missing:connectivity",
                "tradepulse: %s has no brokers mapping, is_connected or connected; %s is not "
                "reported", handle._describe(), connected_metric,
            )
        flag = as_flag(state, "")
        if flag is not None:
            yield Observation(flag, attrs)

    def open_orders() -> Iterator[Observation]:
        value = handle._read(("open_orders",), conv.METRIC_OPEN_ORDERS)
        if not _is_number(value) and hasattr(value, "__len__"):
            value = len(value)
        number = handle._number(value, "open_orders", conv.METRIC_OPEN_ORDERS)
        if number is not None:
            yield Observation(number, attrs)

    handle._collectors = {connected_metric: connectivity, conv.METRIC_OPEN_ORDERS: open_orders}
    _registry.add(handle)
    return handle
