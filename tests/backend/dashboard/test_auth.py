"""Access control of the dashboard port, in-process on a manual clock: what is refused
without credentials, login and logout, session expiry, rate-limited failures, headers."""

from __future__ import annotations

import pytest
from werkzeug.security import generate_password_hash

from tests.support import InProcessApp
from tradepulse_backend.config import ConfigError, MonitoringConfig, load_config
from tradepulse_backend.dashboard.security import exposure_warning

TOKEN = "s3cret-token-for-tests"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def guarded(tmp_path):
    app = InProcessApp(tmp_path, {"dashboard": {"auth": {
        "token": TOKEN, "session_hours": 1, "max_failed_logins": 3, "lockout_seconds": 60,
        "users": [{"username": "ana", "password_hash": generate_password_hash(PASSWORD)}]}}})
    yield app
    app.close()


def test_without_credentials_api_static_and_ws_answer_401_json_and_the_page_redirects(guarded):
    client = guarded.client
    for path in ("/api/v1/status", "/api/v1/performance", "/api/v1/layouts", "/ws",
                 "/metrics", "/static/js/main.js", "/vendor/plotly.min.js"):
        response = client.get(path)
        assert response.status_code == 401, path
        assert "authentication required" in response.get_json()["error"]
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    page = client.get("/")
    assert page.status_code == 302 and page.headers["Location"] == "/login"
    assert client.get("/login").status_code == 200
    assert client.get("/static/css/login.css").status_code == 200
    assert client.get("/healthz").status_code == 200


def test_bearer_token_opens_the_api(guarded):
    ok = guarded.client.get("/api/v1/status", headers={"Authorization": f"Bearer {TOKEN}"})
    wrong = guarded.client.get("/api/v1/status", headers={"Authorization": "Bearer nope"})
    assert ok.status_code == 200 and wrong.status_code == 401


def test_form_login_sets_a_strict_httponly_session_cookie_and_logout_ends_it(guarded):
    client = guarded.client
    response = client.post("/login?next=/api/v1/status",
                           data={"username": "ana", "password": PASSWORD})
    assert response.status_code == 303 and response.headers["Location"] == "/api/v1/status"
    cookie = response.headers["Set-Cookie"]
    assert "tradepulse_session=" in cookie and "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie and "Max-Age=3600" in cookie and "Secure" not in cookie
    assert client.get("/api/v1/status").status_code == 200
    assert client.get("/").status_code != 302
    assert client.post("/logout").status_code == 303
    assert client.get("/api/v1/status").status_code == 401


def test_json_login_with_the_token_and_session_expiry(guarded):
    client = guarded.client
    response = client.post("/login", json={"password": TOKEN})
    assert response.status_code == 200 and response.get_json()["ok"] is True
    assert client.get("/api/v1/status").status_code == 200
    guarded.clock.advance(3601)
    assert client.get("/api/v1/status").status_code == 401


def test_login_never_redirects_to_another_site(guarded):
    response = guarded.client.post("/login?next=//evil.example/x",
                                   data={"username": "ana", "password": PASSWORD})
    assert response.headers["Location"] == "/"


def test_failed_logins_are_rate_limited_per_address_until_the_window_passes(guarded):
    client = guarded.client
    for _ in range(3):
        assert client.post("/login", json={"username": "ana", "password": "x"}).status_code == 401
    limited = client.post("/login", json={"username": "ana", "password": PASSWORD})
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) == 60
    other = guarded.client.post("/login", json={"username": "ana", "password": PASSWORD},
                                environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 200
    guarded.clock.advance(61)
    assert client.post("/login", json={"username": "ana", "password": PASSWORD}
                       ).status_code == 200


def test_wrong_form_login_shows_the_login_page_with_the_reason(guarded):
    response = guarded.client.post("/login", data={"username": "ana", "password": "<b>"})
    assert response.status_code == 401
    assert "wrong user name or password" in response.get_data(as_text=True)
    assert "<b>" not in response.get_data(as_text=True)


def test_every_response_carries_the_security_headers(guarded):
    for response in (guarded.client.get("/login"), guarded.client.get("/api/v1/status"),
                     guarded.client.get("/healthz")):
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp.split("script-src", 1)[1].split(";")[0]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"


def test_auth_is_off_by_default(tmp_path):
    app = InProcessApp(tmp_path)
    try:
        assert app.client.get("/api/v1/status").status_code == 200
        assert app.client.post("/login", json={"password": "x"}).status_code == 404
    finally:
        app.close()


def test_a_plain_password_in_the_config_is_refused_naming_its_key():
    with pytest.raises(ConfigError) as error:
        load_config(overrides={"dashboard": {"auth": {"users": [
            {"username": "ana", "password_hash": "hunter2"}]}}})
    assert "dashboard.auth.users[0].password_hash" in str(error.value)
    assert "hunter2" not in str(error.value)


@pytest.mark.parametrize(("host", "auth", "warned"), [
    ("127.0.0.1", {}, False), ("::1", {}, False), ("localhost", {}, False),
    ("0.0.0.0", {}, True), ("192.168.1.5", {}, True), ("0.0.0.0", {"token": TOKEN}, False),
])
def test_exposed_dashboard_without_auth_is_warned_about(host, auth, warned):
    dashboard = MonitoringConfig(dashboard={"host": host, "auth": auth}).dashboard
    warning = exposure_warning(dashboard)
    assert (warning is not None) is warned
    if warned:
        assert host in warning and "monitoring.dashboard.auth" in warning
