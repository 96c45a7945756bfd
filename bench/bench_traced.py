"""Overhead of ``@tradepulse.traced`` on a sync function against a hand-written span.

Both arms run under the same SDK TracerProvider (a SimpleSpanProcessor on an exporter that
drops spans) and create spans with the same name and attributes, so the ratio is the cost of
the decorator itself. Trials alternate between arms; the median per-call time is reported.
Run from the repo root: ``python -m bench.bench_traced``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.semconv.attributes.code_attributes import (
    CODE_FILE_PATH,
    CODE_FUNCTION_NAME,
    CODE_LINE_NUMBER,
)

import tradepulse

TARGET_RATIO = 1.10


class _DropExporter(SpanExporter):
    """Accepts every span and keeps none, so export cost is the same tiny constant in both arms."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def _provider() -> trace.TracerProvider:
    """Install a benchmark provider unless one is already global; either way return the global."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(_DropExporter()))
    if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        trace.set_tracer_provider(provider)
    return trace.get_tracer_provider()


def _work(x: int) -> int:
    return x + 1


def _time_per_call_us(call: Callable[[int], int], calls: int) -> float:
    start = time.perf_counter_ns()
    for i in range(calls):
        call(i)
    return (time.perf_counter_ns() - start) / calls / 1000


def run(*, trials: int = 21, calls: int = 5000) -> dict[str, float]:
    """Measure both arms; return per-call microseconds (medians) and traced/raw ratio."""
    provider = _provider()
    traced_work = tradepulse.traced(_work)
    span_name = _work.__qualname__
    attributes = _span_attributes(_work)
    raw_tracer = provider.get_tracer("bench.raw")

    def raw_work(x: int) -> int:
        with raw_tracer.start_as_current_span(span_name, attributes=attributes):
            return _work(x)

    arms = {"traced": traced_work, "raw": raw_work}
    for call in arms.values():
        _time_per_call_us(call, calls // 5)
    samples: dict[str, list[float]] = {arm: [] for arm in arms}
    for trial in range(trials):
        order = list(arms) if trial % 2 == 0 else list(reversed(arms))
        for arm in order:
            samples[arm].append(_time_per_call_us(arms[arm], calls))
    traced_us = statistics.median(samples["traced"])
    raw_us = statistics.median(samples["raw"])
    return {
        "traced_us": traced_us,
        "raw_us": raw_us,
        "ratio": traced_us / raw_us,
        "target_ratio": TARGET_RATIO,
    }


def _span_attributes(func: Callable[..., object]) -> dict[str, str | int]:
    """The code attributes ``@traced`` puts on each span, so the raw arm carries the same."""
    code = func.__code__  # type: ignore[attr-defined]
    return {
        CODE_FUNCTION_NAME: f"{func.__module__}.{func.__qualname__}",
        CODE_FILE_PATH: code.co_filename,
        CODE_LINE_NUMBER: code.co_firstlineno,
    }


def format_result(result: dict[str, float]) -> str:
    """One line: per-call times of both arms and their ratio against the target."""
    return (
        f"traced_overhead: traced={result['traced_us']:.1f}us raw={result['raw_us']:.1f}us "
        f"ratio={result['ratio']:.2f} (target <= {result['target_ratio']:.2f})"
    )


if __name__ == "__main__":
    print(format_result(run()))
