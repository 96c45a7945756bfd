"""Alerting config: rules, routes, time intervals, grouping, rate limits and the outbox.

A rule spec keeps the seed's keys (`conditions: [{field, operator, value}]`, `severity`,
`title`, `message`, `channels`) and adds Alertmanager's (`for`, `keep_firing_for`, `labels`,
`annotations`, `group_by`) plus `match`, `scope`. Structure, operators, durations and templates
are checked here; whether a field names a known figure is checked by the alerting engine, which
knows the figure sources.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from tradepulse_backend.config.base import (
    Duration,
    _Section,
    check_timezone,
    merged_over_defaults,
)
from tradepulse_backend.config.channels import ChannelsConfig, default_channels

COMPARISONS = ("lt", "le", "gt", "ge", "eq", "ne")
CHANGE_OPERATORS = ("change", "pct_change")
OPERATORS = (*COMPARISONS, *CHANGE_OPERATORS, "absent")
SPELLINGS = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge", "==": "eq", "=": "eq", "!=": "ne"}
"""The seed's symbol spellings of the comparisons."""
SEVERITIES = ("info", "warning", "critical")
MATCH_OPS = ("=", "!=", "=~", "!~")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_FIELD = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(?:\{(.*)\})?\s*$", re.S)
_FIELD_MATCHER = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*')
_CONDITION_TEXT = re.compile(
    r"^\s*(?P<field>[A-Za-z_][A-Za-z0-9_.]*(?:\{[^}]*\})?)\s+(?P<op>\S+)"
    r"(?:\s+(?P<rest>.*?))?\s*$", re.S)


def _error(kind: str, message: str, **context: Any) -> PydanticCustomError:
    return PydanticCustomError(kind, message, context)


# --- matchers -----------------------------------------------------------------------------

class Matcher(_Section):
    """A label matcher as Alertmanager writes it: name, value and `=`, `!=`, `=~` or `!~`."""

    name: str = Field(min_length=1)
    value: str
    op: Literal["=", "!=", "=~", "!~"] = "="

    @model_validator(mode="after")
    def _regex_compiles(self) -> Matcher:
        if self.op in ("=~", "!~"):
            try:
                re.compile(self.value)
            except re.error as error:
                raise _error("bad_regex", "value is not a valid regular expression: {why}",
                             why=str(error)) from None
        return self

    def matches(self, labels: Mapping[str, Any]) -> bool:
        """True when the label (missing counts as empty) satisfies this matcher."""
        actual = str(labels.get(self.name, ""))
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        found = re.fullmatch(self.value, actual) is not None
        return found if self.op == "=~" else not found


def _matcher_list(value: Any) -> Any:
    """`{service: bot-a}` is short for `[{name: service, value: bot-a, op: "="}]`."""
    if isinstance(value, Mapping) and "name" not in value:
        return [{"name": key, "value": str(item), "op": "="} for key, item in value.items()]
    return value


Matchers = Annotated[list[Matcher], BeforeValidator(_matcher_list)]


# --- fields and conditions ----------------------------------------------------------------

def parse_field(text: str) -> tuple[str, tuple[tuple[str, str, str], ...]]:
    """`trading.broker.connected{trading.broker="alpaca"}` as (name, ((key, op, value), ...));
    a ValueError says what is malformed."""
    match = _FIELD.match(text)
    if match is None:
        raise ValueError("expected a figure name, optionally with {attribute=\"value\"} matchers")
    name, body = match.group(1), match.group(2)
    matchers: list[tuple[str, str, str]] = []
    if body and body.strip():
        for part in _split_matchers(body):
            found = _FIELD_MATCHER.fullmatch(part)
            if found is None:
                raise ValueError(f"bad attribute matcher {part.strip()!r}; write "
                                 'key="value" (or !=, =~, !~)')
            key, op, value = found.groups()
            value = value.replace('\\"', '"').replace("\\\\", "\\")
            if op in ("=~", "!~"):
                try:
                    re.compile(value)
                except re.error as error:
                    raise ValueError(f"matcher {key}{op}: bad regular expression: {error}"
                                     ) from None
            matchers.append((key, op, value))
    return name, tuple(matchers)


def _split_matchers(body: str) -> list[str]:
    parts, current, quoted, escaped = [], "", False, False
    for char in body:
        if char == "," and not quoted:
            parts.append(current)
            current = ""
            continue
        if char == '"' and not escaped:
            quoted = not quoted
        escaped = char == "\\" and not escaped
        current += char
    if current.strip():
        parts.append(current)
    return parts


def _condition_from_text(value: Any) -> Any:
    """`portfolio_value pct_change lt -0.03 within 10m`, `daily_return < -0.05` and
    `trading.portfolio.value absent 2m` as condition mappings."""
    if not isinstance(value, str):
        return value
    match = _CONDITION_TEXT.match(value)
    if match is None:
        raise _error("condition_text", "expected 'FIELD OPERATOR VALUE', e.g. "
                                       "'daily_return lt -0.05'")
    words = (match.group("rest") or "").split()
    condition: dict[str, Any] = {"field": match.group("field"), "operator": match.group("op")}
    if "within" in words:
        at = words.index("within")
        if at + 1 >= len(words):
            raise _error("condition_text", "'within' needs a duration, e.g. 'within 10m'")
        condition["within"] = words[at + 1]
        words = words[:at] + words[at + 2:]
    op = SPELLINGS.get(condition["operator"], condition["operator"])
    if op in CHANGE_OPERATORS and len(words) == 2:
        condition["compare"], condition["value"] = words
    elif op == "absent" and len(words) == 1:
        condition["within"] = words[0]
    elif len(words) == 1:
        condition["value"] = words[0]
    elif words:
        raise _error("condition_text", "cannot read the condition after its operator")
    return condition


class Condition(_Section):
    """One test of a figure: `{field, operator, value}`; change operators compare the change
    over `within` using `compare`; `absent` holds when the figure had no data for `within`."""

    field: str = Field(min_length=1)
    operator: str
    value: float | None = None
    compare: str | None = Field(None, description="Comparison for change/pct_change.")
    within: Duration | None = Field(None, description="Window of change/pct_change/absent.")

    @field_validator("field")
    @classmethod
    def _field_parses(cls, value: str) -> str:
        try:
            parse_field(value)
        except ValueError as error:
            raise _error("bad_field", "{why}", why=str(error)) from None
        return value.strip()

    @field_validator("operator", "compare")
    @classmethod
    def _known_operator(cls, value: str | None) -> str | None:
        if value is None:
            return None
        op = SPELLINGS.get(value.strip(), value.strip())
        if op not in OPERATORS:
            raise _error("operator", "{given} is not one of {allowed}", given=repr(value[:40]),
                         allowed=", ".join((*OPERATORS, *SPELLINGS)))
        return op

    @model_validator(mode="after")
    def _complete(self) -> Condition:
        if self.operator in CHANGE_OPERATORS:
            if self.within is None or self.within <= 0:
                raise _error("within", "{op} needs 'within', the window, e.g. 10m",
                             op=self.operator)
            if self.compare not in COMPARISONS:
                raise _error("compare", "{op} needs 'compare', one of {allowed}",
                             op=self.operator, allowed=", ".join(COMPARISONS))
        elif self.operator == "absent":
            if self.within is None or self.within <= 0:
                raise _error("within", "absent needs 'within': how long without data, e.g. 5m")
            return self
        elif self.compare is not None or self.within is not None:
            raise _error("extra", "'compare' and 'within' belong to change, pct_change, absent")
        if self.value is None:
            raise _error("value", "{op} needs a numeric 'value'", op=self.operator)
        return self

    @property
    def comparison(self) -> str:
        """The comparison applied: the operator itself, or `compare` for change operators."""
        return self.compare if self.operator in CHANGE_OPERATORS else self.operator  # type: ignore[return-value]


ConditionSpec = Annotated[Condition, BeforeValidator(_condition_from_text)]


# --- templates ----------------------------------------------------------------------------

def check_template(text: str) -> str:
    """Refuse templates that reach past plain names: attribute access, indexing, conversions
    and nested fields (`{x.__class__}`, `{x[0]}`, `{x!r}`, `{x:{y}}`)."""
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as error:
        raise _error("template", "malformed template: {why}", why=str(error)) from None
    for _literal, name, spec, conversion in parts:
        if name is None:
            continue
        if not _NAME.match(name):
            raise _error("template", "{field}: only plain names are allowed in templates, "
                         "no attribute access, indexing or positional fields",
                         field="{" + name[:40] + "}")
        if conversion is not None:
            raise _error("template", "{field}: conversions are not allowed",
                         field="{" + f"{name}!{conversion}" + "}")
        if spec and ("{" in spec or "}" in spec):
            raise _error("template", "{field}: nested fields in a format spec are not "
                         "allowed", field="{" + name + "}")
    return text


Template = Annotated[str, BeforeValidator(lambda v: check_template(v) if isinstance(v, str)
                                          else v)]


# --- rules --------------------------------------------------------------------------------

class RuleSpec(_Section):
    """One alert rule, as written in YAML, the Python API or REST."""

    conditions: list[ConditionSpec] = Field(min_length=1)
    match: Literal["all", "any"] = "all"
    severity: str = "warning"
    title: Template | None = Field(None, description="Defaults to the rule's name.")
    message: Template = ""
    channels: list[str] | None = Field(
        None, description="Channels for this rule; when set they win over routes.")
    for_: Duration = Field(0, alias="for", description="How long a condition must hold.")
    keep_firing_for: Duration = Field(0, description="Stay firing this long after it clears.")
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, Template] = Field(default_factory=dict)
    scope: Matchers = Field(default_factory=list,
                            description="Matchers on service / portfolio / attributes.")
    group_by: list[str] | None = None
    enabled: bool = True

    model_config = {**_Section.model_config, "populate_by_name": True}

    @field_validator("severity")
    @classmethod
    def _known_severity(cls, value: str) -> str:
        folded = str(value).strip().lower()
        if folded not in SEVERITIES:
            raise _error("severity", "{given} is not one of {allowed}", given=repr(str(value)[:40]),
                         allowed=", ".join(SEVERITIES))
        return folded

    def dump(self) -> dict[str, Any]:
        """The spec as stored and returned by REST (`for` under its own name)."""
        return self.model_dump(mode="json", by_alias=True, exclude_defaults=False)


# --- routes, time intervals ---------------------------------------------------------------

_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_CLOCK = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")


def _minutes(text: str) -> int:
    match = _CLOCK.match(text)
    if match is None or (match.group(1) == "24" and match.group(2) != "00"):
        raise _error("time_of_day", "expected HH:MM between 00:00 and 24:00")
    return int(match.group(1)) * 60 + int(match.group(2))


class TimeRange(_Section):
    """A time of day range `[start_time, end_time)`, HH:MM."""

    start_time: str
    end_time: str

    @model_validator(mode="after")
    def _ordered(self) -> TimeRange:
        if _minutes(self.start_time) >= _minutes(self.end_time):
            raise _error("time_range", "start_time must be before end_time")
        return self

    @property
    def minutes(self) -> tuple[int, int]:
        return _minutes(self.start_time), _minutes(self.end_time)


def _weekday_range(value: str) -> list[int]:
    first, _, last = value.strip().lower().partition(":")
    for day in (first, last or first):
        if day not in _DAYS:
            raise _error("weekday", "{day} is not a weekday ({allowed})", day=repr(day),
                         allowed=", ".join(_DAYS))
    start, end = _DAYS.index(first), _DAYS.index(last or first)
    if start > end:
        raise _error("weekday", "range {value} runs backwards", value=repr(value))
    return list(range(start, end + 1))


class TimeInterval(_Section):
    """Alertmanager's time interval: weekdays, times of day, in an IANA location; an empty
    list means every day / all day."""

    weekdays: list[str] = Field(default_factory=list, description="e.g. ['monday:friday']")
    times: list[TimeRange] = Field(default_factory=list)
    location: str = "UTC"

    @field_validator("weekdays")
    @classmethod
    def _days(cls, value: list[str]) -> list[str]:
        for item in value:
            _weekday_range(item)
        return value

    @field_validator("location")
    @classmethod
    def _zone(cls, value: str) -> str:
        return check_timezone(value)

    @property
    def day_numbers(self) -> frozenset[int]:
        return frozenset(d for item in self.weekdays for d in _weekday_range(item))


def _builtin_intervals() -> dict[str, list[TimeInterval]]:
    return {
        "us_equities_regular": [TimeInterval(
            weekdays=["monday:friday"],
            times=[TimeRange(start_time="09:30", end_time="16:00")],
            location="America/New_York")],
        "always": [TimeInterval()],
    }


class Route(_Section):
    """Where matching alerts go: `{match: {severity: critical}, channels: [...], continue}`."""

    match: dict[str, str] = Field(default_factory=dict, description="Label equality.")
    matchers: Matchers = Field(default_factory=list, description="More label matchers.")
    channels: list[str] = Field(min_length=1)
    continue_: bool = Field(False, alias="continue")
    group_by: list[str] | None = None
    group_wait: Duration | None = None
    group_interval: Duration | None = None
    repeat_interval: Duration | None = None
    mute_time_intervals: list[str] = Field(default_factory=list)
    active_time_intervals: list[str] = Field(default_factory=list)

    model_config = {**_Section.model_config, "populate_by_name": True}

    def matches(self, labels: Mapping[str, Any]) -> bool:
        return (all(str(labels.get(k, "")) == v for k, v in self.match.items())
                and all(m.matches(labels) for m in self.matchers))


def _default_routes() -> list[Route]:
    return [Route(match={"severity": "critical"}, channels=["email", "slack", "console"]),
            Route(match={"severity": "warning"}, channels=["slack", "console"]),
            Route(match={}, channels=["console"])]


# --- rate limits and outbox ---------------------------------------------------------------

class RateLimit(_Section):
    """Upper bounds on notifications one channel may send; critical alerts alone may use the
    last `critical_reserve` share of each bound."""

    max_per_hour: int | None = Field(None, gt=0)
    max_per_day: int | None = Field(None, gt=0)
    critical_reserve: float = Field(0.2, ge=0, le=1)


def _default_rate_limits() -> dict[str, RateLimit]:
    return {
        "email": RateLimit(max_per_hour=10, max_per_day=50),
        "slack": RateLimit(max_per_hour=20, max_per_day=100),
    }


class OutboxConfig(_Section):
    """How the durable outbox retries a channel."""

    max_attempts: int = Field(10, ge=1)
    max_age: Duration = Field(86400, gt=0, description="Give up on a notification this old.")
    backoff_base: Duration = Field(1.0, gt=0, description="First retry waits up to this.")
    backoff_max: Duration = Field(300, gt=0, description="Longest wait between attempts.")
    batch: int = Field(50, ge=1, description="Rows one sender reads per pass.")


class AlertingSystemConfig(_Section):
    """Alert rules, their evaluation, grouping, routing, limits and delivery."""

    enabled: bool = True
    rules: dict[str, RuleSpec] = Field(default_factory=dict)
    evaluation_interval: Duration = Field(5, gt=0, description="Seconds between timer runs.")
    group_by: list[str] = Field(default_factory=lambda: ["rule", "service"])
    group_wait: Duration = Field(2, description="Wait for more alerts of a new group.")
    group_interval: Duration = Field(60, description="Wait before notifying a changed group.")
    repeat_interval: Duration = Field(4 * 3600, gt=0,
                                      description="Re-notify a still-firing group.")
    resolved_retention: Duration = Field(
        900, description="Resolved alerts stay in /api/v1/alerts this long.")
    routes: list[Route] = Field(default_factory=_default_routes)
    time_intervals: Annotated[
        dict[str, list[TimeInterval]], merged_over_defaults(_builtin_intervals)
    ] = Field(default_factory=_builtin_intervals)
    rate_limits: Annotated[
        dict[str, RateLimit], merged_over_defaults(_default_rate_limits)
    ] = Field(
        default_factory=_default_rate_limits,
        description="Per-channel limits, merged over the defaults; null removes a channel's.",
    )
    channels: ChannelsConfig = Field(default_factory=default_channels)
    outbox: OutboxConfig = Field(default_factory=OutboxConfig)
    external_url: str = Field("", description="Dashboard URL in notifications; empty: the "
                                              "dashboard's own address.")

    @model_validator(mode="after")
    def _names_resolve(self) -> AlertingSystemConfig:
        for index, route in enumerate(self.routes):
            for kind in ("mute_time_intervals", "active_time_intervals"):
                for name in getattr(route, kind):
                    if name not in self.time_intervals:
                        raise _error("unknown_interval",
                                     "routes[{i}].{kind}: unknown time interval {name}; "
                                     "defined: {defined}", i=index, kind=kind, name=repr(name),
                                     defined=", ".join(self.time_intervals))
        for name, spec in self.rules.items():
            for channel in spec.channels or ():
                if channel not in self.channels:
                    raise _error("unknown_channel",
                                 "rules.{rule}.channels: channel {channel} is not configured "
                                 "under alerting_system.channels (configured: {known})",
                                 rule=name, channel=repr(channel), known=", ".join(self.channels))
        return self
