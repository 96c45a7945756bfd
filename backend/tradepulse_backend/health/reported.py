"""Component health a bot reports itself: each `trading.health.check` span (the SDK's
`register_health_checker`) sets the status of component `check:<service>:<component>`."""

from __future__ import annotations

from dataclasses import dataclass

from tradepulse import conventions as conv
from tradepulse_backend.health.models import ComponentStatus
from tradepulse_backend.telemetry.records import DecodedBatch


@dataclass(frozen=True)
class ReportedCheck:
    """One bot-side check outcome."""

    service: str
    component: str
    status: ComponentStatus
    message: str
    time_ns: int
    response_time_ms: float

    @property
    def name(self) -> str:
        return component_name(self.service, self.component)


def component_name(service: str, component: str) -> str:
    return f"check:{service}:{component}"


def reported_checks(batch: DecodedBatch) -> list[ReportedCheck]:
    """The health-check spans of a stored batch, oldest first; an unknown status reads as
    unhealthy with the status named in the message."""
    found = []
    for span in batch.spans:
        if span.name != conv.SPAN_HEALTH_CHECK:
            continue
        attrs = span.attributes
        component = str(attrs.get(conv.ATTR_COMPONENT) or "")
        if not component:
            continue
        raw = str(attrs.get(conv.ATTR_HEALTH_STATUS) or "")
        message = str(attrs.get(conv.ATTR_HEALTH_MESSAGE) or "")
        try:
            status = ComponentStatus(raw)
        except ValueError:
            status, message = ComponentStatus.UNHEALTHY, f"unknown status {raw!r}: {message}"
        found.append(ReportedCheck(span.resource.service_name, component, status, message,
                                   span.end_ns, max(0, span.end_ns - span.start_ns) / 1e6))
    return sorted(found, key=lambda c: c.time_ns)
