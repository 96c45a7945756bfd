"""`tradepulse serve`: gunicorn's threaded worker serving the OTLP and dashboard ports.

One gunicorn worker (a single writer for SQLite) with one thread pool per port
(`server_worker.py`); the backend is built in the worker after fork, and each connection is
routed to the app of the port it arrived on. gunicorn is also the server flask-sock supports for
the dashboard's WebSocket. SIGINT, SIGTERM and SIGHUP all stop it cleanly.
"""

from __future__ import annotations

import gc
import logging
import socket
from collections.abc import Callable

from gunicorn.app.base import BaseApplication

from tradepulse_backend.app import create_app
from tradepulse_backend.clock import SystemClock
from tradepulse_backend.config import MonitoringConfig
from tradepulse_backend.dashboard.layouts import LayoutError, catalog_for
from tradepulse_backend.dashboard.security import exposure_warning
from tradepulse_backend.runtime import Backend
from tradepulse_backend.server_worker import PooledThreadWorker, StopOnHupArbiter
from tradepulse_backend.store import Store, StoreUnavailable

logger = logging.getLogger(__name__)

GC_THRESHOLDS = (50_000, 20, 20)
"""The cyclic collector's thresholds in the worker (Python's default is (700, 10, 10))."""

ReadyCallback = Callable[[dict[str, str]], None]


class PortDispatcher:
    """WSGI app that hands each request to the app bound to the local port it came in on."""

    def __init__(self) -> None:
        self.apps: dict[int, Callable] = {}

    def __call__(self, environ: dict, start_response: Callable):
        sock = environ.get("gunicorn.socket")
        port = sock.getsockname()[1] if sock is not None else int(environ["SERVER_PORT"])
        app = self.apps.get(port)
        if app is None:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"no tradepulse service on this port\n"]
        return app(environ, start_response)


class TradepulseServer(BaseApplication):
    """gunicorn application: binds [ingest, dashboard] in that order."""

    def __init__(self, config: MonitoringConfig, on_ready: ReadyCallback | None = None) -> None:
        self.monitoring = config
        self.on_ready = on_ready
        self.backend: Backend | None = None
        self.dispatcher = PortDispatcher()
        super().__init__()

    def load_config(self) -> None:
        c = self.monitoring
        settings = {
            "bind": [f"{c.ingest.host}:{c.ingest.port}", f"{c.dashboard.host}:{c.dashboard.port}"],
            "workers": 1,
            "worker_class": PooledThreadWorker,
            "threads": sum(self.pool_sizes()),
            "keepalive": 75,
            "graceful_timeout": c.server.shutdown_timeout,
            "timeout": 120,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "warning",
            "proc_name": "tradepulse",
            "post_worker_init": self._post_worker_init,
            "worker_exit": self._worker_exit,
        }
        for key, value in settings.items():
            self.cfg.set(key, value)

    def pool_sizes(self) -> tuple[int, int]:
        """Threads of the [ingest, dashboard] pools: the dashboard's REST threads plus one
        per admitted WebSocket."""
        c = self.monitoring
        return c.server.ingest_threads, c.server.api_threads + c.dashboard.max_websockets

    def listener_tls(self) -> tuple[tuple[str, str] | None, tuple[str, str] | None]:
        """(certificate, key) of the [ingest, dashboard] listeners that serve TLS."""
        tls = self.monitoring.dashboard.tls
        dashboard = ((str(tls.cert_file.expanduser()), str(tls.key_file.expanduser()))
                     if tls.enabled else None)
        return None, dashboard

    def stopping(self) -> None:
        """The worker was asked to stop: end the WebSocket streams (cheap; signal-safe)."""
        if self.backend is not None:
            self.backend.dashboard.end_streams()

    def run(self) -> None:
        """gunicorn's run, with a master that treats SIGHUP as a clean stop."""
        try:
            StopOnHupArbiter(self).run()
        except RuntimeError as error:
            raise StartupError(str(error)) from None

    def load(self) -> PortDispatcher:
        self.backend = Backend(self.monitoring, clock=SystemClock())
        self.backend.start()
        return self.dispatcher

    def _post_worker_init(self, worker) -> None:
        addresses = [listener.sock.getsockname() for listener in worker.sockets]
        ingest_port, dashboard_port = addresses[0][1], addresses[1][1]
        self.backend.urls.update(_urls(addresses, tls=self.monitoring.dashboard.tls.enabled))
        self.backend.server_stats = worker.tpool.stats
        self.dispatcher.apps[ingest_port] = self.backend.receiver
        self.dispatcher.apps[dashboard_port] = create_app(backend=self.backend)
        _tune_gc()
        logger.info("listening: %s", self.backend.urls)
        if self.on_ready:
            self.on_ready(self.backend.urls)

    def _worker_exit(self, _server, _worker) -> None:
        if self.backend is not None:
            self.backend.close()


def _tune_gc() -> None:
    """Keep the cyclic garbage collector off the ingest path.

    Ingest keeps a few container objects per data point (records waiting for their commit), so
    with the default threshold the collector ran once or twice per request and every full
    collection walked the whole startup heap (SQLAlchemy, protobuf descriptors, Flask): measured
    at ~15% of the server's CPU on the ingest bench. The startup objects live as long as the
    process, so they are frozen out of collection; records form no cycles (reference counting
    frees them), so the young generation is collected far less often.
    """
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def _urls(addresses: list[tuple], *, tls: bool = False) -> dict[str, str]:
    (ingest_host, ingest_port, *_), (dash_host, dash_port, *_) = addresses
    return {
        "otlp_http": f"http://{_host(ingest_host)}:{ingest_port}",
        "dashboard": f"{'https' if tls else 'http'}://{_host(dash_host)}:{dash_port}/",
    }


def _host(host: str) -> str:
    if host in ("0.0.0.0", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


class StartupError(Exception):
    """The server cannot start; the message says why."""


def serve(config: MonitoringConfig, on_ready: ReadyCallback | None = None) -> None:
    """Run until SIGINT, SIGTERM or SIGHUP; queued writes are committed before it exits.

    The store is opened and migrated once before gunicorn forks, so an unusable data directory
    or database is a clear error here rather than a worker failing to boot.
    """
    _check_ports_free(config)
    _check_dashboard(config)
    try:
        Store.open(config.storage.database_url, config.storage.data_dir).close()
    except (OSError, ValueError, StoreUnavailable) as error:
        raise StartupError(f"cannot open storage at {config.storage.data_dir}: {error}") from None
    TradepulseServer(config, on_ready).run()


def _check_dashboard(config: MonitoringConfig) -> None:
    """Layout files must be valid; an exposed dashboard without auth is warned about."""
    try:
        catalog_for(config.dashboard)
    except LayoutError as error:
        raise StartupError("invalid dashboard layout:\n  " + "\n  ".join(error.errors)
                           ) from None
    if warning := exposure_warning(config.dashboard):
        logger.warning(warning)


def _check_ports_free(config: MonitoringConfig) -> None:
    """Bind each configured port once, so a port in use is one clear error naming its key."""
    listeners = [("ingest.port", config.ingest.host, config.ingest.port),
                 ("ingest.grpc_port", config.ingest.host, config.ingest.grpc_port),
                 ("dashboard.port", config.dashboard.host, config.dashboard.port)]
    for key, host, port in listeners:
        if port and (error := bind_error(host, port)) is not None:
            raise StartupError(
                f"cannot listen on {host}:{port} (monitoring.{key}): {error.strerror}")


def bind_error(host: str, port: int) -> OSError | None:
    """Why binding host:port would fail (as gunicorn binds, with SO_REUSEADDR), or None."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            return error
    return None
