"""Declarative dashboard layouts (`dashboards/NAME.yaml`): which panels show what, where.

A layout is sections of panels. A panel shows a built-in view (`source`: performance figures,
their history, positions, execution, health, alerts, traces, the services overview) or any
ingested metric (`source: metric` with `metric`, attribute filters, `fn` and a `chart`), so
a user adds a chart without code. Every file is validated when the server starts and by
`tradepulse check-config`; an error names the file and the key path (`sections[1].panels[0]
.metric: required when source is metric`). The page renders from `GET /api/v1/layouts/NAME`,
which is a validated layout as JSON.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from tradepulse_backend.config.templates import LAYOUTS_DIR
from tradepulse_backend.performance.snapshot import FIGURE_FIELDS

BUILTIN_DIR = LAYOUTS_DIR
"""The layouts shipped with tradepulse (see `config.templates.LAYOUTS_DIR`)."""
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
Source = Literal["performance", "performance_history", "positions", "execution", "health",
                 "alerts", "traces", "services", "metric"]
Chart = Literal["line", "area", "bar", "stat", "table", "lights", "list", "waterfall"]
METRIC_CHARTS = ("line", "area", "bar", "stat", "table")
FIELD_SOURCES = ("performance", "performance_history", "execution")
HISTORY_FIELDS = frozenset(FIGURE_FIELDS)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)


class Panel(_Model):
    """One tile: a figure, a chart, a table or a list."""

    id: str = Field(pattern=NAME_PATTERN)
    title: str = Field(min_length=1, max_length=120)
    source: Source
    chart: Chart = "stat"
    fields: list[str] = Field(default_factory=list, max_length=32)
    metric: str | None = Field(None, min_length=1, max_length=255)
    attributes: dict[str, str] = Field(default_factory=dict)
    fn: Literal["value", "delta", "rate"] = "value"
    unit: str | None = Field(None, max_length=32)
    width: int = Field(1, ge=1, le=4, description="Columns of the section's grid it spans.")

    @model_validator(mode="after")
    def _consistent(self) -> Panel:
        if self.source == "metric":
            if self.metric is None:
                raise _error("metric", "required when source is metric")
            if self.chart not in METRIC_CHARTS:
                raise _error("chart", "a metric panel's chart is one of "
                                      f"{', '.join(METRIC_CHARTS)}")
        elif self.metric is not None or self.attributes:
            raise _error("metric", "only a panel with source: metric names a metric")
        if self.source in FIELD_SOURCES:
            for index, name in enumerate(self.fields):
                if name not in HISTORY_FIELDS:
                    raise _error(f"fields[{index}]", f"unknown performance figure {name!r}")
        return self


class Section(_Model):
    """A titled group of panels (one of the page's sections)."""

    id: str = Field(pattern=NAME_PATTERN)
    title: str = Field(min_length=1, max_length=120)
    panels: list[Panel] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_panels(self) -> Section:
        _check_unique("panels", [p.id for p in self.panels])
        return self


class Layout(_Model):
    """A whole dashboard: its name (the file's stem) and sections in page order."""

    name: str = Field(pattern=NAME_PATTERN)
    title: str = Field("TradePulse", min_length=1, max_length=120)
    description: str = Field("", max_length=2000)
    sections: list[Section] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_sections(self) -> Layout:
        _check_unique("sections", [s.id for s in self.sections])
        return self

    def metric_names(self) -> frozenset[str]:
        return frozenset(p.metric for s in self.sections for p in s.panels if p.metric)


def _error(key: str, message: str) -> PydanticCustomError:
    return PydanticCustomError("layout", "{key}: {message}", {"key": key, "message": message})


def _check_unique(what: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for index, ident in enumerate(ids):
        if ident in seen:
            raise _error(f"{what}[{index}].id", f"duplicate id {ident!r}")
        seen.add(ident)


class LayoutError(Exception):
    """Layout files that cannot be used; `errors` holds one `file: key.path: message` each."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


class UnknownLayout(KeyError):
    """No layout of that name; the message lists the known ones."""

    def __str__(self) -> str:
        return str(self.args[0])


def key_path(loc: Iterable[Any]) -> str:
    """pydantic's location as `sections[1].panels[0].metric`."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _messages(source: Path, error: ValidationError) -> list[str]:
    lines = []
    for item in error.errors():
        where = key_path(item["loc"])
        message = item["msg"]
        if item["type"] == "layout":
            inner = item["ctx"]["key"]
            where = f"{where}.{inner}" if where else inner
            message = item["ctx"]["message"]
        lines.append(f"{source}: {where or '(top)'}: {message}")
    return lines


def parse_layout(source: Path, document: Any) -> Layout:
    """Validate one layout document; its name defaults to the file's stem."""
    if not isinstance(document, dict):
        raise LayoutError([f"{source}: (top): a layout is a mapping with 'sections'"])
    try:
        return Layout.model_validate({"name": source.stem, **document})
    except ValidationError as error:
        raise LayoutError(_messages(source, error)) from None


class LayoutCatalog:
    """Every layout from the built-in directory and the user's, validated at load."""

    def __init__(self, layouts: dict[str, Layout]) -> None:
        self._layouts = layouts
        self._json = {name: layout.model_dump(mode="json") for name, layout in layouts.items()}

    @classmethod
    def load(cls, directories: Iterable[Path | None], required: Iterable[str] = ()
             ) -> LayoutCatalog:
        """Read `*.yaml` of each directory (later ones override earlier names); raises
        LayoutError listing every problem, including a `required` name that is missing."""
        found: dict[str, Layout] = {}
        errors: list[str] = []
        for directory in directories:
            if directory is None:
                continue
            directory = directory.expanduser()
            if not directory.is_dir():
                errors.append(f"{directory}: not a directory of layout files")
                continue
            for path in sorted(directory.glob("*.yaml")):
                try:
                    layout = parse_layout(path, _read(path))
                except LayoutError as error:
                    errors.extend(error.errors)
                    continue
                found[layout.name] = layout
        for name in required:
            if name not in found and not errors:
                errors.append(f"dashboard.layout: no layout named {name!r}; known: "
                              f"{', '.join(sorted(found)) or 'none'}")
        if errors:
            raise LayoutError(errors)
        return cls(found)

    def names(self) -> list[str]:
        return sorted(self._layouts)

    def get(self, name: str) -> dict[str, Any]:
        """The layout as JSON (what `GET /api/v1/layouts/NAME` returns)."""
        try:
            return self._json[name]
        except KeyError:
            raise UnknownLayout(f"no layout named {name!r}; known: "
                                f"{', '.join(self.names())}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._layouts

    def metric_names(self, name: str) -> frozenset[str]:
        """Ingested metrics the layout charts (what its clients get `metric` messages for)."""
        layout = self._layouts.get(name)
        return layout.metric_names() if layout is not None else frozenset()


def _read(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise LayoutError([f"{path}: cannot read: {error}"]) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(top)"
        raise LayoutError([f"{path}: {where}: not valid YAML"]) from None


def catalog_for(dashboard_config) -> LayoutCatalog:
    """The catalog a server with this `DashboardConfig` uses (raises LayoutError)."""
    return LayoutCatalog.load([BUILTIN_DIR, dashboard_config.layouts_dir],
                              required=[dashboard_config.layout])


def check_layouts(dashboard_config) -> list[str]:
    """Every layout problem under this config as lines for `tradepulse check-config`."""
    try:
        catalog_for(dashboard_config)
    except LayoutError as error:
        return error.errors
    return []
