"""OTLP/JSON bodies into protobuf messages, following the OTLP JSON rules.

The OTLP JSON encoding is protobuf's JSON mapping with three differences: trace and span ids are
hex (not base64), enums are integers, and unknown fields are ignored. protobuf's parser handles
integer enums, int64 as strings or numbers and lowerCamelCase keys; only the ids need converting.
"""

from __future__ import annotations

import base64
import json

from google.protobuf import json_format
from google.protobuf.message import Message

ID_KEYS = frozenset({
    "traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id",
})


class OtlpJsonError(ValueError):
    """The body is not valid OTLP/JSON; the message says where."""


def parse_json(body: bytes, message_type: type[Message]) -> Message:
    """A protobuf export request from an OTLP/JSON body; any failure is an OtlpJsonError."""
    try:
        document = json.loads(body)
    except RecursionError:
        raise OtlpJsonError("body is not JSON we accept: nested too deeply") from None
    except ValueError as exc:  # also UnicodeDecodeError and integers past 4300 digits
        raise OtlpJsonError(f"body is not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise OtlpJsonError("body must be a JSON object")
    try:
        _hex_ids_to_base64(document, "$")
        return json_format.ParseDict(document, message_type(), ignore_unknown_fields=True)
    except OtlpJsonError:
        raise
    except RecursionError:
        raise OtlpJsonError("OTLP/JSON document is nested too deeply") from None
    except (json_format.ParseError, ValueError, TypeError, OverflowError) as exc:
        raise OtlpJsonError(_shortened(str(exc) or type(exc).__name__)) from exc


def _shortened(message: str, limit: int = 300) -> str:
    """An error message short enough to send back, whatever value it quotes."""
    return message if len(message) <= limit else message[:limit] + "..."


def _hex_ids_to_base64(node: object, path: str) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ID_KEYS and isinstance(value, str):
                node[key] = _hex_to_base64(value, f"{path}.{key}")
            else:
                _hex_ids_to_base64(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            _hex_ids_to_base64(item, f"{path}[{index}]")


def _hex_to_base64(value: str, path: str) -> str:
    try:
        raw = bytes.fromhex(value)
    except ValueError as exc:
        raise OtlpJsonError(f"{path}: ids must be hex-encoded, got {value[:40]!r}") from exc
    return base64.b64encode(raw).decode("ascii")
