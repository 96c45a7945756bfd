"""Silences: label matchers, a creator, a comment and an end time. A silenced alert is
recorded and shown, never notified."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from tradepulse_backend.alerting.state import iso
from tradepulse_backend.config.alerting import Matcher


class SilenceError(ValueError):
    """A silence request that cannot be used; the message names the bad key."""


@dataclass
class Silence:
    id: str
    matchers: list[Matcher]
    created_by: str
    comment: str
    starts_ns: int
    ends_ns: int

    def active(self, now_ns: int) -> bool:
        return self.starts_ns <= now_ns < self.ends_ns

    def matches(self, labels: Mapping[str, Any]) -> bool:
        return all(m.matches(labels) for m in self.matchers)

    def to_dict(self, now_ns: int | None = None) -> dict[str, Any]:
        state = None if now_ns is None else (
            "active" if self.active(now_ns) else "expired" if now_ns >= self.ends_ns
            else "pending")
        return {"id": self.id, "matchers": [m.model_dump() for m in self.matchers],
                "created_by": self.created_by, "comment": self.comment,
                "starts_at": iso(self.starts_ns), "ends_at": iso(self.ends_ns),
                "state": state}

    def to_record(self) -> dict[str, Any]:
        return {"id": self.id, "matchers": [m.model_dump() for m in self.matchers],
                "created_by": self.created_by, "comment": self.comment,
                "starts_ns": self.starts_ns, "ends_ns": self.ends_ns}

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Silence:
        return cls(record["id"], [Matcher(**m) for m in record["matchers"]],
                   record["created_by"], record["comment"], record["starts_ns"],
                   record["ends_ns"])


def parse_matchers(raw: Any) -> list[Matcher]:
    """A list of `{name, value, op}`; SilenceError names the bad entry."""
    if not isinstance(raw, list) or not raw:
        raise SilenceError("matchers: expected a non-empty list of {name, value, op}")
    found = []
    for index, item in enumerate(raw):
        try:
            found.append(Matcher.model_validate(item))
        except ValidationError as error:
            first = error.errors(include_url=False, include_input=False)[0]
            where = "".join(f".{p}" for p in first["loc"])
            raise SilenceError(f"matchers[{index}]{where}: {first['msg']}") from None
    return found


class SilenceBook:
    """The silences in force, saved through `save` whenever one is added or expired."""

    def __init__(self, save: Callable[[dict[str, Any]], None] = lambda record: None,
                 silences: Iterable[Silence] = ()) -> None:
        self._save = save
        self._lock = threading.Lock()
        self._silences: dict[str, Silence] = {s.id: s for s in silences}

    def add(self, matchers: list[Matcher], *, created_by: str, comment: str, starts_ns: int,
            ends_ns: int) -> Silence:
        if ends_ns <= starts_ns:
            raise SilenceError("ends_at: must be after the silence starts")
        silence = Silence(uuid.uuid4().hex, matchers, created_by, comment, starts_ns, ends_ns)
        with self._lock:
            self._silences[silence.id] = silence
        self._save(silence.to_record())
        return silence

    def expire(self, silence_id: str, now_ns: int) -> Silence | None:
        """End a silence now; None when there is no such silence."""
        with self._lock:
            silence = self._silences.get(silence_id)
            if silence is None:
                return None
            silence.ends_ns = min(silence.ends_ns, now_ns)
            silence.starts_ns = min(silence.starts_ns, silence.ends_ns)
        self._save(silence.to_record())
        return silence

    def all(self) -> list[Silence]:
        with self._lock:
            return sorted(self._silences.values(), key=lambda s: s.starts_ns)

    def silenced(self, labels: Mapping[str, Any], now_ns: int) -> bool:
        with self._lock:
            candidates = list(self._silences.values())
        return any(s.active(now_ns) and s.matches(labels) for s in candidates)
