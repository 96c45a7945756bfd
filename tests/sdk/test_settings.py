"""Tests of how configure()'s arguments and the OTEL_* environment variables combine."""

from __future__ import annotations

import logging

import pytest

from tradepulse.settings import (
    DEFAULT_ENDPOINT,
    DEFAULT_EXPORT_INTERVAL_MS,
    parse_headers,
    resolve_settings,
)


def test_nothing_set_leaves_endpoint_and_headers_to_the_exporters():
    settings = resolve_settings(environ={})

    assert settings.endpoint is None
    assert settings.signal_endpoint("/v1/traces") is None
    assert settings.headers is None
    assert settings.protocol == "http/protobuf"
    assert settings.export_interval_ms == DEFAULT_EXPORT_INTERVAL_MS
    assert settings.system_metrics is True
    assert settings.service_name is None


def test_environment_fills_every_unset_argument():
    settings = resolve_settings(
        environ={
            "OTEL_SERVICE_NAME": "env-bot",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
            "OTEL_METRIC_EXPORT_INTERVAL": "2500",
            "TRADEPULSE_SYSTEM_METRICS_ENABLED": "false",
        }
    )

    assert settings.service_name == "env-bot"
    assert settings.protocol == "grpc"
    assert settings.export_interval_ms == 2500
    assert settings.system_metrics is False


def test_arguments_win_over_the_environment():
    settings = resolve_settings(
        "arg-bot",
        endpoint="http://collector:4318/",
        protocol="http/protobuf",
        export_interval_ms=1000,
        system_metrics=True,
        environ={
            "OTEL_SERVICE_NAME": "env-bot",
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://other:4318",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
            "OTEL_METRIC_EXPORT_INTERVAL": "2500",
            "TRADEPULSE_SYSTEM_METRICS_ENABLED": "false",
        },
    )

    assert settings.service_name == "arg-bot"
    assert settings.endpoint == "http://collector:4318"
    assert settings.signal_endpoint("/v1/metrics") == "http://collector:4318/v1/metrics"
    assert settings.protocol == "http/protobuf"
    assert (settings.export_interval_ms, settings.system_metrics) == (1000, True)


def test_service_name_in_resource_attributes_beats_the_environment():
    settings = resolve_settings(
        resource_attributes={"service.name": "attr-bot", "deployment.environment.name": "paper"},
        environ={"OTEL_SERVICE_NAME": "env-bot"},
    )

    assert settings.service_name == "attr-bot"
    assert dict(settings.resource_attributes)["deployment.environment.name"] == "paper"


def test_grpc_endpoint_is_passed_without_a_signal_path():
    settings = resolve_settings(endpoint="http://collector:4317", protocol="grpc", environ={})

    assert settings.signal_endpoint("/v1/traces") == "http://collector:4317"


def test_headers_argument_may_be_a_mapping_or_a_string():
    from_string = resolve_settings(headers="api-key=s%3Dcret, tenant=desk1", environ={})
    from_mapping = resolve_settings(headers={"tenant": "desk1", "api-key": "s=cret"}, environ={})

    assert dict(from_string.headers) == {"api-key": "s=cret", "tenant": "desk1"}
    assert from_string.headers == from_mapping.headers


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"protocol": "http/json"}, "protocol"),
        ({"protocol": "carrier-pigeon"}, "protocol"),
        ({"endpoint": "localhost:4318"}, "endpoint"),
        ({"endpoint": "ftp://collector:21"}, "endpoint"),
        ({"headers": "no-equals-sign"}, "headers"),
        ({"export_interval_ms": 0}, "export_interval_ms"),
        ({"export_interval_ms": "1000"}, "export_interval_ms"),
        ({"system_metrics": "yes"}, "system_metrics"),
        ({"service_name": ""}, "service_name"),
        ({"resource_attributes": ["service.name"]}, "resource_attributes"),
    ],
)
def test_bad_argument_raises_value_error_naming_it(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        resolve_settings(**kwargs, environ={})


def test_http_json_error_explains_the_python_exporters_lack_it():
    with pytest.raises(ValueError, match="not supported by the OpenTelemetry Python exporters"):
        resolve_settings(protocol="http/json", environ={})


@pytest.mark.parametrize(
    ("variable", "value", "field", "default"),
    [
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json", "protocol", "http/protobuf"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "smoke-signals", "protocol", "http/protobuf"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "not a url", "endpoint", DEFAULT_ENDPOINT),
        ("OTEL_METRIC_EXPORT_INTERVAL", "soon", "export_interval_ms", DEFAULT_EXPORT_INTERVAL_MS),
        ("OTEL_METRIC_EXPORT_INTERVAL", "-5", "export_interval_ms", DEFAULT_EXPORT_INTERVAL_MS),
        ("TRADEPULSE_SYSTEM_METRICS_ENABLED", "maybe", "system_metrics", True),
    ],
)
def test_bad_environment_value_is_logged_and_replaced_by_the_default(
    caplog: pytest.LogCaptureFixture, variable, value, field, default
):
    caplog.set_level(logging.WARNING, logger="tradepulse.settings")

    settings = resolve_settings(environ={variable: value})

    assert getattr(settings, field) == default
    assert [r.levelno for r in caplog.records if variable in r.getMessage()] == [logging.WARNING]


def test_valid_endpoint_in_environment_is_left_to_the_exporters():
    settings = resolve_settings(environ={"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})

    assert settings.endpoint is None


def test_parse_headers_url_decodes_keys_and_values():
    assert parse_headers("Authorization=Bearer%20abc,x-tenant=a%2Cb") == {
        "authorization": "Bearer abc",
        "x-tenant": "a,b",
    }
