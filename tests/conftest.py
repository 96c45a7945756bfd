"""Test-suite wide settings."""

import pytest
from hypothesis import settings

from tests.support import InProcessApp

# Property tests draw the same examples on every run, so CI cannot turn red on a case nobody
# has seen before; search wider by hand (raise max_examples) when changing the statistics.
settings.register_profile("deterministic", derandomize=True, deadline=None)
settings.load_profile("deterministic")


@pytest.fixture
def app_client(tmp_path):
    """A fresh in-process backend and app (temporary data dir, manual clock), closed after the
    test: `.get`, `.api`, `.post_otlp`, `.backend`, `.clock`."""
    running = InProcessApp(tmp_path / "data")
    yield running
    running.close()
