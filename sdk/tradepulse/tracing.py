"""``@traced``: one span per call of a function, coroutine, generator or async generator.

Uses only the OpenTelemetry trace API, so decorated code runs unchanged (no-op spans) until a
TracerProvider is installed. Generators get one span for their whole iteration, current only
while their body runs.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncGenerator, Callable, Generator, Mapping
from typing import Any, TypeVar, overload

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.semconv.attributes.code_attributes import (
    CODE_FILE_PATH,
    CODE_FUNCTION_NAME,
    CODE_LINE_NUMBER,
)
from opentelemetry.trace import ProxyTracer, Span, Status, StatusCode, Tracer
from opentelemetry.util.types import AttributeValue

from tradepulse.version import __version__

__all__ = ["traced"]

F = TypeVar("F", bound=Callable[..., Any])

_tracer: Tracer = trace.get_tracer("tradepulse", __version__)


def _resolve_tracer() -> Tracer:
    """Swap the proxy tracer for the real one once a provider is set, to skip its extra layer."""
    global _tracer
    provider = trace.get_tracer_provider()
    if not isinstance(provider, trace.ProxyTracerProvider):
        _tracer = provider.get_tracer("tradepulse", __version__)
    return _tracer


def _current_tracer() -> Tracer:
    tracer = _tracer
    return _resolve_tracer() if tracer.__class__ is ProxyTracer else tracer


@overload
def traced(func: F, /) -> F: ...


@overload
def traced(
    func: None = None, /, *, name: str | None = None,
    attributes: Mapping[str, AttributeValue] | None = None,
) -> Callable[[F], F]: ...


def traced(
    func: F | None = None,
    /,
    *,
    name: str | None = None,
    attributes: Mapping[str, AttributeValue] | None = None,
) -> F | Callable[[F], F]:
    """Wrap a callable so each call runs in a span named ``name`` (default: its ``__qualname__``).

    Works bare (``@traced``) or with options; on functions, coroutine functions, generators,
    async generators and methods, below or above ``@classmethod`` / ``@staticmethod``.
    Exceptions are recorded and set the span status to ERROR ("ExcType: message").
    """
    if func is None:
        return functools.partial(_decorate, name=name, attributes=attributes)  # type: ignore[return-value]
    return _decorate(func, name=name, attributes=attributes)


def _decorate(
    func: F, *, name: str | None, attributes: Mapping[str, AttributeValue] | None
) -> F:
    if isinstance(func, (classmethod, staticmethod)):
        inner = _decorate(func.__func__, name=name, attributes=attributes)
        return type(func)(inner)  # type: ignore[return-value]
    if not callable(func):
        raise TypeError(f"@traced needs a callable; got {func!r}")
    span_name = name or getattr(func, "__qualname__", None) or repr(func)
    span_attributes = {**_code_attributes(func), **(attributes or {})}
    if inspect.isasyncgenfunction(func):
        return _wrap_async_generator(func, span_name, span_attributes)  # type: ignore[return-value]
    if inspect.isgeneratorfunction(func):
        return _wrap_generator(func, span_name, span_attributes)  # type: ignore[return-value]
    if inspect.iscoroutinefunction(func):
        return _wrap_coroutine(func, span_name, span_attributes)  # type: ignore[return-value]
    return _wrap_function(func, span_name, span_attributes)  # type: ignore[return-value]


def _code_attributes(func: Callable[..., Any]) -> dict[str, AttributeValue]:
    """code.function.name (module-qualified), code.file.path and code.line.number of ``func``."""
    attrs: dict[str, AttributeValue] = {}
    qualname = getattr(func, "__qualname__", None)
    if qualname:
        module = getattr(func, "__module__", None)
        attrs[CODE_FUNCTION_NAME] = f"{module}.{qualname}" if module else qualname
    code = getattr(inspect.unwrap(func), "__code__", None)
    if code is not None:
        attrs[CODE_FILE_PATH] = code.co_filename
        attrs[CODE_LINE_NUMBER] = code.co_firstlineno
    return attrs


def _wrap_function(
    func: Callable[..., Any], span_name: str, attrs: dict[str, AttributeValue]
) -> Callable[..., Any]:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _current_tracer().start_as_current_span(span_name, attributes=attrs):
            return func(*args, **kwargs)

    return wrapper


def _wrap_coroutine(
    func: Callable[..., Any], span_name: str, attrs: dict[str, AttributeValue]
) -> Callable[..., Any]:
    @functools.wraps(func)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _current_tracer().start_as_current_span(span_name, attributes=attrs):
            return await func(*args, **kwargs)

    return wrapper


def _record_error(span: Span, exc: BaseException) -> None:
    """Mark ``span`` failed the way the SDK's ``use_span`` does; GeneratorExit is no error."""
    if isinstance(exc, Exception) and span.is_recording():
        span.record_exception(exc)
        span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))


def _wrap_generator(
    func: Callable[..., Generator[Any, Any, Any]],
    span_name: str,
    attrs: dict[str, AttributeValue],
) -> Callable[..., Generator[Any, Any, Any]]:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
        span = _current_tracer().start_span(span_name, attributes=attrs)
        span_context = trace.set_span_in_context(span)
        try:
            inner = func(*args, **kwargs)
            sent: Any = None
            thrown: BaseException | None = None
            while True:
                token = otel_context.attach(span_context)
                try:
                    item = inner.send(sent) if thrown is None else inner.throw(thrown)
                except StopIteration as stop:
                    return stop.value
                finally:
                    thrown = None
                    otel_context.detach(token)
                try:
                    sent = yield item
                except GeneratorExit:
                    token = otel_context.attach(span_context)
                    try:
                        inner.close()
                    finally:
                        otel_context.detach(token)
                    raise
                except BaseException as exc:  # thrown in by the caller: forward it (PEP 380)
                    thrown = exc
        except BaseException as exc:
            _record_error(span, exc)
            raise
        finally:
            span.end()

    return wrapper


def _wrap_async_generator(
    func: Callable[..., AsyncGenerator[Any, Any]],
    span_name: str,
    attrs: dict[str, AttributeValue],
) -> Callable[..., AsyncGenerator[Any, Any]]:
    @functools.wraps(func)
    async def wrapper(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
        span = _current_tracer().start_span(span_name, attributes=attrs)
        span_context = trace.set_span_in_context(span)
        try:
            inner = func(*args, **kwargs)
            sent: Any = None
            thrown: BaseException | None = None
            while True:
                token = otel_context.attach(span_context)
                try:
                    step = inner.asend(sent) if thrown is None else inner.athrow(thrown)
                    item = await step
                except StopAsyncIteration:
                    return
                finally:
                    thrown = None
                    otel_context.detach(token)
                try:
                    sent = yield item
                except GeneratorExit:
                    token = otel_context.attach(span_context)
                    try:
                        await inner.aclose()
                    finally:
                        otel_context.detach(token)
                    raise
                except BaseException as exc:  # thrown in by the caller: forward it (PEP 380)
                    thrown = exc
        except BaseException as exc:
            _record_error(span, exc)
            raise
        finally:
            span.end()

    return wrapper

