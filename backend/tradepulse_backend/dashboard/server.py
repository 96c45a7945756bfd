"""DashboardServer: owns the `/ws` endpoint and the registry of connected clients.

Admission (`dashboard.max_websockets`, via the backend's `Admission`) caps open WebSockets,
each of which holds one thread of the dashboard pool for its life; the pool is sized REST
threads plus that cap, so WebSockets never take REST or ingest threads. Fan-out only puts
into each client's bounded queue (never waits), so a slow client delays no one.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from flask import Flask

from tradepulse_backend.clock import Clock, SystemClock
from tradepulse_backend.config.dashboard import WebSocketConfig
from tradepulse_backend.dashboard import ws
from tradepulse_backend.dashboard.client import Client, Message
from tradepulse_backend.dashboard.manager import DashboardManager
from tradepulse_backend.workers import Admission

logger = logging.getLogger(__name__)


class DashboardServer:
    """The live side of the dashboard: clients, their admission, fan-out and counters."""

    def __init__(self, manager: DashboardManager, admission: Admission,
                 settings: WebSocketConfig | None = None, clock: Clock | None = None) -> None:
        self.manager = manager
        self.admission = admission
        self.settings = settings or WebSocketConfig()
        self.clock = clock or SystemClock()
        self._clients: set[Client] = set()
        self._lock = threading.Lock()
        self._closed_totals = {"sent": 0, "resyncs": 0, "dropped": 0}
        self.connections = 0
        self.closing = threading.Event()

    def start(self) -> None:
        """Follow the bus through the manager."""
        self.manager.start(self.broadcast, self.resync_all, self.has_clients)

    def end_streams(self) -> None:
        """Ask every open connection to end (they close with a close frame)."""
        self.closing.set()
        for client in self.clients():
            client.wake.set()

    def close(self) -> None:
        """Stop following the bus and end every open connection."""
        self.end_streams()
        self.manager.close()

    def init_app(self, app: Flask) -> None:
        """Serve `/ws` on this app."""
        ws.register(app, self)

    # --- registry -------------------------------------------------------------------------

    def add(self, client: Client) -> None:
        with self._lock:
            self._clients.add(client)
            self.connections += 1

    def remove(self, client: Client) -> None:
        with self._lock:
            if client in self._clients:
                self._clients.discard(client)
                self._closed_totals["sent"] += client.sent
                self._closed_totals["resyncs"] += client.resyncs
                self._closed_totals["dropped"] += client.dropped

    def clients(self) -> list[Client]:
        with self._lock:
            return list(self._clients)

    def has_clients(self) -> bool:
        return bool(self._clients)

    # --- fan-out --------------------------------------------------------------------------

    def broadcast(self, messages: list[Message]) -> None:
        """Queue messages for every client that follows them; never waits on a client."""
        for client in self.clients():
            client.put_many(messages)

    def resync_all(self) -> None:
        """Every client sends `resync` and a fresh snapshot next."""
        for client in self.clients():
            client.force_resync()

    def stats(self) -> dict[str, Any]:
        """What `/api/v1/status` shows under `websockets`."""
        clients = self.clients()
        totals = dict(self._closed_totals)
        for client in clients:
            totals["sent"] += client.sent
            totals["resyncs"] += client.resyncs
            totals["dropped"] += client.dropped
        return {**self.admission.stats(), "connections_total": self.connections,
                "clients": len(clients), "queued": sum(c.depth for c in clients),
                "client_queue": self.settings.client_queue,
                "heartbeat_interval_s": self.settings.heartbeat_interval,
                "messages_sent": totals["sent"], "resyncs": totals["resyncs"],
                "dropped_messages": totals["dropped"]}
