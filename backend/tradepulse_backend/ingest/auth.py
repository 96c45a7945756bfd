"""Ingest authentication: bearer API keys compared in constant time."""

from __future__ import annotations

import hmac


class ApiKeys:
    """The accepted keys; empty means authentication is off."""

    def __init__(self, keys: tuple[str, ...]) -> None:
        self._keys = [key.encode() for key in keys]

    @property
    def required(self) -> bool:
        return bool(self._keys)

    def accepts(self, authorization: str | None) -> bool:
        """Whether an `Authorization` header value carries one of the keys."""
        if not self._keys:
            return True
        scheme, _, token = (authorization or "").partition(" ")
        presented = token.strip().encode()
        return scheme.lower() == "bearer" and any(
            hmac.compare_digest(presented, key) for key in self._keys)


UNAUTHORIZED = "missing or invalid API key (send Authorization: Bearer <key>)"
