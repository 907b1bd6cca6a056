"""Wilson 95 % intervals (services/metrics/intervals.py), worked by hand.

With z = 1.96, z² = 3.8416:
    centre = (p + z²/2n) / (1 + z²/n),  half = z / (1 + z²/n) * sqrt(p(1-p)/n + z²/4n²)
"""

import pytest

from reviewapp.services.metrics.intervals import wilson


def test_five_of_six():
    # p = 0.8333, 1 + z²/n = 1.64027, centre = (0.83333 + 0.32013) / 1.64027 = 0.70321,
    # half = 1.19493 * sqrt(0.023148 + 0.026678) = 1.19493 * 0.22322 = 0.26673.
    low, high = wilson(5, 6)
    assert low == pytest.approx(0.4365, abs=1e-4)
    assert high == pytest.approx(0.9699, abs=1e-4)


def test_four_of_six():
    # p = 0.6667, centre = (0.66667 + 0.32013) / 1.64027 = 0.60161,
    # half = 1.19493 * sqrt(0.037037 + 0.026678) = 0.30162.
    low, high = wilson(4, 6)
    assert low == pytest.approx(0.2999, abs=1e-4)
    assert high == pytest.approx(0.9032, abs=1e-4)


def test_none_of_four_is_not_an_empty_interval():
    # p = 0: centre = (3.8416 / 8) / 1.9604 = 0.24495 = half, so [0, 0.4899];
    # p ± z·sqrt(p(1-p)/n) would give [0, 0].
    low, high = wilson(0, 4)
    assert low == 0.0
    assert high == pytest.approx(0.4899, abs=1e-4)


def test_all_of_two_reaches_one():
    # p = 1: centre = (1 + 0.9604) / 2.9208 = 0.67119, half = 0.67105 * 0.49 = 0.32881.
    low, high = wilson(2, 2)
    assert low == pytest.approx(0.3424, abs=1e-4)
    assert high == 1.0


def test_it_narrows_as_n_grows():
    # 50 of 100: centre 0.5, half = 1.96 / 1.038416 * sqrt(0.0025 + 0.000096) = 0.09617.
    low, high = wilson(50, 100)
    assert (low, high) == (pytest.approx(0.4038, abs=1e-4), pytest.approx(0.5962, abs=1e-4))
    assert high - low < 0.2 < wilson(1, 2)[1] - wilson(1, 2)[0]


def test_no_items_no_interval_and_bad_counts_refused():
    assert wilson(0, 0) is None
    with pytest.raises(ValueError):
        wilson(3, 2)
    with pytest.raises(ValueError):
        wilson(-1, 2)
