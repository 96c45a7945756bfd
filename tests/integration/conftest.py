import pytest

from tests.support import DIALECTS, RunningServer, storage_url_for


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One real server per test module, with a fresh data directory."""
    running = RunningServer(tmp_path_factory.mktemp("data"))
    yield running
    running.stop()


@pytest.fixture(scope="module", params=DIALECTS)
def server_on_each_database(request, tmp_path_factory):
    """One real server per test module and database: SQLite in a fresh data directory, then
    a fresh PostgreSQL database. A module opts in by defining `server` as this fixture."""
    running = RunningServer(tmp_path_factory.mktemp("data"),
                            storage_url=storage_url_for(request, request.param))
    yield running
    running.stop()


@pytest.fixture
def start_server(tmp_path):
    """Start servers with special configuration; all are stopped after the test."""
    started: list[RunningServer] = []

    def start(monitoring: dict | None = None, *, data_dir=None, env=None,
              storage_url: str | None = None) -> RunningServer:
        running = RunningServer(data_dir or tmp_path / f"data{len(started)}", monitoring, env,
                                storage_url)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()
