"""Credentials and TLS on a real server: `/ws` refuses without credentials (401) and accepts a
bearer token or a login cookie; with `dashboard.tls` the port serves https and wss (a
self-signed certificate made here with the openssl CLI) while OTLP stays as configured."""

from __future__ import annotations

import json
import ssl
import subprocess
import urllib.error
import urllib.request

import pytest
import websocket

from tests.backend.dashboard.wsclient import Stream, portfolio_request, post_otlp

TOKEN = "ws-test-token"
UNVERIFIED = ssl._create_unverified_context()


def _self_signed(directory) -> tuple[str, str]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    return str(cert), str(key)


def _request(url: str, *, data: bytes | None = None, headers: dict | None = None):
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        return urllib.request.urlopen(request, timeout=10, context=UNVERIFIED)
    except urllib.error.HTTPError as error:
        return error


@pytest.fixture(scope="module")
def guarded(servers):
    return servers({"dashboard": {"auth": {"token": TOKEN}}})


@pytest.fixture(scope="module")
def secure(servers, tmp_path_factory):
    cert, key = _self_signed(tmp_path_factory.mktemp("tls"))
    return servers({"dashboard": {"auth": {"token": TOKEN},
                                  "tls": {"cert_file": cert, "key_file": key}}})


def test_websocket_without_credentials_is_refused_with_401_json(guarded):
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        Stream(guarded.dashboard)
    assert refused.value.status_code == 401
    assert b"authentication required" in refused.value.resp_body


def test_websocket_accepts_a_bearer_token_or_a_login_cookie(guarded):
    stream = Stream(guarded.dashboard, header=[f"Authorization: Bearer {TOKEN}"])
    try:
        assert stream.next()["type"] == "snapshot"
    finally:
        stream.close()
    login = _request(guarded.dashboard + "/login", data=json.dumps({"password": TOKEN}).encode(),
                     headers={"Content-Type": "application/json"})
    assert login.status == 200
    cookie = login.headers["Set-Cookie"].split(";", 1)[0]
    stream = Stream(guarded.dashboard, cookie=cookie)
    try:
        assert stream.next()["type"] == "snapshot"
    finally:
        stream.close()


def test_tls_serves_https_and_wss_with_secure_cookies(secure):
    assert secure.dashboard.startswith("https://")
    refused = _request(secure.dashboard + "/api/v1/status")
    assert refused.status == 401
    answer = _request(secure.dashboard + "/api/v1/status",
                      headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status == 200 and "max-age" in answer.headers["Strict-Transport-Security"]
    login = _request(secure.dashboard + "/login", data=json.dumps({"password": TOKEN}).encode(),
                     headers={"Content-Type": "application/json"})
    assert "Secure" in login.headers["Set-Cookie"]
    assert "wss://" in answer.headers["Content-Security-Policy"]
    stream = Stream(secure.dashboard, header=[f"Authorization: Bearer {TOKEN}"])
    try:
        assert stream.next()["type"] == "snapshot"
        post_otlp(secure.otlp, "metrics", portfolio_request("tls-bot", 5.0))
        assert stream.of_type("performance", "tls-bot")["data"]["performance"]
    finally:
        stream.close()
