"""The backend's running parts in one object: store, event bus, write pipeline, retention worker.

The server builds one `Backend` per worker process after it forks (never at import time) and
closes it on exit, which commits everything still queued.
"""

from __future__ import annotations

import logging
import threading
import time

from . import __version__
from .bus import EventBus
from .config import MonitoringConfig
from .ingest.pipeline import WritePipeline
from .ingest.receiver import OtlpReceiver, ReceiverSettings
from .store import Store

logger = logging.getLogger(__name__)


class Backend:
    """Owns the store and the background workers; `start()` then `close()`."""

    def __init__(self, config: MonitoringConfig) -> None:
        self.config = config
        self.version = __version__
        self.started_at = time.time()
        self.store = Store.open(config.storage.database_url, config.storage.data_dir)
        self.bus = EventBus()
        self.pipeline = WritePipeline(
            self.store.writer, self.bus,
            max_batches=config.ingest.queue_max_batches,
            group_max_records=config.ingest.write_batch_max_records,
        )
        self.receiver = OtlpReceiver(_receiver_settings(config), self.pipeline)
        self.urls: dict[str, str] = {}
        self._stop = threading.Event()
        self._retention = threading.Thread(
            target=self._retention_loop, name="tradepulse-retention", daemon=True)

    def start(self) -> None:
        self.pipeline.start()
        self._retention.start()

    def close(self) -> None:
        """Commit what is queued, stop the workers and close the database."""
        self._stop.set()
        self.pipeline.close(self.config.server.shutdown_timeout)
        self._retention.join(timeout=5)
        self.store.close()
        logger.info("backend stopped")

    @property
    def healthy(self) -> bool:
        return self.pipeline.running

    def _retention_loop(self) -> None:
        interval = self.config.storage.retention_check_interval
        days = self.config.performance_monitor.metrics_retention_days
        while not self._stop.wait(interval):
            try:
                self.store.apply_retention(days)
            except Exception:
                logger.exception("retention pass failed; will try again in %ss", interval)


def _receiver_settings(config: MonitoringConfig) -> ReceiverSettings:
    return ReceiverSettings(
        api_keys=tuple(key.get_secret_value() for key in config.ingest.api_keys),
        max_body_bytes=config.ingest.max_body_bytes,
        retry_after_seconds=config.ingest.retry_after_seconds,
    )
