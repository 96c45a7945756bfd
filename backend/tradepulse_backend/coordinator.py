"""MonitoringCoordinator: the seed's facade, running the whole backend inside the bot's process.

A facade over `runtime.Backend`, not a second owner of its parts: the backend builds and
supervises store, ingest, performance (and health, alerting, dashboard where present); this
adds the two listeners, served by threaded WSGI servers in background threads (gunicorn forks,
which a bot's process must not), points the tradepulse SDK at the embedded OTLP receiver, and
observes the bot's own portfolio manager, risk manager and execution engine through the SDK.

    coordinator = MonitoringCoordinator(config)   # ConfigManager-like, dict, MonitoringConfig, path
    await coordinator.initialize()                 # or coordinator.start() without an event loop
    coordinator.register_portfolio_manager(pm)
    print(coordinator.get_dashboard_url())
    coordinator.shutdown()                         # or `async with` / `with`
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from opentelemetry import metrics as otel_metrics
from opentelemetry import trace as otel_trace
from opentelemetry.sdk.metrics import MeterProvider as SdkMeterProvider
from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

import tradepulse
from tradepulse.observers import ObservedObject
from tradepulse_backend.app import create_app
from tradepulse_backend.clock import Clock
from tradepulse_backend.config import ConfigError, MonitoringConfig, load_config
from tradepulse_backend.config.models import ROOT_KEY
from tradepulse_backend.runtime import Backend

__all__ = ["MonitoringConfig", "MonitoringCoordinator"]

logger = logging.getLogger("MonitoringCoordinator")

DEFAULT_EXPORT_INTERVAL_MS = 10_000
"""How often the SDK the coordinator configures exports metrics (unless
OTEL_METRIC_EXPORT_INTERVAL says otherwise): the embedded dashboard should not lag a minute."""
SERVER_STOP_TIMEOUT_S = 10.0


def monitoring_config(source: Any) -> MonitoringConfig:
    """A validated config from what the seed's hosts pass: a `ConfigManager`-like object (a
    `.config` mapping holding `monitoring:`), a mapping (with or without the `monitoring` key),
    a `MonitoringConfig`, a YAML path, or None for the defaults. Raises ConfigError naming
    each bad key path."""
    if isinstance(source, MonitoringConfig):
        return source
    if source is None:
        return load_config(None)
    if isinstance(source, str | os.PathLike):
        return load_config(Path(source))
    host = getattr(source, "config", None)
    if not isinstance(source, Mapping) and isinstance(host, Mapping):
        if ROOT_KEY not in host:
            raise ConfigError([f"{ROOT_KEY}: the host config has no '{ROOT_KEY}' section; "
                               "merge MonitoringConfig.get_complete_monitoring_config() into it"])
        source = host
    if not isinstance(source, Mapping):
        raise TypeError("MonitoringCoordinator takes a ConfigManager-like object (.config), a "
                        f"dict, a MonitoringConfig or a YAML path, not {type(source).__name__}")
    section = source.get(ROOT_KEY, source)
    return load_config(None, overrides=dict(section or {}))


def heartbeat(handle: ObservedObject, target: object) -> Callable[[], tuple[str, str]]:
    """A health check reading the figures the SDK's observe callback reads (first attribute
    name found, called if it is a method): the component is healthy while they read without
    error, unhealthy when one raises or observation was stopped."""

    def check() -> tuple[str, str]:
        if not handle.active:
            return "unhealthy", f"{handle.kind} {handle.name!r} is no longer observed"
        read = 0
        for names in handle.reads.values():
            for attribute in names:
                try:
                    value = getattr(target, attribute, _ABSENT)
                    if value is _ABSENT:
                        continue
                    if callable(value):
                        value()
                except Exception as error:
                    return "unhealthy", f"reading {attribute} raised {type(error).__name__}"
                read += 1
                break
        if read == 0:
            return "degraded", f"{handle.kind} {handle.name!r} has none of the figures read"
        return "healthy", f"{read} figures read"

    return check


_ABSENT = object()


class _QuietHandler(WSGIRequestHandler):
    """No access log line per request: the bot's log is not the place for them."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class _Listener:
    """One threaded WSGI server on its own thread; `port` is the bound one (0 resolved).

    The socket is bound here, so a port in use raises OSError to the caller (werkzeug's own
    binding would print and exit the process)."""

    def __init__(self, name: str, host: str, port: int, app: Any,
                 tls: tuple[str, str] | None = None) -> None:
        self.name = name
        self.scheme = "https" if tls else "http"
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            sock.listen(128)
            self.server: BaseWSGIServer = make_server(
                host, port, app, threaded=True, request_handler=_QuietHandler,
                fd=sock.fileno(), ssl_context=tls)
        self.host, self.port = host, self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={
            "poll_interval": 0.2}, name=f"tradepulse-{name}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        """Stop serving (shutdown() waits for serve_forever, so only when it runs) and close."""
        if self.thread.is_alive():
            self.server.shutdown()
            self.thread.join(SERVER_STOP_TIMEOUT_S)
        self.server.server_close()

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"{self.scheme}://{f'[{host}]' if ':' in host else host}:{self.port}"


class MonitoringCoordinator:
    """The seed's monitoring facade: one embedded backend with its listeners, in this process."""

    def __init__(self, config: Any = None, *, clock: Clock | None = None,
                 service_name: str | None = None, configure_sdk: bool = True) -> None:
        self.config = monitoring_config(config)
        self.clock = clock
        self.service_name = service_name
        self.configure_sdk = configure_sdk
        self.backend: Backend | None = None
        self.performance_monitor = None
        self.alerting_system = None
        self.system_health_monitor = None
        self.dashboard_server = None
        self.urls: dict[str, str] = {}
        self.sdk_configured = False
        self._telemetry: Any = None
        self._listeners: list[_Listener] = []
        self._components: dict[str, ObservedObject] = {}
        self._lock = threading.RLock()
        self._started = False
        self._stopped = False

    # --- lifecycle --------------------------------------------------------------------------

    async def initialize(self) -> MonitoringCoordinator:
        """Start everything (see `start`) without blocking the event loop."""
        await asyncio.to_thread(self.start)
        return self

    def start(self) -> MonitoringCoordinator:
        """Start the backend and its listeners (port 0 picks free ports) and point the SDK at
        the embedded receiver; idempotent."""
        with self._lock:
            if self._stopped:
                raise RuntimeError("this MonitoringCoordinator was shut down; create a new one")
            if self._started:
                return self
            backend = Backend(self.config, clock=self.clock)
            backend.start()
            try:
                self._serve(backend)
            except BaseException:
                backend.close()
                raise
            self.backend = backend
            self._bind_parts(backend)
            self._started = True
        logger.info("monitoring started: dashboard %s, OTLP/HTTP %s", self.urls["dashboard"],
                    self.urls["otlp_http"])
        self._point_sdk()
        return self

    def _serve(self, backend: Backend) -> None:
        ingest, dashboard = self.config.ingest, self.config.dashboard
        try:
            otlp = _Listener("otlp", ingest.host, ingest.port, backend.receiver)
            self._listeners.append(otlp)
            tls = ((str(dashboard.tls.cert_file.expanduser()),
                    str(dashboard.tls.key_file.expanduser())) if dashboard.tls.enabled else None)
            web = _Listener("dashboard", dashboard.host, dashboard.port,
                            create_app(backend=backend), tls=tls)
            self._listeners.append(web)
        except BaseException:
            self._stop_listeners()
            raise
        for listener in self._listeners:
            listener.start()
        self.urls = {"otlp_http": otlp.url, "dashboard": f"{web.url}/"}
        if "otlp_grpc" in backend.urls:
            self.urls["otlp_grpc"] = backend.urls["otlp_grpc"]
        backend.urls.update(self.urls)

    def _bind_parts(self, backend: Backend) -> None:
        """The seed's attributes: the backend's own parts (None for a part not built)."""
        self.performance_monitor = backend.performance
        self.alerting_system = getattr(backend, "alerting", None)
        self.system_health_monitor = getattr(backend, "health", None)
        self.dashboard_server = getattr(backend, "dashboard", None)

    def _point_sdk(self) -> None:
        """Export this process's telemetry to the embedded receiver, unless the bot already
        installed an OpenTelemetry SDK provider (its own exporter wins)."""
        if not self.configure_sdk:
            return
        meter_provider = otel_metrics.get_meter_provider()
        tracer_provider = otel_trace.get_tracer_provider()
        if isinstance(meter_provider, SdkMeterProvider) or isinstance(
                tracer_provider, SdkTracerProvider):
            logger.info("an OpenTelemetry SDK provider is already installed; leaving the bot's "
                        "exporter as it is (point it at %s to see its data here)",
                        self.urls["otlp_http"])
            return
        interval = None if os.environ.get("OTEL_METRIC_EXPORT_INTERVAL") else \
            DEFAULT_EXPORT_INTERVAL_MS
        self._telemetry = tradepulse.configure(
            self.service_name, endpoint=self.urls["otlp_http"], protocol="http/protobuf",
            export_interval_ms=interval)
        self.sdk_configured = True
        logger.info("tradepulse SDK exports to %s", self.urls["otlp_http"])

    def flush(self, timeout: float = 30.0) -> bool:
        """Export what the SDK holds now (when the coordinator configured it) and wait until
        the performance monitor has absorbed everything stored; False on a timeout."""
        if self._telemetry is not None:
            millis = int(timeout * 1000)
            self._telemetry.tracer_provider.force_flush(millis)
            self._telemetry.meter_provider.force_flush(millis)
        if self.backend is None:
            return True
        return self.backend.performance.flush(timeout)

    def shutdown(self) -> None:
        """Flush and stop everything: observers, the SDK (if configured here), listeners, and
        the backend (which commits what is queued); idempotent."""
        with self._lock:
            if self._stopped or not self._started:
                self._stopped = True
                return
            self._stopped = True
            if self._telemetry is not None:
                try:
                    self.flush()
                except Exception:
                    logger.exception("final flush failed")
            for handle in self._components.values():
                handle.stop()
            if self._telemetry is not None:
                tradepulse.shutdown()
            self._stop_listeners()
            if self.backend is not None:
                self.backend.close()
        logger.info("monitoring stopped")

    def _stop_listeners(self) -> None:
        for listener in reversed(self._listeners):
            try:
                listener.stop()
            except Exception:
                logger.exception("stopping the %s listener failed", listener.name)
        self._listeners.clear()

    async def __aenter__(self) -> MonitoringCoordinator:
        return await self.initialize()

    async def __aexit__(self, *exc_info: object) -> None:
        await asyncio.to_thread(self.shutdown)

    def __enter__(self) -> MonitoringCoordinator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()

    # --- the bot's components -----------------------------------------------------------------

    def register_portfolio_manager(self, portfolio_manager: object, *, name: str | None = None,
                                   currency: str | None = None) -> ObservedObject:
        """Publish the portfolio manager's value, cash, P&L and positions at every export
        (`tradepulse.observe_portfolio_manager`)."""
        handle = tradepulse.observe_portfolio_manager(portfolio_manager, name=name,
                                                      currency=currency)
        return self._register("portfolio_manager", handle, portfolio_manager)

    def register_risk_manager(self, risk_manager: object, *, name: str | None = None,
                              currency: str | None = None) -> ObservedObject:
        """Publish the risk manager's VaR, exposures and limits at every export."""
        handle = tradepulse.observe_risk_manager(risk_manager, name=name, currency=currency)
        return self._register("risk_manager", handle, risk_manager)

    def register_execution_engine(self, execution_engine: object, *,
                                  broker: str | None = None) -> ObservedObject:
        """Publish the execution engine's broker connectivity and open orders at every export."""
        handle = tradepulse.observe_execution_engine(execution_engine, broker=broker)
        return self._register("execution_engine", handle, execution_engine)

    def _register(self, kind: str, handle: ObservedObject, target: object) -> ObservedObject:
        component = kind if kind not in self._components else f"{kind}:{handle.name}"
        with self._lock:
            self._components[component] = handle
        health = self.system_health_monitor
        if health is not None:
            health.register_health_checker(component, heartbeat(handle, target))
        logger.info("observing %s as component %r", handle, component)
        return handle

    # --- status -------------------------------------------------------------------------------

    def get_dashboard_url(self) -> str | None:
        """The dashboard's URL (None before `initialize()`)."""
        return self.urls.get("dashboard")

    def get_monitoring_status(self) -> dict[str, Any]:
        """Every part's status, counts, URLs and last errors, as one JSON-able dict."""
        backend = self.backend
        status: dict[str, Any] = {
            "running": self._started and not self._stopped,
            "urls": dict(self.urls),
            "sdk": {"configured_by_coordinator": self.sdk_configured,
                    "endpoint": self.urls.get("otlp_http") if self.sdk_configured else None},
            "components": {name: {"kind": handle.kind, "name": handle.name,
                                  "active": handle.active}
                           for name, handle in self._components.items()},
        }
        if backend is None:
            return status
        stats = backend.pipeline.stats
        workers = backend.workers.status()
        bus = backend.bus.stats()
        status.update({
            "healthy": backend.healthy,
            "uptime_s": round(backend.uptime_s, 3),
            "workers": workers,
            "ingest": {"accepted": dict(stats.accepted), "rejected": dict(stats.rejected),
                       "transactions": stats.transactions,
                       "write_failures": stats.write_failures,
                       "queue_depth": backend.pipeline.depth},
            "performance": {"services": backend.performance.services(),
                            "backlog": backend.performance.backlog},
            "bus": bus,
            "dashboard": {"url": self.urls.get("dashboard"),
                          "websockets": (self.dashboard_server.stats()
                                         if self.dashboard_server is not None
                                         else backend.websockets.stats())},
            "alerting": self._alerting_status(),
            "health": self._health_status(),
            "forwarding": backend.forwarding.stats(),
            "last_errors": [
                *({"source": f"worker {w['name']}", "error": w["last_error"]}
                  for w in workers if w.get("last_error")),
                *({"source": f"bus {s['name']}", "error": s["last_error"]}
                  for s in bus if s.get("last_error")),
                *({"source": f"forwarding {name}", "error": d["last_error"]}
                  for name, d in backend.forwarding.stats().items() if d.get("last_error")),
            ],
        })
        logger.debug("status: healthy=%s, %d components, %d errors", status["healthy"],
                     len(self._components), len(status["last_errors"]))
        return status

    def _alerting_status(self) -> dict[str, Any] | None:
        alerting = self.alerting_system
        if alerting is None:
            return None
        stats = alerting.stats()
        backlog = sum(by_status.get("pending", 0) for by_status in stats["outbox"].values())
        return {**stats, "outbox_backlog": backlog,
                "active_alerts": len(alerting.get_active_alerts())}

    def _health_status(self) -> dict[str, Any] | None:
        health = self.system_health_monitor
        if health is None:
            return None
        return {**health.get_system_summary(),
                "components": {c.name: str(c.status) for c in health.components()}}

    def send_test_alert(self, channel: str | None = None) -> Any:
        """Send a test notification through every channel (or the one named) and report
        per channel whether it was delivered."""
        if self.alerting_system is None:
            raise RuntimeError("alerting is not running in this coordinator")
        return self.alerting_system.send_test_alert(channel)
