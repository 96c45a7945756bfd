"""One HTTP POST per delivery attempt: timeout, User-Agent and Idempotency-Key on every call,
and the reply classified as ok / retry (with Retry-After) / permanent for the outbox."""

from __future__ import annotations

import base64
import contextlib
import json
import math
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from email.utils import parsedate_to_datetime
from http.client import HTTPException
from typing import Any

from tradepulse_backend.alerting.channels.base import DeliveryResult, DeliveryStatus
from tradepulse_backend.clock import Clock

MASK = "********"
_SNIPPET_CHARS = 200
_TOKEN_CHARS = 8


@dataclass(frozen=True)
class HttpReply:
    """What the receiver answered: status, headers and (a bounded read of) the body."""

    status: int
    headers: Message
    body: bytes = field(repr=False)

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is answered as-is: re-posting an alert elsewhere is the receiver's call."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class HttpPoster:
    """Posts bodies for one channel; every reply and failure becomes a DeliveryResult whose
    detail never contains the channel's secrets."""

    def __init__(
        self, *, user_agent: str, timeout: float, clock: Clock, secrets: Iterable[str] = ()
    ) -> None:
        self._user_agent = user_agent
        self._timeout = timeout
        self._clock = clock
        self._secrets = sorted((s for s in secrets if s), key=len, reverse=True)
        self._opener = urllib.request.build_opener(_NoRedirect())

    def post_json(
        self, url: str, payload: Any, *, key: str, headers: Mapping[str, str] | None = None
    ) -> tuple[DeliveryResult, HttpReply | None]:
        """POST `payload` as JSON; see `post`."""
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        return self.post(url, body, key=key, headers={
            "Content-Type": "application/json", **(headers or {})})

    def post(
        self, url: str, body: bytes, *, key: str, headers: Mapping[str, str] | None = None
    ) -> tuple[DeliveryResult, HttpReply | None]:
        """One POST within the timeout; the reply is returned too, for channels that read it."""
        request = urllib.request.Request(url, data=body, method="POST", headers={
            **(headers or {}), "User-Agent": self._user_agent, "Idempotency-Key": key})
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                reply = HttpReply(response.status, response.headers, response.read(65536))
        except urllib.error.HTTPError as error:
            with error:
                reply = HttpReply(error.code, error.headers, _read_quietly(error))
        except (urllib.error.URLError, OSError, HTTPException) as error:
            return self._transport_failure(error), None
        return self.classify(reply), reply

    def classify(self, reply: HttpReply) -> DeliveryResult:
        """2xx ok; 429 retry after Retry-After; 5xx and 408 retry; other statuses permanent."""
        if 200 <= reply.status < 300:
            return DeliveryResult(DeliveryStatus.OK, f"HTTP {reply.status}")
        detail = f"HTTP {reply.status}"
        text = self.scrub(reply.body.decode("utf-8", "replace"))
        snippet = " ".join(text.split())[:_SNIPPET_CHARS]
        if snippet:
            detail = f"{detail}: {snippet}"
        if reply.status == 429:
            return DeliveryResult(DeliveryStatus.RETRY, detail, self.retry_after(reply.headers))
        if reply.status >= 500 or reply.status == 408:
            return DeliveryResult(DeliveryStatus.RETRY, detail, self.retry_after(reply.headers))
        return DeliveryResult(DeliveryStatus.PERMANENT, detail)

    def retry_after(self, headers: Message) -> float | None:
        """Retry-After in seconds, from a number or an HTTP date (against the reply's Date)."""
        value = (headers.get("Retry-After") or "").strip()
        if not value:
            return None
        try:
            seconds = float(value)
        except ValueError:
            try:
                when = parsedate_to_datetime(value)
            except (TypeError, ValueError, IndexError):
                return None
            now = self._clock.now_ns() / 1e9
            if date := headers.get("Date"):
                with contextlib.suppress(TypeError, ValueError, IndexError):
                    now = parsedate_to_datetime(date).timestamp()
            seconds = when.timestamp() - now
        if not math.isfinite(seconds):
            return None
        return max(0.0, seconds)

    def scrub(self, text: str) -> str:
        """`text` with every secret of this channel masked."""
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return text

    def _transport_failure(self, error: BaseException) -> DeliveryResult:
        reason = error.reason if isinstance(error, urllib.error.URLError) else error
        if isinstance(reason, ssl.SSLCertVerificationError):
            return DeliveryResult(DeliveryStatus.PERMANENT,
                                  f"TLS certificate verification failed: {reason.verify_message}")
        if isinstance(reason, TimeoutError):
            return DeliveryResult(DeliveryStatus.RETRY, f"timed out after {self._timeout:g} s")
        text = reason.strerror if isinstance(reason, OSError) and reason.strerror else str(reason)
        return DeliveryResult(DeliveryStatus.RETRY,
                              self.scrub(f"connection failed: {type(reason).__name__}: {text}"))


def auth_headers(headers: Mapping[str, Any], basic_auth: Any) -> dict[str, str]:
    """Configured headers (secret values revealed) plus basic auth as an Authorization header."""
    revealed = {name: value.get_secret_value() for name, value in headers.items()}
    if basic_auth is not None:
        pair = f"{basic_auth.username}:{basic_auth.password.get_secret_value()}"
        revealed["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    return revealed


def header_secrets(headers: Mapping[str, str], basic_auth: Any) -> list[str]:
    """Header values, their credential part (after "Bearer "/"Basic ") and the password."""
    secrets = list(headers.values())
    secrets += [value.split(" ", 1)[1] for value in headers.values() if " " in value]
    if basic_auth is not None:
        secrets.append(basic_auth.password.get_secret_value())
    return secrets


def url_secrets(url: str) -> list[str]:
    """The parts of a secret URL that must not leak on their own: the whole URL, its password,
    its longer path segments (webhook tokens) and its query values."""
    parts = urllib.parse.urlsplit(url)
    secrets = [url, parts.password or ""]
    secrets += [segment for segment in parts.path.split("/") if len(segment) >= _TOKEN_CHARS]
    secrets += [value for _, value in urllib.parse.parse_qsl(parts.query)
                if len(value) >= _TOKEN_CHARS]
    return [secret for secret in secrets if secret]


def _read_quietly(error: urllib.error.HTTPError) -> bytes:
    try:
        return error.read(65536)
    except (OSError, HTTPException):
        return b""
