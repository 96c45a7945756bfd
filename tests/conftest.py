"""Test-suite wide settings, and the databases storage tests run on."""

import atexit
import os

import pytest
from hypothesis import settings

from tests.postgres_server import PostgresServer, find_bin_dir
from tests.support import DIALECTS, InProcessApp, storage_url_for

# Property tests draw the same examples on every run, so CI cannot turn red on a case nobody
# has seen before; search wider by hand (raise max_examples) when changing the statistics.
settings.register_profile("deterministic", derandomize=True, deadline=None)
settings.load_profile("deterministic")


# --- databases ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server():
    """One real PostgreSQL for the session, stopped at its end whatever happened. Skipped with
    the reason when Debian's `postgresql` is not installed, except under CI, where it fails."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        reason = "PostgreSQL binaries not found (apt-get install postgresql)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI runs every storage test on PostgreSQL too")
        pytest.skip(reason)
    server = PostgresServer(bin_dir)
    atexit.register(server.stop)
    yield server
    server.stop()


@pytest.fixture(params=DIALECTS)
def storage_url(request) -> str | None:
    """Each test runs once on SQLite (None: the data directory's file) and once on a fresh
    PostgreSQL database."""
    return storage_url_for(request, request.param)
@pytest.fixture
def app_client(tmp_path):
    """A fresh in-process backend and app (temporary data dir, manual clock), closed after the
    test: `.get`, `.api`, `.post_otlp`, `.backend`, `.clock`."""
    running = InProcessApp(tmp_path / "data")
    yield running
    running.close()
