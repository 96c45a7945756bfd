"""Flask application factory for the dashboard port (REST API now; page and WebSocket later)."""

from __future__ import annotations

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from tradepulse_backend.config import MonitoringConfig
from tradepulse_backend.dashboard import api, auth, page, security
from tradepulse_backend.runtime import Backend


def create_app(config: MonitoringConfig | None = None, backend: Backend | None = None) -> Flask:
    """Build the dashboard app around a running backend (one is created if none is given)."""
    if backend is None:
        backend = Backend(config or MonitoringConfig())
        backend.start()
    app = Flask(__name__)
    app.json.sort_keys = False
    app.extensions["tradepulse"] = backend
    auth.register(app, auth.Authenticator(backend.config.dashboard.auth, backend.clock))
    api.register(app)
    page.register(app)
    backend.dashboard.init_app(app)
    security.register(app)
    app.register_error_handler(HTTPException, _json_http_error)
    return app


def _json_http_error(error: HTTPException):
    return jsonify(error=error.description), error.code
