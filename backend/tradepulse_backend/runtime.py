"""The backend's running parts in one object: store, event bus, write pipeline, performance
monitor, and the supervisor watching every background worker.

The server builds one `Backend` per worker process after it forks (never at import time) and
closes it on exit, which commits everything still queued. One `Clock` is made here (or passed
in by a test) and handed to every part that reads time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from tradepulse_backend import __version__
from tradepulse_backend.alerting import AlertingSystem, build_pipeline
from tradepulse_backend.bus import EventBus, ReportReady
from tradepulse_backend.clock import Clock, SystemClock
from tradepulse_backend.config import MonitoringConfig
from tradepulse_backend.config.storage import ChunkConfig
from tradepulse_backend.dashboard.layouts import catalog_for
from tradepulse_backend.dashboard.manager import DashboardManager
from tradepulse_backend.dashboard.server import DashboardServer
from tradepulse_backend.forwarding import Forwarder
from tradepulse_backend.health import HEALTH_FIGURES, SystemHealthMonitor
from tradepulse_backend.ingest.auth import ApiKeys
from tradepulse_backend.ingest.pipeline import WritePipeline
from tradepulse_backend.ingest.receiver import OtlpReceiver, ReceiverSettings
from tradepulse_backend.performance import PerformanceMonitor
from tradepulse_backend.performance.reports import ReportScheduler
from tradepulse_backend.store import ChunkSettings, Store, TierRetention
from tradepulse_backend.workers import Admission, Supervisor

logger = logging.getLogger(__name__)
MAINTENANCE_INTERVAL_S = 1.0


class Backend:
    """Owns the store and the background workers; `start()` then `close()`."""

    def __init__(self, config: MonitoringConfig, clock: Clock | None = None) -> None:
        self.config = config
        self.version = __version__
        self.clock = clock or SystemClock()
        self.started_monotonic = self.clock.monotonic()
        self.store = Store.open(
            config.storage.database_url, config.storage.data_dir, clock=self.clock,
            max_new_series_per_request=config.ingest.max_new_series_per_request,
            chunk_settings=chunk_settings(config.storage.chunks),
            journal_size_limit=config.storage.chunks.journal_size_limit)
        self.workers = Supervisor(self.clock)
        self.bus = EventBus(supervisor=self.workers)
        self.pipeline = WritePipeline(
            self.store.writer, self.bus,
            max_batches=config.ingest.queue_max_batches,
            group_max_records=config.ingest.write_batch_max_records,
            commit_timeout=config.ingest.commit_timeout,
        )
        self.forwarding = Forwarder(config.forwarding, config.storage.data_dir,
                                    clock=self.clock, version=self.version)
        self.keys = ApiKeys(tuple(key.get_secret_value() for key in config.ingest.api_keys))
        self.receiver = OtlpReceiver(ReceiverSettings(
            keys=self.keys,
            max_body_bytes=config.ingest.max_body_bytes,
            retry_after_seconds=config.ingest.retry_after_seconds,
        ), self.pipeline, on_committed=self._committed_listener())
        self.performance = PerformanceMonitor(config.performance_monitor, store=self.store,
                                              bus=self.bus, pipeline=self.pipeline,
                                              clock=self.clock)
        self.reports = ReportScheduler(
            self.performance, config.performance_monitor.reports,
            config.storage.data_dir / "reports",
            deliver=lambda report: self.bus.publish(ReportReady(report)), clock=self.clock)
        self.websockets = Admission(config.dashboard.max_websockets)
        self.health = SystemHealthMonitor(
            config.system_health, clock=self.clock, store=self.store, bus=self.bus,
            pipeline=self.pipeline, workers=self.workers, websockets=self.websockets,
            retention_days=config.performance_monitor.metrics_retention_days)
        self.alerting: AlertingSystem = build_pipeline(
            config.alerting_system, store=self.store, clock=self.clock, bus=self.bus,
            user_agent=f"tradepulse/{__version__}", snapshots=self.performance.snapshots,
            external_url=lambda: self.urls.get("dashboard", ""),
            report_channels=config.performance_monitor.reports.channels,
            health=self.health, health_names=HEALTH_FIGURES)
        self.health.add_backend_gauge("outbox_backlog", self.alerting.outbox_backlog)
        self.dashboard = DashboardServer(
            DashboardManager(performance=self.performance, store=self.store, bus=self.bus,
                             layouts=catalog_for(config.dashboard),
                             default_layout=config.dashboard.layout),
            self.websockets, config.dashboard.websocket, clock=self.clock)
        self.urls: dict[str, str] = {}
        self.server_stats: Callable[[], dict[str, Any]] | None = None
        self._grpc = None
        self._closed = False

    def start(self) -> None:
        """Register every worker, consumers before producers (they stop in reverse), and
        start them."""
        self.performance.start()
        self.forwarding.register(self.workers)
        self.health.start()
        if self.config.alerting_system.enabled:
            self.alerting.start(self.workers)
        self.dashboard.start()
        self.workers.service("writer", start=self.pipeline.start, stop=self.pipeline.close,
                             alive=lambda: self.pipeline.running)
        self._register_periodic()
        if self.config.ingest.grpc_port is not None:
            self.workers.service("grpc", start=self._start_grpc, stop=self._stop_grpc,
                                 alive=self._grpc_serving)
        self.workers.start()

    def _register_periodic(self) -> None:
        config = self.config
        retention_days = config.performance_monitor.metrics_retention_days
        self.workers.every("maintenance", MAINTENANCE_INTERVAL_S, self.store.maintain)
        tiers = tier_retention(config)
        self.workers.every(
            "retention", config.storage.retention_check_interval,
            lambda: self.store.apply_retention(retention_days, now_ns=self.clock.now_ns(),
                                               tiers=tiers))
        self.workers.every("compaction", config.storage.chunks.interval,
                           lambda: self.store.seal(self.clock.now_ns()))
        self.workers.every("persist", config.performance_monitor.update_interval,
                           self.performance.persist)
        if config.performance_monitor.reports.enabled:
            self.workers.schedule("reports", self.reports.seconds_until_due,
                                  self.reports.run_due)
        self.health.schedule()

    def _start_grpc(self) -> None:
        from tradepulse_backend.ingest.grpc_receiver import start_grpc_server

        ingest = self.config.ingest
        self._grpc, port = start_grpc_server(
            ingest.host, ingest.grpc_port,
            keys=self.keys, pipeline=self.pipeline,
            max_message_bytes=ingest.max_body_bytes, threads=self.config.server.ingest_threads,
            on_committed=self._committed_listener())
        self.urls["otlp_grpc"] = f"{ingest.host}:{port}"

    def _committed_listener(self):
        """The receivers' hook for committed requests: forwarding's queues, when configured
        (None keeps the ingest path free of it)."""
        return self.forwarding.submit if self.forwarding.enabled else None

    def _stop_grpc(self, timeout: float) -> None:
        if self._grpc is not None:
            self._grpc.stop(timeout).wait()

    def _grpc_serving(self) -> bool:
        """True while the gRPC server runs: waiting zero seconds for its end times out."""
        return self._grpc is not None and self._grpc.wait_for_termination(timeout=0)

    def close(self) -> None:
        """Stop taking telemetry, commit what is queued, let the subscribers absorb it, save
        the monitor's state, and close the database."""
        if self._closed:
            return
        self._closed = True
        self.dashboard.close()
        self.workers.stop(self.config.server.shutdown_timeout)
        self.performance.close()
        self.forwarding.close()
        self.health.close()
        self.alerting.close()
        self.store.close()
        logger.info("backend stopped")

    @property
    def healthy(self) -> bool:
        """Every worker runs (none has died) and the write pipeline takes writes."""
        return self.workers.healthy and self.pipeline.running

    @property
    def uptime_s(self) -> float:
        return self.clock.monotonic() - self.started_monotonic


def chunk_settings(chunks: ChunkConfig) -> ChunkSettings:
    """The store's chunk settings from `storage.chunks`."""
    return ChunkSettings(window_ns=int(chunks.window * 1e9),
                         seal_delay_ns=int(chunks.seal_delay * 1e9),
                         max_windows_per_run=chunks.max_windows_per_run)


def tier_retention(config: MonitoringConfig) -> TierRetention:
    """`storage.retention`, whose raw tier `performance_monitor.metrics_retention_days` sets
    when only that one is given (the seed's setting keeps working)."""
    tiers = config.storage.retention
    raw = tiers.raw
    if ("raw" not in tiers.model_fields_set
            and "metrics_retention_days" in config.performance_monitor.model_fields_set):
        raw = config.performance_monitor.metrics_retention_days
    return TierRetention(raw_days=raw, minute_days=tiers.one_minute, hour_days=tiers.one_hour)
