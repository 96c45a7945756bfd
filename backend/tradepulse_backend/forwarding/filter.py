"""The service filter: which part of a committed request a destination receives.

A request whose resources all match goes on byte for byte. A mixed request (some resources of
listed services, some not) is cut down to the matching resources and re-encoded as protobuf
(gzipped again when it arrived gzipped): its original bytes cannot carry only a subset, and
forwarding it whole would hand other services' telemetry to a vendor the filter excludes.
"""

from __future__ import annotations

import gzip
from collections.abc import Collection
from dataclasses import dataclass

from tradepulse_backend.ingest.committed import CommittedRequest
from tradepulse_backend.telemetry.otlp import service_name

PROTOBUF = "application/x-protobuf"
RESOURCE_FIELDS = {"traces": "resource_spans", "metrics": "resource_metrics",
                   "logs": "resource_logs"}


@dataclass(frozen=True, slots=True)
class Outgoing:
    """The bytes to queue for one destination, with their media type and encoding."""

    body: bytes
    content_type: str
    encoding: str


def select(committed: CommittedRequest, services: Collection[str] | None) -> Outgoing | None:
    """What to forward of `committed` under the filter `services` (None: everything); None
    when no resource matches."""
    whole = Outgoing(committed.body, committed.content_type, committed.content_encoding)
    if services is None:
        return whole
    field = RESOURCE_FIELDS[committed.signal]
    resources = getattr(committed.request, field)
    matching = [r for r in resources if service_name(r.resource.attributes) in services]
    if not matching:
        return None
    if len(matching) == len(resources):
        return whole
    subset = type(committed.request)()
    getattr(subset, field).extend(matching)
    body = subset.SerializeToString()
    if committed.content_encoding == "gzip":
        return Outgoing(gzip.compress(body, compresslevel=6), PROTOBUF, "gzip")
    return Outgoing(body, PROTOBUF, "identity")
