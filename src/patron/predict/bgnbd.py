"""BG/NBD: how often each customer will buy again, and whether it is still a customer at all.

Fader, Hardie and Lee (2005), "Counting your customers the easy way: an alternative to the
Pareto/NBD model". While alive, a customer buys at rate lambda ~ Gamma(r, alpha); after each
purchase it drops out with probability p ~ Beta(a, b). A customer is summarised by frequency x
(repeat purchases), recency t_x (time from its first to its last purchase) and age T (time from
its first purchase to the end of the data), in one time unit throughout.

The fit is maximum likelihood on log-parameters with the analytic gradient. Identical
(x, t_x, T) rows are fitted once with their count as weight, and every term that depends on x
alone is computed once per distinct x: real data repeat both a great deal, which is what keeps a
million customers quick.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from patron.errors import PredictError

MODEL = "BG/NBD"
MIN_REPEAT = 20  # customers with a repeat purchase: below this the dropout process is not identified
GTOL = 1e-7  # on the gradient of the mean log-likelihood per customer
# BFGS rather than L-BFGS-B: the latter's own BLAS calls wake OpenBLAS's threads, which then
# compete with the row-by-row NumPy work on a busy machine (a million customers twice as slow)
METHOD, OPTIONS = "BFGS", {"gtol": GTOL, "maxiter": 1000}
SMALL = 10_000  # rows; fewer are fitted as they come: grouping them would cost more than it saves
SETTLED = 1e4  # a dropout shape (a or b) beyond this has run away: its predictions are not to be trusted
RUNAWAY = 1e6  # a parameter this far from 1 is heading for 0 or infinity: the data do not pin it down


@dataclass(frozen=True)
class BGNBDFit:
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    n: int  # customers (the sum of the weights)
    converged: bool
    message: str = ""
    # no customer is seen to drop out (a -> 0, b -> infinity): the model is its NBD limit, where
    # every customer is still one; its expected purchases hold, its probability alive is 1
    no_dropout: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


def dot(u: np.ndarray, v: np.ndarray) -> float:
    """Sum of products. Long vectors skip BLAS: its threads spin between calls and, on a busy
    machine, slow the NumPy work around them far more than they save (a fit ten times slower);
    OpenBLAS keeps vectors shorter than 10,000 on one thread, and is quicker there."""
    return float(u @ v) if len(u) < 10_000 else float(np.einsum("i,i->", u, v))


def _n(k: float, noun: str) -> str:
    return f"{k:,g} {noun}" + ("" if k == 1 else "s")


def _array(name: str, values: object) -> np.ndarray:
    out = np.asarray(values, dtype=float).ravel()
    if np.isnan(out).any():
        raise PredictError(f"{name} has {_n(int(np.isnan(out).sum()), 'missing (NaN) value')}", MODEL)
    if np.isinf(out).any():
        raise PredictError(f"{name} has {_n(int(np.isinf(out).sum()), 'infinite value')}", MODEL)
    if (out < 0).any():
        raise PredictError(f"{name} has {_n(int((out < 0).sum()), 'negative value')}", MODEL)
    return out


def check_rfm(frequency: object, recency: object, T: object, weights: object = None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The four as float arrays of one length, or a PredictError naming what is wrong."""
    x, tx, age = _array("frequency", frequency), _array("recency", recency), _array("T", T)
    w = np.ones_like(x) if weights is None else _array("weights", weights)
    if not len(x) == len(tx) == len(age) == len(w):
        raise PredictError(f"frequency, recency, T and weights differ in length "
                           f"({len(x)}, {len(tx)}, {len(age)}, {len(w)})", MODEL)
    if (x != np.floor(x)).any():
        raise PredictError("frequency must count purchases: whole numbers only", MODEL)
    if (bad := int((tx > age).sum())):
        raise PredictError(f"recency is greater than T for {_n(bad, 'customer')} (the last purchase after the end)",
                           MODEL)
    if (bad := int(((x == 0) & (tx != 0)).sum())):
        raise PredictError(f"{_n(bad, 'customer')} with frequency 0 but recency other than 0 (no repeat "
                           "purchase, so no time between first and last)", MODEL)
    return x, tx, age, w


def compress(frequency: np.ndarray, recency: np.ndarray, T: np.ndarray, weights: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Identical (x, t_x, T) rows as one row each, weighted by their total weight.

    Hash-based (pandas' factorize), linear in the rows: sorting a million rows would cost more
    than the fit."""
    codes, values = zip(*(pd.factorize(col) for col in (frequency, recency, T)), strict=True)
    n_t, n_age = len(values[1]), len(values[2])
    if len(values[0]) * n_t * n_age >= 2**62:  # too many distinct values to pack into one integer
        return frequency, recency, T, weights
    key = (codes[0].astype(np.int64) * n_t + codes[1]) * n_age + codes[2]
    group, keys = pd.factorize(key)
    rest, c_age = np.divmod(keys, n_age)
    c_x, c_t = np.divmod(rest, n_t)
    return values[0][c_x], values[1][c_t], values[2][c_age], np.bincount(group, weights=weights)


class _Likelihood:
    """The mean log-likelihood per customer and its gradient in log-parameters.

    ln L = ln G(r+x) - ln G(r) + r ln alpha + ln B(a, b+x) - ln B(a, b) - (r+x) ln(alpha+T)
           + [x>0] softplus(z),  z = ln(a/(b+x-1)) + (r+x) ln((alpha+T)/(alpha+t_x)),
    which is the paper's ln(A1) + ln(A2 + [x>0] A3) with the common factor taken out and the
    power of the ratio never formed (it overflows for a frequent buyer long gone quiet); the
    paper's B(a+1, b+x-1)/B(a, b+x) is a/(b+x-1). Terms in x alone are summed once per distinct
    x, terms in T or t_x alone once per distinct value: only z and its sigmoid go row by row,
    and only over customers with a repeat purchase.
    """

    def __init__(self, x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray):
        self.total = float(w.sum())
        w = w / self.total
        xi, self.ux = pd.factorize(x)
        self.wx = np.bincount(xi, weights=w, minlength=len(self.ux))  # weight of each distinct x
        Ti, self.uT = pd.factorize(T)
        self.wT = np.bincount(Ti, weights=w, minlength=len(self.uT))  # weight of each distinct T
        self.xT = np.bincount(Ti, weights=w * x, minlength=len(self.uT))  # and of its purchases
        rep = x > 0  # only these rows can have dropped out
        self.repeat = self.ux > 0
        self.x, self.w = x[rep], w[rep]
        self.xi, self.Ti = xi[rep], Ti[rep]
        self.ti, self.ut = pd.factorize(tx[rep])

    def z(self, r: float, alpha: float, a: float, b: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """z per repeat row, with ln(alpha + T) and ln(alpha + t_x) per distinct value."""
        lc = np.zeros(len(self.ux))
        lc[self.repeat] = np.log(a) - np.log(b + self.ux[self.repeat] - 1)
        lT, lt = np.log(alpha + self.uT), np.log(alpha + self.ut)
        z = lT.take(self.Ti)
        z -= lt.take(self.ti)
        z *= r + self.x
        z += lc.take(self.xi)
        return z, lT, lt

    def _by_T(self, v: np.ndarray) -> np.ndarray:
        return np.bincount(self.Ti, weights=v, minlength=len(self.uT))

    def _by_t(self, v: np.ndarray) -> np.ndarray:
        return np.bincount(self.ti, weights=v, minlength=len(self.ut))

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        r, alpha, a, b = np.exp(theta)
        ux, wx = self.ux, self.wx
        z, lT, lt = self.z(r, alpha, a, b)
        iT, it = 1 / (alpha + self.uT), 1 / (alpha + self.ut)
        rxT = r * self.wT + self.xT  # sum of w (r + x) per distinct T
        per_x = gammaln(r + ux) - gammaln(r) + betaln(a, b + ux) - betaln(a, b)
        e = np.abs(z)
        np.exp(-e, out=e)
        softplus = np.log1p(e)
        softplus += np.maximum(z, 0)
        e += 1
        sigmoid = np.reciprocal(e, out=e)
        sigmoid -= 0.5
        np.copysign(sigmoid, z, out=sigmoid)
        sigmoid += 0.5  # softplus' derivative
        ll = wx @ per_x + r * np.log(alpha) - dot(rxT, lT) + dot(self.w, softplus)

        ws = self.w * sigmoid
        wsr = ws * (r + self.x)
        s_x = np.bincount(self.xi, weights=ws, minlength=len(ux))
        d_r = (wx @ (digamma(r + ux) - digamma(r)) + np.log(alpha) - dot(self.wT, lT)
               + dot(self._by_T(ws), lT) - dot(self._by_t(ws), lt))
        d_alpha = r / alpha - dot(rxT, iT) + dot(self._by_T(wsr), iT) - dot(self._by_t(wsr), it)
        ab = digamma(a + b) - digamma(a + b + ux)
        d_a = wx @ ab + s_x.sum() / a
        d_b = wx @ (digamma(b + ux) - digamma(b) + ab) - s_x[self.repeat] @ (1 / (b + ux[self.repeat] - 1))
        grad = np.array([d_r, d_alpha, d_a, d_b]) * np.array([r, alpha, a, b])
        return -ll, -grad


def _start(x: np.ndarray, T: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Purchase rate r/alpha at the observed rate of repeat purchases; shapes at 1."""
    rate = dot(w, x) / max(dot(w, T), 1e-12)
    return np.log([1.0, 1.0 / max(rate, 1e-6), 1.0, 1.0])


def fit(frequency: object, recency: object, T: object, weights: object = None) -> BGNBDFit:
    """Maximum-likelihood BG/NBD parameters; `weights` counts the customers behind each row."""
    x, tx, age, w = check_rfm(frequency, recency, T, weights)
    repeaters = float(w[x > 0].sum())
    if repeaters < MIN_REPEAT:
        raise PredictError(f"{_n(repeaters, 'customer')} with a repeat purchase; the model needs at least "
                           f"{MIN_REPEAT} to tell how customers drop out", MODEL)
    keep = w > 0
    x, tx, age, w = x[keep], tx[keep], age[keep], w[keep]
    if len(x) > SMALL:
        x, tx, age, w = compress(x, tx, age, w)
    nll = _Likelihood(x, tx, age, w)
    # the optimiser tries parameters far out on its way (a log of 0, an overflow): each such step
    # is rejected on its value, and a person is not shown the arithmetic warnings it raises
    with np.errstate(divide="ignore", over="ignore", invalid="ignore", under="ignore"):
        res = optimize.minimize(nll, _start(x, age, w), jac=True, method=METHOD, options=OPTIONS)
        r, alpha, a, b = (float(v) for v in np.exp(res.x))
        fun, grad = nll(res.x)
    converged = bool(res.success or np.max(np.abs(grad)) < 10 * GTOL)
    message = "" if converged else f"the optimiser stopped without converging: {res.message}"
    no_dropout = False
    if max(r, alpha) <= RUNAWAY and min(r, alpha) >= 1 / RUNAWAY and a / (a + b) < 1 / RUNAWAY and \
            (a < 1 / RUNAWAY or b > RUNAWAY):
        # the likelihood rises all the way to the boundary where nobody drops out: a sound fit of
        # the NBD limit (a shop whose customers all still buy in the calibration period), said so
        no_dropout, converged = True, converged or bool(np.max(np.abs(grad[:2])) < 10 * GTOL)
        message = (f"no customer is seen to drop out (a = {a:.3g}, b = {b:.3g}): the model is its NBD limit, "
                   "every customer still buying; a longer calibration period can tell who stopped")
    elif max(r, alpha, a, b) > RUNAWAY or min(r, alpha, a, b) < 1 / RUNAWAY:
        converged = False
        message = ("a parameter ran off towards 0 or infinity (r, alpha, a, b = "
                   f"{r:.3g}, {alpha:.3g}, {a:.3g}, {b:.3g}): the data do not pin the model down")
    return BGNBDFit(r, alpha, a, b, float(-fun * nll.total), round(nll.total), converged, message, no_dropout)


def probability_alive(fit: BGNBDFit, frequency: object, recency: object, T: object) -> np.ndarray:
    """P(still a customer | x, t_x, T) (Fader, Hardie and Lee's note "Computing P(alive) using the
    BG/NBD model"): 1 for customers who never bought again, since dropping out needs a purchase."""
    x, tx, age, _ = check_rfm(frequency, recency, T)
    return expit(-_z(fit, x, tx, age))


def _z(fit: BGNBDFit, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray:
    """ln of the odds of having dropped out: ln(a/(b+x-1)) + (r+x) ln((alpha+T)/(alpha+t_x)); -inf at x = 0."""
    with np.errstate(divide="ignore"):
        lc = np.where(x > 0, np.log(fit.a) - np.log(fit.b + np.maximum(x, 1) - 1), -np.inf)
    return lc + (fit.r + x) * (np.log(fit.alpha + T) - np.log(fit.alpha + tx))


def expected_purchases(fit: BGNBDFit, t: object, frequency: object, recency: object, T: object) -> np.ndarray:
    """Expected purchases in the next `t` periods given (x, t_x, T): equation (10) of the paper,

        (a+b+x-1)/(a-1) * [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z)] * P(alive),
        z = t/(alpha+T+t).

    For a frequent buyer 2F1 overflows while the power underflows; Euler's transformation
    2F1(A, B; C; z) = (1-z)^(C-A-B) 2F1(C-A, C-B; C; z) turns the product into
    (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z), whose first two arguments do not grow with x and
    whose series converges the faster the larger x is.
    """
    x, tx, age, _ = check_rfm(frequency, recency, T)
    t = np.asarray(t, dtype=float)
    if np.isnan(t).any() or (t < 0).any():
        raise PredictError("the horizon t must be 0 or more", MODEL)
    r, alpha, a, b = fit.r, fit.alpha, fit.a, fit.b
    z = t / (alpha + age + t)
    # parameters run far out overflow the power or the series (0 x inf): said below, not warned of
    with np.errstate(divide="ignore", over="ignore", invalid="ignore", under="ignore"):
        decay = (1 - z) ** (a - 1) * hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z)
        out = (a + b + x - 1) / (a - 1) * (1 - decay) * expit(-_z(fit, x, tx, age))
    if not np.isfinite(out).all() and max(a, b) > SETTLED:
        raise PredictError(f"the fit did not settle: its dropout parameters ran away (a = {a:.3g}, b = {b:.3g}): "
                           "customers look alike in how they stop buying, so the model cannot tell who has "
                           "stopped", MODEL)
    if not np.isfinite(out).all():
        raise PredictError(f"expected purchases are not finite for r, alpha, a, b = {r:.3g}, {alpha:.3g}, {a:.3g}, "
                           f"{b:.3g} (the formula divides by a - 1)", MODEL)
    return out
