"""REST API under /api/v1, one module per resource, plus / and /healthz."""

from __future__ import annotations

from flask import Flask, jsonify

from tradepulse_backend.dashboard.api import (
    alerts,
    health,
    layouts,
    performance,
    prometheus,
    telemetry,
)
from tradepulse_backend.dashboard.params import BadParameter


def register(app: Flask) -> None:
    """Register every resource's blueprint and the 400 answer for bad parameters."""
    app.register_blueprint(telemetry.health)
    app.register_blueprint(telemetry.api)
    app.register_blueprint(performance.performance_api)
    app.register_blueprint(health.health_api)
    app.register_blueprint(alerts.alerts_api)
    app.register_blueprint(layouts.layouts_api)
    app.register_blueprint(prometheus.prometheus_api)
    app.register_error_handler(BadParameter, lambda e: (jsonify(error=str(e)), 400))
