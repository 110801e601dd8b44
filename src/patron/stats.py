"""Rates with their n and 95% intervals, and the tests that decide whether a change is real."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from scipy import stats as st

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Estimate:
    value: float | None
    n: int
    ci_low: float | None = None
    ci_high: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def nps(promoters: int, passives: int, detractors: int) -> Estimate:
    """NPS in points (-100..100) with an adjusted-Wald interval on the difference of two shares.

    Var(p_pro - p_det) = (p_pro + p_det - (p_pro - p_det)^2) / n, the multinomial variance, taken
    with one pseudo-response added to each of the three groups (the interval is centred there):
    the plain Wald interval collapses to a point when every answer is the same (one response,
    or five promoters), which would claim certainty that small samples do not give.
    """
    n = promoters + passives + detractors
    if n == 0:
        return Estimate(None, 0)
    value = (promoters - detractors) / n
    m = n + 3
    pp, pd_ = (promoters + 1) / m, (detractors + 1) / m
    centre = pp - pd_
    half = Z95 * math.sqrt(max(pp + pd_ - centre**2, 0.0) / m)
    low, high = max(centre - half, -1.0), min(centre + half, 1.0)
    return Estimate(100 * value, n, 100 * min(low, value), 100 * max(high, value))


def proportion(successes: int, n: int) -> Estimate:
    """A share with the Wilson score interval (sound for small n and shares near 0 or 1)."""
    if n == 0:
        return Estimate(None, 0)
    p = successes / n
    denom = 1 + Z95**2 / n
    centre = (p + Z95**2 / (2 * n)) / denom
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / denom
    return Estimate(p, n, max(centre - half, 0.0), min(centre + half, 1.0))


def mean(values: list[float] | tuple[float, ...]) -> Estimate:
    """A mean with a Student t interval."""
    n = len(values)
    if n == 0:
        return Estimate(None, 0)
    m = sum(values) / n
    if n < 2:
        return Estimate(m, n)
    sd = math.sqrt(sum((v - m) ** 2 for v in values) / (n - 1))
    half = st.t.ppf(0.975, n - 1) * sd / math.sqrt(n)
    return Estimate(m, n, m - half, m + half)


def nps_change_p_value(a: tuple[int, int, int], b: tuple[int, int, int]) -> float | None:
    """Two-sided z test for a change in NPS between two independent samples (pro, pas, det)."""
    def parts(c: tuple[int, int, int]) -> tuple[float, float, int]:
        n = sum(c)
        pp, pd_ = c[0] / n, c[2] / n
        return pp - pd_, (pp + pd_ - (pp - pd_) ** 2) / n, n

    if sum(a) < 2 or sum(b) < 2:
        return None
    (va, vara, _), (vb, varb, _) = parts(a), parts(b)
    se = math.sqrt(vara + varb)
    if se == 0:
        return None if va == vb else 0.0
    return float(2 * st.norm.sf(abs(va - vb) / se))


@dataclass(frozen=True)
class Difference:
    """a - b with its 95% interval and the two-sided p-value of "no difference"."""

    value: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    n_a: int
    n_b: int

    @property
    def significant(self) -> bool:
        return self.p_value is not None and self.p_value < 0.05

    def to_dict(self) -> dict:
        return {**asdict(self), "significant": self.significant}


def proportion_difference(a: int, n_a: int, b: int, n_b: int) -> Difference:
    """Share a/n_a minus b/n_b: Newcombe's hybrid score interval (from the two Wilson intervals, sound
    for small samples and shares near 0) and the pooled two-proportion z test."""
    if n_a == 0 or n_b == 0:
        return Difference(None, None, None, None, n_a, n_b)
    ea, eb = proportion(a, n_a), proportion(b, n_b)
    pa, pb = a / n_a, b / n_b
    d = pa - pb
    low = d - math.sqrt((pa - ea.ci_low) ** 2 + (eb.ci_high - pb) ** 2)
    high = d + math.sqrt((ea.ci_high - pa) ** 2 + (pb - eb.ci_low) ** 2)
    pooled = (a + b) / (n_a + n_b)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    p = (1.0 if d == 0 else 0.0) if se == 0 else float(2 * st.norm.sf(abs(d) / se))
    return Difference(d, low, high, p, n_a, n_b)


def mean_difference(a: list[float], b: list[float]) -> Difference:
    """Mean of a minus mean of b: Welch's t interval and test (unequal variances)."""
    n_a, n_b = len(a), len(b)
    if n_a < 2 or n_b < 2:
        return Difference(None, None, None, None, n_a, n_b)
    ma, mb = sum(a) / n_a, sum(b) / n_b
    if len(set(a)) == 1 and len(set(b)) == 1:  # no spread in either group: nothing to test it against
        return Difference(ma - mb, None, None, None, n_a, n_b)
    result = st.ttest_ind(a, b, equal_var=False)
    ci = result.confidence_interval(0.95)
    p = None if math.isnan(result.pvalue) else float(result.pvalue)
    low = None if math.isnan(ci.low) else float(ci.low)
    high = None if math.isnan(ci.high) else float(ci.high)
    return Difference(ma - mb, low, high, p, n_a, n_b)


def nps_difference(a: tuple[int, int, int], b: tuple[int, int, int]) -> Difference:
    """NPS of a minus NPS of b (promoters, passives, detractors each), in points, with the Wald
    interval from the two multinomial variances and the z test of nps_change_p_value."""
    n_a, n_b = sum(a), sum(b)
    if n_a < 2 or n_b < 2:
        return Difference(None, None, None, None, n_a, n_b)

    def parts(c: tuple[int, int, int]) -> tuple[float, float]:
        n = sum(c)
        pp, pd_ = c[0] / n, c[2] / n
        return pp - pd_, (pp + pd_ - (pp - pd_) ** 2) / n

    (va, vara), (vb, varb) = parts(a), parts(b)
    half = Z95 * math.sqrt(vara + varb)
    d = va - vb
    # an NPS difference lies between -200 and +200: the normal interval is cut there
    return Difference(100 * d, 100 * max(d - half, -2.0), 100 * min(d + half, 2.0), nps_change_p_value(a, b),
                      n_a, n_b)
