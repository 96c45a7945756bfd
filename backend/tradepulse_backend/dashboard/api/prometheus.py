"""`GET /metrics`: the Prometheus text exposition of the backend's live figures."""

from __future__ import annotations

from flask import Blueprint, Response, current_app
from flask.blueprints import BlueprintSetupState
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from tradepulse_backend.dashboard.prometheus import BackendCollector

prometheus_api = Blueprint("prometheus", __name__)
_REGISTRY_KEY = "tradepulse.prometheus"


@prometheus_api.record_once
def _build_registry(state: BlueprintSetupState) -> None:
    """One registry per app, holding only the backend collector (no Python process or GC
    collectors: they describe the interpreter, and an embedded coordinator shares the bot's)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(BackendCollector(state.app.extensions["tradepulse"]))
    state.app.extensions[_REGISTRY_KEY] = registry


@prometheus_api.get("/metrics")
def metrics() -> Response:
    body = generate_latest(current_app.extensions[_REGISTRY_KEY])
    return Response(body, headers={"Content-Type": CONTENT_TYPE_PLAIN_0_0_4})
