"""Renewals due soon: each contract's next renewal day, the probability it renews (from the
latest churn run, whose horizon covers it), the revenue to expect and the ARR at risk, by owner
and segment. Monthly contracts renew every month and are left out: a renewal here is a decision."""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from typing import TYPE_CHECKING

import pandas as pd

from patron.errors import PredictError
from patron.predict.store import latest_run, latest_scores

if TYPE_CHECKING:
    from patron.warehouse import Warehouse


def _plus_months(d: date, months: int) -> date:
    k = d.year * 12 + d.month - 1 + months
    y, m = k // 12, k % 12 + 1
    return date(y, m, min(d.day, calendar.monthrange(y, m)[1]))


def next_renewal(anchor: date, term: int, after: date, on_the_day: bool = False) -> date:
    """The first day after `after` (on or after it with `on_the_day`) that lies a whole number of
    `term`-month steps from `anchor`: a contract's start, or a renewal date, earlier or later."""
    k = ((after.year - anchor.year) * 12 + after.month - anchor.month) // term - 1
    day = _plus_months(anchor, k * term)
    while day < after or (day == after and not on_the_day):
        k += 1
        day = _plus_months(anchor, k * term)
    return day


def terms(wh: Warehouse, as_of: date | None) -> pd.DataFrame:
    """Each customer's contract as the churn model reads it on `as_of`: of the subscriptions
    running then, the longest term's (1: monthly), its first period's start and its renewal date
    where the billing gives one; customer_id, first_start, term, renewal."""
    if as_of is None:
        return pd.DataFrame(columns=["customer_id", "first_start", "term", "renewal"])
    running = "(end_date IS NULL OR end_date > ?)"
    sub = ("SELECT COALESCE(customer_id, customer_ref) AS customer, subscription_id, MIN(start_date) AS first_start, "
           "MAX(COALESCE(term_months, 1)) AS term, "
           f"MAX(CASE WHEN {running} THEN renewal_date END) AS renewal FROM subscriptions WHERE start_date <= ? "
           "GROUP BY COALESCE(customer_id, customer_ref), subscription_id "
           f"HAVING MAX(CASE WHEN {running} THEN 1 ELSE 0 END) = 1")
    return wh.df(
        f"WITH sub AS ({sub}) SELECT y.customer AS customer_id, MIN(y.first_start) AS first_start, "
        "MAX(y.term) AS term, MIN(y.renewal) AS renewal FROM sub AS y JOIN (SELECT customer, MAX(term) AS term "
        "FROM sub GROUP BY customer) AS l ON l.customer = y.customer AND l.term = y.term GROUP BY y.customer",
        [as_of, as_of, as_of])


def due(wh: Warehouse, days: int = 90) -> pd.DataFrame:
    """Contracts longer than a month renewing within `days` of the latest churn run's day, with
    the probability each renews, the ARR it brings and what is at risk; soonest first."""
    run = latest_run(wh, "churn")
    if run is None:
        raise PredictError("no churn run yet: run `patron predict` first", "renewals")
    if run["stale"]:
        raise PredictError(run["stale"], "renewals")
    if run["settings"].get("mode") == "one snapshot":
        raise PredictError("the churn run is of one snapshot with no billing, so no contract says when it renews",
                           "renewals")
    horizon = int(run["settings"].get("horizon_months", 3))
    if days > horizon * 31:
        raise PredictError(f"the churn model looks {horizon} month{'' if horizon == 1 else 's'} ahead; renewals "
                           "further out than "
                           f"{horizon * 30} days would need predict.churn.horizon_months raised", "renewals")
    as_of = run["as_of"]
    scores = latest_scores(wh, "churn").rename(columns={"score": "p_leave", "value": "arr"})
    frame = scores.merge(terms(wh, as_of), on="customer_id")
    frame = frame[frame["term"] > 1].copy()
    if frame.empty:
        return frame.assign(renewal_date=[], p_renew=[], expected_arr=[])
    # the billing's renewal date where it gives one (the next on or after the day), else the next
    # anniversary of the running subscription's start
    frame["renewal_date"] = [next_renewal(pd.Timestamp(f).date(), int(t), as_of) if pd.isna(r) else
                             next_renewal(pd.Timestamp(r).date(), int(t), as_of, on_the_day=True)
                             for f, t, r in zip(frame["first_start"], frame["term"], frame["renewal"], strict=True)]
    frame = frame[frame["renewal_date"] <= as_of + timedelta(days=days)]
    frame["p_renew"] = (1 - frame["p_leave"]).round(4)
    frame["expected_arr"] = (frame["arr"] * frame["p_renew"]).round(2)
    golden = wh.df("SELECT customer_id, name, owner, segment FROM customer_golden")
    frame = frame.merge(golden, on="customer_id", how="left")
    keep = ["customer_id", "name", "owner", "segment", "renewal_date", "term", "arr", "p_renew", "expected_arr",
            "at_stake", "band", "reasons"]
    return frame[keep].sort_values(["renewal_date", "customer_id"]).reset_index(drop=True)


def by_group(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Renewals, ARR due, ARR expected and ARR at risk per owner or segment, most at risk first."""
    if column not in ("owner", "segment"):
        raise ValueError(f"group by owner or segment, not {column!r}")
    g = frame.assign(**{column: frame[column].fillna("(none)")})
    return (g.groupby(column, as_index=False)
            .agg(renewals=("customer_id", "size"), arr_due=("arr", "sum"), expected_arr=("expected_arr", "sum"),
                 at_stake=("at_stake", "sum"))
            .sort_values(["at_stake", column], ascending=[False, True]).reset_index(drop=True))


TOP = 8  # the accounts a summary names


def summary(wh: Warehouse, days: int = 90, top: int = TOP) -> dict:
    """What the briefing says of renewals due within `days` (from `due`, as `patron renewals`
    reads it): how many, the ARR due, expected to renew and at risk, the accounts with most at
    risk; and when none is due, `note` says plainly why (no contract longer than a month, none
    renewing in the window, or a churn run of one snapshot with no billing)."""
    run = latest_run(wh, "churn")
    out = {"days": days, "as_of": None if run is None else run["as_of"], "renewals": 0, "arr_due": 0.0,
           "expected_arr": 0.0, "at_stake": 0.0, "top": [], "note": None}
    try:
        frame = due(wh, days)
    except PredictError as e:
        return out | {"note": "No contracts to renew: " + str(e).removeprefix(f"{e.model}: ")}
    if frame.empty:
        longer = wh.scalar("SELECT count(*) FROM subscriptions WHERE COALESCE(term_months, 1) > 1")
        out["note"] = (f"No contract renews in the {days} day{'' if days == 1 else 's'} after {out['as_of']}"
                       if longer else "No contracts to renew: every subscription is monthly (or has no term), and a "
                       "monthly contract renews every month without a decision")
        return out
    at_risk = frame.sort_values(["at_stake", "renewal_date"], ascending=[False, True]).head(top)
    return out | {"renewals": len(frame), "arr_due": float(frame["arr"].sum()),
                  "expected_arr": float(frame["expected_arr"].sum()), "at_stake": float(frame["at_stake"].sum()),
                  "top": at_risk.to_dict("records")}
