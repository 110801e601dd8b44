"""An account's top reasons in plain words: the features that raised its score most, each said
with the account's own figure ("usage down 60% over 90 days", "3 unresolved urgent tickets")."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

from patron.predict.features import CONTEXT, GROUP, RISK


def _n(v: float, one: str, many: str) -> str:
    k = int(round(v))
    return f"{k:,} {one if k == 1 else many}"


def _change(what: str, v: float, over: str = "90 days") -> str:
    return f"{what} {'down' if v < 0 else 'up'} {abs(v):.0%} over {over}"


WORDS: dict[str, Callable[[float], str]] = {
    "mrr": lambda v: f"MRR of {v:,.0f}",
    "mrr_change_12m": lambda v: "MRR unchanged for 12 months" if abs(v) < 0.005 else _change("MRR", v, "12 months"),
    "months_to_renewal": lambda v: f"renewal due in {_n(v, 'month', 'months')}",
    "term_months": lambda v: "a monthly contract" if v <= 1 else f"a {int(v)}-month contract",
    "tenure_months": lambda v: f"a customer for {_n(v, 'month', 'months')}",
    "events_30d": lambda v: f"{_n(v, 'product event', 'product events')} in 30 days",
    "usage_change_90d": lambda v: _change("usage", v),
    "features_30d": lambda v: f"{_n(v, 'product feature', 'product features')} used in 30 days",
    "active_users_30d": lambda v: f"{v:,.1f} daily active users",
    "days_since_use": lambda v: "used the product in the last day" if v < 1 else
    f"no product use for {_n(v, 'day', 'days')}",
    "billing_tickets_90d": lambda v: f"{_n(v, 'ticket', 'tickets')} about billing or price in 90 days",
    "tickets_90d": lambda v: f"{_n(v, 'support ticket', 'support tickets')} in 90 days",
    "open_tickets": lambda v: f"{_n(v, 'unresolved ticket', 'unresolved tickets')}",
    "urgent_open": lambda v: f"{_n(v, 'unresolved urgent ticket', 'unresolved urgent tickets')}",
    "negative_tickets_90d": lambda v: f"{v:.0%} of recent tickets in negative words",
    "ticket_csat_180d": lambda v: f"ticket CSAT {v:.1f} of 5",
    "nps_180d": lambda v: f"NPS answer {v:.0f} of 10" + (" (a detractor)" if v <= 6 else ""),
    "csat_180d": lambda v: f"CSAT {v:.1f} of 5",
    "ces_180d": lambda v: f"ease {v:.1f} of 7 (effort score; 7 is easiest)",
    "responses_180d": lambda v: "no survey answers in 180 days" if v < 1 else
    f"{_n(v, 'survey answer', 'survey answers')} in 180 days",
    "feedback_90d": lambda v: f"{_n(v, 'feedback item', 'feedback items')} in 90 days",
    "negative_feedback_90d": lambda v: f"{v:.0%} of recent feedback in negative words",
}
MISSING = {
    "nps_180d": "no NPS answer in 180 days", "csat_180d": "no CSAT answer in 180 days",
    "ces_180d": "no effort answer in 180 days", "ticket_csat_180d": "no rated ticket in 180 days",
    "usage_change_90d": "no product use in 90 days",
    "negative_tickets_90d": "no scored ticket in 90 days", "negative_feedback_90d": "no feedback in 90 days",
}


def say(feature: str, value: object, flag: bool = False) -> str:
    """One feature's value in words; an attribute from an export: its name and value (a yes/no
    attribute, `flag`: its name, or "not" and its name)."""
    missing = value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA
    if feature in WORDS:
        return MISSING.get(feature, f"no {feature.replace('_', ' ')}") if missing else WORDS[feature](float(value))
    label = feature.replace("_", " ")[:60]
    if isinstance(value, str) and len(value) > 60:  # an export's free text: a reason is one line
        value = value[:57] + "..."
    if missing:
        return f"{label} unknown"
    if isinstance(value, bool) or flag:
        return f"{label}: {'yes' if value else 'no'}"
    if isinstance(value, float):
        return f"{label} {_plain(value)}"
    return f"{label}: {value}"


def _plain(v: float) -> str:
    """A number as a person writes it: 104,450 not 1.045e+05, 2.5 not 2.500."""
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:,.2f}".rstrip("0").rstrip(".") if v != int(v) else f"{int(v):,}"


SHARES = frozenset({"mrr_change_12m", "usage_change_90d", "negative_tickets_90d", "negative_feedback_90d"})


def typical(feature: str, mid: float) -> str:
    """The usual value among the customers learned from, beside an account's own: "NPS answer 8
    of 10" is a reason only next to a usual 9."""
    return f"typical {mid:.0%}" if feature in SHARES else f"typical {_plain(round(mid, 1))}"


def group(feature: str) -> str:
    return GROUP.get(feature, "attribute")


def top_reasons(contributions: pd.DataFrame, values: pd.DataFrame, k: int = 3,
                typical: dict[str, float] | None = None, flags: frozenset[str] = frozenset()) -> list[list[dict]]:
    """Per account, the k features that raised its score most (positive contributions only);
    what the account is (its contract, size, tenure) is context, never a reason. With `typical`
    (each feature's median among the customers learned from), a feature whose direction is
    agreed is a reason only on its bad side: a CSAT above the usual never explains a risk."""
    names = [f for f in contributions.columns if group(f) not in CONTEXT]
    # a missing value is a reason only where its absence says something ("no NPS answer in 180
    # days"); a year-old change of a customer younger than a year is its age, which is context
    silent = [f for f in names if f not in MISSING and f in WORDS]
    c = contributions[names].to_numpy(dtype=float).copy()
    for j, f in enumerate(names):
        sign, mid = RISK.get(f, 0), (typical or {}).get(f)
        if sign and mid is not None and not math.isnan(mid):
            v = values[f].to_numpy(dtype=float)
            c[:, j] = np.where(np.isnan(v) | (sign * (v - mid) > 0), c[:, j], 0.0)
    for f in silent:
        j = names.index(f)
        c[:, j] = np.where(pd.isna(values[f]).to_numpy(), 0.0, c[:, j])
    order = np.argsort(-c, axis=1, kind="stable")[:, :k]
    cols = {f: values[f].tolist() for f in names}
    mids = {f: (typical or {}).get(f) for f in names}
    out = []
    for i, picks in enumerate(order):
        out.append([{"feature": names[j], "group": group(names[j]),
                     "says": _with_typical(names[j], cols[names[j]][i], mids[names[j]], names[j] in flags),
                     "weight": round(float(c[i, j]), 4)} for j in picks if c[i, j] > 0])
    return out


def _with_typical(feature: str, value: object, mid: float | None, flag: bool) -> str:
    """The reason in words, with the usual value where the direction is agreed and the account has
    a value of its own (so that "MRR up 8%" reads as less than a usual 15%)."""
    words = say(feature, value, flag)
    missing = value is None or (isinstance(value, float) and math.isnan(value))
    if RISK.get(feature) and mid is not None and not math.isnan(mid) and not missing:
        usual = typical(feature, mid)
        return f"{words[:-1]}; {usual})" if words.endswith(")") else f"{words} ({usual})"
    return words
