"""OTLP/gRPC receiver (default port 4317): the same decode and write path as OTLP/HTTP.

Status codes follow the OTLP specification: UNAUTHENTICATED without a valid API key,
UNAVAILABLE (retryable) when the write queue is full or storage fails, RESOURCE_EXHAUSTED from
gRPC itself for messages over the size limit, and partial_success for rejected items.
Imported only in the server's worker process, after it forks.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

import grpc
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

from tradepulse_backend.ingest.auth import UNAUTHORIZED, ApiKeys
from tradepulse_backend.ingest.decode import decode_request
from tradepulse_backend.ingest.pipeline import PipelineClosed, QueueFull, WriteFailed, WritePipeline
from tradepulse_backend.ingest.responses import export_response

logger = logging.getLogger(__name__)


class _Exporter:
    """The Export method shared by the three OTLP services."""

    signal = ""

    def __init__(self, keys: ApiKeys, pipeline: WritePipeline) -> None:
        self._keys = keys
        self._pipeline = pipeline

    def Export(self, request, context: grpc.ServicerContext):
        metadata = dict(context.invocation_metadata())
        if not self._keys.accepts(metadata.get("authorization")):
            context.abort(grpc.StatusCode.UNAUTHENTICATED, UNAUTHORIZED)
        batch = decode_request(self.signal, request, self._pipeline.series_ids)
        try:
            self._pipeline.store(batch)
        except QueueFull:
            context.abort(grpc.StatusCode.UNAVAILABLE, "write queue is full; retry later")
        except PipelineClosed:
            context.abort(grpc.StatusCode.UNAVAILABLE, "server is shutting down; retry later")
        except WriteFailed as error:
            logger.warning("OTLP/gRPC %s export not stored: %s", self.signal, error)
            context.abort(grpc.StatusCode.UNAVAILABLE, f"{error}; retry later")
        return export_response(batch)


class _Traces(_Exporter, trace_service_pb2_grpc.TraceServiceServicer):
    signal = "traces"


class _Metrics(_Exporter, metrics_service_pb2_grpc.MetricsServiceServicer):
    signal = "metrics"


class _Logs(_Exporter, logs_service_pb2_grpc.LogsServiceServicer):
    signal = "logs"


def start_grpc_server(host: str, port: int, *, keys: ApiKeys, pipeline: WritePipeline,
                      max_message_bytes: int, threads: int) -> tuple[grpc.Server, int]:
    """Start serving; returns the server and the port it bound (useful when `port` is 0)."""
    server = grpc.server(
        ThreadPoolExecutor(max_workers=threads, thread_name_prefix="tradepulse-grpc"),
        options=[("grpc.max_receive_message_length", max_message_bytes)],
    )
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_Traces(keys, pipeline), server)
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(
        _Metrics(keys, pipeline), server)
    logs_service_pb2_grpc.add_LogsServiceServicer_to_server(_Logs(keys, pipeline), server)
    bound = server.add_insecure_port(f"{host}:{port}")
    server.start()
    return server, bound
