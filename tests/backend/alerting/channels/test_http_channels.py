"""Slack, Discord, webhook and Alertmanager channels against a local HTTP receiver: payloads,
headers and signatures, and each failure mapped to the DeliveryResult the outbox acts on."""

from __future__ import annotations

import hashlib
import hmac
import logging
from email.utils import formatdate

import pytest

from tests.backend.alerting.channels.notifications import USER_AGENT, make_notification
from tests.backend.alerting.channels.receiver import Reply, refused_url
from tradepulse_backend.alerting.channels import DeliveryStatus, build_channels
from tradepulse_backend.config.channels import parse_channels


def channel(name: str, settings: dict, clock=None):
    return build_channels(parse_channels({name: settings}), user_agent=USER_AGENT,
                          clock=clock)[name]


def assert_common_headers(request, key: str) -> None:
    assert request.headers["user-agent"] == USER_AGENT
    assert request.headers["idempotency-key"] == key
    assert request.headers["content-type"] == "application/json"


def test_webhook_sends_alertmanager_v4_payload_signed_with_hmac(receiver):
    webhook = channel("webhook", {"url": receiver.url("/hook"), "hmac_secret": "s3cret-hmac",
                                  "headers": {"X-Team": "risk"}})
    note = make_notification()
    result = webhook.send(note)
    assert result.status is DeliveryStatus.OK
    [request] = receiver.requests
    assert request.path == "/hook"
    assert_common_headers(request, note.key)
    assert request.headers["x-team"] == "risk"
    expected = hmac.new(b"s3cret-hmac", request.body, hashlib.sha256).hexdigest()
    assert request.headers["x-tradepulse-signature"] == f"sha256={expected}"
    body = request.json()
    assert body["version"] == "4"
    assert body["groupKey"] == note.group_key
    assert body["status"] == "firing"
    assert body["receiver"] == "email"
    assert body["groupLabels"] == {"alertname": "portfolio_loss_alert"}
    assert body["commonLabels"]["service"] == "bot-1"
    assert body["commonAnnotations"]["summary"] == "Portfolio Loss Alert"
    assert body["externalURL"] == "http://127.0.0.1:8080/"
    [alert] = body["alerts"]
    assert set(alert) >= {"status", "labels", "annotations", "startsAt", "endsAt",
                          "fingerprint", "generatorURL"}
    assert alert["fingerprint"] == "abc123"


def test_webhook_without_hmac_secret_sends_no_signature(receiver):
    assert channel("webhook", {"url": receiver.url()}).send(make_notification()).ok
    assert "x-tradepulse-signature" not in receiver.requests[0].headers


def test_slack_incoming_webhook_gets_block_kit_with_colour_bar_fields_and_link(receiver):
    slack = channel("slack", {"webhook_url": receiver.url("/services/T0/B0/xyz")})
    note = make_notification(suppressed_note="+2 alerts suppressed by rate limit since 09:00: a, b")
    assert slack.send(note).ok
    [request] = receiver.requests
    assert request.path == "/services/T0/B0/xyz"
    assert_common_headers(request, note.key)
    body = request.json()
    assert "Portfolio Loss Alert" in body["text"]
    [attachment] = body["attachments"]
    assert attachment["color"] == "#eb5757"
    blocks = {block["type"]: block for block in attachment["blocks"]}
    assert "CRITICAL Portfolio Loss Alert" in blocks["header"]["text"]["text"]
    fields = [f["text"] for block in attachment["blocks"] if block["type"] == "section"
              for f in block.get("fields", [])]
    assert "*daily_return*\n-5.20%" in fields
    assert "+2 alerts suppressed" in blocks["context"]["elements"][0]["text"]
    assert blocks["actions"]["elements"][0]["url"] == "http://127.0.0.1:8080/"


def test_slack_resolved_is_green(receiver):
    slack = channel("slack", {"webhook_url": receiver.url()})
    assert slack.send(make_notification(status="resolved")).ok
    assert receiver.requests[0].json()["attachments"][0]["color"] == "#27ae60"


def test_slack_bot_token_posts_to_chat_post_message_with_channel(receiver):
    slack = channel("slack", {"bot_token": "xoxb-secret-token", "channel": "#trading-alerts",
                              "api_url": receiver.url("/api")})
    note = make_notification()
    assert slack.send(note).ok
    [request] = receiver.requests
    assert request.path == "/api/chat.postMessage"
    assert request.headers["authorization"] == "Bearer xoxb-secret-token"
    assert_common_headers(request, note.key)
    assert request.json()["channel"] == "#trading-alerts"


@pytest.mark.parametrize(("error", "status"), [
    ("channel_not_found", DeliveryStatus.PERMANENT),
    ("invalid_auth", DeliveryStatus.PERMANENT),
    ("internal_error", DeliveryStatus.RETRY),
])
def test_slack_api_ok_false_is_classified_by_error(receiver, error, status):
    slack = channel("slack", {"bot_token": "xoxb-secret-token", "channel": "C1",
                              "api_url": receiver.url("/api")})
    receiver.script(Reply(200, f'{{"ok":false,"error":"{error}"}}'.encode()))
    result = slack.send(make_notification())
    assert result.status is status
    assert error in result.detail


def test_discord_embed_coloured_by_severity_with_username_and_fields(receiver):
    discord = channel("discord", {"webhook_url": receiver.url("/api/webhooks/1/tok"),
                                  "username": "RiskBot"})
    note = make_notification(severity="warning")
    assert discord.send(note).ok
    [request] = receiver.requests
    assert_common_headers(request, note.key)
    body = request.json()
    assert body["username"] == "RiskBot"
    [embed] = body["embeds"]
    assert embed["color"] == 0xF2C94C
    assert embed["url"] == "http://127.0.0.1:8080/"
    assert {"name": "daily_return", "value": "-5.20%", "inline": True} in embed["fields"]
    assert embed["description"] == note.text


def test_alertmanager_channel_posts_v2_alerts_with_ends_at_ahead(receiver, clock):
    manager = channel("alertmanager", {"url": receiver.url("/am/"), "resend_interval": 30},
                      clock=clock)
    assert manager.resend_interval == 30
    note = make_notification()
    assert manager.send(note).ok
    [request] = receiver.requests
    assert request.path == "/am/api/v2/alerts"
    assert_common_headers(request, note.key)
    [alert] = request.json()
    assert alert["labels"]["alertname"] == "portfolio_loss_alert"
    assert alert["labels"]["trading_broker"] == "alpaca"
    assert alert["annotations"]["summary"] == "Portfolio Loss Alert"
    assert alert["startsAt"] == "2026-11-26T09:30:00.000Z"
    assert alert["generatorURL"] == "http://127.0.0.1:8080/alerts/abc123"
    # ManualClock starts at 1_700_000_000 s; firing alerts stay valid for 4 resend intervals.
    assert alert["endsAt"] == "2023-11-14T22:15:20.000Z"


def test_alertmanager_defaults_to_resend_every_minute(receiver):
    assert channel("alertmanager", {"url": receiver.url()}).resend_interval == 60


HTTP_CHANNELS = {
    "webhook": lambda url: {"url": url},
    "slack": lambda url: {"webhook_url": url},
    "discord": lambda url: {"webhook_url": url},
    "alertmanager": lambda url: {"url": url},
}


@pytest.fixture(params=sorted(HTTP_CHANNELS))
def http_channel(request, receiver, clock):
    name = request.param
    settings = {**HTTP_CHANNELS[name](receiver.url("/x")), "timeout": 0.3}
    return channel(name, settings, clock=clock)


def test_server_error_is_retryable(http_channel, receiver):
    receiver.script(Reply(500, b"upstream broke"))
    result = http_channel.send(make_notification())
    assert result.status is DeliveryStatus.RETRY
    assert "HTTP 500" in result.detail
    assert http_channel.send(make_notification()).ok
    assert len(receiver.requests) == 2


def test_hang_past_timeout_is_retryable(http_channel, receiver):
    receiver.script(Reply(hang=5))
    result = http_channel.send(make_notification())
    assert result.status is DeliveryStatus.RETRY
    assert "timed out after 0.3 s" in result.detail


def test_429_with_retry_after_seconds_is_retry_after(http_channel, receiver):
    receiver.script(Reply(429, b"slow down", {"Retry-After": "7"}))
    result = http_channel.send(make_notification())
    assert result.status is DeliveryStatus.RETRY
    assert result.retry_after == 7


def test_429_with_retry_after_http_date_counts_from_the_reply_date(http_channel, receiver):
    now = 1_800_000_000
    receiver.script(Reply(429, b"", {"Retry-After": formatdate(now + 90, usegmt=True),
                                     "Date": formatdate(now, usegmt=True)}))
    result = http_channel.send(make_notification())
    assert result.status is DeliveryStatus.RETRY
    assert result.retry_after == 90


@pytest.mark.parametrize("status", [400, 401, 404, 410])
def test_other_client_errors_are_permanent(http_channel, receiver, status):
    receiver.script(Reply(status, b"nope"))
    result = http_channel.send(make_notification())
    assert result.status is DeliveryStatus.PERMANENT
    assert f"HTTP {status}" in result.detail


@pytest.mark.parametrize("name", sorted(HTTP_CHANNELS))
def test_connection_refused_is_retryable(name):
    sender = channel(name, {**HTTP_CHANNELS[name](refused_url()), "timeout": 2})
    result = sender.send(make_notification())
    assert result.status is DeliveryStatus.RETRY
    assert "connection failed" in result.detail


SECRET = "TOPSECRET-9f8e7d"


@pytest.mark.parametrize(("name", "settings"), [
    ("webhook", lambda url: {"url": url, "hmac_secret": SECRET,
                             "headers": {"Authorization": f"Bearer {SECRET}"}}),
    ("slack", lambda url: {"webhook_url": f"{url}/{SECRET}"}),
    ("slack", lambda url: {"bot_token": SECRET, "channel": "C1", "api_url": url}),
    ("discord", lambda url: {"webhook_url": f"{url}/{SECRET}"}),
    ("alertmanager", lambda url: {"url": url, "headers": {"Authorization": SECRET}}),
    ("alertmanager", lambda url: {"url": url, "basic_auth": {"username": "am",
                                                             "password": SECRET}}),
])
def test_secrets_stay_out_of_repr_logs_and_error_details(receiver, caplog, name, settings):
    configs = parse_channels({name: settings(receiver.url("/s"))})
    sender = build_channels(configs, user_agent=USER_AGENT)[name]
    assert SECRET not in repr(configs) and SECRET not in str(configs)
    assert SECRET not in configs[name].model_dump_json()
    assert SECRET not in repr(sender)
    # A receiver echoing the secret back must not get it into the detail either.
    receiver.script(Reply(400, f"bad request for {SECRET}".encode()),
                    Reply(500, f"auth {SECRET} failed".encode()))
    with caplog.at_level(logging.DEBUG):
        details = [sender.send(make_notification()).detail for _ in range(2)]
    refused = build_channels(parse_channels({name: settings(refused_url())}),
                             user_agent=USER_AGENT)[name]
    with caplog.at_level(logging.DEBUG):
        details.append(refused.send(make_notification()).detail)
    assert all(SECRET not in detail for detail in details), details
    assert "********" in details[0]
    assert SECRET not in caplog.text


def test_report_without_alerts_is_titled_plainly_and_not_forwarded_to_alertmanager(receiver):
    report = make_notification(alerts=(), severity="info", title="Performance report bot-1")
    assert channel("discord", {"webhook_url": receiver.url("/d")}).send(report).ok
    assert receiver.requests[0].json()["embeds"][0]["title"] == "Performance report bot-1"
    result = channel("alertmanager", {"url": receiver.url("/am")}).send(report)
    assert result.ok and result.detail == "no alerts to forward"
    assert len(receiver.requests) == 1


def test_basic_auth_is_sent_as_an_authorization_header(receiver):
    manager = channel("alertmanager", {"url": receiver.url(), "basic_auth": {
        "username": "tp", "password": "pw-123"}})
    assert manager.send(make_notification()).ok
    assert receiver.requests[0].headers["authorization"] == "Basic dHA6cHctMTIz"
