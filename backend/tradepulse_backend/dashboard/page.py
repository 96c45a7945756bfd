"""The web page: `/` serves index.html, `/static/...` its modules and styles,
`/vendor/plotly.min.js` the charting library from the installed `plotly` package, and
`/api/v1/dashboard-config` the few settings the page needs (no build step, no CDN, nothing
inline, so a strict CSP holds)."""

from __future__ import annotations

import functools
import gzip
import hashlib
import importlib.resources
from pathlib import Path

from flask import Blueprint, Flask, Response, current_app, jsonify, request, send_from_directory

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
PAGE_CACHE = "no-cache"
"""Page files keep their names across releases, so browsers revalidate them (a 304 is cheap)."""
VENDOR_MAX_AGE_S = 7 * 86_400
"""plotly.js changes only when the `plotly` package is upgraded; the ETag catches that."""

page = Blueprint("page", __name__)


@page.get("/")
def index() -> Response:
    """The single HTML page; everything else it needs is fetched from this origin."""
    response = send_from_directory(STATIC_DIR, "index.html", max_age=0)
    response.headers["Cache-Control"] = PAGE_CACHE
    return response


@page.get("/vendor/plotly.min.js")
def plotly_js() -> Response:
    """plotly.js from the installed Python `plotly` package, cached for a week with an ETag,
    gzip-compressed for browsers that accept it (about a third of the size, for phones)."""
    gzipped = request.accept_encodings["gzip"] > 0
    body, etag = _plotly_gzip() if gzipped else _plotly_bundle()
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        response = Response(body, mimetype="text/javascript")
        if gzipped:
            response.headers["Content-Encoding"] = "gzip"
    response.set_etag(etag)
    response.headers["Cache-Control"] = f"public, max-age={VENDOR_MAX_AGE_S}"
    response.vary.add("Accept-Encoding")
    return response


@page.get("/api/v1/dashboard-config")
def dashboard_config() -> Response:
    """Settings the page reads at start (refresh interval, layout); never secrets."""
    backend = current_app.extensions["tradepulse"]
    dashboard = backend.config.dashboard
    return jsonify(
        version=backend.version,
        auto_refresh_interval=dashboard.auto_refresh_interval,
        layout=getattr(dashboard, "layout", None) or "default",
        websocket="/ws",
        otlp_http=backend.urls.get("otlp_http") or _configured_otlp(backend.config.ingest),
    )


def _configured_otlp(ingest) -> str:
    """The OTLP/HTTP URL from config, when the receiver is not bound (an in-process app)."""
    host = f"[{ingest.host}]" if ":" in ingest.host else ingest.host
    return f"http://{host}:{ingest.port}"


@functools.cache
def _plotly_bundle() -> tuple[bytes, str]:
    """The bundle's bytes and a strong ETag from their hash, read once per process."""
    body = importlib.resources.files("plotly").joinpath("package_data/plotly.min.js").read_bytes()
    return body, hashlib.sha256(body).hexdigest()[:32]


@functools.cache
def _plotly_gzip() -> tuple[bytes, str]:
    """The bundle gzip-compressed once per process, with its own ETag."""
    body, etag = _plotly_bundle()
    return gzip.compress(body, compresslevel=6, mtime=0), f"{etag}-gz"


def _static_cache_headers(response: Response) -> Response:
    if request.path.startswith("/static/") and response.status_code in (200, 304):
        response.headers["Cache-Control"] = PAGE_CACHE
    return response


def register(app: Flask) -> None:
    """Serve the page and plotly.js; Flask's own `/static` route (the package's `static/`
    folder, with ETags) serves the page's files, which are revalidated on each load."""
    if Path(app.static_folder or "").resolve() != STATIC_DIR:
        raise RuntimeError(f"the app's static folder must be {STATIC_DIR}")
    app.after_request(_static_cache_headers)
    app.register_blueprint(page)
