"""`build_pipeline`: the one place that wires the alerting stages from the config."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from tradepulse_backend.alerting.channels import AlertChannel, build_channels
from tradepulse_backend.alerting.figures import (
    FigureBook,
    FigureSource,
    HealthFigures,
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


def default_book(clock: Clock, *, store: Store | None = None,
                 snapshots: Callable[[], Iterable[PerformanceSnapshot]] | None = None,
                 extra: Iterable[FigureSource] = ()
                 ) -> tuple[FigureBook, PerformanceFigures, MetricFigures]:
    """Performance and metric figure sources (plus `extra`, e.g. health) in one book."""
    performance = PerformanceFigures(clock.now_ns, snapshots)
    names = (lambda: [m["name"] for m in queries.metric_names(store)]) if store else tuple
    metrics = MetricFigures(clock.now_ns, names)
    return FigureBook([performance, metrics, *extra]), performance, metrics


def check_rules(config: AlertingSystemConfig, clock: Clock,
                extra_sources: Iterable[FigureSource] = (),
                health_names: Iterable[str] = ()) -> list[str]:
    """Every problem of the config's rules that needs the figure sources (unknown fields), as
    `monitoring.alerting_system.rules.NAME....: message` lines; for `check-config`. Health
    figures are known by `health_names` alone: no monitor runs here."""
    extra = list(extra_sources)
    if health_names:
        extra.append(HealthFigures(None, health_names, clock.now_ns))
    book = default_book(clock, extra=extra)[0]
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
                   report_channels: Iterable[str] = (), health: Any | None = None,
                   health_names: Iterable[str] = ()) -> AlertingSystem:
    """Figure sources -> rules -> lifecycle -> silences -> groups -> limits -> outbox ->
    channels, from one config. `channels` replaces the configured ones (tests). `health` is a
    monitor with `figures(service)` whose figure names are `health_names` (the health
    package's HEALTH_FIGURES); its figures are then fields rules can use."""
    extra = list(extra_sources)
    if health is not None:
        extra.append(HealthFigures(health, health_names, clock.now_ns,
                                   services=lambda: [s["name"] for s in queries.services(store)]))
    book, performance, metrics = default_book(clock, store=store, snapshots=snapshots,
                                              extra=extra)
    if channels is None:
        channels = build_channels(config.channels, user_agent=user_agent, clock=clock)
    system = AlertingSystem(config, store=store, clock=clock, channels=channels, book=book,
                            performance=performance, metrics=metrics, bus=bus,
                            external_url=external_url, report_channels=report_channels)
    return system
