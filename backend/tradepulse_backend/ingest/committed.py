"""What a receiver hands on once a request is committed: the body exactly as it arrived.

The bus's `TelemetryStored` carries decoded records; forwarding needs the original bytes, so the
receivers call an `on_committed` listener after their 200 is certain. The listener must only
enqueue (it runs on the request thread, before the answer is sent).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class CommittedRequest:
    """One accepted export request: its body as received (still gzipped when it came gzipped),
    its media type and encoding, and the parsed message (for service filters)."""

    signal: str
    body: bytes
    content_type: str
    content_encoding: str
    request: Any


CommitListener = Callable[[CommittedRequest], None]
