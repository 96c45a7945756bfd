"""`tradepulse serve` with one deliberately slow bus subscriber (sleeps 1 s per stored batch),
for the ingest bench: ingest must not slow down with it.

    python -m bench.slow_subscriber_server serve --config FILE ...
"""

from __future__ import annotations

import sys
import time

from tradepulse_backend import cli
from tradepulse_backend.bus import TelemetryStored, drop_oldest
from tradepulse_backend.runtime import Backend

SLEEP_S = 1.0
CAPACITY = 64
"""Batches it may hold; the rest are dropped (and counted), as the bus promises."""


def _sleep(_event: TelemetryStored) -> None:
    time.sleep(SLEEP_S)


def _with_slow_subscriber(start):
    def started(backend: Backend) -> None:
        backend.bus.subscribe(TelemetryStored, _sleep, name="bench-slow", overflow=drop_oldest,
                              capacity=CAPACITY)
        start(backend)

    return started


if __name__ == "__main__":
    Backend.start = _with_slow_subscriber(Backend.start)
    sys.exit(cli.main(sys.argv[1:]))
