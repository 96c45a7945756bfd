"""REST query parameters: every value is in the store's range, or a BadParameter naming it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from tradepulse_backend.clock import MAX_DURATION_NS, duration_ns
from tradepulse_backend.dashboard import params
from tradepulse_backend.dashboard.params import TIME_LIMIT_NS, BadParameter
from tradepulse_backend.performance.history import PERIODS, SummaryPeriod, parse_period
from tradepulse_backend.store.queries import SeriesFunction

NOW_NS = 1_700_000_000 * 10**9
OUT_OF_RANGE_TIMES = ["inf", "-inf", "nan", "NaN", "1e20", "1e400", "-1e20", "-1",
                      "9223372036854775807", "99999999999999999999w", "101y", "36526d",
                      "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "sNaN", "Infinity",
                      "1" * 5000, "1" * 5000 + "w", "1e999999999", "15 m", "yesterday"]


def at(name: str, raw: str, **kw) -> int | None:
    return params.time_ns(MultiDict({name: raw}), name, default=None, now_ns=NOW_NS, **kw)


@pytest.mark.parametrize("raw", OUT_OF_RANGE_TIMES)
def test_times_outside_what_the_store_holds_are_bad_parameters_naming_it(raw):
    with pytest.raises(BadParameter, match=r"^since: "):
        at("since", raw)


@pytest.mark.parametrize(("raw", "expected"), [
    ("15m", NOW_NS - 900 * 10**9),
    ("0", 0),
    ("1700000000.5", 1_700_000_000_500_000_000),
    ("2023-11-14T22:13:20Z", NOW_NS),
    ("100w", NOW_NS - 100 * 604_800 * 10**9),
])
def test_valid_times_parse_exactly(raw, expected):
    assert at("until", raw) == expected


def test_a_negative_duration_is_an_error_not_the_positive_one():
    assert duration_ns("-15m") is None
    with pytest.raises(BadParameter, match="since: a duration back from now is positive"):
        at("since", "-15m")


def test_durations_are_exact_and_ascii_only():
    assert duration_ns("1.5s") == 1_500_000_000
    assert duration_ns("99999999999999999999w") == 99999999999999999999 * 604_800 * 10**9
    assert duration_ns("\u0661\u0665m") is None


@pytest.mark.parametrize("raw", ["1e3", "1.0", "0x10", "", "9" * 5000, "10001", "0", "-0",
                                 " 7 ", "+5", "\u0661"])
def test_integers_are_plain_digits_within_bounds(raw):
    args = MultiDict({"limit": raw})
    expected = {"": 100, "-0": None, "0": None, " 7 ": 7, "+5": 5}.get(raw)
    if expected is None:
        with pytest.raises(BadParameter, match=r"^limit: "):
            params.integer(args, "limit", default=100, low=1, high=10_000)
    else:
        assert params.integer(args, "limit", default=100, low=1, high=10_000) == expected


@pytest.mark.parametrize("raw", ["999999d", "99999999999999999999w", "36526d", "0d", "-1d",
                                 "fortnight", "inf"])
def test_summary_periods_beyond_100_years_or_unknown_are_errors(raw):
    with pytest.raises(ValueError, match="period"):
        parse_period(raw)


def test_summary_periods_are_the_enum_with_the_same_wire_words():
    assert [str(p) for p in PERIODS] == ["day", "week", "month", "ytd", "all"]
    assert parse_period("ytd") is SummaryPeriod.YTD
    assert parse_period("36h") == 36 * 3600 * 10**9


def test_fn_is_a_closed_set_answered_by_its_enum():
    args = MultiDict({"fn": "rate"})
    assert params.choice(args, "fn", SeriesFunction, SeriesFunction.VALUE) is SeriesFunction.RATE
    with pytest.raises(BadParameter, match=r"^fn: must be one of value, delta, rate"):
        params.choice(MultiDict({"fn": "sum"}), "fn", SeriesFunction, SeriesFunction.VALUE)


@settings(max_examples=300)
@given(st.one_of(st.text(), st.from_regex(r"-?[0-9]{1,30}(\.[0-9]{0,12})?(e-?[0-9]{1,4})?"),
                 st.from_regex(r"-?[0-9]{1,25}(ms|s|m|h|d|w)"),
                 st.datetimes().map(lambda d: d.isoformat() + "Z")))
def test_any_text_is_a_time_in_range_or_a_bad_parameter(raw):
    try:
        value = at("since", raw)
    except BadParameter as error:
        assert str(error).startswith("since: ")
        return
    assert value is None or 0 <= value < TIME_LIMIT_NS


@settings(max_examples=300)
@given(st.one_of(st.text(), st.from_regex(r"[+-]?[0-9]{1,40}")))
def test_any_text_is_an_integer_in_range_or_a_bad_parameter(raw):
    try:
        value = params.integer(MultiDict({"limit": raw}), "limit", default=5, low=1, high=5000)
    except BadParameter as error:
        assert str(error).startswith("limit: ")
        return
    assert 1 <= value <= 5000


@settings(max_examples=300)
@given(st.one_of(st.text(), st.from_regex(r"-?[0-9]{1,25}(\.[0-9]{1,5})?(ms|s|m|h|d|w)")))
def test_any_text_is_a_period_within_100_years_or_a_value_error(raw):
    try:
        parsed = parse_period(raw)
    except ValueError:
        return
    assert parsed in PERIODS or 0 < parsed <= MAX_DURATION_NS
