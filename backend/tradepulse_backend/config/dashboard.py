"""The dashboard's own settings: live stream, access control, TLS and layout (defaults here).

Referenced from `DashboardConfig` in `models.py`; kept apart so the dashboard's settings read
as one unit. The base class repeats `models._Section`'s two rules (this module is imported by
`models.py`, so it cannot import from it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    SecretStr,
    model_validator,
)
from pydantic_core import PydanticCustomError

MASK = "********"
HASH_PREFIXES = ("scrypt:", "pbkdf2:")
"""Password hashes werkzeug.security makes and checks (`generate_password_hash`)."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


def _not_empty(value: SecretStr) -> SecretStr:
    if not value.get_secret_value():
        raise PydanticCustomError("empty_secret", "must not be empty")
    return value


def _known_hash(value: SecretStr) -> SecretStr:
    if not value.get_secret_value().startswith(HASH_PREFIXES):
        raise PydanticCustomError(
            "password_hash",
            "must be a password hash from werkzeug.security.generate_password_hash "
            "(starting 'scrypt:' or 'pbkdf2:'), never a plain password; make one with "
            "`python -c \"from werkzeug.security import generate_password_hash as g; "
            "print(g(input()))\"`")
    return value


Secret = Annotated[SecretStr, AfterValidator(_not_empty),
                   PlainSerializer(lambda _: MASK, return_type=str, when_used="json")]
PasswordHash = Annotated[SecretStr, AfterValidator(_known_hash),
                         PlainSerializer(lambda _: MASK, return_type=str, when_used="json")]


class WebSocketConfig(_Section):
    """The live stream at `/ws`."""

    heartbeat_interval: float = Field(
        15, gt=0, description="Seconds between heartbeat messages to each WebSocket client.")
    client_queue: int = Field(
        256, ge=1, le=100_000,
        description="Messages waiting for one slow client (newest per key kept for state such "
                    "as performance); beyond it that client gets a resync and a new snapshot.")
    send_timeout: float = Field(
        30, gt=0, description="Seconds a send to one client may block before it is dropped.")


class DashboardUser(_Section):
    """One person who may log in: a name and a werkzeug password hash."""

    username: str = Field(min_length=1, max_length=200)
    password_hash: PasswordHash


class DashboardAuthConfig(_Section):
    """Who may use the dashboard; off (null `token` and no `users`) by default."""

    token: Secret | None = Field(
        None, description="Bearer token for API clients (and for the login form's password).")
    users: list[DashboardUser] = Field(default_factory=list)
    session_hours: float = Field(12, gt=0, le=24 * 365, description="Session cookie lifetime.")
    max_failed_logins: int = Field(
        5, ge=1, description="Failed logins per address per `lockout_seconds`; then 429.")
    lockout_seconds: float = Field(300, gt=0)

    @property
    def enabled(self) -> bool:
        return self.token is not None or bool(self.users)


class DashboardTlsConfig(_Section):
    """HTTPS and WSS on the dashboard port; both files or neither."""

    cert_file: Path | None = None
    key_file: Path | None = None

    @model_validator(mode="after")
    def _both_or_neither(self) -> DashboardTlsConfig:
        if (self.cert_file is None) != (self.key_file is None):
            raise PydanticCustomError("tls_pair", "set both cert_file and key_file, or neither")
        for path in (self.cert_file, self.key_file):
            if path is not None and not path.expanduser().is_file():
                raise PydanticCustomError("tls_file", "no such file: {path}", {"path": str(path)})
        return self

    @property
    def enabled(self) -> bool:
        return self.cert_file is not None
