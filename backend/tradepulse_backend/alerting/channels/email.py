"""Email channel: a multipart plain-text + HTML message over SMTP, with a stable Message-ID
derived from the notification key, and attachments."""

from __future__ import annotations

import hashlib
import html
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from tradepulse_backend.alerting.channels.base import (
    AlertChannel,
    DeliveryResult,
    DeliveryStatus,
    Notification,
)
from tradepulse_backend.alerting.channels.render import heading, hex_colour, plain_text
from tradepulse_backend.clock import Clock, SystemClock
from tradepulse_backend.config.channels import EmailChannelConfig

MASK = "********"


def message_id(key: str, sender: str) -> str:
    """``<hash-of-key@sender-domain>``: the same key always gives the same Message-ID, so a
    receiver can drop a duplicate sent in the crash window."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"<{digest}@{sender.rpartition('@')[2]}>"


def html_body(notification: Notification) -> str:
    """The HTML part: a coloured heading bar, the text, a table of figures and the link."""
    esc = html.escape
    rows = "".join(
        f"<tr><th align='left' style='padding:2px 12px 2px 0'>{esc(name)}</th>"
        f"<td>{esc(value)}</td></tr>" for name, value in notification.figures.items())
    parts = [
        f"<div style='border-left:6px solid {hex_colour(notification)};padding:4px 12px'>",
        f"<h2 style='margin:0'>{esc(heading(notification))}</h2>",
    ]
    if notification.text:
        parts.append(f"<p style='white-space:pre-wrap'>{esc(notification.text)}</p>")
    if rows:
        parts.append(f"<table>{rows}</table>")
    if notification.suppressed_note:
        parts.append(f"<p><em>{esc(notification.suppressed_note)}</em></p>")
    if notification.external_url:
        url = esc(notification.external_url, quote=True)
        parts.append(f"<p><a href=\"{url}\">Open dashboard</a></p>")
    parts.append("</div>")
    return "<!DOCTYPE html><html><body>" + "".join(parts) + "</body></html>"


def build_message(notification: Notification, sender: str, recipients: list[str],
                  date: float) -> EmailMessage:
    """The whole message, ready for SMTP."""
    message = EmailMessage()
    message["Subject"] = heading(notification)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(date, usegmt=True)
    message["Message-ID"] = message_id(notification.key, sender)
    message["X-Tradepulse-Key"] = notification.key
    message.set_content(plain_text(notification))
    message.add_alternative(html_body(notification), subtype="html")
    for attachment in notification.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(attachment.data, maintype=maintype or "application",
                               subtype=subtype or "octet-stream", filename=attachment.filename)
    return message


class EmailChannel(AlertChannel):
    """Sends through `smtp_server` with starttls, implicit TLS (ssl) or none."""

    supports_attachments = True

    def __init__(self, name: str, config: EmailChannelConfig, *, user_agent: str = "",
                 clock: Clock | None = None) -> None:
        self.name = name
        self.send_resolved = config.send_resolved
        self.resend_interval = None
        self._config = config
        self._clock = clock or SystemClock()
        self._password = (config.sender_password.get_secret_value()
                          if config.sender_password else None)
        self._tls = (ssl.create_default_context(cafile=config.ca_file)
                     if config.security != "none" else None)

    def send(self, notification: Notification) -> DeliveryResult:
        """One SMTP session; 4xx replies and network errors retry, 5xx replies are permanent."""
        config = self._config
        message = build_message(notification, config.sender_email, config.recipients,
                                self._clock.now_ns() / 1e9)
        try:
            with self._connect() as smtp:
                if self._password is not None:
                    smtp.login(config.username or config.sender_email, self._password)
                refused = smtp.send_message(message, config.sender_email, config.recipients)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            status = (DeliveryStatus.RETRY if any(400 <= c < 500 for c in codes)
                      else DeliveryStatus.PERMANENT)
            return DeliveryResult(status, f"all recipients refused (SMTP {sorted(set(codes))})")
        except smtplib.SMTPResponseException as error:
            status = DeliveryStatus.RETRY if 400 <= error.smtp_code < 500 else \
                DeliveryStatus.PERMANENT
            return DeliveryResult(status, self._scrub(
                f"SMTP {error.smtp_code}: {_text(error.smtp_error)}"))
        except smtplib.SMTPNotSupportedError as error:
            return DeliveryResult(DeliveryStatus.PERMANENT, f"SMTP server: {error}")
        except ssl.SSLCertVerificationError as error:
            return DeliveryResult(DeliveryStatus.PERMANENT,
                                  f"TLS certificate verification failed: {error.verify_message}")
        except TimeoutError:
            return DeliveryResult(DeliveryStatus.RETRY, f"timed out after {config.timeout:g} s")
        except (smtplib.SMTPException, OSError) as error:
            return DeliveryResult(DeliveryStatus.RETRY,
                                  self._scrub(f"SMTP failed: {type(error).__name__}: {error}"))
        if refused:
            return DeliveryResult(DeliveryStatus.OK, f"refused by the server: {sorted(refused)}")
        return DeliveryResult(DeliveryStatus.OK)

    def _connect(self) -> smtplib.SMTP:
        config = self._config
        if config.security == "ssl":
            return smtplib.SMTP_SSL(config.smtp_server, config.smtp_port,
                                    timeout=config.timeout, context=self._tls)
        smtp = smtplib.SMTP(config.smtp_server, config.smtp_port, timeout=config.timeout)
        if config.security == "starttls":
            try:
                smtp.starttls(context=self._tls)
            except BaseException:
                smtp.close()
                raise
        return smtp

    def _scrub(self, text: str) -> str:
        return text.replace(self._password, MASK) if self._password else text


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
