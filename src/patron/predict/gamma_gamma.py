"""Gamma-Gamma: what a customer's purchases will be worth on average.

Fader, Hardie and Lee (2005), "RFM and CLV: using iso-value curves for customer base
analysis", and Hardie's note "The Gamma-Gamma model of monetary value". Each purchase's value
is Gamma(p, nu); each customer's nu is Gamma(q, gamma) across customers. A customer is seen
through x repeat purchases and their mean value m: the mean of x Gamma(p, nu) values is
Gamma(p x, nu x), and integrating nu out gives the likelihood fitted here.

The model assumes that how often a customer buys says nothing about how much it spends; the
fit reports the correlation between the two so that a caller can say when that is doubtful.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.special import digamma, gammaln

from patron.errors import PredictError
from patron.predict import bgnbd
from patron.predict.bgnbd import dot

MODEL = "Gamma-Gamma"
MIN_CUSTOMERS = 20  # with a repeat purchase
GTOL = bgnbd.GTOL
RUNAWAY = 1e6  # as in bgnbd


@dataclass(frozen=True)
class GammaGammaFit:
    p: float
    q: float
    gamma: float
    log_likelihood: float
    n: int  # customers with a repeat purchase (the sum of their weights)
    converged: bool
    frequency_monetary_correlation: float  # Pearson, among those customers; the model assumes 0
    message: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def mean_spend(self) -> float:
        """The population's mean purchase value, p gamma / (q - 1); infinite when q <= 1."""
        return self.p * self.gamma / (self.q - 1) if self.q > 1 else float("inf")


def _n(k: float, noun: str) -> str:
    return f"{k:,g} {noun}" + ("" if k == 1 else "s")


def _arrays(frequency: object, monetary: object, weights: object = None
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Customers with a repeat purchase: (x, m, w); the rest are set aside (no repeat value to learn from)."""
    x = np.asarray(frequency, dtype=float).ravel()
    m = np.asarray(monetary, dtype=float).ravel()
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float).ravel()
    if not len(x) == len(m) == len(w):
        raise PredictError(f"frequency, monetary and weights differ in length ({len(x)}, {len(m)}, {len(w)})", MODEL)
    if not np.isfinite(x).all() or (x < 0).any() or (x != np.floor(x)).any():
        raise PredictError("frequency must count repeat purchases: whole numbers, 0 or more", MODEL)
    if not np.isfinite(w).all() or (w < 0).any():
        raise PredictError("weights must be finite and 0 or more", MODEL)
    rep = (x > 0) & (w > 0)
    m = m[rep]
    if (bad := int((~(m > 0)).sum())):  # NaN fails too
        raise PredictError(f"{_n(bad, 'customer')} with repeat purchases: mean purchase value not above 0 "
                           "(or missing): the model is for positive amounts; leave out credits and free orders", MODEL)
    if not np.isfinite(m).all():
        raise PredictError("monetary has infinite values", MODEL)
    return x[rep], m, w[rep]


class _Likelihood:
    """Mean log-likelihood per customer of (x, m), and its gradient in log-parameters:

    ln G(px+q) - ln G(px) - ln G(q) + q ln gamma + (px-1) ln m + px ln x - (px+q) ln(gamma + m x)

    The gamma functions depend on x alone and are taken once per distinct x; the rest is sums
    that do not move with the parameters and one logarithm per customer.
    """

    def __init__(self, x: np.ndarray, m: np.ndarray, w: np.ndarray):
        self.total = float(w.sum())
        w = w / self.total
        xi, self.ux = pd.factorize(x)
        self.wx = np.bincount(xi, weights=w, minlength=len(self.ux))  # weight of each distinct x
        self.w, self.xw, self.mx = w, w * x, m * x
        lm = np.log(m)
        self.fixed_p = dot(self.xw, lm + np.log(x))  # sum of w x (ln m + ln x)
        self.fixed = -dot(w, lm)  # sum of -w ln m

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        p, q, g = np.exp(theta)
        px = p * self.ux
        inv = self.mx + g
        lg = np.log(inv)
        np.reciprocal(inv, out=inv)
        xlg, wlg = dot(self.xw, lg), dot(self.w, lg)
        ll = (self.wx @ (gammaln(px + q) - gammaln(px)) - gammaln(q) + q * np.log(g) + p * self.fixed_p + self.fixed
              - p * xlg - q * wlg)
        dpq = digamma(px + q)
        d_p = self.wx @ (self.ux * (dpq - digamma(px))) + self.fixed_p - xlg
        d_q = self.wx @ dpq - digamma(q) + np.log(g) - wlg
        d_g = q / g - p * dot(self.xw, inv) - q * dot(self.w, inv)
        return -ll, -np.array([d_p, d_q, d_g]) * np.array([p, q, g])


def _correlation(x: np.ndarray, m: np.ndarray, w: np.ndarray) -> float:
    """Weighted Pearson correlation; NaN where either does not vary."""
    w = w / w.sum()
    dx, dm = x - dot(w, x), m - dot(w, m)
    sxx, smm = dot(w, dx * dx), dot(w, dm * dm)
    return dot(w, dx * dm) / float(np.sqrt(sxx * smm)) if sxx > 0 and smm > 0 else float("nan")


def fit(frequency: object, monetary: object, weights: object = None) -> GammaGammaFit:
    """Maximum-likelihood (p, q, gamma) from each customer's repeat purchases and their mean value.

    Customers with no repeat purchase are passed over: their first purchase is not part of the
    model (it is often unlike the later ones, a starter order or a promotion)."""
    x, m, w = _arrays(frequency, monetary, weights)
    if (n := float(w.sum())) < MIN_CUSTOMERS:
        raise PredictError(f"{_n(n, 'customer')} with a repeat purchase; the model needs at least "
                           f"{MIN_CUSTOMERS}", MODEL)
    scale = float(np.average(m, weights=w))  # fitted in units of the mean value, where gamma starts near 1
    nll = _Likelihood(x, m / scale, w)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore", under="ignore"):  # as in bgnbd.fit
        res = optimize.minimize(nll, np.log([1.0, 2.0, 1.0]), jac=True, method=bgnbd.METHOD,
                                options=bgnbd.OPTIONS)
        p, q, g = (float(v) for v in np.exp(res.x))
        fun, grad = nll(res.x)
    converged = bool(res.success or np.max(np.abs(grad)) < 10 * GTOL)
    message = "" if converged else f"the optimiser stopped without converging: {res.message}"
    if max(p, q, g) > RUNAWAY or min(p, q, g) < 1 / RUNAWAY:
        converged = False
        message = (f"a parameter ran off towards 0 or infinity (p, q, gamma = {p:.3g}, {q:.3g}, {g * scale:.3g}): "
                   "the data do not pin the model down")
    # a density of m: back in the data's own units it is divided by the scale, once per customer
    ll = -fun * nll.total - nll.total * np.log(scale)
    return GammaGammaFit(p, q, g * scale, float(ll), round(nll.total), converged,
                         _correlation(x, m, w), message)


def expected_average_spend(fit: GammaGammaFit, frequency: object, monetary: object) -> np.ndarray:
    """E(value of a future purchase | x, m) = (q-1)/(px+q-1) * p gamma/(q-1) + px/(px+q-1) * m:
    the population mean and the customer's own mean, weighted by how much the customer has shown.
    A customer with no repeat purchase gets the population mean (its monetary is not read); one
    whose repeat purchases were all free (m = 0) gets the population mean shrunk towards 0."""
    if fit.q <= 1:
        raise PredictError(f"q = {fit.q:.3g} is not above 1: the fitted spend distribution has no mean", MODEL)
    x = np.asarray(frequency, dtype=float)
    m = np.asarray(monetary, dtype=float)
    if np.isnan(x).any() or (x < 0).any():
        raise PredictError("frequency must be 0 or more", MODEL)
    rep = x > 0
    if (bad := int((rep & ~(m >= 0)).sum())):
        raise PredictError(f"{_n(bad, 'customer')} with repeat purchases: mean purchase value below 0 "
                           "(or missing)", MODEL)
    px = fit.p * x
    return (fit.p * fit.gamma + px * np.where(rep, m, 0.0)) / (px + fit.q - 1)
