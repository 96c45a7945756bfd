import pytest

from tests.support import RunningServer


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """Start real servers with the given `monitoring` settings; all stop after the module."""
    started: list[RunningServer] = []

    def start(monitoring: dict | None = None, env: dict | None = None) -> RunningServer:
        running = RunningServer(tmp_path_factory.mktemp("data"), monitoring, env)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()
