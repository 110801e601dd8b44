"""Transactional lifetime value: what each buying customer will bring in over a horizon.

For customers who buy when they like, with no contract to end (a shop's), the orders table as
of a day gives each customer's frequency, recency, age and mean repeat value; BG/NBD
(`bgnbd`) turns the first three into expected purchases and the chance the customer is still
one, Gamma-Gamma (`gamma_gamma`) turns the value into the expected value of a purchase, and
their product, discounted, is the value over the horizon.

A purchase is a customer's day with orders: several orders on one day are one purchase, as in
the papers the models come from. Credits (amounts below 0) are not purchases; a free order
(amount 0) is one: it is a visit the customer made, and Fader, Hardie and Lee count it so
(eight of CDNOW's 2,357 customers are in their sample only through one $0 purchase, and their
published estimates need them). The spend model learns only from repeat purchases worth more
than 0. Time is in weeks. Nothing after the as-of day is read, so a fit can be judged on the
weeks after it (`holdout_check`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from patron.errors import PredictError
from patron.predict import bgnbd, gamma_gamma

if TYPE_CHECKING:
    from patron.warehouse import Warehouse

MODEL = "CLV"
MIN_REPEAT = bgnbd.MIN_REPEAT
WEEKS_PER_YEAR = 52
MONTH_WEEKS = WEEKS_PER_YEAR / 12  # discounting steps
CORRELATION_WARN = 0.3  # |frequency-value correlation| above which Gamma-Gamma's independence is doubtful

CUSTOMER = "COALESCE(customer_id, customer_ref)"
# Each customer's purchase days before a bound (a bound parameter: the day after the as-of day,
# so an order at any time on the as-of day counts and nothing later is read). Money is summed as
# decimals, so the same orders give the same values however the engine splits the work.
# A day's credits are netted against its orders (an order cancelled the day it was placed is no
# purchase, and a cancelled £168,000 order is not £168,000 spent); a day of credits alone, or
# netting to nothing, is none. Credits on later days cannot be told apart from returns of older
# purchases and are left out.
DAY_NET = "SUM(CAST(amount AS DECIMAL(38, 6)))"
IS_PURCHASE = f"HAVING MAX(amount) >= 0 AND ({DAY_NET} > 0 OR ({DAY_NET} = 0 AND MIN(amount) >= 0))"
PURCHASE_DAYS = (f"SELECT {CUSTOMER} AS customer, CAST(ordered_at AS DATE) AS day, {DAY_NET} AS value "
                 f"FROM orders WHERE ordered_at < ? AND {CUSTOMER} IS NOT NULL "
                 f"GROUP BY {CUSTOMER}, CAST(ordered_at AS DATE) {IS_PURCHASE}")
# first and last day, purchase days and the value of the first: date arithmetic is left to
# pandas, where it is the same whatever the engine
SUMMARY = (f"WITH days AS ({PURCHASE_DAYS}), spans AS (SELECT customer, MIN(day) AS first_day, "
           "MAX(day) AS last_day, COUNT(*) AS days, SUM(value) AS total FROM days GROUP BY customer) "
           "SELECT s.customer, s.first_day, s.last_day, s.days, s.total - d.value AS repeat_value "
           "FROM spans AS s JOIN days AS d ON d.customer = s.customer AND d.day = s.first_day "
           "ORDER BY s.customer")
# purchase days in a window (after one day, up to and including another)
WINDOW_PURCHASES = (f"SELECT customer, COUNT(*) AS purchases FROM (SELECT {CUSTOMER} AS customer, "
                    f"CAST(ordered_at AS DATE) AS day FROM orders WHERE ordered_at >= ? AND ordered_at < ? "
                    f"AND {CUSTOMER} IS NOT NULL GROUP BY {CUSTOMER}, CAST(ordered_at AS DATE) {IS_PURCHASE}) "
                    "AS d GROUP BY customer")


def _bound(day: date) -> datetime:
    """The first moment after `day`."""
    return datetime.combine(day + timedelta(days=1), time())


def customer_summary(wh: Warehouse, as_of: date) -> pd.DataFrame:
    """customer, frequency, recency, T (weeks), monetary (mean value of the repeat purchase days;
    NaN without one), from the orders on or before `as_of`.

    T runs from the first purchase day to the as-of day itself (not the day after): with CDNOW's
    calibration period ending 1997-09-30 this is Fader, Hardie and Lee's T (38.86 weeks for a
    customer first seen on 1 January), and their published estimates are reproduced with it.
    """
    df = wh.df(SUMMARY, [_bound(as_of)])
    first, last = pd.to_datetime(df["first_day"]), pd.to_datetime(df["last_day"])
    frequency = df["days"].astype(int) - 1
    return pd.DataFrame({
        "customer": df["customer"].astype(str),
        "frequency": frequency,
        "recency": (last - first).dt.days / 7,
        "T": (pd.Timestamp(as_of) - first).dt.days / 7,
        "monetary": (df["repeat_value"].astype(float) / frequency).where(frequency > 0),
    })


def _enough(summary: pd.DataFrame, as_of: date) -> None:
    repeaters = int((summary["frequency"] > 0).sum())
    if repeaters < MIN_REPEAT:
        have = (f"{len(summary):,} customer{'' if len(summary) == 1 else 's'} with orders on or before {as_of}, "
                f"{repeaters:,} of them "
                "with a repeat purchase (on a later day)" if len(summary) else
                f"no orders on or before {as_of} (credits aside)")
        raise PredictError(f"too little data: {have}; at least {MIN_REPEAT} customers with a repeat purchase are "
                           "needed to fit how often customers buy and when they stop", MODEL)


def _distinct(fn, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray:
    """fn over the distinct (x, t_x, T) rows only, spread back to every row: customers share
    histories, and the hypergeometric function is the slow part."""
    keys = pd.MultiIndex.from_arrays([x, tx, T])
    codes, uniques = pd.factorize(keys)
    ux, ut, uT = (np.asarray(uniques.get_level_values(i), dtype=float) for i in range(3))
    return np.asarray(fn(ux, ut, uT))[codes]


def discounted_purchases(fit: bgnbd.BGNBDFit, x: np.ndarray, tx: np.ndarray, T: np.ndarray,
                         horizon_weeks: float, annual_discount: float) -> np.ndarray:
    """Expected purchases over the horizon, each month's discounted to today from the month's end."""
    steps = np.minimum(np.arange(1, math.ceil(horizon_weeks / MONTH_WEEKS - 1e-9) + 1) * MONTH_WEEKS, horizon_weeks)

    def per_row(ux: np.ndarray, ut: np.ndarray, uT: np.ndarray) -> np.ndarray:
        total, before = np.zeros(len(ux)), np.zeros(len(ux))
        for t in steps:
            upto = bgnbd.expected_purchases(fit, t, ux, ut, uT)
            total += (upto - before) / (1 + annual_discount) ** (t / WEEKS_PER_YEAR)
            before = upto
        return total

    return _distinct(per_row, x, tx, T)


@dataclass(frozen=True, eq=False)
class CLVResult:
    as_of: date
    horizon_weeks: float
    annual_discount: float
    margin: float
    purchases: bgnbd.BGNBDFit
    spend: gamma_gamma.GammaGammaFit
    # customer, frequency, recency, T, monetary, expected_purchases, probability_alive,
    # expected_spend, clv
    customers: pd.DataFrame
    notes: tuple[str, ...] = field(default=())


def transactional_clv(wh: Warehouse, as_of: date, horizon_weeks: float = 52, annual_discount: float = 0.1,
                      margin: float = 1.0) -> CLVResult:
    """Fit BG/NBD and Gamma-Gamma on the orders as of `as_of` and value every customer over the
    next `horizon_weeks`: expected purchases x expected value x margin, discounted monthly at
    `annual_discount` a year."""
    if not horizon_weeks > 0:
        raise PredictError(f"the horizon must be more than 0 weeks, not {horizon_weeks}", MODEL)
    if not 0 <= annual_discount < 10:
        raise PredictError(f"the annual discount rate is a share, e.g. 0.1 for 10%, not {annual_discount}", MODEL)
    if not 0 < margin <= 1:
        raise PredictError(f"the margin is the share of a purchase's value that is profit (0 to 1), not {margin}",
                           MODEL)
    summary = customer_summary(wh, as_of)
    _enough(summary, as_of)
    x, tx, T = (summary[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    purchases = bgnbd.fit(x, tx, T)
    monetary = summary["monetary"].fillna(0.0).to_numpy()
    spend = gamma_gamma.fit(np.where(monetary > 0, x, 0), monetary)  # free repeat purchases teach it nothing
    value = gamma_gamma.expected_average_spend(spend, x, monetary)
    out = summary.assign(
        expected_purchases=_distinct(lambda *a: bgnbd.expected_purchases(purchases, horizon_weeks, *a), x, tx, T),
        probability_alive=bgnbd.probability_alive(purchases, x, tx, T),
        expected_spend=value,
        clv=margin * value * discounted_purchases(purchases, x, tx, T, horizon_weeks, annual_discount),
    )
    free = int(((x > 0) & (monetary == 0)).sum())
    return CLVResult(as_of, horizon_weeks, annual_discount, margin, purchases, spend, out,
                     _notes(purchases, spend, free))


def _notes(purchases: bgnbd.BGNBDFit, spend: gamma_gamma.GammaGammaFit, free: int) -> tuple[str, ...]:
    notes = [f"{name} did not converge: {fit.message}" for name, fit in
             (("BG/NBD", purchases), ("Gamma-Gamma", spend)) if not fit.converged]
    if purchases.converged and purchases.no_dropout:
        notes.append(f"BG/NBD: {purchases.message}")
    rho = spend.frequency_monetary_correlation
    if abs(rho) > CORRELATION_WARN:
        notes.append(f"how often customers buy and how much they spend correlate ({rho:.2f}); the spend model "
                     "assumes they do not, so expected spend leans towards the average")
    if free:
        whose = "1 customer's" if free == 1 else f"{free:,} customers'"
        notes.append(f"{whose} repeat purchases were all free (amount 0): the spend model did not learn "
                     f"from {'it' if free == 1 else 'them'}, and {'its' if free == 1 else 'their'} expected spend is "
                     "what it makes of a mean of 0")
    return tuple(notes)


@dataclass(frozen=True, eq=False)
class HoldoutCheck:
    calibration_end: date
    holdout_end: date
    weeks: float
    purchases: bgnbd.BGNBDFit
    customers: pd.DataFrame  # customer, frequency, predicted, actual
    by_frequency: pd.DataFrame  # frequency ("0".."7+"), customers, predicted, actual: means per customer
    predicted_total: float
    actual_total: int
    mean_absolute_error: float


def holdout_check(wh: Warehouse, calibration_end: date, holdout_end: date, top_group: int = 7) -> HoldoutCheck:
    """Fit on the orders up to `calibration_end`, predict each customer's purchase days in
    (calibration_end, holdout_end] and set them beside the actual ones: in total, per customer
    and by calibration frequency (Fader, Hardie and Lee's conditional expectations, figure 5).
    Customers first seen after calibration_end are not in it: the model has not met them."""
    if holdout_end <= calibration_end:
        raise PredictError(f"the holdout must end after calibration does ({holdout_end} is not after "
                           f"{calibration_end})", MODEL)
    last = wh.scalar("SELECT CAST(MAX(ordered_at) AS DATE) FROM orders")
    if last is not None and holdout_end > last:
        raise PredictError(f"the orders end on {last}: a holdout to {holdout_end} would count days no order could "
                           f"be on as days without one; end it on {last} or before", MODEL)
    summary = customer_summary(wh, calibration_end)
    _enough(summary, calibration_end)
    x, tx, T = (summary[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    fit = bgnbd.fit(x, tx, T)
    weeks = (holdout_end - calibration_end).days / 7
    actual = wh.df(WINDOW_PURCHASES, [_bound(calibration_end), _bound(holdout_end)])
    actual = actual.assign(customer=actual["customer"].astype(str)).set_index("customer")["purchases"]
    customers = pd.DataFrame({
        "customer": summary["customer"],
        "frequency": summary["frequency"],
        "predicted": _distinct(lambda *a: bgnbd.expected_purchases(fit, weeks, *a), x, tx, T),
        "actual": summary["customer"].map(actual).fillna(0).astype(int).to_numpy(),
    })
    group = customers["frequency"].clip(upper=top_group)
    labels = group.map(lambda g: f"{g}+" if g == top_group else str(g))
    by = (customers.assign(group=group, label=labels).groupby(["group", "label"])
          .agg(customers=("customer", "size"), predicted=("predicted", "mean"), actual=("actual", "mean"))
          .reset_index("label").rename(columns={"label": "frequency"}).reset_index(drop=True))
    return HoldoutCheck(calibration_end, holdout_end, weeks, fit, customers, by,
                        float(customers["predicted"].sum()), int(customers["actual"].sum()),
                        float((customers["predicted"] - customers["actual"]).abs().mean()))
