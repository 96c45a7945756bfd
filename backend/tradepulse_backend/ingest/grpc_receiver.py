"""OTLP/gRPC receiver (default port 4317): the same decode and write path as OTLP/HTTP.

Status codes follow the OTLP specification: UNAUTHENTICATED without a valid API key,
INVALID_ARGUMENT for a request that cannot be decoded (gRPC's own deserializer would answer
INTERNAL, so the services take raw bytes and parse them here), UNAVAILABLE (retryable) when the
write queue is full, storage fails or the commit wait runs out (the batch is then withdrawn,
never committed later), RESOURCE_EXHAUSTED from gRPC itself for messages over the size limit,
and partial_success for rejected items. Imported only in the server's worker process.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

import grpc

from tradepulse_backend.ingest.auth import UNAUTHORIZED, ApiKeys
from tradepulse_backend.ingest.committed import CommitListener, CommittedRequest
from tradepulse_backend.ingest.decode import REQUEST_TYPES, decode_request
from tradepulse_backend.ingest.pipeline import PipelineClosed, QueueFull, WriteFailed, WritePipeline
from tradepulse_backend.ingest.responses import RESPONSES, export_response

logger = logging.getLogger(__name__)

PROTOBUF = "application/x-protobuf"
SERVICES = {
    "traces": "opentelemetry.proto.collector.trace.v1.TraceService",
    "metrics": "opentelemetry.proto.collector.metrics.v1.MetricsService",
    "logs": "opentelemetry.proto.collector.logs.v1.LogsService",
}
DEADLINE_MARGIN_S = 0.5
"""Answer this long before the client's deadline, so it hears UNAVAILABLE rather than timing
out on a request it cannot know the fate of."""


class _Exporter:
    """The Export method of one OTLP service, taking the serialized request."""

    def __init__(self, signal: str, keys: ApiKeys, pipeline: WritePipeline,
                 on_committed: CommitListener | None = None) -> None:
        self.signal = signal
        self._keys = keys
        self._pipeline = pipeline
        self._on_committed = on_committed

    def Export(self, raw: bytes, context: grpc.ServicerContext):
        metadata = dict(context.invocation_metadata())
        if not self._keys.accepts(metadata.get("authorization")):
            context.abort(grpc.StatusCode.UNAUTHENTICATED, UNAUTHORIZED)
        batch, request = self._decoded(raw, context)
        try:
            self._pipeline.store(batch, timeout=self._wait_s(context))
        except QueueFull:
            context.abort(grpc.StatusCode.UNAVAILABLE, "write queue is full; retry later")
        except PipelineClosed:
            context.abort(grpc.StatusCode.UNAVAILABLE, "server is shutting down; retry later")
        except WriteFailed as error:
            logger.warning("OTLP/gRPC %s export not stored: %s", self.signal, error)
            context.abort(grpc.StatusCode.UNAVAILABLE, f"{error}; retry later")
        if self._on_committed is not None and batch.accepted:
            self._hand_on(CommittedRequest(self.signal, raw, PROTOBUF, "identity", request))
        return export_response(batch)

    def _hand_on(self, committed: CommittedRequest) -> None:
        """Give a committed request (its protobuf bytes) to the listener; its failure never
        fails the export."""
        try:
            self._on_committed(committed)
        except Exception:
            logger.exception("on-committed listener failed for a %s request", self.signal)

    def _decoded(self, raw: bytes, context: grpc.ServicerContext):
        """Plain records of the request, and the parsed request; anything that fails to parse
        or walk it is the client's INVALID_ARGUMENT, never an INTERNAL error."""
        try:
            request = REQUEST_TYPES[self.signal].FromString(raw)
            return decode_request(self.signal, request, self._pipeline.series_ids), request
        except Exception as exc:
            logger.info("OTLP/gRPC %s request rejected: %r", self.signal, exc)
            context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                          f"cannot decode {self.signal} request: {type(exc).__name__}")

    def _wait_s(self, context: grpc.ServicerContext) -> float:
        """The commit wait: the configured one, shortened to end before the client's deadline."""
        remaining = context.time_remaining()
        wait = self._pipeline.commit_timeout
        if remaining is not None:
            wait = min(wait, max(remaining - DEADLINE_MARGIN_S, 0.0))
        return wait


def _handler(signal: str, keys: ApiKeys, pipeline: WritePipeline,
             on_committed: CommitListener | None) -> grpc.GenericRpcHandler:
    response_type = RESPONSES[signal][0]
    method = grpc.unary_unary_rpc_method_handler(
        _Exporter(signal, keys, pipeline, on_committed).Export,
        request_deserializer=None,
        response_serializer=response_type.SerializeToString,
    )
    return grpc.method_handlers_generic_handler(SERVICES[signal], {"Export": method})


def start_grpc_server(host: str, port: int, *, keys: ApiKeys, pipeline: WritePipeline,
                      max_message_bytes: int, threads: int,
                      on_committed: CommitListener | None = None) -> tuple[grpc.Server, int]:
    """Start serving; returns the server and the port it bound (useful when `port` is 0)."""
    server = grpc.server(
        ThreadPoolExecutor(max_workers=threads, thread_name_prefix="tradepulse-grpc"),
        options=[("grpc.max_receive_message_length", max_message_bytes)],
    )
    server.add_generic_rpc_handlers(
        tuple(_handler(signal, keys, pipeline, on_committed) for signal in SERVICES))
    bound = server.add_insecure_port(f"{host}:{port}")
    server.start()
    return server, bound
