"""Channel config: `type` defaults to the channel's name, every error names its key path,
TLS defaults follow the port, and secrets are masked wherever the config is shown."""

from __future__ import annotations

import pytest

from tradepulse_backend.config import ConfigError, load_config, redacted
from tradepulse_backend.config.channels import (
    ChannelConfigError,
    ConsoleChannelConfig,
    EmailChannelConfig,
    SlackChannelConfig,
    WebhookChannelConfig,
    default_channels,
    parse_channels,
)

EMAIL = {"smtp_server": "smtp.example.com", "smtp_port": 587, "sender_email": "a@example.com",
         "sender_password": "pw-123456", "recipients": ["risk@example.com"]}


def errors_of(raw) -> list[str]:
    with pytest.raises(ChannelConfigError) as error:
        parse_channels(raw)
    return error.value.errors


def test_type_defaults_to_the_channel_name():
    channels = parse_channels({"email": EMAIL, "console": {}, "ops-hook": {
        "type": "webhook", "url": "https://hooks.example.com/x"}})
    assert isinstance(channels["email"], EmailChannelConfig)
    assert isinstance(channels["console"], ConsoleChannelConfig)
    assert isinstance(channels["ops-hook"], WebhookChannelConfig)


def test_seed_email_keys_are_accepted_and_tls_follows_the_port():
    assert parse_channels({"email": EMAIL})["email"].security == "starttls"
    assert parse_channels({"email": {**EMAIL, "smtp_port": 465}})["email"].security == "ssl"
    assert parse_channels({"email": {**EMAIL, "smtp_port": 25}})["email"].security == "starttls"
    relay = {**EMAIL, "smtp_port": 25, "security": "none"}
    del relay["sender_password"]
    assert parse_channels({"email": relay})["email"].security == "none"


def test_password_over_plaintext_smtp_is_refused():
    assert errors_of({"email": {**EMAIL, "security": "none"}}) == [
        "channels.email: sender_password would be sent unencrypted; use security starttls or ssl"]


@pytest.mark.parametrize(("raw", "expected"), [
    ({"email": {**EMAIL, "smtp_sever": "x"}},
     "channels.email: unknown key 'smtp_sever'; did you mean 'smtp_server'?"),
    ({"email": {**EMAIL, "recipients": []}},
     "channels.email.recipients: List should have at least 1 item after validation, not 0"),
    ({"email": {**EMAIL, "security": "tls"}},
     "channels.email.security: Input should be 'starttls', 'ssl' or 'none'"),
    ({"telegram": {"urls": ["tgram://x/y"]}},
     "channels.telegram: unknown channel type 'telegram'; set type to one of: email, slack, "
     "discord, webhook, alertmanager, apprise, console"),
    ({"hook": {"type": "webhook", "url": "ftp://x"}},
     "channels.hook.url: must be an http:// or https:// URL"),
    ({"slack": {}}, "channels.slack: set either webhook_url, or bot_token together with channel"),
    ({"slack": {"bot_token": "xoxb-1"}}, "channels.slack: bot_token needs a channel to post to"),
    ({"discord": {"webhook_url": ""}}, "channels.discord.webhook_url: must not be empty"),
    ({"alertmanager": {"url": "http://am:9093", "resend_interval": 0}},
     "channels.alertmanager.resend_interval: Input should be greater than 0"),
    ({"webhook": "https://x"}, "channels.webhook: must be a mapping of channel settings"),
])
def test_errors_name_the_key_path(raw, expected):
    assert errors_of(raw) == [expected]


def test_errors_never_repeat_secret_values():
    errors = errors_of({"slack": {"webhook_url": "not-a-url-SECRET123"},
                        "email": {**EMAIL, "sender_password": "SECRET123", "bogus": 1}})
    assert errors and all("SECRET123" not in error for error in errors)


def test_secrets_are_masked_in_repr_and_json():
    channels = parse_channels({"slack": {"bot_token": "xoxb-SECRET", "channel": "C1"},
                               "webhook": {"url": "https://x.example", "hmac_secret": "h-SECRET",
                                           "headers": {"Authorization": "Bearer SECRET"}}})
    shown = repr(channels) + "".join(c.model_dump_json() for c in channels.values())
    assert "SECRET" not in shown
    assert channels["slack"].model_dump(mode="json")["bot_token"] == "********"
    assert isinstance(channels["slack"], SlackChannelConfig)
    assert channels["slack"].api_url == "https://slack.com/api"


def test_console_is_there_unless_set_to_null():
    assert list(default_channels()) == ["console"]
    assert list(parse_channels(None)) == ["console"]
    assert sorted(parse_channels({"email": EMAIL})) == ["console", "email"]
    assert list(parse_channels({"email": EMAIL, "console": None})) == ["email"]
    assert parse_channels({"console": {"send_resolved": False}})["console"].send_resolved is False


def test_config_file_expands_env_secrets_and_names_full_key_paths(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(
        "monitoring:\n"
        "  alerting_system:\n"
        "    channels:\n"
        "      email:\n"
        "        smtp_server: smtp.example.com\n"
        "        smtp_port: 465\n"
        "        sender_email: alerts@example.com\n"
        "        sender_password: ${SMTP_PASSWORD}\n"
        "        recipients: [risk@example.com]\n"
        "      console: {}\n")
    config = load_config(path, environ={"SMTP_PASSWORD": "from-env-Secret"})
    email = config.alerting_system.channels["email"]
    assert email.sender_password.get_secret_value() == "from-env-Secret"
    assert email.security == "ssl"
    assert "from-env-Secret" not in str(redacted(config))

    path.write_text(path.read_text().replace("smtp_port: 465", "smtp_port: 99999"))
    with pytest.raises(ConfigError) as error:
        load_config(path, environ={"SMTP_PASSWORD": "x"})
    assert error.value.errors == [
        "monitoring.alerting_system.channels.email.smtp_port: "
        "Input should be less than or equal to 65535"]


def test_credentials_in_plain_urls_are_refused_with_the_way_out():
    assert errors_of({"alertmanager": {"url": "http://user:Secr3t@am:9093"}}) == [
        "channels.alertmanager.url: must not hold credentials; use basic_auth or headers instead"]
    assert errors_of({"webhook": {"url": "https://x.example", "headers": {"authorization": "t"},
                                  "basic_auth": {"username": "u", "password": "p"}}}) == [
        "channels.webhook: set basic_auth or an Authorization header, not both"]
