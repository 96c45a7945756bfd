"""One POST to an OTLP/HTTP endpoint over a kept-alive connection, and what its answer means.

OTLP/HTTP's rules: 2xx is delivered; 408, 429 and 5xx are worth retrying (429 and 503 with the
server's Retry-After); any other 4xx will fail the same way again, so it is permanent. A
connection error or a timeout is retryable. Every socket operation has the destination's
timeout.
"""

from __future__ import annotations

import email.utils
import enum
import http.client
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

MAX_RETRY_AFTER_S = 3600.0
"""The longest Retry-After honoured; a larger one is read as this."""
MAX_RESPONSE_BYTES = 64 * 1024
RETRY_AFTER_STATUSES = (429, 503)


class Outcome(enum.Enum):
    """What a send attempt means for the queued request."""

    DELIVERED = "delivered"
    RETRY = "retry"
    PERMANENT = "permanent"


@dataclass(frozen=True, slots=True)
class Attempt:
    """The result of one POST: its outcome, HTTP status (None without an answer), the wait the
    server asked for, and a short description of a failure."""

    outcome: Outcome
    status: int | None = None
    retry_after_s: float | None = None
    error: str | None = None


def classify(status: int) -> Outcome:
    if 200 <= status < 300:
        return Outcome.DELIVERED
    if status in (408, 429) or status >= 500:
        return Outcome.RETRY
    return Outcome.PERMANENT


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Seconds from a Retry-After header (delay-seconds or an HTTP date), or None."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return min(float(text), MAX_RETRY_AFTER_S)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max(0.0, (when - now).total_seconds()), MAX_RETRY_AFTER_S)


def display_url(url: str) -> str:
    """The URL without credentials or query (either may hold a secret), for status and logs."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}{parts.path}"


class Poster:
    """POSTs bodies, keeping one connection per scheme, host and port; used by one thread."""

    def __init__(self, *, timeout: float, headers: dict[str, str], user_agent: str) -> None:
        self.timeout = timeout
        self._headers = {**headers, "User-Agent": user_agent}
        self._connections: dict[tuple, http.client.HTTPConnection] = {}

    def post(self, url: str, body: bytes, *, content_type: str, encoding: str,
             now: datetime) -> Attempt:
        parts = urlsplit(url)
        key = (parts.scheme, parts.hostname, parts.port)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = {**self._headers, "Content-Type": content_type}
        if encoding != "identity":
            headers["Content-Encoding"] = encoding
        connection = self._connections.get(key) or self._connect(key)
        try:
            connection.request("POST", path, body, headers)
            response = connection.getresponse()
            text = response.read(MAX_RESPONSE_BYTES)
            if not response.isclosed():
                self._drop(key)
        except (OSError, http.client.HTTPException) as error:
            self._drop(key)
            return Attempt(Outcome.RETRY, error=f"{type(error).__name__}: {error}"[:300])
        outcome = classify(response.status)
        if outcome is Outcome.DELIVERED:
            return Attempt(outcome, response.status)
        wait = (retry_after_seconds(response.getheader("Retry-After"), now)
                if response.status in RETRY_AFTER_STATUSES else None)
        detail = text[:200].decode("utf-8", "replace").strip()
        error = f"HTTP {response.status} from {display_url(url)}" + (f": {detail}" if detail
                                                                     else "")
        return Attempt(outcome, response.status, wait, error)

    def _connect(self, key: tuple) -> http.client.HTTPConnection:
        scheme, host, port = key
        if scheme == "https":
            connection = http.client.HTTPSConnection(
                host, port, timeout=self.timeout, context=ssl.create_default_context())
        else:
            connection = http.client.HTTPConnection(host, port, timeout=self.timeout)
        self._connections[key] = connection
        return connection

    def _drop(self, key: tuple) -> None:
        connection = self._connections.pop(key, None)
        if connection is not None:
            connection.close()

    def close(self) -> None:
        for key in list(self._connections):
            self._drop(key)
