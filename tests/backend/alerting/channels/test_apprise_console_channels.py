"""The apprise channel through Apprise's json:// plugin to the local receiver, its missing-extra
error, and the console channel's one log line at the severity's level."""

from __future__ import annotations

import logging
import subprocess
import sys
import time

import pytest

from tests.backend.alerting.channels.notifications import USER_AGENT, make_notification
from tests.backend.alerting.channels.receiver import Reply
from tradepulse_backend.alerting.channels import DeliveryStatus, build_channels
from tradepulse_backend.config.channels import parse_channels


def apprise_channel(*urls: str, timeout: float = 5):
    configs = parse_channels({"apprise": {"urls": list(urls), "timeout": timeout}})
    return build_channels(configs, user_agent=USER_AGENT)["apprise"]


def json_url(receiver, path: str) -> str:
    return f"json://127.0.0.1:{receiver.port}{path}"


def test_apprise_delivers_title_and_body_through_json_url(receiver):
    channel = apprise_channel(json_url(receiver, "/notify"))
    assert channel.send(make_notification()).ok
    [request] = receiver.requests
    assert request.path == "/notify"
    body = request.json()
    assert body["title"] == "[FIRING] CRITICAL Portfolio Loss Alert"
    assert "Daily loss is -5.20% on bot-1" in body["message"]
    assert "daily_return: -5.20%" in body["message"]
    assert body["type"] == "failure"


def test_apprise_resolved_is_a_success_notification(receiver):
    assert apprise_channel(json_url(receiver, "/n")).send(make_notification(status="resolved")).ok
    assert receiver.requests[0].json()["type"] == "success"


def test_apprise_failure_is_retried_only_for_urls_that_failed(receiver):
    channel = apprise_channel(json_url(receiver, "/first"), json_url(receiver, "/second"))
    receiver.script(Reply(200), Reply(500, b"down"))
    result = channel.send(make_notification())
    assert result.status is DeliveryStatus.RETRY
    assert result.detail == "1 of 2 Apprise URLs failed: urls[1]"
    assert channel.send(make_notification()).ok
    assert [r.path for r in receiver.requests] == ["/first", "/second", "/second"]


def test_apprise_url_password_stays_out_of_repr_and_logs(receiver, caplog):
    secret = "apprise-Secr3t-token"
    configs = parse_channels({"apprise": {"urls": [
        f"json://user:{secret}@127.0.0.1:{receiver.port}/x"]}})
    assert secret not in repr(configs) and secret not in configs["apprise"].model_dump_json()
    channel = build_channels(configs, user_agent=USER_AGENT)["apprise"]
    receiver.script(Reply(500, b"nope"))
    with caplog.at_level(logging.DEBUG):
        result = channel.send(make_notification())
    assert result.status is DeliveryStatus.RETRY
    assert secret not in result.detail and secret not in repr(channel)
    assert secret not in caplog.text


def test_invalid_apprise_url_is_named_by_index_not_value():
    with pytest.raises(ValueError, match=r"urls\[1\] is not a valid Apprise URL") as error:
        apprise_channel("json://127.0.0.1/", "nosuchscheme://Secr3t")
    assert "Secr3t" not in str(error.value)


def test_missing_apprise_extra_names_the_extra():
    script = (
        "import sys; sys.modules['apprise'] = None\n"
        "from tradepulse_backend.alerting.channels import build_channels, "
        "ChannelUnavailableError\n"
        "from tradepulse_backend.config.channels import parse_channels\n"
        "try:\n"
        "    build_channels(parse_channels({'tg': {'type': 'apprise', 'urls': ['tgram://x/y']}}),"
        " user_agent='t')\n"
        "except ChannelUnavailableError as error:\n"
        "    print(error)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, check=True)
    assert "channel 'tg'" in done.stdout
    assert "pip install 'tradepulse[apprise]'" in done.stdout


@pytest.mark.parametrize(("severity", "level"), [
    ("info", logging.INFO), ("warning", logging.WARNING), ("critical", logging.CRITICAL)])
def test_console_logs_one_line_at_the_severity_level(caplog, severity, level):
    console = build_channels(parse_channels({"console": {}}), user_agent=USER_AGENT)["console"]
    note = make_notification(severity=severity, text="Daily loss\nis -5.20%",
                             suppressed_note="+1 alerts suppressed by rate limit since 09:00: x")
    with caplog.at_level(logging.DEBUG, logger="tradepulse.alerts"):
        assert console.send(note).ok
    [record] = [r for r in caplog.records if r.name == "tradepulse.alerts"]
    assert record.levelno == level
    line = record.getMessage()
    assert "\n" not in line
    assert line.startswith("[FIRING] Portfolio Loss Alert | Daily loss is -5.20%")
    assert "daily_return=-5.20%" in line and "+1 alerts suppressed" in line


def test_apprise_sends_our_user_agent(receiver):
    assert apprise_channel(json_url(receiver, "/ua")).send(make_notification()).ok
    assert receiver.requests[0].headers["user-agent"] == USER_AGENT


def test_apprise_hang_past_timeout_is_retryable(receiver):
    receiver.script(Reply(hang=10))
    started = time.monotonic()
    result = apprise_channel(json_url(receiver, "/slow"), timeout=0.5).send(make_notification())
    assert result.status is DeliveryStatus.RETRY
    assert time.monotonic() - started < 5  # bounded by the channel's timeout, not the hang
