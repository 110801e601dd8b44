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
