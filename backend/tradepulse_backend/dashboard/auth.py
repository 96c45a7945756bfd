"""Access control of the dashboard port (`dashboard.auth`; off when neither a token nor users
are set).

When on, every request needs a session cookie from `POST /login` or `Authorization: Bearer
<token>`: the page redirects to `/login`; `/api/v1/*`, `/metrics`, `/ws`, static files and
everything else answer 401 JSON. Open without credentials: `/login` (its page and
stylesheet), `POST /login`, `POST /logout` and `/healthz` (a liveness probe for process
managers; it says only ok or which worker died).

Sessions are random tokens held in this process (a restart logs everyone out); the cookie is
HttpOnly, SameSite=Strict, Secure under TLS, and expires after `session_hours`. Failed logins
are limited per client address: `max_failed_logins` per `lockout_seconds`, then 429 with
Retry-After until the window passes.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import threading
from collections import deque
from pathlib import Path
from urllib.parse import quote, urlsplit

from flask import Blueprint, Flask, Request, Response, current_app, jsonify, redirect, request
from werkzeug.security import check_password_hash

from tradepulse_backend.clock import Clock, SystemClock
from tradepulse_backend.config.dashboard import DashboardAuthConfig

logger = logging.getLogger(__name__)
COOKIE = "tradepulse_session"
LOGIN_PAGE = Path(__file__).resolve().parent.parent / "static" / "login.html"
PUBLIC_PATHS = frozenset({"/login", "/logout", "/healthz", "/static/login.html",
                          "/static/css/login.css", "/favicon.ico", "/static/favicon.svg"})
_MESSAGE_MARK = "<!--message-->"
TOKEN_USER = "token"


class LoginRefused(Exception):
    """Wrong name or password."""


class TooManyAttempts(Exception):
    """Too many failed logins from one address; `retry_after_s` says how long to wait."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after_s} s")
        self.retry_after_s = retry_after_s


class Authenticator:
    """Checks credentials, issues and ends sessions, and limits failed logins per address."""

    def __init__(self, settings: DashboardAuthConfig, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self._sessions: dict[str, tuple[str, float]] = {}
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._users = {user.username: user.password_hash.get_secret_value()
                       for user in settings.users}
        self._token = settings.token.get_secret_value() if settings.token else None

    @property
    def enabled(self) -> bool:
        return self.settings.enabled

    @property
    def session_seconds(self) -> int:
        return int(self.settings.session_hours * 3600)

    # --- checking -------------------------------------------------------------------------

    def bearer_ok(self, header: str | None) -> bool:
        if not header or self._token is None:
            return False
        scheme, _, value = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(),
                                                                  self._token.encode())

    def session_user(self, token: str | None) -> str | None:
        """The user of a live session, or None (unknown or expired)."""
        if not token:
            return None
        now = self.clock.monotonic()
        with self._lock:
            found = self._sessions.get(token)
            if found is None:
                return None
            if found[1] <= now:
                del self._sessions[token]
                return None
            return found[0]

    def allows(self, req: Request) -> bool:
        return (self.bearer_ok(req.headers.get("Authorization"))
                or self.session_user(req.cookies.get(COOKIE)) is not None)

    # --- logging in and out ---------------------------------------------------------------

    def login(self, address: str, username: str, password: str) -> str:
        """A new session token; raises TooManyAttempts or LoginRefused."""
        self._check_rate(address)
        if not self._password_ok(username, password):
            with self._lock:
                self._failures.setdefault(address, deque()).append(self.clock.monotonic())
            logger.warning("failed dashboard login for %r from %s", username[:60], address)
            raise LoginRefused("wrong user name or password")
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._failures.pop(address, None)
            self._expire_sessions()
            self._sessions[token] = (username or TOKEN_USER,
                                     self.clock.monotonic() + self.session_seconds)
        return token

    def logout(self, token: str | None) -> None:
        with self._lock:
            self._sessions.pop(token or "", None)

    def _password_ok(self, username: str, password: str) -> bool:
        if not password:
            return False
        stored = self._users.get(username)
        if stored is not None:
            return check_password_hash(stored, password)
        return self._token is not None and hmac.compare_digest(password.encode(),
                                                               self._token.encode())

    def _check_rate(self, address: str) -> None:
        now = self.clock.monotonic()
        window = self.settings.lockout_seconds
        with self._lock:
            failures = self._failures.get(address)
            if not failures:
                return
            while failures and failures[0] <= now - window:
                failures.popleft()
            if len(failures) >= self.settings.max_failed_logins:
                raise TooManyAttempts(max(1, int(failures[0] + window - now + 0.999)))

    def _expire_sessions(self) -> None:
        now = self.clock.monotonic()
        for token in [t for t, (_u, end) in self._sessions.items() if end <= now]:
            del self._sessions[token]


# --- Flask wiring ---------------------------------------------------------------------------

login_blueprint = Blueprint("login", __name__)


def _auth() -> Authenticator:
    return current_app.extensions["tradepulse.auth"]


def _wants_json() -> bool:
    return request.is_json or "application/json" in request.headers.get("Accept", "")


def _guard() -> Response | tuple[Response, int] | None:
    """Refuse a request without credentials (auth on): page → /login, the rest → 401 JSON."""
    auth = _auth()
    if not auth.enabled or request.path in PUBLIC_PATHS or auth.allows(request):
        return None
    if request.path == "/" and request.method == "GET" and not _wants_json():
        return redirect("/login", code=302)
    response = jsonify(error="authentication required: log in at /login or send "
                             "'Authorization: Bearer <token>'")
    response.headers["WWW-Authenticate"] = 'Bearer realm="tradepulse"'
    return response, 401


@login_blueprint.get("/login")
def login_page() -> Response:
    return _login_page("", 200)


@login_blueprint.post("/login")
def login() -> Response | tuple[Response, int]:
    body = request.get_json(silent=True) if request.is_json else request.form
    body = body if isinstance(body, dict) or hasattr(body, "get") else {}
    username = str(body.get("username") or "")
    password = str(body.get("password") or body.get("token") or "")
    auth = _auth()
    if not auth.enabled:
        return jsonify(error="dashboard.auth is off: no login needed"), 404
    address = request.remote_addr or "?"
    try:
        token = auth.login(address, username, password)
    except TooManyAttempts as error:
        response = (jsonify(error=str(error)) if request.is_json
                    else _login_page(str(error), 429))
        response.status_code = 429
        response.headers["Retry-After"] = str(error.retry_after_s)
        return response
    except LoginRefused as error:
        if request.is_json:
            return jsonify(error=str(error)), 401
        return _login_page(str(error), 401)
    if request.is_json:
        response = jsonify(ok=True, expires_in_s=auth.session_seconds)
    else:
        response = redirect(_local_next(request.args.get("next")), code=303)
    response.set_cookie(COOKIE, token, max_age=auth.session_seconds, httponly=True,
                        samesite="Strict", secure=request.is_secure, path="/")
    return response


@login_blueprint.post("/logout")
def logout() -> Response:
    _auth().logout(request.cookies.get(COOKIE))
    response = jsonify(ok=True) if _wants_json() else redirect("/login", code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="Strict",
                           secure=request.is_secure)
    return response


def _login_page(message: str, status: int) -> Response:
    """static/login.html with the message (escaped) in place of its marker."""
    text = LOGIN_PAGE.read_text(encoding="utf-8")
    note = f'<p class="login-error" role="alert">{_escape(message)}</p>' if message else ""
    response = Response(text.replace(_MESSAGE_MARK, note), status=status,
                        mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


def _local_next(target: str | None) -> str:
    """Only a path on this server (never another site) after login."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return quote(target, safe="/?=&")


def _escape(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def register(app: Flask, authenticator: Authenticator) -> None:
    """Guard every request (first of the app's checks) and serve /login and /logout."""
    app.extensions["tradepulse.auth"] = authenticator
    app.before_request_funcs.setdefault(None, []).insert(0, _guard)
    app.register_blueprint(login_blueprint)
