"""Optional ingest authentication with bearer API keys."""

from __future__ import annotations

from tests.integration.otlp_samples import span, spans_request
from tests.support import post

KEY = "tp-key-4f1d9c2e7b"
BODY = spans_request("auth-bot", [span(bytes.fromhex("ab" * 16), b"\x07" * 8, "authorized")])
PROTOBUF = {"Content-Type": "application/x-protobuf"}


def test_requests_without_a_valid_key_get_401_and_the_key_never_reaches_the_logs(start_server):
    running = start_server({"ingest": {"api_keys": ["${TP_TEST_KEY}", "second-key"]}},
                           env={"TP_TEST_KEY": KEY})
    assert post(f"{running.otlp}/v1/traces", BODY, PROTOBUF)[0] == 401
    wrong = {**PROTOBUF, "Authorization": f"Bearer {KEY}x"}
    status, headers, _ = post(f"{running.otlp}/v1/traces", BODY, wrong)
    assert status == 401
    assert headers["WWW-Authenticate"].startswith("Bearer")

    good = {**PROTOBUF, "Authorization": f"Bearer {KEY}"}
    assert post(f"{running.otlp}/v1/traces", BODY, good)[0] == 200
    assert post(f"{running.otlp}/v1/traces", BODY,
                {**PROTOBUF, "Authorization": "Bearer second-key"})[0] == 200

    status_page = running.api("/status")
    assert KEY not in str(status_page)
    running.stop()
    assert KEY not in running.stderr


def test_the_sdk_sends_the_key_through_otel_exporter_otlp_headers(start_server, tmp_path):
    import subprocess
    import sys

    running = start_server({"ingest": {"api_keys": [KEY]}})
    script = (
        "import tradepulse\n"
        "tradepulse.configure('header-bot', system_metrics=False)\n"
        "@tradepulse.traced(name='via-env-headers')\n"
        "def step(): pass\n"
        "step()\n"
        "tradepulse.shutdown()\n"
    )
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": running.otlp,
           "OTEL_EXPORTER_OTLP_HEADERS": f"Authorization=Bearer%20{KEY}",
           "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=60)
    names = [s["name"] for s in running.api("/spans?service=header-bot")["spans"]]
    assert names == ["via-env-headers"]
