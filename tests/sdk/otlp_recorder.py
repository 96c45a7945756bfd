"""A tiny real OTLP/HTTP receiver on 127.0.0.1, port 0, that records what it is sent."""

from __future__ import annotations

import gzip
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue


@dataclass(frozen=True)
class Request:
    """One POST as received: path, headers (lower-case names) and decompressed body."""

    path: str
    headers: dict[str, str]
    body: bytes


def _service_name(attributes: list[KeyValue]) -> str | None:
    for kv in attributes:
        if kv.key == "service.name":
            return kv.value.string_value
    return None


class OtlpRecorder:
    """Records every POST; decodes trace and metric export requests with opentelemetry-proto."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                headers = {k.lower(): v for k, v in self.headers.items()}
                recorder.requests.append(Request(self.path, headers, body))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> OtlpRecorder:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def paths(self) -> set[str]:
        return {request.path for request in self.requests}

    def traces(self) -> list[ExportTraceServiceRequest]:
        return [
            ExportTraceServiceRequest.FromString(r.body)
            for r in self.requests
            if r.path == "/v1/traces"
        ]

    def metrics(self) -> list[ExportMetricsServiceRequest]:
        return [
            ExportMetricsServiceRequest.FromString(r.body)
            for r in self.requests
            if r.path == "/v1/metrics"
        ]

    def span_services(self) -> dict[str, str | None]:
        """Span name -> service.name of the resource it was sent under."""
        return {
            span.name: _service_name(rs.resource.attributes)
            for request in self.traces()
            for rs in request.resource_spans
            for ss in rs.scope_spans
            for span in ss.spans
        }

    def metric_services(self) -> dict[str, str | None]:
        """Metric name -> service.name of the resource it was sent under."""
        return {
            metric.name: _service_name(rm.resource.attributes)
            for request in self.metrics()
            for rm in request.resource_metrics
            for sm in rm.scope_metrics
            for metric in sm.metrics
        }
