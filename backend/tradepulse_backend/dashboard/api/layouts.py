"""REST endpoints of dashboard layouts: the names, and one validated layout as JSON (the page
renders its sections and panels from it)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from tradepulse_backend.dashboard.layouts import UnknownLayout

layouts_api = Blueprint("layouts", __name__, url_prefix="/api/v1")


def _manager():
    return current_app.extensions["tradepulse"].dashboard.manager


@layouts_api.get("/layouts")
def names():
    manager = _manager()
    return jsonify(default=manager.default_layout, layouts=manager.layouts.names())


@layouts_api.get("/layouts/<name>")
def layout(name: str):
    try:
        return jsonify(_manager().layouts.get(name))
    except UnknownLayout as error:
        return jsonify(error=str(error)), 404
