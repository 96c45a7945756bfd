"""Tests of configure() / shutdown(), each in a fresh Python process (OTel globals are per process).

The child process exports to a real OTLP/HTTP recorder on 127.0.0.1; what arrives is decoded
with opentelemetry-proto.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.sdk.otlp_recorder import OtlpRecorder

_CLEAN_ENV = {
    key: value
    for key, value in os.environ.items()
    if not key.startswith(("OTEL_", "TRADEPULSE_"))
}

_PRELUDE = """
import json, logging, sys
logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(message)s")
import tradepulse
from tradepulse import metrics

@tradepulse.traced(name="bot.step")
def step():
    metrics.record_order(symbol="AAPL", side="buy", order_type="market", status="filled",
                         latency_s=0.02)
"""


def _run(script: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-c", _PRELUDE + textwrap.dedent(script)],
        capture_output=True, text=True, timeout=90, env={**_CLEAN_ENV, **(env or {})},
    )
    assert result.returncode == 0, result.stderr
    return result


def test_shutdown_flushes_traces_and_metrics_with_the_service_name():
    with OtlpRecorder() as server:
        _run(
            f"""
            tradepulse.configure("flush-bot", endpoint={server.url!r}, export_interval_ms=600000)
            step()
            tradepulse.shutdown()
            """
        )

    assert {"/v1/traces", "/v1/metrics"} <= server.paths()
    assert server.span_services()["bot.step"] == "flush-bot"
    assert server.metric_services()["trading.orders"] == "flush-bot"
    assert server.metric_services()["trading.order.duration"] == "flush-bot"


def test_latency_and_slippage_are_exported_as_exponential_histograms_other_metrics_unchanged():
    with OtlpRecorder() as server:
        _run(
            f"""
            tradepulse.configure("exp-bot", endpoint={server.url!r}, export_interval_ms=600000,
                                 system_metrics=False)
            for latency in (0.020, 0.021, 0.088):
                metrics.record_order(symbol="AAPL", side="buy", order_type="market",
                                     status="filled", latency_s=latency)
            metrics.record_fill(symbol="AAPL", side="buy", quantity=1, price=100.03,
                                expected_price=100.0)
            tradepulse.shutdown()
            """
        )

    found = {metric.name: metric for request in server.metrics()
             for rm in request.resource_metrics for sm in rm.scope_metrics
             for metric in sm.metrics}
    assert found["trading.order.duration"].WhichOneof("data") == "exponential_histogram"
    assert found["trading.fill.slippage"].WhichOneof("data") == "exponential_histogram"
    assert found["trading.orders"].WhichOneof("data") == "sum"
    (latency,) = found["trading.order.duration"].exponential_histogram.data_points
    assert latency.count == 3 and latency.min == 0.020 and latency.max == 0.088
    base = 2 ** (2.0 ** -latency.scale)
    assert base - 1 < 0.012  # buckets at most 1.2% wide for 20-88 ms


def test_process_metrics_are_published_by_default():
    with OtlpRecorder() as server:
        _run(
            f"""
            tradepulse.configure("proc-bot", endpoint={server.url!r})
            tradepulse.shutdown()
            """
        )

    names = set(server.metric_services())
    assert {"process.cpu.utilization", "process.memory.usage", "process.thread.count"} <= names
    assert not [name for name in names if name.startswith("system.")]


@pytest.mark.parametrize(
    ("argument", "env"),
    [("system_metrics=False", {}), ("", {"TRADEPULSE_SYSTEM_METRICS_ENABLED": "false"})],
)
def test_process_metrics_can_be_turned_off(argument: str, env: dict[str, str]):
    with OtlpRecorder() as server:
        _run(
            f"""
            tradepulse.configure("quiet-bot", endpoint={server.url!r}, {argument})
            step()
            tradepulse.shutdown()
            """,
            env,
        )

    names = set(server.metric_services())
    assert "trading.orders" in names
    assert not [name for name in names if name.startswith("process.")]


def test_environment_variables_are_used_when_arguments_are_absent():
    with OtlpRecorder() as server:
        _run(
            """
            tradepulse.configure()
            step()
            tradepulse.shutdown()
            """,
            {
                "OTEL_SERVICE_NAME": "env-bot",
                "OTEL_EXPORTER_OTLP_ENDPOINT": server.url,
                "OTEL_EXPORTER_OTLP_HEADERS": "x-desk=alpha",
                "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=paper",
            },
        )

    assert server.span_services()["bot.step"] == "env-bot"
    assert {r.headers.get("x-desk") for r in server.requests} == {"alpha"}
    [request] = server.traces()
    resource = {kv.key: kv.value.string_value
                for kv in request.resource_spans[0].resource.attributes}
    assert resource["deployment.environment.name"] == "paper"


def test_arguments_win_over_environment_variables():
    with OtlpRecorder() as server:
        _run(
            f"""
            tradepulse.configure("arg-bot", endpoint={server.url!r}, headers={{"x-desk": "beta"}})
            step()
            tradepulse.shutdown()
            """,
            {
                "OTEL_SERVICE_NAME": "env-bot",
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9",
                "OTEL_EXPORTER_OTLP_HEADERS": "x-desk=alpha",
            },
        )

    assert server.span_services()["bot.step"] == "arg-bot"
    assert {r.headers.get("x-desk") for r in server.requests} == {"beta"}


def test_configure_is_idempotent_and_warns_when_called_with_other_arguments():
    with OtlpRecorder() as server:
        result = _run(
            f"""
            from opentelemetry import trace
            first = tradepulse.configure("idem-bot", endpoint={server.url!r})
            same = tradepulse.configure("idem-bot", endpoint={server.url!r})
            print("AFTER-SAME", file=sys.stderr, flush=True)
            other = tradepulse.configure("other-bot", endpoint={server.url!r})
            step()
            tradepulse.shutdown()
            print(json.dumps({{
                "same": same is first,
                "other": other is first,
                "global": trace.get_tracer_provider() is first.tracer_provider,
            }}))
            """
        )

    assert json.loads(result.stdout) == {"same": True, "other": True, "global": True}
    before, after = result.stderr.split("AFTER-SAME")
    assert "already called" not in before
    assert after.count("already called with other settings") == 1
    assert server.span_services()["bot.step"] == "idem-bot"


def test_bad_environment_value_is_logged_and_replaced_by_the_default():
    with OtlpRecorder() as server:
        result = _run(
            f"""
            state = tradepulse.configure("lenient-bot", endpoint={server.url!r})
            print(state.settings.export_interval_ms)
            step()
            tradepulse.shutdown()
            """,
            {"OTEL_METRIC_EXPORT_INTERVAL": "every-second"},
        )

    assert result.stdout.strip() == "10000"
    assert "OTEL_METRIC_EXPORT_INTERVAL" in result.stderr
    assert server.metric_services()["trading.orders"] == "lenient-bot"


def test_bad_argument_raises_before_anything_is_set_up():
    result = _run(
        """
        from opentelemetry import trace
        try:
            tradepulse.configure("bad-bot", export_interval_ms=-1)
        except ValueError as exc:
            print("ValueError:", exc)
        print(type(trace.get_tracer_provider()).__name__)
        """
    )

    assert result.stdout.splitlines() == [
        "ValueError: export_interval_ms must be a positive int; got -1",
        "ProxyTracerProvider",
    ]


def test_shutdown_is_safe_without_configure_and_when_called_twice():
    with OtlpRecorder() as server:
        result = _run(
            f"""
            tradepulse.shutdown()
            tradepulse.configure("twice-bot", endpoint={server.url!r})
            tradepulse.shutdown()
            tradepulse.shutdown()
            print("done")
            """
        )

    assert result.stdout.strip() == "done"
    assert "Traceback" not in result.stderr


def test_grpc_without_its_exporter_package_says_what_to_install():
    result = _run(
        """
        # As if the optional package were not installed: a None entry makes its import fail.
        sys.modules["opentelemetry.exporter.otlp.proto.grpc"] = None
        try:
            tradepulse.configure("grpc-bot", protocol="grpc")
        except ImportError as exc:
            print(exc)
        """
    )

    assert "pip install 'tradepulse[grpc]'" in result.stdout


def test_importing_tradepulse_does_not_import_the_opentelemetry_sdk():
    result = subprocess.run(
        [sys.executable, "-c",
         "import sys, tradepulse\n"
         "tradepulse.metrics.record_fill(symbol='X', side='buy', quantity=1, price=1.0)\n"
         "print(sorted(m for m in sys.modules if m.startswith('opentelemetry.sdk')))"],
        capture_output=True, text=True, timeout=60, env=_CLEAN_ENV, check=True,
    )

    assert result.stdout.strip() == "[]"
