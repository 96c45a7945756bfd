import pytest

from tests.support import RunningServer


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One real server per test module, with a fresh data directory."""
    running = RunningServer(tmp_path_factory.mktemp("data"))
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
