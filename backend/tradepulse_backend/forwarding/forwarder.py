"""The forwarder: every configured destination, fed by the receivers' on-committed hook and
drained by one supervised sender thread each."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tradepulse_backend.clock import Clock
from tradepulse_backend.config.forwarding import ForwardingDestination
from tradepulse_backend.forwarding.destination import Destination
from tradepulse_backend.ingest.committed import CommittedRequest
from tradepulse_backend.workers import Supervisor

logger = logging.getLogger(__name__)
QUEUE_DIRECTORY = "forwarding"


class Forwarder:
    """Hands each committed request to every destination's queue; `stats()` per destination."""

    def __init__(self, destinations: Iterable[ForwardingDestination], data_dir: Path, *,
                 clock: Clock, version: str) -> None:
        user_agent = f"tradepulse/{version}"
        self.destinations: dict[str, Destination] = {}
        try:
            for config in destinations:
                self.destinations[config.name] = Destination(
                    config, data_dir / QUEUE_DIRECTORY / config.name, clock=clock,
                    user_agent=user_agent)
        except BaseException:
            self.close()
            raise

    @property
    def enabled(self) -> bool:
        return bool(self.destinations)

    def submit(self, committed: CommittedRequest) -> None:
        """The receivers' on-committed listener: enqueue only, for every destination."""
        for destination in self.destinations.values():
            try:
                destination.submit(committed)
            except Exception:
                logger.exception("forwarding %s: could not queue a %s request",
                                 destination.name, committed.signal)

    def register(self, supervisor: Supervisor) -> None:
        """One sender thread per destination, named `forward-NAME`."""
        for destination in self.destinations.values():
            supervisor.thread(f"forward-{destination.name}", destination.run,
                              wake=destination.wake)

    def stats(self) -> dict[str, dict[str, Any]]:
        """Counters and queue figures per destination name."""
        return {name: destination.stats() for name, destination in self.destinations.items()}

    def close(self) -> None:
        """Close every queue; what is queued stays on disk for the next start."""
        for destination in self.destinations.values():
            destination.close()
