"""Fixtures for channel tests: the local HTTP receiver and a manual clock."""

from __future__ import annotations

import pytest

from tests.backend.alerting.channels.receiver import Receiver
from tradepulse_backend.clock import ManualClock


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()
