"""The exponential-histogram math: the SDK's indexing, exact downscaling and merging, increases
across scale changes, and quantiles within a bucket's width of numpy's exact percentiles."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View

from tradepulse_backend.performance import exponential as ex
from tradepulse_backend.performance.exponential import Buckets, ExponentialHistogram

QS = [0.5, 0.95, 0.99]


def sdk_point(values):
    """The point OpenTelemetry's own exponential aggregation makes of `values`."""
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader], views=[
        View(instrument_name="h", aggregation=ExponentialBucketHistogramAggregation())])
    instrument = provider.get_meter("test").create_histogram("h")
    for value in values:
        instrument.record(float(value))
    data = reader.get_metrics_data()
    provider.shutdown()
    return data.resource_metrics[0].scope_metrics[0].metrics[0].data.data_points[0]


def trimmed(counts) -> list[float]:
    counts = [float(c) for c in counts]
    while counts and not counts[-1]:
        counts.pop()
    return counts


def test_values_are_bucketed_exactly_as_the_opentelemetry_sdk_does():
    rng = np.random.default_rng(7)
    values = np.concatenate([rng.uniform(0.02, 0.088, 300), [0.0625, 0.03125, 0.05]])
    point = sdk_point(values)
    mine = ex.from_values(values)
    assert (mine.scale, mine.positive.offset) == (point.scale, point.positive.offset)
    assert list(mine.positive.counts) == trimmed(point.positive.bucket_counts)
    assert (mine.min, mine.max, mine.count) == (point.min, point.max, point.count)
    assert mine.sum == pytest.approx(point.sum, rel=1e-12)


def test_upper_bucket_boundaries_are_inclusive_and_powers_of_two_are_exact():
    assert ex.index_of(np.array([1.0, 2.0, 4.0, 4.000001]), 0).tolist() == [-1, 0, 1, 2]
    assert ex.index_of(np.array([2.0, 0.5]), 3).tolist() == [7, -9]


def test_zero_and_negative_values_have_their_own_buckets():
    h = ex.from_values([0.0, 0.0, -3.0, 5.0])
    assert h.zero_count == 2 and sum(h.negative.counts) == 1 and sum(h.positive.counts) == 1
    assert h.min == -3.0 and h.max == 5.0


def test_each_side_fits_in_max_size_buckets():
    h = ex.from_values(np.geomspace(1e-6, 1e6, 1000))
    assert len(h.positive.counts) <= ex.SDK_MAX_SIZE
    assert sum(h.positive.counts) == 1000


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(1e-4, 1e4), min_size=1, max_size=60), st.integers(0, 8))
def test_downscaling_equals_bucketing_at_the_coarser_scale(values, steps):
    fine = ex.from_values(values)
    coarse_scale = fine.scale - steps
    assert ex.downscale(fine, coarse_scale) == ex.from_values(values, max_scale=coarse_scale)


def test_upscaling_is_refused():
    with pytest.raises(ValueError, match="upscale"):
        ex.downscale(ExponentialHistogram(3), 4)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1e3, 1e3), max_size=40), st.lists(st.floats(-1e3, 1e3), max_size=40))
def test_merging_equals_bucketing_all_values_at_the_common_scale(first, second):
    a, b = ex.from_values(first), ex.from_values(second)
    merged = ex.merge([a, b], max_size=10_000)
    expected = ex.from_values(first + second, max_scale=min(a.scale, b.scale), max_size=10_000)
    assert (merged.scale, merged.zero_count) == (expected.scale, expected.zero_count)
    assert (merged.positive, merged.negative) == (expected.positive, expected.negative)
    assert merged.count == len(first) + len(second)
    if first and second:
        assert (merged.min, merged.max) == (expected.min, expected.max)


def test_a_merge_spanning_too_wide_a_range_downscales_to_fit():
    a, b = ex.from_values([0.001] * 3), ex.from_values([1000.0] * 2)
    merged = ex.merge([a, b], max_size=64)
    assert len(merged.positive.counts) <= 64 and sum(merged.positive.counts) == 5
    assert ex.merge([]) is None


def test_a_cumulative_increase_across_a_scale_change_downscales_the_finer_point():
    before = [0.020, 0.021, 0.0205]
    added = [0.088, 0.05, 0.03]
    earlier, later = ex.from_values(before), ex.from_values(before + added)
    assert later.scale < earlier.scale
    gained = ex.increase(later, earlier)
    expected = ex.from_values(added, max_scale=later.scale)
    assert (gained.scale, gained.positive, gained.count) == (
        later.scale, expected.positive, 3.0)
    assert gained.sum == pytest.approx(sum(added))


def test_an_increase_is_none_when_the_histogram_went_down_a_reset():
    earlier = ex.from_values([0.02, 0.03, 0.04])
    assert ex.increase(ex.from_values([0.02, 0.03]), earlier) is None
    assert ex.increase(ex.from_values([0.02, 0.05, 0.05, 0.05]), earlier) is None


@pytest.mark.parametrize("low, high", [(0.020, 0.088), (0.001, 1.0), (0.5, 20.0)])
def test_quantiles_are_within_3_percent_of_numpy(low, high):
    rng = np.random.default_rng(11)
    values = rng.uniform(low, high, 500)
    found = ex.quantiles(ex.from_values(values), QS)
    np.testing.assert_allclose(found, np.percentile(values, [50, 95, 99]), rtol=0.03)


def test_signed_quantiles_read_negative_zero_and_positive_buckets_in_order():
    rng = np.random.default_rng(5)
    values = np.concatenate([-rng.uniform(0.5, 8, 300), np.zeros(50), rng.uniform(0.5, 8, 650)])
    found = ex.quantiles(ex.from_values(values), [0.05, 0.3, 0.32, 0.5, 0.95])
    exact = np.percentile(values, [5, 30, 32, 50, 95])
    assert found[1] < 0 and found[2] == 0.0
    np.testing.assert_allclose([found[i] for i in (0, 3, 4)], exact[[0, 3, 4]], rtol=0.03)


def test_quantiles_are_clamped_to_the_recorded_min_and_max():
    single = ex.from_values([0.042])
    assert ex.quantiles(single, [0.0, 0.5, 1.0]) == [0.042, 0.042, 0.042]
    assert all(math.isnan(q) for q in ex.quantiles(ExponentialHistogram(0), QS))


def test_negation_mirrors_the_buckets_and_bounds():
    h = ex.negated(ex.from_values([1.0, 2.0, 3.0]))
    assert (h.min, h.max, h.sum) == (-3.0, -1.0, -6.0)
    assert ex.quantile(h, 0.0) == -3.0 and ex.quantile(h, 1.0) == -1.0


def test_exponential_counts_move_into_explicit_buckets_by_upper_bound():
    h = ex.from_values([0.003, 0.02, 0.02, 0.07, 20.0])
    assert ex.explicit_counts(h, [0.01, 0.025, 0.1]) == [1.0, 2.0, 1.0, 1.0]


def test_the_json_form_round_trips_and_is_sparse():
    h = ExponentialHistogram(3, 1.0, Buckets(-5, (2.0, 0.0, 0.0, 1.0)), Buckets(), 7.5, 4.0,
                             0.0, 2.0)
    data = h.to_dict()
    assert data["positive"] == [[-5, 2.0], [-2, 1.0]]
    assert ExponentialHistogram.from_dict(data) == h


def test_non_finite_numbers_are_detected():
    assert ex.from_values([1.0, 2.0]).is_finite()
    assert not ExponentialHistogram(0, sum=math.nan).is_finite()
    assert not ExponentialHistogram(0, max=math.inf).is_finite()
