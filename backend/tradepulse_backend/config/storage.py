"""Settings of series chunks and of each storage tier's retention (`storage.retention`,
`storage.chunks`)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from tradepulse_backend.clock import duration_ns

NS_PER_DAY = 86_400 * 10**9


def _days(value: object) -> object:
    """A number of days, or a duration such as `7d`, `12h` or `2y` turned into days."""
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("y") and text[:-1].replace(".", "", 1).isdigit():
            return float(text[:-1]) * 365
        found = duration_ns(text)
        if found is None:
            try:
                return float(text)
            except ValueError:
                raise ValueError(f"expected days or a duration like 7d, got {value!r}") from None
        return found / NS_PER_DAY
    return value


Days = Annotated[float, BeforeValidator(_days), Field(gt=0)]


class RetentionConfig(BaseModel):
    """How long each storage tier keeps number points: raw points, 1-minute and 1-hour
    rollups. `performance_monitor.metrics_retention_days`, when set, sets `raw`."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True)

    raw: Days = Field(7, description="Days raw points are kept (chunk-granular).")
    one_minute: Days = Field(90, alias="1m", description="Days 1-minute rollups are kept.")
    one_hour: Days = Field(730, alias="1h", description="Days 1-hour rollups are kept.")


class ChunkConfig(BaseModel):
    """How number points are sealed into compressed per-series chunks."""

    model_config = ConfigDict(extra="forbid")

    window: float = Field(7200, gt=0, description="Seconds of points per raw chunk; a whole "
                                                  "number of hours.")
    seal_delay: float = Field(600, ge=0, description="Seconds a window stays open after its "
                                                     "end for late points.")
    interval: float = Field(60, gt=0, description="Seconds between compaction runs.")
    max_windows_per_run: int = Field(
        5000, ge=1, description="Series windows sealed per run, so a backfill after an "
                                "upgrade proceeds in the background in bounded steps.")
    journal_size_limit: int = Field(
        2**20, ge=0, description="Bytes the SQLite WAL is truncated to after a checkpoint.")

    @field_validator("window")
    @classmethod
    def _whole_hours(cls, value: float) -> float:
        if value % 3600 or value > 86_400:
            raise ValueError("a whole number of hours, at most 86400 seconds")
        return value
