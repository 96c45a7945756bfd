"""Tests of @traced on functions, coroutines, generators, async generators and methods."""

from __future__ import annotations

import asyncio
import inspect
import time

import pytest
from opentelemetry import trace
from opentelemetry.semconv.attributes.code_attributes import (
    CODE_FILE_PATH,
    CODE_FUNCTION_NAME,
    CODE_LINE_NUMBER,
)
from opentelemetry.trace import StatusCode

from tests.sdk.conftest import SpanRecorder
from tradepulse import traced

_tracer = trace.get_tracer("tests.sdk")


def _current_span_name() -> str | None:
    span = trace.get_current_span()
    return getattr(span, "name", None) if span.get_span_context().is_valid else None


def _assert_child_of(child, parent) -> None:
    assert child.parent is not None
    assert child.parent.span_id == parent.context.span_id
    assert child.context.trace_id == parent.context.trace_id


def _assert_error(span, description: str, exc_type: str) -> None:
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == description
    events = [e for e in span.events if e.name == "exception"]
    assert len(events) == 1
    assert events[0].attributes["exception.type"] == exc_type


# --- sync functions ---------------------------------------------------------------------------


@traced
def _add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def test_sync_function_returns_its_result_inside_a_span_named_by_qualname(spans: SpanRecorder):
    assert _add(2, 3) == 5

    span = spans.named("_add")
    assert span.status.status_code is StatusCode.UNSET


def test_span_carries_code_attributes_of_the_decorated_function(spans: SpanRecorder):
    _add(1, 1)

    attrs = spans.named("_add").attributes
    assert attrs[CODE_FUNCTION_NAME] == f"{__name__}._add"
    assert attrs[CODE_FILE_PATH] == __file__
    assert attrs[CODE_LINE_NUMBER] == _add.__wrapped__.__code__.co_firstlineno


def test_wrapper_keeps_the_functions_metadata():
    assert _add.__name__ == "_add"
    assert _add.__doc__ == "Add two numbers."
    assert inspect.signature(_add) == inspect.signature(_add.__wrapped__)


def test_name_and_attributes_options_override_defaults(spans: SpanRecorder):
    @traced(name="trading.strategy.step", attributes={"trading.strategy": "mean_revert"})
    def step() -> str:
        return "ok"

    assert step() == "ok"

    span = spans.named("trading.strategy.step")
    assert span.attributes["trading.strategy"] == "mean_revert"
    assert span.attributes[CODE_FUNCTION_NAME].endswith(".<locals>.step")


def test_default_name_of_a_nested_function_is_its_qualname(spans: SpanRecorder):
    @traced
    def inner() -> None:
        return None

    inner()

    assert spans.all()[0].name == (
        "test_default_name_of_a_nested_function_is_its_qualname.<locals>.inner"
    )


def test_sync_exception_is_recorded_with_error_status_and_reraised(spans: SpanRecorder):
    @traced
    def fail() -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        fail()

    _assert_error(spans.all()[0], "ValueError: boom", "ValueError")


def test_span_is_current_inside_the_function_so_children_nest(spans: SpanRecorder):
    @traced(name="parent")
    def parent() -> None:
        with _tracer.start_as_current_span("child"):
            pass

    parent()

    _assert_child_of(spans.named("child"), spans.named("parent"))


def test_decorated_call_nests_under_the_callers_current_span(spans: SpanRecorder):
    with _tracer.start_as_current_span("caller"):
        _add(1, 2)

    _assert_child_of(spans.named("_add"), spans.named("caller"))


# --- coroutines -------------------------------------------------------------------------------


def test_coroutine_function_stays_a_coroutine_function_and_is_spanned(spans: SpanRecorder):
    @traced(name="fetch")
    async def fetch(x: int) -> int:
        await asyncio.sleep(0)
        with _tracer.start_as_current_span("child"):
            return x * 2

    assert inspect.iscoroutinefunction(fetch)
    assert asyncio.run(fetch(21)) == 42

    _assert_child_of(spans.named("child"), spans.named("fetch"))


def test_coroutine_exception_is_recorded_with_error_status(spans: SpanRecorder):
    @traced(name="fails")
    async def fails() -> None:
        await asyncio.sleep(0)
        raise RuntimeError("no route")

    with pytest.raises(RuntimeError):
        asyncio.run(fails())

    _assert_error(spans.named("fails"), "RuntimeError: no route", "RuntimeError")


# --- generators -------------------------------------------------------------------------------


def test_generator_function_stays_a_generator_function():
    @traced
    def numbers():
        yield 1

    assert inspect.isgeneratorfunction(numbers)


def test_generator_span_starts_at_first_next_not_at_creation(spans: SpanRecorder):
    @traced(name="gen")
    def gen():
        yield 1

    created = gen()
    assert spans.all() == []
    before_first_next = time.time_ns()
    assert list(created) == [1]

    assert spans.named("gen").start_time >= before_first_next


def test_generator_span_covers_the_whole_iteration(spans: SpanRecorder):
    @traced(name="gen")
    def gen():
        yield from range(3)

    iterator = gen()
    for expected in range(3):
        assert next(iterator) == expected
        assert spans.all() == [], "span ended before the generator was exhausted"
    last_item_consumed = time.time_ns()
    with pytest.raises(StopIteration):
        next(iterator)

    assert spans.named("gen").end_time >= last_item_consumed


def test_spans_created_in_the_generator_body_are_its_children(spans: SpanRecorder):
    @traced(name="gen")
    def gen():
        for i in range(2):
            with _tracer.start_as_current_span(f"child{i}"):
                pass
            yield i

    assert list(gen()) == [0, 1]

    _assert_child_of(spans.named("child0"), spans.named("gen"))
    _assert_child_of(spans.named("child1"), spans.named("gen"))


def test_generator_span_is_not_current_in_the_caller_between_yields(spans: SpanRecorder):
    seen_in_body: list[str | None] = []

    @traced(name="gen")
    def gen():
        seen_in_body.append(_current_span_name())
        yield 1
        seen_in_body.append(_current_span_name())
        yield 2

    with _tracer.start_as_current_span("caller"):
        iterator = gen()
        next(iterator)
        assert _current_span_name() == "caller"
        with _tracer.start_as_current_span("between"):
            pass
        next(iterator)
        assert _current_span_name() == "caller"
        list(iterator)

    assert seen_in_body == ["gen", "gen"]
    _assert_child_of(spans.named("between"), spans.named("caller"))
    _assert_child_of(spans.named("gen"), spans.named("caller"))


def test_generator_span_current_even_when_body_yields_inside_its_own_span(spans: SpanRecorder):
    @traced(name="gen")
    def gen():
        with _tracer.start_as_current_span("inner"):
            yield 1
            yield 2

    with _tracer.start_as_current_span("caller"):
        iterator = gen()
        next(iterator)
        assert _current_span_name() == "caller"
        assert list(iterator) == [2]
        assert _current_span_name() == "caller"

    _assert_child_of(spans.named("inner"), spans.named("gen"))


def test_closing_a_generator_early_ends_its_span_without_error(spans: SpanRecorder):
    cleanup_saw: list[str | None] = []

    @traced(name="gen")
    def gen():
        try:
            yield from range(10)
        finally:
            cleanup_saw.append(_current_span_name())

    iterator = gen()
    next(iterator)
    iterator.close()

    span = spans.named("gen")
    assert span.end_time is not None
    assert span.status.status_code is StatusCode.UNSET
    assert cleanup_saw == ["gen"]


def test_exception_inside_generator_is_recorded_and_propagates(spans: SpanRecorder):
    @traced(name="gen")
    def gen():
        yield 1
        raise KeyError("missing quote")

    iterator = gen()
    next(iterator)
    with pytest.raises(KeyError):
        next(iterator)

    _assert_error(spans.named("gen"), "KeyError: 'missing quote'", "KeyError")


def test_send_reaches_the_generator_and_return_value_reaches_yield_from(spans: SpanRecorder):
    @traced(name="acc")
    def accumulate():
        total = 0
        while True:
            value = yield total
            if value is None:
                return total
            total += value

    def driver():
        return (yield from accumulate())

    outer = driver()
    assert next(outer) == 0
    assert outer.send(5) == 5
    assert outer.send(7) == 12
    with pytest.raises(StopIteration) as stop:
        outer.send(None)

    assert stop.value.value == 12
    assert spans.named("acc").status.status_code is StatusCode.UNSET


def test_throw_is_delivered_into_the_generator_which_may_recover(spans: SpanRecorder):
    @traced(name="gen")
    def gen():
        while True:
            try:
                yield "waiting"
            except TimeoutError:
                yield "recovered"

    iterator = gen()
    assert next(iterator) == "waiting"
    assert iterator.throw(TimeoutError("slow")) == "recovered"
    assert spans.all() == []
    iterator.close()

    assert spans.named("gen").status.status_code is StatusCode.UNSET


def test_thrown_exception_not_handled_marks_the_generator_span_failed(spans: SpanRecorder):
    @traced(name="gen")
    def gen():
        yield 1

    iterator = gen()
    next(iterator)
    with pytest.raises(ConnectionError):
        iterator.throw(ConnectionError("broker down"))

    _assert_error(spans.named("gen"), "ConnectionError: broker down", "ConnectionError")


# --- async generators -------------------------------------------------------------------------


def test_async_generator_span_covers_the_whole_iteration(spans: SpanRecorder):
    @traced(name="agen")
    async def ticks():
        for i in range(3):
            await asyncio.sleep(0)
            yield i

    assert inspect.isasyncgenfunction(ticks)

    async def main() -> float:
        iterator = ticks()
        for expected in range(3):
            assert await iterator.__anext__() == expected
            assert spans.all() == []
        consumed = time.time_ns()
        with pytest.raises(StopAsyncIteration):
            await iterator.__anext__()
        return consumed

    last_item_consumed = asyncio.run(main())

    assert spans.named("agen").end_time >= last_item_consumed


def test_async_generator_children_nest_and_span_is_not_current_between_yields(
    spans: SpanRecorder,
):
    @traced(name="agen")
    async def ticks():
        for i in range(2):
            with _tracer.start_as_current_span(f"child{i}"):
                await asyncio.sleep(0)
            yield i

    async def main() -> list[str | None]:
        seen = []
        with _tracer.start_as_current_span("caller"):
            async for _ in ticks():
                seen.append(_current_span_name())
        return seen

    assert asyncio.run(main()) == ["caller", "caller"]
    _assert_child_of(spans.named("child0"), spans.named("agen"))
    _assert_child_of(spans.named("child1"), spans.named("agen"))
    _assert_child_of(spans.named("agen"), spans.named("caller"))


def test_async_generator_aclose_early_ends_its_span(spans: SpanRecorder):
    cleanup_saw: list[str | None] = []

    @traced(name="agen")
    async def ticks():
        try:
            for i in range(10):
                yield i
        finally:
            cleanup_saw.append(_current_span_name())

    async def main() -> None:
        iterator = ticks()
        await iterator.__anext__()
        await iterator.aclose()

    asyncio.run(main())

    assert spans.named("agen").status.status_code is StatusCode.UNSET
    assert cleanup_saw == ["agen"]


def test_async_generator_exception_is_recorded_and_propagates(spans: SpanRecorder):
    @traced(name="agen")
    async def ticks():
        yield 1
        raise ValueError("bad tick")

    async def main() -> None:
        async for _ in ticks():
            pass

    with pytest.raises(ValueError):
        asyncio.run(main())

    _assert_error(spans.named("agen"), "ValueError: bad tick", "ValueError")


def test_async_generator_asend_and_athrow_reach_the_body(spans: SpanRecorder):
    @traced(name="agen")
    async def echo():
        received = None
        while True:
            try:
                received = yield received
            except TimeoutError:
                received = "timeout handled"

    async def main() -> list[object]:
        iterator = echo()
        results = [await iterator.asend(None), await iterator.asend("a")]
        results.append(await iterator.athrow(TimeoutError()))
        await iterator.aclose()
        return results

    assert asyncio.run(main()) == [None, "a", "timeout handled"]
    assert spans.named("agen").status.status_code is StatusCode.UNSET


# --- methods ----------------------------------------------------------------------------------


class _Strategy:
    factor = 3

    def __init__(self) -> None:
        self.calls = 0

    @traced
    def step(self, x: int) -> int:
        self.calls += 1
        return x * self.factor

    @classmethod
    @traced
    def create_below(cls) -> _Strategy:
        return cls()

    @traced
    @classmethod
    def create_above(cls) -> _Strategy:
        return cls()

    @staticmethod
    @traced
    def scale_below(x: int) -> int:
        return x * 2

    @traced
    @staticmethod
    def scale_above(x: int) -> int:
        return x * 4

    @traced
    def signals(self):
        yield from (self.factor, -self.factor)


def test_instance_method_gets_self_and_a_span_named_class_dot_method(spans: SpanRecorder):
    strategy = _Strategy()

    assert strategy.step(2) == 6
    assert strategy.calls == 1
    assert spans.named("_Strategy.step").attributes[CODE_FUNCTION_NAME] == (
        f"{__name__}._Strategy.step"
    )


@pytest.mark.parametrize("method", ["create_below", "create_above"])
def test_classmethod_works_with_traced_on_either_side(spans: SpanRecorder, method: str):
    assert isinstance(getattr(_Strategy, method)(), _Strategy)

    spans.named(f"_Strategy.{method}")


@pytest.mark.parametrize(("method", "expected"), [("scale_below", 10), ("scale_above", 20)])
def test_staticmethod_works_with_traced_on_either_side(
    spans: SpanRecorder, method: str, expected: int
):
    assert getattr(_Strategy, method)(5) == expected
    assert getattr(_Strategy(), method)(5) == expected

    assert len([s for s in spans.all() if s.name == f"_Strategy.{method}"]) == 2


def test_generator_method_is_spanned_over_its_iteration(spans: SpanRecorder):
    assert list(_Strategy().signals()) == [3, -3]

    spans.named("_Strategy.signals")
