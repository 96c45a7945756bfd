"""`build_pipeline`: the one place that wires the alerting stages from the config."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from tradepulse_backend.alerting.channels import AlertChannel, build_channels
from tradepulse_backend.alerting.figures import (
    FigureBook,
    FigureSource,
    MetricFigures,
    PerformanceFigures,
)
from tradepulse_backend.alerting.rules import RuleError, compile_rule
from tradepulse_backend.alerting.system import CONFIG_PREFIX, AlertingSystem
from tradepulse_backend.bus import EventBus
from tradepulse_backend.clock import Clock
from tradepulse_backend.config.alerting import AlertingSystemConfig
from tradepulse_backend.performance.snapshot import PerformanceSnapshot
from tradepulse_backend.store import Store, queries
from tradepulse_backend.telemetry.records import MetricKind

WARM_UP_NS = 3600 * 10**9


def default_book(clock: Clock, *, store: Store | None = None,
                 snapshots: Callable[[], Iterable[PerformanceSnapshot]] | None = None,
                 extra: Iterable[FigureSource] = ()
                 ) -> tuple[FigureBook, PerformanceFigures, MetricFigures]:
    """Performance and metric figure sources (plus `extra`, e.g. health) in one book."""
    performance = PerformanceFigures(clock.now_ns, snapshots)
    names = (lambda: [m["name"] for m in queries.metric_names(store)]) if store else tuple
    metrics = MetricFigures(clock.now_ns, names)
    return FigureBook([performance, metrics, *extra]), performance, metrics


def warm_metrics(metrics: MetricFigures, system: AlertingSystem, store: Store, now_ns: int
                 ) -> None:
    """Seed the metric source with each rule metric's newest stored value (last hour), so a
    restart evaluates `absent` and thresholds from where the data stood."""
    wanted = {c.figure.name for rule in system.rules.values() for c in rule.conditions
              if c.source is metrics}
    for name in sorted(wanted):
        for series in queries.series_points(store, name, since_ns=now_ns - WARM_UP_NS):
            if series["kind"] not in (MetricKind.GAUGE, MetricKind.SUM) or not series["points"]:
                continue
            time_ms, value = series["points"][-1]
            metrics.observe(name, series["service"], series["attributes"], value,
                            int(time_ms * 1e6))


def check_rules(config: AlertingSystemConfig, clock: Clock,
                extra_sources: Iterable[FigureSource] = ()) -> list[str]:
    """Every problem of the config's rules that needs the figure sources (unknown fields), as
    `monitoring.alerting_system.rules.NAME....: message` lines; for `check-config`."""
    book = default_book(clock, extra=extra_sources)[0]
    errors: list[str] = []
    for name, spec in config.rules.items():
        try:
            compile_rule(name, spec, book, channels=config.channels, prefix=CONFIG_PREFIX)
        except RuleError as error:
            errors.extend(error.errors)
    return errors


def build_pipeline(config: AlertingSystemConfig, *, store: Store, clock: Clock,
                   bus: EventBus | None = None, user_agent: str = "tradepulse",
                   channels: Mapping[str, AlertChannel] | None = None,
                   snapshots: Callable[[], Iterable[PerformanceSnapshot]] | None = None,
                   extra_sources: Iterable[FigureSource] = (),
                   external_url: Callable[[], str] | str = "",
                   report_channels: Iterable[str] = ()) -> AlertingSystem:
    """Figure sources -> rules -> lifecycle -> silences -> groups -> limits -> outbox ->
    channels, from one config. `channels` replaces the configured ones (tests)."""
    book, performance, metrics = default_book(clock, store=store, snapshots=snapshots,
                                              extra=extra_sources)
    if channels is None:
        channels = build_channels(config.channels, user_agent=user_agent, clock=clock)
    system = AlertingSystem(config, store=store, clock=clock, channels=channels, book=book,
                            performance=performance, metrics=metrics, bus=bus,
                            external_url=external_url, report_channels=report_channels)
    warm_metrics(metrics, system, store, clock.now_ns())
    return system
