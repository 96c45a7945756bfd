"""REST endpoints of alerting: active alerts, history, acks, rules, silences, the outbox's
notifications and test alerts. Bad input is a 400 naming what was wrong."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request
from werkzeug.datastructures import MultiDict

from tradepulse_backend.alerting import AlertingSystem, RuleError
from tradepulse_backend.alerting.silences import SilenceError
from tradepulse_backend.clock import duration_ns
from tradepulse_backend.config.alerting import SEVERITIES
from tradepulse_backend.dashboard import params
from tradepulse_backend.dashboard.params import BadParameter
from tradepulse_backend.store.alerts import OUTBOX_STATUSES

alerts_api = Blueprint("alerts", __name__, url_prefix="/api/v1")
MAX_LIMIT = 1000


def _system() -> AlertingSystem:
    return current_app.extensions["tradepulse"].alerting


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if body is None and not request.get_data():
        return {}
    if not isinstance(body, dict):
        raise BadParameter("body: expected a JSON object")
    return body


def _rule_error(error: RuleError):
    return jsonify(error=str(error), errors=error.errors), 400


def _cursor(args: MultiDict) -> int | None:
    raw = args.get("cursor")
    if not raw:
        return None
    return params.integer(args, "cursor", default=0, low=1, high=2**62)


def _word(args: MultiDict, name: str, allowed: tuple[str, ...]) -> str | None:
    value = args.get(name) or None
    if value is not None and value not in allowed:
        raise BadParameter(f"{name}: must be one of {', '.join(allowed)}, got {value[:40]!r}")
    return value


@alerts_api.get("/alerts")
def active():
    return jsonify(alerts=_system().alerts())


@alerts_api.get("/alerts/history")
def history():
    args = request.args
    now = _system().clock.now_ns()
    found, cursor = _system().history(
        service=args.get("service") or None,
        severity=_word(args, "severity", SEVERITIES),
        since_ns=params.time_ns(args, "since", default=None, now_ns=now),
        limit=params.integer(args, "limit", default=100, low=1, high=MAX_LIMIT),
        before_id=_cursor(args))
    return jsonify(alerts=found, next_cursor=None if cursor is None else str(cursor))


@alerts_api.post("/alerts/<fingerprint>/ack")
def acknowledge(fingerprint: str):
    body = _body()
    alert = _system().acknowledge(fingerprint, by=str(body.get("by", "")),
                                  comment=str(body.get("comment", "")))
    if alert is None:
        return jsonify(error=f"no active alert with fingerprint {fingerprint[:40]!r}"), 404
    return jsonify(alert)


@alerts_api.get("/rules")
def rules():
    return jsonify(rules=_system().list_rules())


@alerts_api.get("/rules/<name>")
def rule(name: str):
    for found in _system().list_rules():
        if found["name"] == name:
            return jsonify(found)
    return jsonify(error=f"no rule named {name[:80]!r}"), 404


@alerts_api.post("/rules")
def create_rule():
    body = _body()
    name = body.pop("name", None)
    if not isinstance(name, str) or not name:
        raise BadParameter("name: a rule needs a name")
    try:
        return jsonify(_system().add_rule(name, body)), 201
    except RuleError as error:
        return _rule_error(error)


@alerts_api.put("/rules/<name>")
def replace_rule(name: str):
    body = _body()
    body.pop("name", None)
    try:
        return jsonify(_system().add_rule(name, body, replace=True))
    except RuleError as error:
        return _rule_error(error)
    except KeyError:
        return jsonify(error=f"no rule named {name[:80]!r}; create it with POST /api/v1/rules"
                       ), 404


@alerts_api.delete("/rules/<name>")
def delete_rule(name: str):
    try:
        removed = _system().remove_rule(name)
    except RuleError as error:
        return _rule_error(error)
    if not removed:
        return jsonify(error=f"no rule named {name[:80]!r}"), 404
    return jsonify(deleted=name)


@alerts_api.get("/silences")
def silences():
    return jsonify(silences=_system().list_silences())


@alerts_api.post("/silences")
def create_silence():
    body = _body()
    system = _system()
    now = system.clock.now_ns()
    ends_ns = duration_s = None
    if body.get("ends_at") is not None:
        ends_ns = params.time_ns(MultiDict({"ends_at": str(body["ends_at"])}), "ends_at",
                                 default=None, now_ns=now)
    elif body.get("duration") is not None:
        raw = body["duration"]
        if isinstance(raw, int | float) and not isinstance(raw, bool) and raw > 0:
            duration_s = float(raw)
        elif isinstance(raw, str) and (found := duration_ns(raw)) is not None:
            duration_s = found / 1e9
        else:
            raise BadParameter("duration: expected seconds or a duration such as 2h")
    try:
        silence = system.add_silence(body.get("matchers"), created_by=str(
            body.get("created_by") or ""), comment=str(body.get("comment") or ""),
            ends_ns=ends_ns, duration_s=duration_s)
    except SilenceError as error:
        raise BadParameter(str(error)) from None
    return jsonify(silence), 201


@alerts_api.delete("/silences/<silence_id>")
def expire_silence(silence_id: str):
    silence = _system().expire_silence(silence_id)
    if silence is None:
        return jsonify(error=f"no silence with id {silence_id[:40]!r}"), 404
    return jsonify(silence)


@alerts_api.get("/notifications")
def notifications():
    args = request.args
    rows, cursor = _system().notifications(
        status=_word(args, "status", OUTBOX_STATUSES), channel=args.get("channel") or None,
        limit=params.integer(args, "limit", default=100, low=1, high=MAX_LIMIT),
        before_id=_cursor(args))
    return jsonify(notifications=rows, next_cursor=None if cursor is None else str(cursor))


@alerts_api.post("/test-alert")
def test_alert():
    body = _body()
    channel = body.get("channel", request.args.get("channel"))
    if channel is not None and not isinstance(channel, str):
        raise BadParameter("channel: expected a channel name")
    system = _system()
    if channel and channel not in system.channels:
        raise BadParameter(f"channel: {channel[:40]!r} is not configured (configured: "
                           f"{', '.join(system.channels)})")
    results = system.send_test_alert(channel or None)
    return jsonify(results=results, ok=all(r["ok"] for r in results.values()))


@alerts_api.get("/alerting/status")
def status():
    return jsonify(_system().stats())
