"""The backend's running parts in one object: store, event bus, write pipeline, retention worker.

The server builds one `Backend` per worker process after it forks (never at import time) and
closes it on exit, which commits everything still queued.
"""

from __future__ import annotations

import logging
import threading
import time

from tradepulse_backend import __version__
from tradepulse_backend.bus import REPORT_READY, EventBus
from tradepulse_backend.config import MonitoringConfig
from tradepulse_backend.ingest.auth import ApiKeys
from tradepulse_backend.ingest.pipeline import WritePipeline
from tradepulse_backend.ingest.receiver import OtlpReceiver, ReceiverSettings
from tradepulse_backend.performance import PerformanceMonitor
from tradepulse_backend.performance.reports import ReportScheduler
from tradepulse_backend.store import Store

logger = logging.getLogger(__name__)
MAINTENANCE_INTERVAL_S = 1.0


class Backend:
    """Owns the store and the background workers; `start()` then `close()`."""

    def __init__(self, config: MonitoringConfig) -> None:
        self.config = config
        self.version = __version__
        self.started_at = time.time()
        self.store = Store.open(config.storage.database_url, config.storage.data_dir)
        self.store.writer.series_ids.max_new_per_request = (
            config.ingest.max_new_series_per_request)
        self.bus = EventBus()
        self.pipeline = WritePipeline(
            self.store.writer, self.bus,
            max_batches=config.ingest.queue_max_batches,
            group_max_records=config.ingest.write_batch_max_records,
        )
        self.keys = ApiKeys(tuple(key.get_secret_value() for key in config.ingest.api_keys))
        self.receiver = OtlpReceiver(ReceiverSettings(
            keys=self.keys,
            max_body_bytes=config.ingest.max_body_bytes,
            retry_after_seconds=config.ingest.retry_after_seconds,
        ), self.pipeline)
        self.performance = PerformanceMonitor(config.performance_monitor, store=self.store,
                                              bus=self.bus, pipeline=self.pipeline)
        self.reports = ReportScheduler(
            self.performance, config.performance_monitor.reports,
            config.storage.data_dir / "reports",
            deliver=lambda report: self.bus.publish(REPORT_READY, report))
        self.urls: dict[str, str] = {}
        self._grpc = None
        self._stop = threading.Event()
        retention_days = config.performance_monitor.metrics_retention_days
        self._workers = [
            self._periodic("retention", config.storage.retention_check_interval,
                           lambda: self.store.apply_retention(retention_days)),
            self._periodic("maintenance", MAINTENANCE_INTERVAL_S, self.store.maintain),
            self._periodic("performance", config.performance_monitor.update_interval,
                           self.performance.persist),
        ]

    def start(self) -> None:
        self.performance.start()
        self.pipeline.start()
        self.reports.start()
        for worker in self._workers:
            worker.start()
        if self.config.ingest.grpc_port is not None:
            self._start_grpc()

    def _start_grpc(self) -> None:
        from tradepulse_backend.ingest.grpc_receiver import start_grpc_server

        ingest = self.config.ingest
        self._grpc, port = start_grpc_server(
            ingest.host, ingest.grpc_port,
            keys=self.keys, pipeline=self.pipeline,
            max_message_bytes=ingest.max_body_bytes, threads=self.config.server.threads)
        self.urls["otlp_grpc"] = f"{ingest.host}:{port}"

    def close(self) -> None:
        """Commit what is queued, stop the workers and close the database."""
        self._stop.set()
        self.reports.close()
        if self._grpc is not None:
            self._grpc.stop(self.config.server.shutdown_timeout).wait()
        self.pipeline.close(self.config.server.shutdown_timeout)
        self.performance.close()
        for worker in self._workers:
            worker.join(timeout=5)
        self.store.close()
        logger.info("backend stopped")

    @property
    def healthy(self) -> bool:
        return self.pipeline.running

    def _periodic(self, name: str, interval: float, task) -> threading.Thread:
        """A daemon thread running `task` every `interval` seconds until close()."""

        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    task()
                except Exception:
                    logger.exception("%s failed; will try again in %ss", name, interval)

        return threading.Thread(target=loop, name=f"tradepulse-{name}", daemon=True)
