"""AlertingSystem: rules -> lifecycle -> silences -> grouping/routing -> rate limits -> the
durable outbox -> channels, with state kept in the store so a restart re-notifies nothing and
loses nothing.

Evaluation is event-driven (a snapshot or a stored batch evaluates the rules that read it, for
its service) and timed (`tick` every `evaluation_interval`, so `for`, `keep_firing_for` and
`absent` work when nothing arrives). Every entry point takes time from the injected clock.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from tradepulse_backend.alerting import notifications
from tradepulse_backend.alerting.channels.base import (
    AlertChannel,
    Attachment,
    Notification,
)
from tradepulse_backend.alerting.figures import FigureBook, MetricFigures, PerformanceFigures
from tradepulse_backend.alerting.grouping import Dispatcher
from tradepulse_backend.alerting.outbox import Outbox, row_json
from tradepulse_backend.alerting.ratelimit import DAY_NS, RateLimiter
from tradepulse_backend.alerting.routing import Router
from tradepulse_backend.alerting.rules import AlertRule, RuleError, compile_rule
from tradepulse_backend.alerting.severity import AlertSeverity
from tradepulse_backend.alerting.silences import (
    Silence,
    SilenceBook,
    SilenceError,
    parse_matchers,
)
from tradepulse_backend.alerting.state import Alert, AlertState
from tradepulse_backend.alerting.testalert import send_test_alerts
from tradepulse_backend.bus import (
    AlertChanged,
    EventBus,
    HealthSampled,
    NotificationChanged,
    PerformanceUpdated,
    ReportReady,
    TelemetryStored,
    coalesce,
    drop_oldest,
)
from tradepulse_backend.clock import Clock
from tradepulse_backend.config.alerting import AlertingSystemConfig, Matcher
from tradepulse_backend.performance.reports import Report, ReportFormat, render
from tradepulse_backend.performance.snapshot import PerformanceSnapshot
from tradepulse_backend.store import Store
from tradepulse_backend.store import alerts as stored
from tradepulse_backend.workers import Supervisor, Worker

logger = logging.getLogger(__name__)
MAX_SILENCE_NS = 10 * 366 * 86_400 * 10**9
"""The longest silence: ends past it are refused (they also overflow a 64-bit column)."""
NS = 1_000_000_000
CONFIG_PREFIX = "monitoring.alerting_system.rules"
FLUSH_IDLE_S = 1.0


class AlertingSystem:
    """The alerting engine: rules, alert state, silences, acks, groups, limits and outbox."""

    def __init__(self, config: AlertingSystemConfig, *, store: Store, clock: Clock,
                 channels: Mapping[str, AlertChannel], book: FigureBook,
                 performance: PerformanceFigures | None = None,
                 metrics: MetricFigures | None = None, bus: EventBus | None = None,
                 external_url: Callable[[], str] | str = "",
                 report_channels: Iterable[str] = ()) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.channels = dict(channels)
        self.book = book
        self.performance = performance
        self.metrics = metrics
        self.bus = bus
        self._external_url = external_url
        self.report_channels = list(report_channels)
        self._lock = threading.RLock()
        self.rules: dict[str, AlertRule] = {}
        self._config_rules: set[str] = set()
        self.router = Router(config, self.channels)
        now = clock.now_ns()
        self.silences = SilenceBook(
            lambda record: stored.save_silence(store, record),
            [Silence.from_record(r) for r in stored.load_silences(store)])
        self.dispatcher = Dispatcher(
            self.router, send_resolved=self._send_resolved, silenced=self.silences.silenced,
            resend_interval=lambda name: getattr(self.channels.get(name), "resend_interval",
                                                 None),
            saved=stored.load_groups(store))
        self.limiter = RateLimiter(config.rate_limits)
        self.limiter.restore(stored.channel_usage(store, now - DAY_NS))
        self.outbox = Outbox(store, self.channels, config.outbox, clock=clock,
                             publish=self._publish_notification, on_failed=self._channel_failed)
        self._group_event = threading.Event()
        self.dispatcher.on_new_group = self._group_event.set
        self._load_rules()
        self._restore_alerts(now)

    # --- rules ----------------------------------------------------------------------------

    def _load_rules(self) -> None:
        for name, spec in self.config.rules.items():
            self._install(compile_rule(name, spec, self.book, channels=self.channels,
                                       prefix=CONFIG_PREFIX, source="config"))
            self._config_rules.add(name)
        for name, spec in stored.load_rules(self.store).items():
            if name in self._config_rules:
                logger.warning("alert rule %s is in the config file now; its stored version "
                               "from the API is ignored", name)
                continue
            try:
                self._install(compile_rule(name, spec, self.book, channels=self.channels))
            except RuleError as error:
                logger.error("stored alert rule %s cannot be used any more: %s", name, error)

    def _install(self, rule: AlertRule) -> None:
        self.rules[rule.name] = rule
        self._refresh_wanted()

    def _refresh_wanted(self) -> None:
        """Tell the metric source which names rules read, warming new ones from the store."""
        if self.metrics is None:
            return
        wanted = frozenset(c.figure.name for rule in self.rules.values()
                           for c in rule.conditions if c.source is self.metrics)
        new = wanted - self.metrics.wanted
        self.metrics.wanted = wanted
        if new:
            self.metrics.warm(self.store, new, self.clock.now_ns())

    def add_rule(self, name: str, spec: Mapping[str, Any], *, replace: bool = False
                 ) -> dict[str, Any]:
        """Validate, store and start evaluating a rule; RuleError names each fault by key
        path. An existing name is an error unless `replace` (REST PUT)."""
        rule = compile_rule(name, spec, self.book, channels=self.channels)
        with self._lock:
            if name in self._config_rules:
                raise RuleError([f"rules.{name}: defined in the config file; change it there"])
            old = self.rules.get(name)
            if old is not None and not replace:
                raise RuleError([f"rules.{name}: a rule with this name exists; replace it "
                                 "with PUT /api/v1/rules/<name>"])
            if replace and old is None:
                raise KeyError(name)
            stored.save_rule(self.store, name, rule.spec.dump(), self.clock.now_ns())
            if old is not None:
                self._retire(old)
            self._install(rule)
        logger.info("alert rule %s %s", name, "replaced" if old else "added")
        return self.rule_json(rule)

    async def add_alert_rule(self, name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
        """The seed's coroutine: `await alerting_system.add_alert_rule(name, spec)`."""
        return self.add_rule(name, spec)

    def remove_rule(self, name: str) -> bool:
        """Delete a rule added at run time (its alerts resolve); False when there is none."""
        with self._lock:
            if name in self._config_rules:
                raise RuleError([f"rules.{name}: defined in the config file; remove it there"])
            rule = self.rules.pop(name, None)
            if rule is None:
                return False
            self._refresh_wanted()
            stored.delete_rule(self.store, name)
            self._retire(rule)
        return True

    def _retire(self, rule: AlertRule) -> None:
        """A replaced or removed rule's live alerts resolve."""
        now = self.clock.now_ns()
        changed = []
        for alert in rule.alerts():
            if alert.state is not AlertState.RESOLVED:
                alert.state = AlertState.RESOLVED
                alert.resolved_ns = alert.since_ns = now
                changed.append(alert)
        self._apply([(alert, rule) for alert in changed], now)

    def rule_json(self, rule: AlertRule) -> dict[str, Any]:
        return {"name": rule.name, "source": rule.source, **rule.spec.dump(),
                "active_alerts": sum(1 for a in rule.alerts()
                                     if a.state is not AlertState.RESOLVED)}

    def list_rules(self) -> list[dict[str, Any]]:
        with self._lock:
            return [self.rule_json(rule) for rule in self.rules.values()]

    # --- evaluation -----------------------------------------------------------------------

    def evaluate_alerts(self, snapshot_or_figures: PerformanceSnapshot | Mapping[str, Any]
                        | None = None) -> list[dict[str, Any]]:
        """Run the rules now and return the alerts that changed state. A snapshot (or a
        mapping of figures with `service`) is taken as the newest performance figures first."""
        service = None
        kinds = None
        if snapshot_or_figures is not None:
            snapshot = snapshot_or_figures
            if not isinstance(snapshot, PerformanceSnapshot):
                figures = dict(snapshot_or_figures)
                identity = {"service": str(figures.pop("service", "")),
                            "portfolio": str(figures.pop("portfolio", "")),
                            "timestamp": self.clock.now_ns() / NS}
                snapshot = PerformanceSnapshot.from_figures(figures, **identity)
            service, kinds = snapshot.service, {"performance"}
        with self._lock:
            if snapshot_or_figures is not None and self.performance is not None:
                self.performance.update(snapshot)
            return [alert.to_dict() for alert in self._evaluate(kinds, service)]

    def _evaluate(self, kinds: set[str] | None, service: str | None) -> list[Alert]:
        with self._lock:
            now = self.clock.now_ns()
            changed: list[tuple[Alert, AlertRule]] = []
            for rule in list(self.rules.values()):
                if kinds is not None and not (rule.kinds & kinds):
                    continue
                found = rule.evaluate(now, service)
                if found:
                    changed.extend((alert, rule) for alert in found)
            self._apply(changed, now)
            if self.dispatcher.due(now):
                self._flush(now)
            return [alert for alert, _rule in changed]

    def tick(self) -> list[Alert]:
        """The timer: evaluate every rule, refresh silences, forget old resolved alerts, and
        send what groups have due."""
        changed = self._evaluate(None, None)
        with self._lock:
            now = self.clock.now_ns()
            self._refresh_silences(now)
            self._forget_resolved(now)
            if self.dispatcher.due(now):
                self._flush(now)
        return changed

    def _apply(self, changed: list[tuple[Alert, AlertRule]], now: int) -> None:
        """Record (one transaction), publish and route alerts whose state changed."""
        if not changed:
            return
        history = []
        resolved_acks = []
        for alert, _rule in changed:
            alert.silenced = self.silences.silenced(alert.labels, now)
            if alert.state is AlertState.RESOLVED and alert.acknowledged:
                alert.acknowledged = False
                resolved_acks.append(alert.fingerprint)
            history.append({"fingerprint": alert.fingerprint, "rule": alert.rule,
                            "service": alert.service, "severity": alert.severity,
                            "state": str(alert.state), "time_ns": now,
                            "alert": alert.to_dict()})
        latest = {alert.fingerprint: alert for alert, _rule in changed}
        stored.record_changes(self.store, [a.to_record() for a in latest.values()], (),
                              history, now)
        stored.delete_acks(self.store, resolved_acks)
        for alert, rule in changed:
            self._publish_alert(alert)
            if alert.state is not AlertState.PENDING:
                self.dispatcher.add(alert, self.router.routes(
                    alert.labels, rule.channels, rule.spec.group_by), now)
            logger.info("alert %s %s: %s", alert.rule, alert.state, alert.title)

    def _refresh_silences(self, now: int) -> None:
        for rule in self.rules.values():
            for alert in rule.alerts():
                silenced = self.silences.silenced(alert.labels, now)
                if silenced != alert.silenced:
                    alert.silenced = silenced
                    stored.record_changes(self.store, [alert.to_record()], (), [], now)
                    self._publish_alert(alert)

    def _forget_resolved(self, now: int) -> None:
        keep_ns = int(self.config.resolved_retention * NS)
        gone = []
        grouped = {fp for g in self.dispatcher.groups.values() for fp in g.alerts}
        for rule in self.rules.values():
            for key, alert in list(rule.instances.items()):
                if alert.state is AlertState.RESOLVED and now - alert.since_ns >= keep_ns \
                        and alert.fingerprint not in grouped:
                    del rule.instances[key]
                    gone.append(alert.fingerprint)
        if gone:
            stored.record_changes(self.store, [], gone, [], now)

    def _flush(self, now: int) -> None:
        drafts, groups = self.dispatcher.flush(now)
        rows = []
        for draft in drafts:
            channel = draft.group.channel
            critical = any(a.severity == AlertSeverity.CRITICAL.value
                           for a in [*draft.firing, *draft.resolved])
            reason = self.limiter.check(channel, critical, now)
            note = None if reason else self.limiter.take_note(channel)
            notification = notifications.build(draft, external_url=self.external_url,
                                               suppressed_note=note)
            if reason:
                self.limiter.suppress(channel, notification.title, now)
                logger.warning("notification %s on %s suppressed: %s", draft.key, channel,
                               reason)
            rows.append(self._row(notification, "suppressed" if reason else "pending",
                                  reason))
        ids = stored.commit_flush(self.store, groups, rows, now)
        self._announce(rows, ids, now)

    @staticmethod
    def _row(notification: Notification, status: str, error: str | None = None
             ) -> dict[str, Any]:
        return {"key": notification.key, "channel": notification.channel,
                "group_key": notification.group_key, "status": status,
                "severity": notification.severity.value, "title": notification.title,
                "body": notifications.to_json(notification), "last_error": error}

    def _announce(self, rows: list[dict[str, Any]], ids: list[int], now: int) -> None:
        for row, row_id in zip(rows, ids, strict=True):
            self._publish_notification(row_json({
                **row, "id": row_id, "attempts": 0, "created_ns": now, "updated_ns": now,
                "next_attempt_ns": now}))
            if row["status"] == "pending":
                self.outbox.wake(row["channel"])

    # --- restore --------------------------------------------------------------------------

    def _restore_alerts(self, now: int) -> None:
        acks = stored.load_acks(self.store)
        for record in stored.load_states(self.store):
            alert = Alert.from_record(record)
            alert.acknowledged = alert.fingerprint in acks
            rule = self.rules.get(alert.rule)
            if rule is None:
                continue
            rule.restore(alert)
            if alert.state is not AlertState.PENDING:
                self.dispatcher.add(alert, self.router.routes(
                    alert.labels, rule.channels, rule.spec.group_by), now)

    # --- queries and actions --------------------------------------------------------------

    @property
    def external_url(self) -> str:
        url = self._external_url() if callable(self._external_url) else self._external_url
        return self.config.external_url or url

    def _live(self) -> list[Alert]:
        with self._lock:
            return [a for rule in self.rules.values() for a in rule.alerts()]

    def get_active_alerts(self) -> list[dict[str, Any]]:
        """Pending and firing alerts, newest first."""
        return [a.to_dict() for a in sorted(self._live(), key=lambda a: -a.since_ns)
                if a.state is not AlertState.RESOLVED]

    def alerts(self) -> list[dict[str, Any]]:
        """Pending, firing and recently resolved alerts (the REST list), newest first."""
        return [a.to_dict() for a in sorted(self._live(), key=lambda a: -a.since_ns)]

    def get_alert_history(self, service: str | None = None, severity: str | None = None,
                          since: datetime | int | None = None, limit: int = 100,
                          cursor: int | None = None) -> list[dict[str, Any]]:
        """State changes newest first; `since` is an aware datetime or unix nanoseconds."""
        if isinstance(since, datetime):
            since = int(since.timestamp() * 1e9)
        return self.history(service=service, severity=severity, since_ns=since, limit=limit,
                            before_id=cursor)[0]

    def history(self, **filters: Any) -> tuple[list[dict[str, Any]], int | None]:
        return stored.history(self.store, **filters)

    def acknowledge(self, fingerprint: str, by: str = "", comment: str = ""
                    ) -> dict[str, Any] | None:
        """Stop repeats of a live alert until it resolves; None when there is no such alert."""
        with self._lock:
            for alert in self._live():
                if alert.fingerprint == fingerprint and alert.state is not AlertState.RESOLVED:
                    alert.acknowledged = True
                    now = self.clock.now_ns()
                    stored.save_ack(self.store, fingerprint, by, comment, now)
                    stored.record_changes(self.store, [alert.to_record()], (), [], now)
                    self._publish_alert(alert)
                    return alert.to_dict()
        return None

    def add_silence(self, matchers: list[Matcher] | list[Mapping[str, Any]], *,
                    created_by: str, comment: str = "", ends_ns: int | None = None,
                    duration_s: float | None = None) -> dict[str, Any]:
        """Silence alerts whose labels match, until `ends_ns` or for `duration_s`."""
        parsed = parse_matchers([m.model_dump() if isinstance(m, Matcher) else m
                                 for m in matchers] if isinstance(matchers, list) else matchers)
        now = self.clock.now_ns()
        if ends_ns is None:
            if duration_s is None or duration_s <= 0:
                raise SilenceError("ends_at or duration: a silence needs an end")
            if duration_s * NS > MAX_SILENCE_NS:
                raise SilenceError("duration: a silence lasts at most 10 years")
            ends_ns = now + int(duration_s * NS)
        if not now < ends_ns <= now + MAX_SILENCE_NS:
            raise SilenceError("ends_at: must be in the future and at most 10 years ahead")
        if not created_by:
            raise SilenceError("created_by: say who creates the silence")
        silence = self.silences.add(parsed, created_by=created_by, comment=comment,
                                    starts_ns=now, ends_ns=ends_ns)
        with self._lock:
            self._refresh_silences(now)
        return silence.to_dict(now)

    def expire_silence(self, silence_id: str) -> dict[str, Any] | None:
        now = self.clock.now_ns()
        silence = self.silences.expire(silence_id, now)
        if silence is None:
            return None
        with self._lock:
            self._refresh_silences(now)
        return silence.to_dict(now)

    def list_silences(self) -> list[dict[str, Any]]:
        now = self.clock.now_ns()
        return [s.to_dict(now) for s in self.silences.all()]

    def stats(self) -> dict[str, Any]:
        """For the status API: rules, alerts by state, and outbox rows per channel and status
        (the backlog is `pending`), plus notifications waiting to be reported as suppressed."""
        states: dict[str, int] = {}
        for alert in self._live():
            states[str(alert.state)] = states.get(str(alert.state), 0) + 1
        return {"rules": len(self.rules), "alerts": states,
                "silences": sum(1 for s in self.silences.all()
                                if s.active(self.clock.now_ns())),
                "outbox": stored.outbox_counts(self.store),
                "suppressed_unreported": {name: self.limiter.suppressed_count(name)
                                          for name in self.channels
                                          if self.limiter.suppressed_count(name)}}

    def outbox_backlog(self) -> int:
        """Notifications waiting in the outbox (pending on any channel)."""
        return stored.pending_count(self.store)

    def notifications(self, **filters: Any) -> tuple[list[dict[str, Any]], int | None]:
        rows, cursor = stored.notifications(self.store, **filters)
        return [row_json(row) for row in rows], cursor

    def send_test_alert(self, channel: str | None = None) -> dict[str, dict[str, Any]]:
        """Send a test notification now on one channel (or every channel), synchronously;
        per channel whether it was delivered and, if not, why."""
        return send_test_alerts(self.channels, [channel] if channel else None,
                                self.clock.now_ns(), self.external_url)

    # --- reports --------------------------------------------------------------------------

    def deliver_report(self, report: Report) -> list[str]:
        """Queue a scheduled report on the configured report channels (email gets HTML and
        CSV attachments, others a compact summary), with its alerts section filled."""
        if not self.report_channels:
            return []
        since_ns = int(report.since_unix_ms * 1e6)
        fired = [a for a in stored.history(self.store, service=report.service,
                                           since_ns=since_ns, limit=500)[0]
                 if a.get("state") == "firing"]
        report = dataclasses.replace(report, alerts=[
            {"title": a["title"], "severity": a["severity"], "since": a["since"],
             "rule": a["rule"]} for a in fired])
        html, _ = render(report, ReportFormat.HTML)
        csv, _ = render(report, ReportFormat.CSV)
        base = f"tradepulse-{report.service}-{report.period}-{report.day_label}"
        perf = report.performance
        figures = {k: notifications.format_value(perf.get(k)) for k in (
            "portfolio_value", "daily_return", "max_drawdown", "sharpe_ratio") if k in perf}
        figures["alerts_fired"] = str(len(fired))
        now = self.clock.now_ns()
        rows = []
        group_key = f"report|{report.service}|{report.period}|{report.day_label}"
        for channel in self.report_channels:
            if channel not in self.channels:
                logger.error("report channel %s is not configured", channel)
                continue
            attachments = ()
            if getattr(self.channels[channel], "supports_attachments", channel == "email"):
                attachments = (Attachment(f"{base}.html", "text/html", html.encode()),
                               Attachment(f"{base}.csv", "text/csv", csv.encode()))
            summary = ", ".join(f"{k} {v}" for k, v in figures.items())
            notification = Notification(
                key=f"{group_key}|{channel}", channel=channel, receiver="reports",
                group_key=group_key, status="firing", severity=AlertSeverity.INFO,
                title=f"Performance report {report.service} {report.period} "
                      f"{report.day_label}",
                text=f"Performance report for {report.service} ({report.portfolio or 'default'}"
                     f" portfolio), {report.period} {report.day_label}: {summary}.",
                alerts=(), group_labels={"service": report.service}, common_labels={},
                common_annotations={}, figures=figures, external_url=self.external_url,
                attachments=attachments)
            rows.append(self._row(notification, "pending"))
        with self._lock:
            ids = stored.commit_flush(self.store, [], rows, now)
            self._announce(rows, ids, now)
        return [row["key"] for row in rows]

    # --- channels -------------------------------------------------------------------------

    def _send_resolved(self, channel: str) -> bool:
        target = self.channels.get(channel)
        return bool(getattr(target, "send_resolved", True))

    def _channel_failed(self, channel: str, row: dict[str, Any]) -> None:
        """A notification failed for good: tell the console (never the failing channel)."""
        logger.critical("alert channel %s failed to deliver %r: %s", channel, row["title"],
                        row["last_error"])
        if channel == "console" or "console" not in self.channels:
            return
        now = self.clock.now_ns()
        notification = Notification(
            key=f"channel-failed-{row['key']}", channel="console", receiver="channel-health",
            group_key=f"channel-failed|{channel}", status="firing",
            severity=AlertSeverity.CRITICAL,
            title=f"Alert channel {channel} failed to deliver a notification",
            text=f"{row['title']!r} could not be delivered on {channel}: {row['last_error']}",
            alerts=(), group_labels={"channel": channel}, common_labels={"channel": channel},
            common_annotations={}, figures={"attempts": str(row["attempts"])},
            external_url=self.external_url)
        with self._lock:
            rows = [self._row(notification, "pending")]
            ids = stored.commit_flush(self.store, [], rows, now)
            self._announce(rows, ids, now)

    # --- bus ------------------------------------------------------------------------------

    def _publish_alert(self, alert: Alert) -> None:
        if self.bus is not None:
            self.bus.publish(AlertChanged(alert.to_dict()))

    def _publish_notification(self, row: dict[str, Any]) -> None:
        if self.bus is not None:
            self.bus.publish(NotificationChanged(row))

    def on_snapshot(self, event: PerformanceUpdated) -> None:
        with self._lock:
            if self.performance is not None:
                self.performance.update(event.snapshot)
            self._evaluate({"performance"}, event.snapshot.service)

    def on_stored(self, event: TelemetryStored) -> None:
        if self.metrics is None:
            return
        with self._lock:
            for service in self.metrics.absorb(event.batch):
                self._evaluate({"metric"}, service)

    def on_health(self, _event: HealthSampled) -> None:
        self._evaluate({"health"}, None)

    def start(self, supervisor: Supervisor) -> None:
        """Subscribe to figures, run the timer, and start one sender per channel."""
        if self.bus is not None:
            self.bus.subscribe(PerformanceUpdated, self.on_snapshot, name="alerting-performance",
                               overflow=coalesce(lambda e: (e.snapshot.service,
                                                            e.snapshot.portfolio)))
            self.bus.subscribe(TelemetryStored, self.on_stored, name="alerting-metrics",
                               overflow=drop_oldest)
            self.bus.subscribe(HealthSampled, self.on_health, name="alerting-health",
                               overflow=coalesce(lambda e: "health"))
            self.bus.subscribe(ReportReady, lambda e: self.deliver_report(e.report),
                               name="alerting-reports", overflow=drop_oldest)
        supervisor.every("alerting", self.config.evaluation_interval, self.tick)
        supervisor.thread("alerting-groups", self._flush_loop, wake=self._group_event.set)
        self.outbox.start(supervisor)

    def _flush_loop(self, worker: Worker) -> None:
        """Send each group's notification when its group_wait or group_interval ends, not
        at the next timer tick."""
        event = self._group_event
        while not worker.stop_event.is_set():
            event.clear()
            with self._lock:
                now = self.clock.now_ns()
                if self.dispatcher.due(now):
                    self._flush(now)
                due = self.dispatcher.next_flush_ns()
            wait = FLUSH_IDLE_S if due is None else min(FLUSH_IDLE_S, max(0.0, (due - now) / NS))
            event.wait(wait)

    def close(self) -> None:
        self.outbox.stop()
        for channel in self.channels.values():
            try:
                channel.close()
            except Exception:
                logger.exception("closing channel %s failed", channel.name)
