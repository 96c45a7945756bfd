"""The OTLP/HTTP receiver: a plain WSGI app for POST /v1/traces, /v1/metrics and /v1/logs.

Status codes follow the OTLP/HTTP specification: 200 (with partial_success when some items were
invalid), 400 for bodies that cannot be decoded (never a 5xx, which exporters retry), 401 without
a valid API key, 413 above the body limit (also after decompression), 415 for an unknown content
type or encoding, and 503 with Retry-After when the write queue is full.
"""

from __future__ import annotations

import json
import logging
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from google.rpc import status_pb2

from tradepulse_backend.ingest.auth import UNAUTHORIZED, ApiKeys
from tradepulse_backend.ingest.committed import CommitListener, CommittedRequest
from tradepulse_backend.ingest.decode import REQUEST_TYPES, decode_request
from tradepulse_backend.ingest.otlp_json import OtlpJsonError, parse_json
from tradepulse_backend.ingest.pipeline import PipelineClosed, QueueFull, WriteFailed, WritePipeline
from tradepulse_backend.ingest.responses import export_response
from tradepulse_backend.telemetry.records import DecodedBatch

logger = logging.getLogger(__name__)

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
PATHS = {"/v1/traces": "traces", "/v1/metrics": "metrics", "/v1/logs": "logs"}


@dataclass(frozen=True)
class ReceiverSettings:
    """What the receiver needs from the `ingest:` config section."""

    keys: ApiKeys
    max_body_bytes: int
    retry_after_seconds: int


class HttpError(Exception):
    """An answer other than 200, with the OTLP Status message to send."""

    def __init__(self, status: int, message: str, headers: Iterable[tuple[str, str]] = ()):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = list(headers)


class OtlpReceiver:
    """WSGI callable; one instance per server, shared by the request threads."""

    def __init__(self, settings: ReceiverSettings, pipeline: WritePipeline,
                 on_committed: CommitListener | None = None) -> None:
        self._settings = settings
        self._keys = settings.keys
        self._pipeline = pipeline
        self._on_committed = on_committed

    def __call__(self, environ: dict, start_response: Callable) -> list[bytes]:
        content_type = _media_type(environ.get("CONTENT_TYPE", ""))
        try:
            body, headers = self._handle(environ, content_type)
            status = 200
        except HttpError as error:
            status, headers = error.status, error.headers
            body = _status_body(error, content_type)
            if status >= 500 or status in (401, 413):
                logger.warning("OTLP %s %s -> %d: %s", environ.get("REQUEST_METHOD"),
                               environ.get("PATH_INFO"), status, error.message)
        reply_type = content_type if content_type in (PROTOBUF, JSON) else JSON
        start_response(_STATUS_LINES[status], [
            ("Content-Type", reply_type), ("Content-Length", str(len(body))), *headers])
        return [body]

    def _handle(self, environ: dict, content_type: str) -> tuple[bytes, list]:
        signal = PATHS.get(environ.get("PATH_INFO", ""))
        if signal is None:
            raise HttpError(404, f"no OTLP endpoint at {environ.get('PATH_INFO')!r}; "
                                 "use /v1/traces, /v1/metrics or /v1/logs")
        if environ.get("REQUEST_METHOD") != "POST":
            raise HttpError(405, "OTLP endpoints take POST", [("Allow", "POST")])
        self._authorize(environ)
        if content_type not in (PROTOBUF, JSON):
            raise HttpError(415, f"unsupported content type {content_type!r}; "
                                 f"send {PROTOBUF} or {JSON}")
        body = self._read_body(environ)
        raw = self._decompressed(environ, body)
        request = _parse(signal, raw, content_type)
        batch = _decode(signal, request, self._pipeline.series_ids)
        self._store(batch)
        if self._on_committed is not None and batch.accepted:
            encoding = environ.get("HTTP_CONTENT_ENCODING", "").strip().lower() or "identity"
            self._hand_on(CommittedRequest(signal, body, content_type, encoding, request))
        return _encode(export_response(batch), content_type), []

    def _hand_on(self, committed: CommittedRequest) -> None:
        """Give a committed request to the listener; its failure never fails the request."""
        try:
            self._on_committed(committed)
        except Exception:
            logger.exception("on-committed listener failed for a %s request", committed.signal)

    def _authorize(self, environ: dict) -> None:
        if not self._keys.accepts(environ.get("HTTP_AUTHORIZATION")):
            raise HttpError(401, UNAUTHORIZED, [("WWW-Authenticate", 'Bearer realm="tradepulse"')])

    def _read_body(self, environ: dict) -> bytes:
        limit = self._settings.max_body_bytes
        declared = environ.get("CONTENT_LENGTH") or ""
        if declared.isdigit() and int(declared) > limit:
            raise HttpError(413, f"body of {declared} bytes exceeds the limit of {limit}")
        wanted = int(declared) if declared.isdigit() else limit + 1  # PEP 3333: not past it
        body = environ["wsgi.input"].read(wanted) if wanted else b""
        if len(body) > limit:
            raise HttpError(413, f"body exceeds the limit of {limit} bytes")
        return body

    def _decompressed(self, environ: dict, body: bytes) -> bytes:
        encoding = environ.get("HTTP_CONTENT_ENCODING", "identity").strip().lower()
        if encoding in ("", "identity"):
            return body
        if encoding != "gzip":
            raise HttpError(415, f"unsupported content encoding {encoding!r}; use gzip")
        limit = self._settings.max_body_bytes
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            raw = inflater.decompress(body, limit + 1)
        except zlib.error as exc:
            raise HttpError(400, f"body is not valid gzip: {exc}") from exc
        if len(raw) > limit or inflater.unconsumed_tail:
            raise HttpError(413, f"decompressed body exceeds the limit of {limit} bytes")
        if not inflater.eof:
            raise HttpError(400, "gzip body is truncated")
        return raw

    def _store(self, batch) -> None:
        retry = [("Retry-After", str(self._settings.retry_after_seconds))]
        try:
            self._pipeline.store(batch)
        except QueueFull:
            raise HttpError(503, "write queue is full; retry later", retry) from None
        except PipelineClosed:
            raise HttpError(503, "server is shutting down; retry later", retry) from None
        except WriteFailed as error:
            raise HttpError(503, f"{error}; retry later", retry) from None


def _media_type(header: str) -> str:
    return header.split(";", 1)[0].strip().lower()


def _parse(signal: str, raw: bytes, content_type: str):
    """The export request message; whatever parsing raises is the client's bad body: 400."""
    message_type = REQUEST_TYPES[signal]
    try:
        if content_type == PROTOBUF:
            return message_type.FromString(raw)
        return parse_json(raw, message_type)
    except (DecodeError, OtlpJsonError) as exc:
        raise HttpError(400, f"cannot decode {signal} request: {exc}") from exc
    except Exception as exc:  # RecursionError, ValueError, ...: still a body we cannot read
        logger.info("OTLP %s body rejected by %s", signal, type(exc).__name__, exc_info=True)
        raise HttpError(400, f"cannot decode {signal} request: {type(exc).__name__}") from exc


def _decode(signal: str, request, series_ids) -> DecodedBatch:
    """Plain records of a parsed request; a request the decoder cannot walk is a 400 (a 5xx
    would make the exporter resend it forever)."""
    try:
        return decode_request(signal, request, series_ids)
    except Exception as exc:
        logger.exception("OTLP %s request could not be decoded", signal)
        raise HttpError(400, f"cannot decode {signal} request: {type(exc).__name__}: "
                             f"{str(exc)[:200]}") from exc


def _encode(response, content_type: str) -> bytes:
    if content_type == PROTOBUF:
        return response.SerializeToString()
    return json_format.MessageToJson(response, indent=None).encode()


def _status_body(error: HttpError, content_type: str) -> bytes:
    if content_type == PROTOBUF:
        return status_pb2.Status(code=_GRPC_CODES.get(error.status, 2),
                                 message=error.message).SerializeToString()
    return json.dumps({"code": _GRPC_CODES.get(error.status, 2), "message": error.message}).encode()


_GRPC_CODES = {400: 3, 401: 16, 404: 5, 405: 12, 413: 8, 415: 3, 503: 14}
_STATUS_LINES = {
    200: "200 OK", 400: "400 Bad Request", 401: "401 Unauthorized", 404: "404 Not Found",
    405: "405 Method Not Allowed", 413: "413 Payload Too Large",
    415: "415 Unsupported Media Type", 503: "503 Service Unavailable",
}
