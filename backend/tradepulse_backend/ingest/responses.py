"""OTLP export responses, with partial_success when some items were rejected."""

from __future__ import annotations

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from tradepulse_backend.telemetry.records import DecodedBatch

RESPONSES = {
    "traces": (ExportTraceServiceResponse, "rejected_spans"),
    "metrics": (ExportMetricsServiceResponse, "rejected_data_points"),
    "logs": (ExportLogsServiceResponse, "rejected_log_records"),
}


def export_response(batch: DecodedBatch):
    """The response message for a stored batch; partial_success says what was rejected and why."""
    response_type, rejected_field = RESPONSES[batch.signal]
    response = response_type()
    if batch.rejected or batch.errors:
        setattr(response.partial_success, rejected_field, batch.rejected)
        response.partial_success.error_message = "; ".join(batch.errors)
    return response
