"""DashboardManager: layouts, what each client subscribed to, and the snapshot and deltas.

It follows the bus with one subscription per topic, each keeping the newest event per key
when it falls behind (`coalesce`), turns every event into typed messages built by
`dashboard.views` (the REST serializers), and hands them to the server's fan-out. Telemetry
batches are not state: when the bus had to drop one, every client is told to resync rather
than miss it silently.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from flask import Flask

from tradepulse_backend.bus import (
    AlertChanged,
    EventBus,
    HealthChanged,
    HealthSampled,
    PerformanceUpdated,
    TelemetryStored,
    coalesce,
)
from tradepulse_backend.bus import Subscription as BusSubscription
from tradepulse_backend.dashboard import views
from tradepulse_backend.dashboard.client import Client, Message, Subscription
from tradepulse_backend.dashboard.layouts import LayoutCatalog

if TYPE_CHECKING:
    from tradepulse_backend.performance import PerformanceMonitor
    from tradepulse_backend.store import Store

logger = logging.getLogger(__name__)
Fanout = Callable[[list[Message]], None]
SERVICE_LABELS = ("service", "service.name", "service_name")
"""Alert labels that name the bot an alert is about (when it is about one)."""


class SubscribeError(ValueError):
    """A client's subscribe message that cannot be used; the message says why."""


class DashboardManager:
    """Builds what clients see: a snapshot per (re)connection, then deltas from the bus."""

    def __init__(self, *, performance: PerformanceMonitor, store: Store, bus: EventBus,
                 layouts: LayoutCatalog, default_layout: str = "default",
                 queue_size: int = 1024) -> None:
        self.performance = performance
        self.store = store
        self.bus = bus
        self.layouts = layouts
        self.default_layout = default_layout
        self.queue_size = queue_size
        self._fanout: Fanout | None = None
        self._resync_all: Callable[[], None] | None = None
        self._listeners: list[BusSubscription] = []
        self._telemetry_dropped = 0
        self._last_sent: dict[tuple[str, str], list[dict[str, Any]]] = {}

    # --- lifecycle ------------------------------------------------------------------------

    def start(self, fanout: Fanout, resync_all: Callable[[], None],
              has_clients: Callable[[], bool] = lambda: True) -> None:
        """Follow the bus, handing each event's messages to `fanout`."""
        self._fanout = fanout
        self._resync_all = resync_all
        self._has_clients = has_clients
        subscribe = self.bus.subscribe
        self._listeners = [
            subscribe(PerformanceUpdated, self._on_performance, name="dashboard-performance",
                      capacity=self.queue_size,
                      overflow=coalesce(lambda e: (e.snapshot.service, e.snapshot.portfolio))),
            subscribe(TelemetryStored, self._on_telemetry, name="dashboard-telemetry",
                      capacity=self.queue_size, overflow=coalesce(lambda e: id(e.batch))),
            subscribe(AlertChanged, self._on_alert, name="dashboard-alerts",
                      capacity=self.queue_size, overflow=coalesce(lambda e: _alert_key(e.alert))),
            subscribe(HealthChanged, self._on_component, name="dashboard-health",
                      capacity=self.queue_size,
                      overflow=coalesce(lambda e: str(e.component.get("name")))),
            subscribe(HealthSampled, self._on_sample, name="dashboard-health-samples",
                      capacity=self.queue_size, overflow=coalesce(lambda e: "host")),
        ]

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every event published so far has been turned into messages."""
        return all(listener.flush(timeout) for listener in self._listeners)

    def close(self, timeout: float = 5.0) -> None:
        for listener in self._listeners:
            listener.close(timeout)
        self._listeners = []

    # --- subscriptions --------------------------------------------------------------------

    def subscription(self, services: Iterable[str] | None, layout: str,
                     metrics: Iterable[str] | None = None) -> Subscription:
        """What a client follows: its services (None: all) and metrics (default: the ones its
        layout charts)."""
        names = self.layouts.metric_names(layout) if metrics is None else metrics
        chosen = None if services is None else frozenset(services) or None
        return Subscription(services=chosen, metrics=frozenset(names))

    def parse_subscribe(self, message: Mapping[str, Any], layout: str) -> Subscription:
        """A `{"type": "subscribe", "services": [...], "metrics": [...]}` message's choice."""
        services = message.get("services")
        metrics = message.get("metrics")
        for key, value in (("services", services), ("metrics", metrics)):
            if value is not None and not (isinstance(value, list)
                                          and all(isinstance(v, str) for v in value)):
                raise SubscribeError(f"subscribe.{key}: expected a list of strings or null")
        return self.subscription(services, layout, metrics)

    # --- snapshot -------------------------------------------------------------------------

    def snapshot(self, client: Client, app: Flask) -> dict[str, Any]:
        """Everything a (re)connected client shows, each part in its REST shape."""
        services = views.services(self.store)["services"]
        names = sorted({s["name"] for s in services} | set(self.performance.services()))
        followed = [name for name in names if client.subscription.wants(name)]
        return {
            "services": services,
            "performance": {s: views.performance(self.performance, s) for s in followed},
            "positions": {s: views.positions(self.performance, s) for s in followed},
            "execution": {s: views.execution(self.performance, s) for s in followed},
            "health": views.rest_json(app, "/api/v1/health"),
            "alerts": views.rest_json(app, "/api/v1/alerts"),
            "layout": self.layouts.get(client.layout),
        }

    # --- deltas ---------------------------------------------------------------------------

    def _on_performance(self, event: PerformanceUpdated) -> None:
        """The service's performance, and its positions and execution when they changed
        (a new portfolio value alone leaves those as they were)."""
        if not self._has_clients():
            return
        service = event.snapshot.service
        monitor = self.performance
        messages = [Message("performance", service, views.performance(monitor, service),
                            ("performance", service))]
        for kind, view in (("positions", views.positions), ("execution", views.execution)):
            data = view(monitor, service)
            if self._changed(kind, service, data):
                messages.append(Message(kind, service, data, (kind, service)))
        self._send(messages)

    def _changed(self, kind: str, service: str, data: dict[str, Any]) -> bool:
        """Whether a view differs from the last one sent, apart from its timestamps."""
        rows = next(iter(data.values()))
        content = [{k: v for k, v in row.items() if k != "timestamp"} for row in rows]
        key = (kind, service)
        if self._last_sent.get(key) == content:
            return False
        self._last_sent[key] = content
        return True

    def _on_telemetry(self, event: TelemetryStored) -> None:
        self._check_telemetry_drops()
        if not self._has_clients():
            return
        batch = event.batch
        messages: list[Message] = []
        by_service: dict[str, list] = {}
        for span in batch.spans:
            by_service.setdefault(span.resource.service_name, []).append(span)
        messages += [Message("span", service, views.spans(found))
                     for service, found in by_service.items()]
        if batch.metrics:
            messages += [Message("metric", service, body)
                         for service, _name, body in views.metrics(batch)]
        if messages:
            self._send(messages)

    def _check_telemetry_drops(self) -> None:
        """A telemetry batch the bus dropped is data no client saw: all of them resync."""
        listener = next((s for s in self._listeners if s.event_type is TelemetryStored), None)
        if listener is not None and listener.dropped > self._telemetry_dropped:
            self._telemetry_dropped = listener.dropped
            logger.warning("dashboard fell behind stored telemetry; clients resync")
            if self._resync_all is not None:
                self._resync_all()

    def _on_alert(self, event: AlertChanged) -> None:
        alert = dict(event.alert)
        self._send([Message("alert", _alert_service(alert), alert,
                            ("alert", _alert_key(alert)))])

    def _on_component(self, event: HealthChanged) -> None:
        component = dict(event.component)
        self._send([Message("health", None, component, ("health", str(component.get("name"))))])

    def _on_sample(self, event: HealthSampled) -> None:
        self._send([Message("health", None, {"metrics": dict(event.sample)},
                            ("health", "metrics"))])

    def _send(self, messages: list[Message]) -> None:
        if self._fanout is not None:
            self._fanout(messages)


def _alert_key(alert: Mapping[str, Any]) -> str:
    return str(alert.get("fingerprint") or alert.get("id") or alert.get("name"))


def _alert_service(alert: Mapping[str, Any]) -> str | None:
    labels = alert.get("labels") or {}
    for key in SERVICE_LABELS:
        if isinstance(labels, Mapping) and labels.get(key):
            return str(labels[key])
        if alert.get(key):
            return str(alert[key])
    return None
