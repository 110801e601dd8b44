"""Intervals and tests against independent hand computations."""

from __future__ import annotations

import math

import pytest
from scipy import stats as st

from patron import stats


def test_nps_and_its_interval_by_hand():
    e = stats.nps(50, 30, 20)  # 50% promoters, 20% detractors
    assert e.value == pytest.approx(30.0)
    pp, pd_ = 51 / 103, 21 / 103  # adjusted Wald: one pseudo-response in each group
    half = 1.959964 * math.sqrt((pp + pd_ - (pp - pd_) ** 2) / 103)
    assert e.ci_low == pytest.approx(100 * (pp - pd_ - half), abs=1e-4)
    assert e.ci_high == pytest.approx(100 * (pp - pd_ + half), abs=1e-4)
    assert e.n == 100


def test_edge_cases_say_not_available_instead_of_zero():
    assert stats.nps(0, 0, 0).value is None
    assert stats.proportion(0, 0).value is None
    assert stats.mean([]).value is None
    one = stats.nps(1, 0, 0)
    assert one.value == 100 and one.ci_high == 100
    assert one.ci_low < 0  # one answer says little: the interval is wide, not a point
    assert stats.nps(5, 0, 0).ci_low < 100
    assert stats.mean([4.0]).ci_low is None


def test_wilson_interval_matches_the_textbook_value():
    e = stats.proportion(8, 10)  # Wilson 95%: 0.4902 to 0.9433
    assert (round(e.ci_low, 4), round(e.ci_high, 4)) == (0.4902, 0.9433)


def test_mean_interval_matches_scipy():
    xs = [3.0, 5, 4, 6, 7, 2, 5]
    e = stats.mean(xs)
    lo, hi = st.t.interval(0.95, len(xs) - 1, loc=sum(xs) / len(xs), scale=st.sem(xs))
    assert (e.ci_low, e.ci_high) == pytest.approx((lo, hi))


def test_nps_change_test():
    assert stats.nps_change_p_value((50, 30, 20), (50, 30, 20)) == pytest.approx(1.0)
    assert stats.nps_change_p_value((500, 300, 200), (200, 300, 500)) < 1e-6
    assert stats.nps_change_p_value((1, 0, 0), (0, 0, 0)) is None
