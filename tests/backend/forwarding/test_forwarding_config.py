"""The `forwarding:` section: URLs per signal as the OTLP exporter builds them, `${ENV}` header
secrets that never show, and errors that name the key path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import InProcessApp
from tradepulse_backend.config import ConfigError, MonitoringConfig, load_config, redacted
from tradepulse_backend.config.forwarding import ForwardingDestination

ENV = {"HOME": "/home/trader", "VENDOR_KEY": "top-secret-key"}


def _load(tmp_path: Path, text: str) -> MonitoringConfig:
    path = tmp_path / "config.yaml"
    path.write_text("monitoring:\n  forwarding:\n" + text)
    return load_config(path, environ=ENV)


def _errors(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, text)
    return caught.value.errors


@pytest.mark.parametrize(("endpoint", "traces_url"), [
    ("https://otlp.example.com", "https://otlp.example.com/v1/traces"),
    ("https://otlp.example.com/", "https://otlp.example.com/v1/traces"),
    ("https://api.example.com/otlp", "https://api.example.com/otlp/v1/traces"),
    ("http://127.0.0.1:4318/otlp/", "http://127.0.0.1:4318/otlp/v1/traces"),
])
def test_the_signal_path_is_appended_to_the_base_endpoint(endpoint, traces_url):
    destination = ForwardingDestination(name="d", endpoint=endpoint)
    assert destination.url("traces") == traces_url
    assert destination.url("logs") == traces_url.replace("traces", "logs")


def test_headers_take_env_secrets_and_are_masked_everywhere(tmp_path):
    config = _load(tmp_path, "    - name: honeycomb\n"
                             "      endpoint: https://api.honeycomb.io\n"
                             "      headers: {x-honeycomb-team: '${VENDOR_KEY}'}\n")
    [destination] = config.forwarding
    assert destination.headers["x-honeycomb-team"].get_secret_value() == "top-secret-key"
    assert destination.signals == ["traces", "metrics", "logs"]
    assert "top-secret-key" not in json.dumps(redacted(config))
    assert "top-secret-key" not in repr(config)
    assert "top-secret-key" not in json.dumps(MonitoringConfig.get_complete_monitoring_config(),
                                              default=str)


def test_the_status_api_shows_each_destination_without_its_secrets(tmp_path):
    app = InProcessApp(tmp_path / "data", {"forwarding": [{
        "name": "vendor", "endpoint": "http://user:pw@127.0.0.1:9/base?api_key=abc",
        "headers": {"authorization": "Bearer hidden-token"}}]})
    try:
        status = app.api("/status")
    finally:
        app.close()
    text = json.dumps(status)
    assert "hidden-token" not in text and "abc" not in text and ":pw@" not in text
    vendor = status["forwarding"]["vendor"]
    assert vendor["urls"]["traces"] == "http://127.0.0.1:9/base/v1/traces"
    assert {"queued", "sent", "retried", "dropped", "failed", "queue_bytes", "oldest_age_s",
            "last_error"} <= vendor.keys()
    assert status["config"]["forwarding"][0]["headers"]["authorization"] != "Bearer hidden-token"
    assert status["config"]["forwarding"][0]["endpoint"] == \
        "http://user:********@127.0.0.1:9/base?********"


@pytest.mark.parametrize(("text", "expected"), [
    ("    - {name: a, endpoint: 'not a url'}\n",
     "monitoring.forwarding[0].endpoint: must be an absolute http:// or https:// URL"),
    ("    - {name: a, endpoint: 'ftp://host/x'}\n",
     "monitoring.forwarding[0].endpoint: must be an absolute http:// or https:// URL"),
    ("    - {name: a, endpoint: 'http://h', signals: [traces, spans]}\n",
     "monitoring.forwarding[0].signals[1]: Input should be 'traces', 'metrics' or 'logs'"),
    ("    - {name: a, endpoint: 'http://h', signals: []}\n",
     "monitoring.forwarding[0].signals: List should have at least 1 item"),
    ("    - {name: a, signals: [traces, logs]}\n",
     "monitoring.forwarding[0]: set endpoint, or traces_endpoint and logs_endpoint"),
    ("    - {name: a, endpoint: 'http://h', endpiont: x}\n",
     "monitoring.forwarding[0].endpiont: unknown key; did you mean 'endpoint'?"),
    ("    - {name: a, endpoint: 'http://h', headers: {Content-Type: x}}\n",
     "monitoring.forwarding[0].headers.Content-Type.[key]: set by the forwarder"),
    ("    - {name: 'a/b', endpoint: 'http://h'}\n",
     "monitoring.forwarding[0].name: String should match pattern"),
    ("    - {name: a, endpoint: 'http://h'}\n    - {name: a, endpoint: 'http://i'}\n",
     "monitoring.forwarding: two destinations are named 'a'"),
    ("    - {name: a, endpoint: 'http://h', max_queue_bytes: 10}\n",
     "monitoring.forwarding[0].max_queue_bytes: Input should be greater than or equal to 1024"),
    ("    - {name: a, endpoint: 'http://h', headers: {k: '${MISSING}'}}\n",
     "monitoring.forwarding[0].headers.k: environment variable MISSING is not set"),
])
def test_bad_forwarding_config_names_the_key_path(tmp_path, text, expected):
    errors = _errors(tmp_path, text)
    assert any(error.startswith(expected) for error in errors), errors


def test_a_bad_url_error_never_echoes_the_url(tmp_path):
    errors = _errors(tmp_path, "    - {name: a, endpoint: 'https://user:pass word@host'}\n")
    assert errors and not any("pass word" in error for error in errors)


def test_the_readme_example_is_a_valid_config(tmp_path):
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    section = readme.split("## Forwarding telemetry to other vendors", 1)[1]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "readme.yaml").write_text(example)
    config = load_config(tmp_path / "readme.yaml",
                         environ={**ENV, "HONEYCOMB_API_KEY": "hc-key"})
    honeycomb, tempo = config.forwarding
    assert honeycomb.url("logs") == "https://api.honeycomb.io/v1/logs"
    assert tempo.url("traces") == "http://127.0.0.1:4319/v1/traces"
    assert tempo.services == ["momentum-bot"]
