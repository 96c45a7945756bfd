"""Models of the `system_health` settings beyond the seed's: heartbeats, trends, the leak
detector, checker defaults, error windows and backend self-checks. `SystemHealthConfig` (in
`models.py`) references them; every default lives here."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from tradepulse import conventions as conv


class _HealthSection(BaseModel):
    """Unknown keys and non-finite numbers are errors, as in every config model."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class HeartbeatConfig(_HealthSection):
    """When a service that stopped exporting turns degraded, then unhealthy."""

    degraded_after: float = Field(
        3, gt=0, description="Multiples of the service's observed export interval.")
    unhealthy_after: float = Field(
        6, gt=0, description="Multiples of the service's observed export interval.")
    default_interval: float = Field(
        10, gt=0, description="Seconds assumed until a service's interval is learned (the "
                              "SDK's default export interval).")
    min_interval: float = Field(
        1, gt=0, description="Floor of a learned interval, so a burst of exports does not "
                             "make a service look overdue within a second.")
    forget_after: float = Field(
        86_400, gt=0, description="Seconds after its last export a silent service is dropped.")

    @model_validator(mode="after")
    def _degraded_before_unhealthy(self) -> HeartbeatConfig:
        if self.degraded_after > self.unhealthy_after:
            raise PydanticCustomError(
                "heartbeat_order", "degraded_after must not exceed unhealthy_after")
        return self


class TrendConfig(_HealthSection):
    """Rate of change and projection to exhaustion of disk and memory."""

    window: float = Field(6 * 3600, gt=0, description="Seconds of samples a trend fits.")
    min_points: int = Field(10, ge=3, description="Samples needed before a trend is reported.")
    min_r2: float = Field(
        0.8, ge=0, le=1,
        description="Least fit (R²) of the line before an exhaustion ETA is reported: the "
                    "confidence guard that keeps noise from producing absurd ETAs.")
    max_eta: float = Field(
        30 * 86_400, gt=0, description="Seconds beyond which no exhaustion ETA is reported.")
    eta_warning: float = Field(
        24 * 3600, gt=0, description="An ETA below this many seconds makes the host degraded.")
    eta_critical: float = Field(
        3600, gt=0, description="An ETA below this many seconds makes the host unhealthy.")


class LeakConfig(_HealthSection):
    """Sustained RSS growth of a bot process."""

    min_duration: float = Field(
        1800, gt=0, description="Seconds of growth needed before it counts as a leak.")
    min_slope_bytes_per_h: float = Field(
        10 * 2**20, gt=0, description="Growth below this many bytes per hour is no leak.")
    min_r2: float = Field(0.8, ge=0, le=1, description="Least fit (R²) of the growth line.")
    window: float = Field(4 * 3600, gt=0, description="Seconds of RSS samples kept per bot.")


class CheckerDefaults(_HealthSection):
    """Defaults of `register_health_checker` and the history every component keeps."""

    interval: float = Field(30, gt=0, description="Seconds between runs of a checker.")
    timeout: float = Field(5, gt=0, description="Seconds a run may take before it is unhealthy.")
    transitions_kept: int = Field(20, ge=1, le=1000,
                                  description="Status changes kept in memory per component.")
    tick: float = Field(0.5, gt=0, description="Seconds between the runner's due checks.")


class ErrorRateConfig(_HealthSection):
    """Error rate and latency per service and span name, from stored spans."""

    window: float = Field(300, gt=0, description="Seconds of spans behind the figures.")
    min_spans: int = Field(20, ge=1, description="Spans needed before a rate is judged.")
    latency_exclude: list[str] = Field(
        default_factory=lambda: [conv.SPAN_TRADE],
        description="Span names whose duration is a holding period, not a latency (a trade "
                    "from open to close): their errors count, their durations do not.")


class BackendChecksConfig(_HealthSection):
    """The backend's own components: ingest queue, bus, workers."""

    queue_degraded: float = Field(0.5, gt=0, le=1,
                                  description="Ingest queue fill that makes ingest degraded.")
    queue_unhealthy: float = Field(0.9, gt=0, le=1,
                                   description="Ingest queue fill that makes ingest unhealthy.")
    commit_latency_degraded_ms: float = Field(
        1000, gt=0, description="Commit latency of a host sample that makes storage degraded.")
