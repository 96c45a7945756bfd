"""End to end: portfolio values exported by the SDK over OTLP to a real server make the seed's
"Portfolio Loss Alert" reach email (a real SMTP server, aiosmtpd) and the console, and its
resolve follows when the value recovers."""

from __future__ import annotations

import email
import email.policy
import socket
import subprocess
import sys
import textwrap

from aiosmtpd.controller import Controller

from tests.support import RunningServer, wait_until

BOT = textwrap.dedent("""
    import sys, time
    import tradepulse
    from tradepulse import metrics

    telemetry = tradepulse.configure("loss-bot", endpoint=sys.argv[1],
                                     export_interval_ms=3_600_000, system_metrics=False)
    for value in sys.argv[2:]:
        metrics.set_portfolio_value(float(value), currency="USD")
        telemetry.meter_provider.force_flush()
        time.sleep(0.01)
    tradepulse.shutdown()
""")


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content,
                                                      policy=email.policy.default))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def export(server: RunningServer, *values: float) -> None:
    subprocess.run([sys.executable, "-c", BOT, server.otlp, *map(str, values)], check=True,
                   timeout=60)


def test_the_seed_loss_alert_reaches_email_and_console_and_resolves(tmp_path):
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    server = None
    try:
        server = RunningServer(tmp_path / "data", {"alerting_system": {
            "evaluation_interval": 0.2, "group_wait": 0, "group_interval": 0.2,
            "channels": {"console": {}, "email": {
                "smtp_server": "127.0.0.1", "smtp_port": smtp.port, "security": "none",
                "sender_email": "alerts@tradepulse.example",
                "recipients": ["trader@example.com"]}},
            "rules": {"portfolio_loss_alert": {
                "conditions": [{"field": "daily_return", "operator": "lt", "value": -0.05}],
                "severity": "critical", "title": "Portfolio Loss Alert",
                "message": "Daily return is {daily_return:.2%}",
                "channels": ["email", "console"]}}}})
        export(server, 100_000.0, 94_000.0)
        wait_until(lambda: inbox.messages, what="the loss alert email")
        (firing,) = inbox.messages
        assert firing["Subject"] == "[FIRING] CRITICAL Portfolio Loss Alert"
        plain = firing.get_body(("plain",)).get_content()
        assert "Daily return is -6.00%" in plain
        assert firing.get_body(("html",)) is not None
        (alert,) = server.api("/alerts")["alerts"]
        assert alert["state"] == "firing" and alert["service"] == "loss-bot"
        wait_until(lambda: "[FIRING] Portfolio Loss Alert" in server.stderr,
                   what="the console line")

        export(server, 99_000.0)
        wait_until(lambda: len(inbox.messages) == 2, what="the resolved email")
        resolved = inbox.messages[1]
        assert resolved["Subject"] == "[RESOLVED] CRITICAL Portfolio Loss Alert"
        assert resolved["Message-ID"] != firing["Message-ID"]
        wait_until(lambda: "[RESOLVED] Portfolio Loss Alert" in server.stderr,
                   what="the console resolve line")
        states = [a["state"] for a in server.api("/alerts/history")["alerts"]]
        assert states == ["resolved", "firing"]
    finally:
        if server is not None:
            server.stop()
        smtp.stop()
