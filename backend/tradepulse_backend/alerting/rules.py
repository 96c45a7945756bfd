"""Alert rules: a validated spec compiled against the figure sources, evaluated per subject.

`compile_rule` turns a spec (mapping or `RuleSpec`) into an `AlertRule`, raising `RuleError`
whose messages name the key path at fault. `AlertRule.evaluate(now_ns, service)` reads the
figures it needs, advances each instance's lifecycle and returns the alerts that changed.
"""

from __future__ import annotations

import operator
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from tradepulse_backend.alerting.figures import Figure, FigureBook, FigureSource, Sample
from tradepulse_backend.alerting.severity import AlertSeverity
from tradepulse_backend.alerting.state import Alert, AlertState, Timing, advance, fingerprint, start
from tradepulse_backend.alerting.templates import render
from tradepulse_backend.config.alerting import CHANGE_OPERATORS, RuleSpec

NS = 1_000_000_000
COMPARE: dict[str, Callable[[float, float], bool]] = {
    "lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge,
    "eq": operator.eq, "ne": operator.ne,
}


class RuleError(ValueError):
    """A rule that cannot be used; `errors` holds one `key.path: message` per problem."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def spec_errors(error: ValidationError, prefix: str) -> list[str]:
    """pydantic errors as `prefix.key.path: message`, never echoing input values."""
    found = []
    for item in error.errors(include_url=False, include_input=False, include_context=False):
        path = prefix + "".join(f"[{p}]" if isinstance(p, int) else f".{p}"
                                for p in item["loc"])
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown key"
        found.append(f"{path}: {message.removeprefix('Value error, ')}")
    return found


class CompiledCondition:
    """One condition bound to its figure source; keeps the history change operators need."""

    def __init__(self, figure: Figure, source: FigureSource, op: str, comparison: str,
                 value: float | None, within_ns: int) -> None:
        self.figure = figure
        self.source = source
        self.op = op
        self.compare = COMPARE.get(comparison)
        self.value = value
        self.within_ns = within_ns
        self._history: dict[tuple, deque[tuple[int, float]]] = {}

    def samples(self, service: str | None) -> list[Sample]:
        return self.source.samples(self.figure, service)

    def check(self, sample: Sample, now_ns: int) -> tuple[bool, float | None]:
        """Whether the sample satisfies the condition, and the value it was judged on."""
        key, _labels, value, seen_ns = sample
        if self.op == "absent":
            return now_ns - seen_ns >= self.within_ns, (now_ns - seen_ns) / NS
        if value is None:
            return False, None
        if self.op in CHANGE_OPERATORS:
            value = self._change(key, value, seen_ns, now_ns)
            if value is None:
                return False, None
        return self.compare(value, self.value), value

    def _change(self, key: tuple, value: float, seen_ns: int, now_ns: int) -> float | None:
        history = self._history.setdefault(key, deque())
        if not history or history[-1][0] < seen_ns:
            history.append((seen_ns, value))
        cutoff = now_ns - self.within_ns
        while len(history) > 1 and history[1][0] <= cutoff:
            history.popleft()
        base = history[0][1]
        if len(history) < 2:
            return None
        if self.op == "change":
            return value - base
        return None if base == 0 else (value - base) / abs(base)


class AlertRule:
    """A compiled rule and its live alert instances, one per subject."""

    def __init__(self, name: str, spec: RuleSpec, conditions: list[CompiledCondition],
                 source: str = "api", context_sources: Iterable[FigureSource] = ()) -> None:
        self.name = name
        self.spec = spec
        self.source = source
        self.severity = AlertSeverity.parse(spec.severity)
        self.conditions = conditions
        self.context_sources = list(context_sources)
        """Every source's figures for the subject reach the templates, not only the rule's."""
        self.kinds = frozenset(c.source.kind for c in conditions)
        self.timing = Timing(int(spec.for_ * NS), int(spec.keep_firing_for * NS))
        self.title_template = spec.title or name
        self.instances: dict[tuple, Alert] = {}
        self._simple = (len(conditions) == 1 and not spec.scope
                        and conditions[0].op not in ("absent", *CHANGE_OPERATORS))
        self._restored: dict[str, Alert] = {}
        self._fingerprints: dict[tuple, tuple[str, dict[str, str]]] = {}

    @property
    def channels(self) -> list[str] | None:
        return self.spec.channels

    def evaluate(self, now_ns: int, service: str | None = None) -> list[Alert]:
        """Run the conditions on the current figures (of one service, if named), advance each
        instance, and return the alerts whose state changed."""
        if not self.spec.enabled:
            return []
        changed: list[Alert] = []
        seen: set[tuple] = set()
        instances = self.instances
        for key, labels, active, value in (self._simple_subjects(service) if self._simple
                                           else self._subjects(now_ns, service)):
            alert = instances.get(key)
            if alert is None and not active and not self._restored:
                continue
            seen.add(key)
            if alert is None and self._restored:
                alert = self._restored.pop(self._identity(key, labels)[0], None)
                if alert is not None:
                    instances[key] = alert
            if alert is None or alert.state is AlertState.RESOLVED:
                if not active:
                    continue
                alert = self._new_alert(key, labels)
                start(alert, now_ns, self.timing)
                instances[key] = alert
                alert.value = value
                self._render(alert)
                changed.append(alert)
                continue
            if active:
                alert.value = value
            if advance(alert, active, now_ns, self.timing):
                self._render(alert)
                changed.append(alert)
            elif not active and alert.state is AlertState.PENDING:
                self._drop_pending(alert, now_ns, changed)
        if service is None:
            for key, alert in list(instances.items()):
                if key not in seen and alert.state is not AlertState.RESOLVED:
                    if alert.state is AlertState.PENDING:
                        self._drop_pending(alert, now_ns, changed)
                    elif advance(alert, False, now_ns, self.timing):
                        changed.append(alert)
        return changed

    def _simple_subjects(self, service: str | None
                         ) -> list[tuple[tuple, dict[str, str], bool, float | None]]:
        """The common case, kept lean: one plain comparison, no scope."""
        condition = self.conditions[0]
        compare, threshold = condition.compare, condition.value
        return [(key, labels, value is not None and compare(value, threshold), value)
                for key, labels, value, _seen in condition.samples(service)]

    def _drop_pending(self, alert: Alert, now_ns: int, changed: list[Alert]) -> None:
        """A pending alert whose condition cleared ends without having fired."""
        alert.state = AlertState.RESOLVED
        alert.resolved_ns = alert.since_ns = now_ns
        changed.append(alert)

    def _subjects(self, now_ns: int, service: str | None
                  ) -> Iterable[tuple[tuple, dict[str, str], bool, float | None]]:
        """(subject key, labels, condition holds, value) per subject of this rule."""
        scope = self.spec.scope
        combine_all = self.spec.match == "all"
        primaries = self.conditions if not combine_all else self.conditions[:1]
        done: set[tuple] = set()
        for index, condition in enumerate(primaries):
            for sample in condition.samples(service):
                key, labels = sample[0], sample[1]
                if key in done or (scope and not all(m.matches(labels) for m in scope)):
                    continue
                done.add(key)
                active, value = condition.check(sample, now_ns)
                others = [c for i, c in enumerate(self.conditions) if i != index]
                if combine_all:
                    if active and others:
                        active = all(self._holds(c, labels, now_ns) for c in others)
                elif not active and others:
                    for other in others[index:]:
                        if self._holds(other, labels, now_ns):
                            active = True
                            break
                yield key, labels, active, value

    @staticmethod
    def _holds(condition: CompiledCondition, labels: Mapping[str, str], now_ns: int) -> bool:
        """True when a sample of the same service, compatible with `labels`, satisfies it."""
        for sample in condition.samples(labels.get("service")):
            other = sample[1]
            if all(labels.get(k, v) == v for k, v in other.items()) and \
                    condition.check(sample, now_ns)[0]:
                return True
        return False

    def _identity(self, key: tuple, labels: Mapping[str, str]) -> tuple[str, dict[str, str]]:
        """(fingerprint, labels) of the instance for a subject, computed once per subject."""
        known = self._fingerprints.get(key)
        if known is None:
            identity = {**{k: v for k, v in labels.items() if v != ""}, **self.spec.labels}
            known = (fingerprint(self.name, identity),
                     {**identity, "rule": self.name, "alertname": self.name,
                      "severity": self.severity.value})
            self._fingerprints[key] = known
        return known

    def _new_alert(self, key: tuple, labels: Mapping[str, str]) -> Alert:
        known = self._identity(key, labels)
        return Alert(fingerprint=known[0], rule=self.name, severity=self.severity.value,
                     labels=dict(known[1]), threshold=self.conditions[0].value)

    def context(self, alert: Alert) -> dict[str, Any]:
        """What templates see: every figure of the subject, its labels, value and threshold."""
        context: dict[str, Any] = {}
        for source in self.context_sources:
            context.update(source.context(alert.labels))
        for condition in self.conditions:
            context.update(condition.source.context(alert.labels))
        context.update({k.replace(".", "_"): v for k, v in alert.labels.items()})
        context.update(value=alert.value, threshold=alert.threshold, rule=self.name,
                       severity=self.severity.value, service=alert.service,
                       portfolio=alert.labels.get("portfolio", ""))
        field = self.conditions[0].figure.name
        if field not in context or context[field] is None:
            context[field.replace(".", "_")] = alert.value
        return context

    def _render(self, alert: Alert) -> None:
        context = self.context(alert)
        alert.title = render(self.title_template, context)
        alert.message = render(self.spec.message, context)
        alert.annotations = {key: render(text, context)
                             for key, text in self.spec.annotations.items()}

    def restore(self, alert: Alert) -> None:
        """Take back a stored live instance after a restart; it rejoins its subject when the
        subject's figures next arrive, so a resolve that happened meanwhile is noticed."""
        self._restored[alert.fingerprint] = alert

    def alerts(self) -> list[Alert]:
        """Every instance this rule holds, restored ones included."""
        return [*self.instances.values(), *self._restored.values()]


def compile_rule(name: str, raw: RuleSpec | Mapping[str, Any], book: FigureBook, *,
                 channels: Iterable[str] | None = None, prefix: str = "rules",
                 source: str = "api") -> AlertRule:
    """Validate a spec and bind its fields to figure sources; RuleError names each fault."""
    path = f"{prefix}.{name}"
    if not name or not isinstance(name, str) or len(name) > 200:
        raise RuleError([f"{prefix}: a rule needs a name of 1 to 200 characters"])
    if isinstance(raw, RuleSpec):
        spec = raw
    else:
        if not isinstance(raw, Mapping):
            raise RuleError([f"{path}: expected a mapping with conditions, severity, ..."])
        try:
            spec = RuleSpec.model_validate(dict(raw))
        except ValidationError as error:
            raise RuleError(spec_errors(error, path)) from None
    errors: list[str] = []
    compiled: list[CompiledCondition] = []
    for index, condition in enumerate(spec.conditions):
        figure = Figure.parse(condition.field)
        try:
            figure_source = book.source_for(figure.name)
        except ValueError as error:
            errors.append(f"{path}.conditions[{index}].field: {error}")
            continue
        compiled.append(CompiledCondition(
            figure, figure_source, condition.operator, condition.comparison, condition.value,
            int((condition.within or 0) * NS)))
    if channels is not None:
        known = list(channels)
        for index, channel in enumerate(spec.channels or ()):
            if channel not in known:
                errors.append(f"{path}.channels[{index}]: channel {channel!r} is not "
                              f"configured (configured: {', '.join(known) or 'none'})")
    if errors:
        raise RuleError(errors)
    return AlertRule(name, spec, compiled, source=source, context_sources=book.sources)
