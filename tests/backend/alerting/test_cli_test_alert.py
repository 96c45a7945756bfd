"""`tradepulse test-alert` reports per channel whether a test notification arrived."""

from __future__ import annotations

import yaml

from tests.backend.alerting.receiver import Receiver
from tradepulse_backend.cli import main


def write(tmp_path, url):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"monitoring": {"alerting_system": {"channels": {
        "console": {}, "webhook": {"url": f"{url}/hook", "timeout": 2}}}}}))
    return path


def test_every_channel_reports_delivered(tmp_path, capsys):
    receiver = Receiver()
    try:
        assert main(["test-alert", "--config", str(write(tmp_path, receiver.url))]) == 0
    finally:
        receiver.close()
    out = capsys.readouterr().out
    assert "console: delivered" in out and "webhook: delivered" in out
    (path, _headers, body), = receiver.requests
    assert path == "/hook" and body["alerts"][0]["labels"]["alertname"] == "tradepulse_test"


def test_a_down_channel_is_reported_with_the_reason(tmp_path, capsys):
    receiver = Receiver()
    url = receiver.url
    receiver.close()                                    # nothing listens there now
    code = main(["test-alert", "--channel", "webhook", "--config", str(write(tmp_path, url))])
    assert code == 1
    assert "webhook: FAILED (retry): connection failed" in capsys.readouterr().out
    assert main(["test-alert", "--channel", "pager", "--config",
                 str(write(tmp_path, url))]) == 2
