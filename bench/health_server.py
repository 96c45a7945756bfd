"""`tradepulse serve` with N registered health checkers (half sync, half async, each a cheap
real check), for the health bench.

    python -m bench.health_server CHECKERS serve --config FILE ...
"""

from __future__ import annotations

import asyncio
import os
import sys

from tradepulse_backend import cli
from tradepulse_backend.runtime import Backend


def _sync_check() -> bool:
    """A cheap real check: the data directory is reachable."""
    return os.path.isdir(os.getcwd())


async def _async_check() -> tuple[str, str]:
    await asyncio.sleep(0)
    return "healthy", "ok"


def _with_checkers(start, count: int):
    def started(backend: Backend) -> None:
        start(backend)
        for i in range(count):
            check = _async_check if i % 2 else _sync_check
            backend.health.register_health_checker(f"bench-check-{i}", check)

    return started


if __name__ == "__main__":
    Backend.start = _with_checkers(Backend.start, int(sys.argv[1]))
    sys.exit(cli.main(sys.argv[2:]))
