"""The email channel against a real SMTP server (aiosmtpd) on loopback: both parts, the
attachment, a stable Message-ID, STARTTLS and implicit TLS with a self-signed certificate,
login, and each failure mapped to retry or permanent."""

from __future__ import annotations

import email
import email.policy
import logging
import os
import shutil
import socket
import ssl
import subprocess

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.backend.alerting.channels.notifications import (
    USER_AGENT,
    make_notification,
    report_attachment,
)
from tradepulse_backend.alerting.channels import DeliveryStatus, build_channels
from tradepulse_backend.alerting.channels.email import message_id
from tradepulse_backend.config.channels import parse_channels

PASSWORD = "smtp-Pa55word-xyz"
SENDER = "alerts@tradepulse.example"


class Inbox:
    """aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        self.messages.append(email.message_from_bytes(envelope.content,
                                                      policy=email.policy.default))
        return "250 OK"


def check_login(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1, made by the openssl command."""
    if shutil.which("openssl") is None:
        if os.environ.get("CI"):
            pytest.fail("openssl is needed for the TLS email tests")
        pytest.skip("openssl not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=30)
    return cert, key


@pytest.fixture
def smtp_server(request):
    """Start an aiosmtpd server with the given SMTP keyword arguments; stopped after the test."""
    started = []

    def start(**kwargs) -> tuple[Inbox, int]:
        inbox = Inbox()
        port = free_port()
        controller = Controller(inbox, hostname="127.0.0.1", port=port, **kwargs)
        controller.start()
        started.append(controller)
        return inbox, port

    yield start
    for controller in started:
        controller.stop()


def email_channel(port: int, **settings):
    config = {"smtp_server": "127.0.0.1", "smtp_port": port, "sender_email": SENDER,
              "recipients": ["risk@desk.example", "pm@desk.example"], "timeout": 5, **settings}
    return build_channels(parse_channels({"email": config}), user_agent=USER_AGENT)["email"]


def server_tls(certificate) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


def test_email_has_plain_and_html_parts_attachment_and_stable_message_id(smtp_server):
    inbox, port = smtp_server()
    channel = email_channel(port, security="none")
    note = make_notification(attachments=(report_attachment(),),
                             suppressed_note="+3 alerts suppressed by rate limit since 09:00: a")
    assert channel.send(note).ok
    assert channel.send(note).ok
    assert channel.send(make_notification(key="grp:other/email/2")).ok
    first, again, other = inbox.messages
    assert inbox.envelopes[0].rcpt_tos == ["risk@desk.example", "pm@desk.example"]
    assert first["Message-ID"] == again["Message-ID"] == message_id(note.key, SENDER)
    assert first["Message-ID"].endswith("@tradepulse.example>")
    assert other["Message-ID"] != first["Message-ID"]
    assert first["Subject"] == "[FIRING] CRITICAL Portfolio Loss Alert"
    assert first["From"] == SENDER
    plain = first.get_body(preferencelist=("plain",)).get_content()
    html = first.get_body(preferencelist=("html",)).get_content()
    assert "Daily loss is -5.20% on bot-1" in plain
    assert "daily_return: -5.20%" in plain
    assert "+3 alerts suppressed" in plain
    assert "http://127.0.0.1:8080/" in plain
    assert "<table>" in html and "-5.20%" in html and "#eb5757" in html
    [attached] = list(first.iter_attachments())
    assert attached.get_filename() == "report.csv"
    assert attached.get_content_type() == "text/csv"
    assert attached.get_content().encode() == report_attachment().data


def test_starttls_with_login_delivers_over_tls(smtp_server, certificate, caplog):
    inbox, port = smtp_server(tls_context=server_tls(certificate), require_starttls=True,
                              auth_required=True, authenticator=check_login)
    channel = email_channel(port, sender_password=PASSWORD, ca_file=str(certificate[0]))
    with caplog.at_level(logging.DEBUG):
        result = channel.send(make_notification())
    assert result.ok, result.detail
    assert len(inbox.messages) == 1
    assert PASSWORD not in caplog.text


def test_security_defaults_to_starttls(smtp_server, certificate):
    inbox, port = smtp_server(tls_context=server_tls(certificate), require_starttls=True)
    channel = email_channel(port, ca_file=str(certificate[0]))
    assert channel.send(make_notification()).ok
    assert len(inbox.messages) == 1


def test_implicit_tls_ssl_mode_delivers(smtp_server, certificate):
    inbox, port = smtp_server(ssl_context=server_tls(certificate))
    channel = email_channel(port, security="ssl", ca_file=str(certificate[0]))
    result = channel.send(make_notification())
    assert result.ok, result.detail
    assert len(inbox.messages) == 1


def test_server_without_starttls_is_permanent_never_plaintext(smtp_server):
    inbox, port = smtp_server()
    result = email_channel(port, security="starttls").send(make_notification())
    assert result.status is DeliveryStatus.PERMANENT
    assert "STARTTLS" in result.detail
    assert inbox.messages == []


def test_untrusted_certificate_is_permanent(smtp_server, certificate):
    inbox, port = smtp_server(tls_context=server_tls(certificate), require_starttls=True)
    result = email_channel(port).send(make_notification())
    assert result.status is DeliveryStatus.PERMANENT
    assert "certificate" in result.detail
    assert inbox.messages == []


def test_wrong_password_is_permanent_and_never_echoed(smtp_server, certificate):
    inbox, port = smtp_server(tls_context=server_tls(certificate), require_starttls=True,
                              auth_required=True, authenticator=check_login)
    channel = email_channel(port, sender_password="wrong-Pa55word-123",
                            ca_file=str(certificate[0]))
    result = channel.send(make_notification())
    assert result.status is DeliveryStatus.PERMANENT
    assert "535" in result.detail
    assert "wrong-Pa55word-123" not in result.detail
    assert "wrong-Pa55word-123" not in repr(channel)
    assert inbox.messages == []


def test_connection_refused_is_retryable():
    result = email_channel(free_port(), security="none").send(make_notification())
    assert result.status is DeliveryStatus.RETRY
    assert "SMTP failed" in result.detail


def test_only_email_takes_attachments():
    channels = build_channels(parse_channels({"email": {
        "smtp_server": "127.0.0.1", "sender_email": SENDER, "recipients": [SENDER]},
        "hook": {"type": "webhook", "url": "http://127.0.0.1:9/"}}), user_agent=USER_AGENT)
    assert channels["email"].supports_attachments is True
    assert channels["hook"].supports_attachments is False
    assert channels["console"].supports_attachments is False
