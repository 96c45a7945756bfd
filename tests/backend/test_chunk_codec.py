"""The chunk codec gives back every int64 and float64 bit pattern it was given, in order."""

from __future__ import annotations

import struct

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from tradepulse_backend.store.chunk_codec import MAX_DECIMALS, decode, encode

T0 = 1_767_225_600 * 10**9
ADVERSARIAL = [float("nan"), -0.0, 0.0, float("inf"), float("-inf"), 5e-324, -5e-324,
               2.2250738585072014e-308, 1.7976931348623157e308, -1.7976931348623157e308,
               struct.unpack("<d", b"\x01\x00\x00\x00\x00\x00\xf8\x7f")[0],
               struct.unpack("<d", b"\xff\xff\xff\xff\xff\xff\xff\xff")[0], 1e-300, 1e300]
floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True),
                   st.sampled_from(ADVERSARIAL),
                   st.integers(-10**8, 10**8).map(lambda i: i / 100),
                   st.integers(0, 2**64 - 1).map(
                       lambda bits: struct.unpack("<d", struct.pack("<Q", bits))[0]))
times = st.integers(-2**63, 2**63 - 1)


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and np.array_equal(a.view(np.uint64), b.view(np.uint64))


def _round_trip(*columns: np.ndarray) -> list[np.ndarray]:
    back = decode(encode(list(columns)))
    assert len(back) == len(columns)
    for got, sent in zip(back, columns, strict=True):
        assert _same_bits(got, sent), (sent, got)
    return back


@given(st.lists(st.tuples(times, floats), max_size=300))
def test_random_and_adversarial_series_come_back_bit_identical(pairs):
    t = np.array([p[0] for p in pairs], dtype=np.int64)
    v = np.array([p[1] for p in pairs], dtype=np.float64)
    _round_trip(t, v)


@given(st.integers(0, 2**62), st.lists(st.integers(-5, 5), min_size=1, max_size=400),
       st.lists(floats, min_size=1, max_size=1), st.integers(0, 2))
def test_regular_out_of_order_and_duplicate_times_round_trip(start, jitter, value, repeat):
    t = np.array(start + np.cumsum(np.array(jitter) * 10**9), dtype=np.int64)
    t = np.repeat(t, repeat + 1)
    v = np.full(t.size, value[0])
    _round_trip(t, v, t.copy())


@given(st.lists(st.integers(-10**12, 10**12), min_size=3, max_size=300),
       st.integers(0, MAX_DECIMALS))
def test_decimal_prices_round_trip_and_take_the_decimal_path(ints, decimals):
    v = np.array(ints, dtype=np.int64).astype(np.float64) / 10.0 ** decimals
    t = T0 + np.arange(v.size, dtype=np.int64) * 10**10
    _round_trip(t, v)


def test_every_special_value_in_one_column_round_trips():
    v = np.array(ADVERSARIAL * 5)
    _round_trip(np.arange(v.size, dtype=np.int64), v)


def test_huge_jumps_and_the_int64_extremes_round_trip():
    t = np.array([-2**63, 2**63 - 1, 0, -1, 2**63 - 1, -2**63, 5, 5], dtype=np.int64)
    v = np.array([1e308, -1e308, 0.0, 1e-308, 5e-324, 1.0, 1.0, 1e308])
    _round_trip(t, v)


def test_empty_and_single_point_chunks_round_trip():
    _round_trip(np.array([], dtype=np.int64), np.array([], dtype=np.float64))
    _round_trip(np.array([T0], dtype=np.int64), np.array([-0.0]))
    _round_trip(np.array([T0, T0 + 1], dtype=np.int64), np.array([float("nan"), 2.5]))


def test_regular_series_compress_to_about_a_byte_per_sample():
    rng = np.random.default_rng(7)
    t = T0 + np.arange(720, dtype=np.int64) * 10**10
    price = np.round(100 + np.cumsum(rng.normal(0, 0.05, t.size)), 2)
    assert len(encode([t, price])) < 720 * 1.0
    assert len(encode([t, np.full(t.size, 3.25)])) < 80


def test_the_decimal_path_never_changes_a_value_it_cannot_hold_exactly():
    v = np.array([0.1 + 0.2, 1 / 3, -0.0, 2.0**60 + 1])
    _round_trip(np.arange(v.size, dtype=np.int64), v)
