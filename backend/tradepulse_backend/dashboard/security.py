"""Browser-facing protections of the dashboard port: security headers on every response, the
WebSocket's Origin check, and the start-up warning for an exposed dashboard without auth.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from flask import Flask, Request, Response, jsonify, request

CSP = ("default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; "
       "frame-ancestors 'none'; form-action 'self'; img-src 'self' data: blob:; "
       "font-src 'self' data:; style-src 'self' 'unsafe-inline'; "
       "connect-src 'self' {ws}")
"""No inline or foreign script; inline styles stay allowed because plotly.js sets them."""
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def add_headers(response: Response) -> Response:
    """Every response gets the CSP (connect-src: this host's ws/wss) and the fixed headers."""
    scheme = "wss" if request.is_secure else "ws"
    response.headers.setdefault("Content-Security-Policy", CSP.format(ws=f"{scheme}://{request.host}"))
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def origin_refusal(req: Request) -> tuple[Response, int] | None:
    """403 when a browser opened the WebSocket from another site (cross-site WebSocket
    hijacking): its `Origin` must name this server's host and port. Clients that send no
    Origin (not browsers) pass; they still need credentials when auth is on."""
    origin = req.headers.get("Origin")
    if origin is None:
        return None
    parts = urlsplit(origin)
    if parts.scheme in ("http", "https") and parts.netloc.lower() == req.host.lower():
        return None
    return jsonify(error=f"Origin {origin[:100]!r} does not match this server "
                         f"({req.host}); open the dashboard from its own address"), 403


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def exposure_warning(dashboard_config) -> str | None:
    """The warning to print when the dashboard listens beyond this machine without auth."""
    if is_loopback(dashboard_config.host) or dashboard_config.auth.enabled:
        return None
    return (f"the dashboard listens on {dashboard_config.host}, reachable from other machines, "
            "without authentication: anyone who can connect sees every bot; set "
            "monitoring.dashboard.auth (token or users) and dashboard.tls")


def register(app: Flask) -> None:
    app.after_request(add_headers)
