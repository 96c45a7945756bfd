"""The tolerance statistics tests share: relative error 1e-9, NaN equal to NaN."""

from __future__ import annotations

import math


def assert_close(actual: float, expected: float, rel: float = 1e-9) -> None:
    """Relative error within rel (absolute 1e-15 near zero); NaN equals NaN."""
    assert isinstance(actual, float)
    if math.isnan(expected):
        assert math.isnan(actual), (actual, expected)
    else:
        assert math.isclose(actual, expected, rel_tol=rel, abs_tol=1e-15), (actual, expected)
