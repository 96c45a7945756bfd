"""SystemHealthMonitor: host, bots, brokers, components and the backend itself in one picture.

Host samples are taken every `monitoring_interval` on the supervisor's clock, stored as metric
series through the write pipeline and published as `HealthSampled`. Stored telemetry arrives
through the bus and feeds heartbeats, bot process figures, brokers, bot-side checks and error
rates. Registered checkers run on their own schedule. Every status change of a component is
published as `HealthChanged` and kept in the transitions table. Every figure is readable by
name through `figures()`, the interface alert rules use.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from tradepulse_backend.bus import (
    EventBus,
    HealthChanged,
    HealthSampled,
    Subscription,
    TelemetryStored,
    drop_oldest,
)
from tradepulse_backend.clock import Clock, SystemClock
from tradepulse_backend.config import SystemHealthConfig
from tradepulse_backend.health.backend import BackendProbe
from tradepulse_backend.health.bots import BotProcesses
from tradepulse_backend.health.brokers import BrokerTracker
from tradepulse_backend.health.checkers import CheckerRunner
from tradepulse_backend.health.errors import ErrorRates
from tradepulse_backend.health.figures import HEALTH_FIGURES, duration_text
from tradepulse_backend.health.heartbeats import HeartbeatTracker
from tradepulse_backend.health.host import HostSampler
from tradepulse_backend.health.models import (
    ComponentHealth,
    ComponentStatus,
    Reason,
    SystemMetrics,
    Transition,
)
from tradepulse_backend.health.reported import reported_checks
from tradepulse_backend.health.samples import BACKEND_SERVICE, SampleRecords
from tradepulse_backend.health.thresholds import Judgement, ThresholdBook
from tradepulse_backend.health.trends import Exhaustion
from tradepulse_backend.ingest.pipeline import WritePipeline
from tradepulse_backend.store import health as stored
from tradepulse_backend.store import queries
from tradepulse_backend.workers import Admission, Supervisor

logger = logging.getLogger(__name__)

FIRST_SAMPLE_S = 2.0
"""The first host sample comes this soon after the start (for the live view; it is not stored:
stored samples keep to the interval)."""
SLOW_JUDGE_EVERY_S = 5.0
"""Error rates, leaks and the backend's parts are judged at most this often."""
PRUNE_EVERY_S = 3600.0
"""Transitions older than the retention are deleted at most this often."""
HOST = "host"
_HOST_FIGURES = ("cpu_usage", "memory_usage", "disk_usage", "swap_usage", "load_per_core")
_S = ComponentStatus


class SystemHealthMonitor:
    """Health of the host, the bots, their brokers, registered components and the backend."""

    def __init__(self, config: SystemHealthConfig | None = None, *, clock: Clock | None = None,
                 store=None, bus: EventBus | None = None,
                 pipeline: WritePipeline | None = None, workers: Supervisor | None = None,
                 websockets: Admission | None = None, retention_days: float | None = None,
                 service_name: str = BACKEND_SERVICE, sampler: HostSampler | None = None
                 ) -> None:
        self.config = config or SystemHealthConfig()
        self.clock = clock or (bus.clock if bus is not None else SystemClock())
        self.store = store
        self.bus = bus
        self.pipeline = pipeline
        self.workers = workers
        self.retention_days = retention_days
        self.service_name = service_name
        self.sampler = sampler or HostSampler(self.clock)
        self.records = SampleRecords(service_name)
        self.thresholds = ThresholdBook(self.config.thresholds, self.config.hysteresis)
        self.checkers = CheckerRunner(self.clock, self._checker_reported)
        self.heartbeats = HeartbeatTracker(self.config.heartbeat)
        self.brokers = BrokerTracker()
        self.errors = ErrorRates(self.config.errors)
        self.bots = BotProcesses(self.config.leak_detector)
        self.probe = BackendProbe(self.config.backend, pipeline=pipeline, bus=bus,
                                  workers=workers, websockets=websockets)
        self.cpu_trend = Exhaustion(self.config.trends)
        self.memory_trend = Exhaustion(self.config.trends)
        self.disk_trends: dict[str, Exhaustion] = {}
        self._components: dict[str, ComponentHealth] = {}
        self._latest: SystemMetrics | None = None
        self._host_judgements: dict[str, Judgement] = {}
        self._backend_figures: dict[str, float] = {}
        self._unsaved: list[dict[str, Any]] = []
        self._lock = threading.RLock()
        self._sample_lock = threading.Lock()
        self._subscription: Subscription | None = None
        self._last_slow: float | None = None
        self._last_prune: float | None = None
        self.sample_failures = 0
        self.batches_absorbed = 0

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Restore stored transitions and subscribe to stored telemetry (a consumer: start it
        before the writer; `schedule()` the producers after)."""
        self._restore()
        if self.bus is not None:
            self._subscription = self.bus.subscribe(
                TelemetryStored, self._absorb_stored, name="health", overflow=drop_oldest)

    def schedule(self) -> None:
        """Register the checkers' event loop, the host sampler and the evaluator with the
        supervisor (after the writer, so they stop before it)."""
        if self.workers is not None:
            self.workers.thread("health-checkers", self.checkers.serve, wake=self.checkers.wake)
            self.workers.schedule("health-sample", self._sample_delay, self._periodic_sample)
            self.workers.every("health-evaluate", self.config.checkers.tick, self.evaluate)

    def close(self) -> None:
        """Stop taking telemetry and save the transitions not yet stored."""
        if self._subscription is not None:
            self._subscription.close()
        self._save_transitions()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every stored batch so far has been absorbed; False on a timeout."""
        return True if self._subscription is None else self._subscription.flush(timeout)

    def _restore(self) -> None:
        if self.store is None:
            return
        try:
            history = stored.recent_transitions(self.store, self.config.checkers.transitions_kept)
            from_store = _services_last_seen(self.store)
        except Exception:
            logger.exception("stored health transitions could not be read; starting afresh")
            return
        with self._lock:
            for name, rows in history.items():
                component = self._component(name, rows[-1]["kind"])
                for row in rows:
                    component.transitions.append(Transition(
                        row["at_ns"], _S(row["from_status"]), _S(row["to_status"]),
                        row["message"]))
                component.since_ns = rows[-1]["at_ns"]
                component.message = "not reported since the backend started"
        for service, last_ns in from_store.items():
            if service != self.service_name:
                self.heartbeats.known(service, last_ns)

    # --- the seed's API -------------------------------------------------------------------

    def register_health_checker(self, name: str, check_function, *,
                                interval: float | None = None, timeout: float | None = None,
                                ) -> None:
        """Run `check_function` (sync or async; returning a bool, a status or (status,
        message)) every `interval` seconds with a `timeout`; its outcome is component `name`."""
        defaults = self.config.checkers
        self.checkers.register(name, check_function,
                               interval=defaults.interval if interval is None else interval,
                               timeout=defaults.timeout if timeout is None else timeout)
        with self._lock:
            self._component(name, "checker")

    def unregister_health_checker(self, name: str) -> bool:
        """Stop running a checker and drop its component."""
        removed = self.checkers.unregister(name)
        with self._lock:
            self._components.pop(name, None)
        return removed

    def add_backend_gauge(self, figure: str, read) -> None:
        """Publish another part's figure among the health figures (e.g. alerting's
        `outbox_backlog`: `read()` returns its current value, or None when unknown)."""
        if figure not in HEALTH_FIGURES:
            raise ValueError(f"{figure!r} is not a health figure; add it to HEALTH_FIGURES")
        self.probe.add_gauge(figure, read)

    def get_current_metrics(self) -> SystemMetrics:
        """The latest host sample (taking one now if none was taken yet)."""
        latest = self._latest
        return latest if latest is not None else self.sample(store=False)

    def get_component_health(self, name: str) -> ComponentHealth | None:
        with self._lock:
            return self._components.get(name)

    def components(self) -> list[ComponentHealth]:
        with self._lock:
            return sorted(self._components.values(), key=lambda c: c.name)

    def get_system_summary(self) -> dict[str, Any]:
        """The overall status, the reasons for it (worst first) and the count per status."""
        reasons = self.reasons()
        components = self.components()
        counts = {status.value: 0 for status in _S}
        for component in components:
            counts[component.status.value] += 1
        if reasons:
            status = reasons[0].status
        elif self._latest is None and not any(c.status is _S.HEALTHY for c in components):
            status = _S.UNKNOWN
        else:
            status = _S.HEALTHY
        return {"status": status.value, "reasons": [r.to_dict() for r in reasons],
                "counts": counts}

    def reasons(self) -> list[Reason]:
        """Each degraded or unhealthy component, threshold breach and trend, worst first."""
        found = [Reason("component", c.name, c.status, c.message) for c in self.components()
                 if c.status.rank >= _S.DEGRADED.rank and c.name != HOST]
        with self._lock:
            judgements = list(self._host_judgements.values())
        found += [Reason("threshold", j.figure, j.status, j.message) for j in judgements
                  if j.status is not _S.HEALTHY]
        found += self._trend_reasons()
        return sorted(found, key=lambda r: (-r.status.rank, r.source, r.name))

    # --- host sampling --------------------------------------------------------------------

    def sample(self, *, store: bool = True) -> SystemMetrics:
        """Take a host sample: judge thresholds and trends, store it as metric series, and
        publish it."""
        with self._sample_lock:
            sample = self.sampler.sample()
            counters = self.sampler.counters
        t = sample.timestamp_ns / 1e9
        self.cpu_trend.add(t, sample.cpu_percent)
        self.memory_trend.add(t, sample.memory_percent)
        for disk in sample.disks:
            self.disk_trends.setdefault(disk.mount, Exhaustion(self.config.trends)).add(
                t, disk.percent)
        values = {"cpu_usage": sample.cpu_percent, "memory_usage": sample.memory_percent,
                  "disk_usage": sample.disk_percent, "swap_usage": sample.swap_percent,
                  "load_per_core": sample.load_per_core}
        judged = {}
        for figure in _HOST_FIGURES:
            judgement = self.thresholds.judge(figure, values[figure])
            if judgement is not None:
                judged[figure] = judgement
        with self._lock:
            self._latest = sample
            self._host_judgements = judged
        self._judge_host()
        if store:
            self._store_sample(sample, counters)
        if self.bus is not None:
            self.bus.publish(HealthSampled(sample.to_dict()))
        return sample

    def _sample_delay(self) -> float:
        interval = self.config.monitoring_interval
        return interval if self._latest is not None else min(FIRST_SAMPLE_S, interval)

    def _periodic_sample(self) -> None:
        self.sample(store=self._latest is not None)

    def _store_sample(self, sample: SystemMetrics, counters: dict) -> None:
        if self.pipeline is None:
            return
        started = self.clock.monotonic()
        try:
            self.pipeline.store(self.records.batch(sample, counters))
        except Exception as error:
            self.sample_failures += 1
            logger.warning("host sample not stored: %s: %s", type(error).__name__, error)
            return
        self.probe.commit_latency_ms = (self.clock.monotonic() - started) * 1000

    def _judge_host(self) -> None:
        with self._lock:
            judgements = list(self._host_judgements.values())
        trends = self._trend_reasons()
        worst = _S.worst([j.status for j in judgements] + [r.status for r in trends])
        bad = [j.message for j in judgements if j.status is not _S.HEALTHY]
        bad += [r.message for r in trends]
        sample = self._latest
        message = "; ".join(bad) if bad else (
            f"cpu {sample.cpu_percent:.0f}%, memory {sample.memory_percent:.0f}%, "
            f"disk {sample.disk_percent or 0:.0f}%")
        self._set(HOST, "host", worst, message)

    def trends(self) -> dict[str, Any]:
        """Rate of change per hour (and time to exhaustion) of host figures; RSS growth and
        leak verdict per bot."""
        cpu = self.cpu_trend.projection()
        memory = self.memory_trend.projection()
        disks = {mount: trend.projection() for mount, trend in self.disk_trends.items()}
        disk_eta = min((p.eta_s for p in disks.values() if p.eta_s is not None), default=None)
        return {
            "cpu_usage": {"rate_per_h": cpu.rate_per_h},
            "memory_usage": {"rate_per_h": memory.rate_per_h, "full_eta_s": memory.eta_s,
                             "r2": memory.r2},
            "disk_usage": {"full_eta_s": disk_eta, "mounts": {
                mount: {"rate_per_h": p.rate_per_h, "full_eta_s": p.eta_s, "r2": p.r2}
                for mount, p in disks.items()}},
            "bots": {bot.service: {"rss_growth_bytes_per_h": v.growth_bytes_per_h,
                                   "leaking": v.leaking, "message": v.message}
                     for bot in self.bots.all() for v in (bot.verdict(),)},
        }

    def _trend_reasons(self) -> list[Reason]:
        found = []
        config = self.config.trends
        projections = [("memory_full_eta_s", "memory", self.memory_trend.projection())]
        projections += [("disk_full_eta_s", f"disk {mount}", trend.projection())
                        for mount, trend in self.disk_trends.items()]
        for figure, what, projection in projections:
            eta = projection.eta_s
            if eta is None or eta >= config.eta_warning:
                continue
            status = _S.UNHEALTHY if eta < config.eta_critical else _S.DEGRADED
            found.append(Reason("trend", figure, status,
                                f"{what} full in {duration_text(eta)} at the current rate"))
        return found

    # --- stored telemetry -----------------------------------------------------------------

    def _absorb_stored(self, event: TelemetryStored) -> None:
        try:
            self.absorb(event.batch)
        finally:
            self.batches_absorbed += 1

    def absorb(self, batch) -> None:
        """Feed one stored batch: heartbeats, process figures, brokers, reported checks,
        spans for error rates."""
        now_ns = self.clock.now_ns()
        services = {g.series.resource.service_name for g in batch.metrics}
        services |= {s.resource.service_name for s in batch.spans}
        services |= {r.resource.service_name for r in batch.logs}
        services.discard(self.service_name)
        for service in services:
            self.heartbeats.seen(service, batch.signal, now_ns)
            self._judge_heartbeat(service, now_ns)
        if not services:
            return
        if batch.metrics:
            self.bots.absorb(batch)
            for state in self.brokers.absorb(batch):
                status, message = state.judge()
                self._set(state.component, "broker", status, message)
        if batch.spans:
            self.errors.absorb(batch, now_ns)
            for check in reported_checks(batch):
                self._set(check.name, "bot_checker", check.status, check.message,
                          last_seen_ns=check.time_ns, response_time_ms=check.response_time_ms)

    # --- periodic judgement ---------------------------------------------------------------

    def evaluate(self) -> None:
        """Start due checkers, judge heartbeats; every few seconds also error rates, leaks
        and the backend's parts; then store the transitions since the last call."""
        self.checkers.run_due()
        now_ns = self.clock.now_ns()
        for service in self.heartbeats.forget_silent(now_ns):
            self._forget_service(service)
        for service in self.heartbeats.services():
            self._judge_heartbeat(service, now_ns)
        now = self.clock.monotonic()
        if self._last_slow is None or now - self._last_slow >= SLOW_JUDGE_EVERY_S:
            self._last_slow = now
            self._judge_errors(now_ns)
            self._judge_bots()
            self._judge_backend()
        if self._last_prune is None or now - self._last_prune >= PRUNE_EVERY_S:
            self._last_prune = now
            self._prune(now_ns)
        self._save_transitions()

    def _judge_heartbeat(self, service: str, now_ns: int) -> None:
        state = self.heartbeats.judge(service, now_ns)
        if state is None:
            return
        self._set(f"service:{service}", "service", state.status, state.message,
                  last_seen_ns=state.last_ns)
        if state.status is _S.UNHEALTHY:
            for broker in self.brokers.of(service):
                component = self.get_component_health(broker.component)
                if component is not None and component.status is not _S.UNKNOWN:
                    self._set(broker.component, "broker", _S.UNKNOWN,
                              f"{broker.broker}: no report, {service} is not exporting",
                              last_seen_ns=component.last_seen_ns)

    def _judge_errors(self, now_ns: int) -> None:
        by_service: dict[str, list[tuple[_S, str]]] = {}
        for figures in self.errors.figures(now_ns):
            verdicts = by_service.setdefault(figures.service, [])
            if figures.spans < self.config.errors.min_spans:
                verdicts.append((_S.HEALTHY, f"{figures.span}: {figures.spans} spans"))
                continue
            key = (figures.service, figures.span)
            for judgement in (self.thresholds.judge("error_rate", figures.error_rate, key),
                              self.thresholds.judge("latency_p99_ms", figures.latency_p99_ms,
                                                    key)):
                if judgement is not None:
                    verdicts.append((judgement.status, f"{figures.span}: {judgement.message}"))
        with self._lock:
            known = [c.name[len("errors:"):] for c in self._components.values()
                     if c.kind == "errors"]
        for service in set(known) - set(by_service):
            self._set(f"errors:{service}", "errors", _S.HEALTHY,
                      f"no spans in the last {self.config.errors.window:g}s")
        for service, verdicts in by_service.items():
            worst = _S.worst(s for s, _ in verdicts)
            message = next(m for s, m in verdicts if s is worst)
            self._set(f"errors:{service}", "errors", worst, message)

    def _judge_bots(self) -> None:
        for bot in self.bots.all():
            verdict = bot.verdict()
            rss = "n/a" if bot.rss_bytes is None else f"{bot.rss_bytes / 2**20:.0f} MiB"
            cpu = "n/a" if bot.cpu_percent is None else f"{bot.cpu_percent:.1f}%"
            message = (verdict.message if verdict.leaking
                       else f"RSS {rss}, CPU {cpu}; {verdict.message}")
            self._set(f"process:{bot.service}", "process",
                      _S.DEGRADED if verdict.leaking else _S.HEALTHY, message,
                      last_seen_ns=bot.last_seen_ns)

    def _judge_backend(self) -> None:
        checks, figures = self.probe.check()
        with self._lock:
            self._backend_figures = figures
        for check in checks:
            self._set(check.name, "backend", check.status, check.message)

    def _checker_reported(self, name: str, status: ComponentStatus, message: str,
                          response_time_ms: float | None) -> None:
        if self.checkers.get(name) is None:
            return
        component = self.get_component_health(name)
        last_seen = component.last_seen_ns if (component and response_time_ms is None) else None
        self._set(name, "checker", status, message, last_seen_ns=last_seen,
                  response_time_ms=response_time_ms)

    def _forget_service(self, service: str) -> None:
        self.brokers.forget(service)
        self.errors.forget(service)
        self.bots.forget(service)
        self.thresholds.forget(service)
        with self._lock:
            for name in [n for n in self._components if _of_service(n, service)]:
                del self._components[name]

    # --- components -----------------------------------------------------------------------

    def _component(self, name: str, kind: str) -> ComponentHealth:
        found = self._components.get(name)
        if found is None:
            found = self._components[name] = ComponentHealth(name, kind)
            found.transitions = type(found.transitions)(
                maxlen=self.config.checkers.transitions_kept)
        return found

    def _set(self, name: str, kind: str, status: ComponentStatus, message: str, *,
             last_seen_ns: int | None = None, response_time_ms: float | None = None) -> None:
        now_ns = self.clock.now_ns()
        with self._lock:
            component = self._component(name, kind)
            change = component.update(status, message, now_ns=now_ns, last_seen_ns=last_seen_ns,
                                      response_time_ms=response_time_ms)
            if change is not None:
                self._unsaved.append({"component": name, "kind": kind, "at_ns": change.at_ns,
                                      "from_status": change.before.value,
                                      "to_status": change.after.value, "message": message})
        if change is not None:
            logger.info("health: %s %s -> %s: %s", name, change.before.value,
                        change.after.value, message)
            if self.bus is not None:
                self.bus.publish(HealthChanged(component.to_dict()))

    def _save_transitions(self) -> None:
        with self._lock:
            rows, self._unsaved = self._unsaved, []
        if not rows or self.store is None:
            return
        try:
            stored.add_transitions(self.store, rows)
        except Exception:
            logger.exception("health transitions not stored; retrying next time")
            with self._lock:
                self._unsaved[:0] = rows

    def _prune(self, now_ns: int) -> None:
        if self.store is None or self.retention_days is None:
            return
        try:
            stored.prune_transitions(self.store, now_ns - int(self.retention_days * 86_400e9))
        except Exception:
            logger.exception("old health transitions not pruned")

    # --- figures --------------------------------------------------------------------------

    def figures(self, service: str | None = None) -> dict[str, float | str]:
        """The current value of every health figure with a value: the whole host (and the
        worst over bots) when `service` is None, one bot's otherwise. Names are in
        HEALTH_FIGURES; a figure without a value yet is absent."""
        return self._service_figures(service) if service else self._host_figures()

    def _host_figures(self) -> dict[str, float | str]:
        found: dict[str, float | str] = {}
        sample = self._latest
        if sample is not None:
            found.update(cpu_usage=sample.cpu_percent, memory_usage=sample.memory_percent,
                         swap_usage=sample.swap_percent,
                         backend_cpu_usage=sample.process.cpu_percent,
                         backend_rss_bytes=float(sample.process.rss_bytes))
            _put(found, "disk_usage", sample.disk_percent)
            _put(found, "load_per_core", sample.load_per_core)
            _put(found, "open_fds", sample.open_fds)
        trends = self.trends()
        _put(found, "cpu_usage_rate_per_h", trends["cpu_usage"]["rate_per_h"])
        _put(found, "memory_usage_rate_per_h", trends["memory_usage"]["rate_per_h"])
        _put(found, "memory_full_eta_s", trends["memory_usage"]["full_eta_s"])
        _put(found, "disk_full_eta_s", trends["disk_usage"]["full_eta_s"])
        disk_rates = [m["rate_per_h"] for m in trends["disk_usage"]["mounts"].values()
                      if m["rate_per_h"] is not None]
        _put(found, "disk_usage_rate_per_h", max(disk_rates, default=None))
        with self._lock:
            found.update(self._backend_figures)
        components = self.components()
        worst = _S.worst(c.status for c in components)
        found["component_status"] = worst.value
        found["component_status_level"] = worst.level
        found["components_unhealthy"] = float(sum(c.status is _S.UNHEALTHY for c in components))
        found["components_degraded"] = float(sum(c.status is _S.DEGRADED for c in components))
        summary = self.get_system_summary()
        found["health_status"] = summary["status"]
        found["health_status_level"] = _S(summary["status"]).level
        per_bot = [self._service_figures(s) for s in self.heartbeats.services()]
        for figure, pick in (("broker_connected", min), ("broker_rate_limit_headroom", min),
                             ("heartbeat_age_s", max), ("error_rate", max),
                             ("latency_p99_ms", max), ("bot_rss_bytes", max),
                             ("bot_cpu_usage", max), ("rss_growth_bytes_per_h", max)):
            values = [f[figure] for f in per_bot if figure in f]
            if values:
                found[figure] = pick(values)
        found["bots_leaking"] = float(sum(f.get("rss_leaking", 0.0) for f in per_bot))
        return found

    def _service_figures(self, service: str) -> dict[str, float | str]:
        found: dict[str, float | str] = {}
        now_ns = self.clock.now_ns()
        beat = self.heartbeats.judge(service, now_ns)
        if beat is not None:
            found["heartbeat_age_s"] = beat.age_s
            found["export_interval_s"] = beat.interval_s
        brokers = self.brokers.of(service)
        connected = [b.connected for b in brokers if b.connected is not None]
        headroom = [b.headroom for b in brokers if b.headroom is not None]
        _put(found, "broker_connected", min(connected, default=None))
        _put(found, "broker_rate_limit_headroom", min(headroom, default=None))
        spans = [f for f in self.errors.figures(now_ns, service)
                 if f.spans >= self.config.errors.min_spans]
        _put(found, "error_rate", max((f.error_rate for f in spans), default=None))
        _put(found, "latency_p99_ms", max((f.latency_p99_ms for f in spans
                                           if f.latency_p99_ms is not None), default=None))
        bot = self.bots.get(service)
        if bot is not None:
            _put(found, "bot_rss_bytes", bot.rss_bytes)
            _put(found, "bot_cpu_usage", bot.cpu_percent)
            _put(found, "bot_threads", bot.threads)
            _put(found, "bot_open_fds", bot.open_fds)
            verdict = bot.verdict()
            _put(found, "rss_growth_bytes_per_h", verdict.growth_bytes_per_h)
            found["rss_leaking"] = 1.0 if verdict.leaking else 0.0
        mine = [c for c in self.components() if _of_service(c.name, service)]
        if mine or found:
            worst = _S.worst(c.status for c in mine)
            found["component_status"] = worst.value
            found["component_status_level"] = worst.level
        return found

    # --- JSON -----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """`GET /api/v1/health`: summary, latest host sample, components, bots and trends."""
        sample = self._latest
        return {**self.get_system_summary(),
                "metrics": None if sample is None else sample.to_dict(),
                "components": [c.to_dict() for c in self.components()],
                "bots": [b.to_dict() for b in self.bots.all()],
                "trends": self.trends()}

    def summary_line(self) -> str:
        """One line for a terminal: overall status, counts, and the worst reason."""
        summary = self.get_system_summary()
        return summary_text(summary)


def summary_text(summary: dict[str, Any]) -> str:
    """The health summary as one line: `degraded (3 healthy, 1 degraded): broker:... `."""
    counts = ", ".join(f"{n} {status}" for status, n in summary["counts"].items() if n)
    line = f"{summary['status']} ({counts or 'no components'})"
    if summary["reasons"]:
        worst = summary["reasons"][0]
        line += f": {worst['name']} {worst['status']} - {worst['message']}"
    return line


def _put(found: dict, figure: str, value: float | None) -> None:
    if value is not None:
        found[figure] = float(value)


def _of_service(component: str, service: str) -> bool:
    """Whether a component name belongs to `service` (`kind:service` or `kind:service:x`)."""
    parts = component.split(":", 2)
    return len(parts) >= 2 and parts[1] == service and parts[0] in _SERVICE_KINDS


_SERVICE_KINDS = frozenset({"service", "errors", "process", "check", "broker"})


def _services_last_seen(store) -> dict[str, int]:
    """Every service's last export as stored (a restarted backend judges their heartbeats)."""
    return {entry["name"]: int(entry["last_seen_unix_nano"])
            for entry in queries.services(store)}
