"""What each customer is worth: subscribers by their margin over the lifetime their churn risk
leaves them, buyers by BG/NBD and Gamma-Gamma over their orders (clv.py), each discounted.

A subscriber's monthly chance of leaving comes from the latest churn run: a probability p of
leaving within h months is a constant monthly hazard 1 - (1 - p)^(1/h). Its value is margin x
MRR x the discounted months it is expected to stay (capped), the geometric sum of survival times
discount. A company with both (a SaaS that sells services) gets both, side by side and summed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from patron.config import ClvSettings
from patron.errors import PredictError
from patron.predict.clv import CLVResult, transactional_clv
from patron.predict.features import scoring_day
from patron.predict.store import latest_run, latest_scores, save

if TYPE_CHECKING:
    from patron.warehouse import Warehouse


def subscription_value(mrr: np.ndarray, p_leave: np.ndarray, horizon_months: int, settings: ClvSettings,
                       ) -> tuple[np.ndarray, np.ndarray]:
    """(value, expected months) of each subscriber: margin x MRR x discounted expected months."""
    hazard = 1 - np.power(np.clip(1 - p_leave, 1e-9, 1), 1 / horizon_months)
    delta = 1 / (1 + settings.annual_discount) ** (1 / 12)
    cap = settings.lifetime_cap_months
    s = 1 - hazard
    months = np.where(s < 1, s * (1 - s ** cap) / np.maximum(1 - s, 1e-12), cap)  # undiscounted, for a person
    sd = s * delta
    discounted = np.where(sd < 1, sd * (1 - sd ** cap) / np.maximum(1 - sd, 1e-12), cap)
    return settings.margin * mrr * discounted, months


@dataclass
class ValueRun:
    run_id: str
    as_of: date
    customers: pd.DataFrame  # customer, subscription_value, expected_months, orders_value, value + clv columns
    transactional: CLVResult | None = None
    notes: list[str] = field(default_factory=list)


def run(wh: Warehouse, settings: ClvSettings, as_of: date | None = None) -> ValueRun:
    """Value every customer as of `as_of` (default: the data's last day) and keep the run."""
    day = scoring_day(wh, as_of, "lifetime value")
    if day is None:
        raise PredictError("nothing to value: no subscriptions and no orders", "lifetime value")
    notes: list[str] = []
    parts = []
    churn = latest_run(wh, "churn")
    if wh.scalar("SELECT COUNT(*) FROM subscriptions"):
        if churn is not None and churn["stale"]:
            notes.append(f"subscribers not valued: {churn['stale']}")
        elif churn is None or churn["as_of"] != day or churn["settings"].get("mode") == "one snapshot":
            notes.append(f"subscribers not valued: no churn run scored {day} (run `patron predict"
                         f"{'' if as_of is None else ' --as-of ' + day.isoformat()}` first)")
        else:
            sc = latest_scores(wh, "churn")
            mrr = np.array([float((d or {}).get("mrr") or 0) for d in sc["details"]])
            value, months = subscription_value(mrr, sc["score"].to_numpy(dtype=float),
                                               int(churn["settings"].get("horizon_months", 3)), settings)
            parts.append(pd.DataFrame({"customer": sc["customer_id"], "subscription_value": np.round(value, 2),
                                       "expected_months": np.round(months, 1)}))
    transactional = None
    if wh.scalar("SELECT COUNT(*) FROM orders WHERE CAST(ordered_at AS DATE) <= ?", [day]):
        try:
            fitted = transactional_clv(wh, day, horizon_weeks=settings.horizon_months * 52 / 12,
                                       annual_discount=settings.annual_discount, margin=settings.margin)
        except PredictError as e:
            notes.append(f"buyers not valued: {e}")
        else:
            if all(f.converged for f in (fitted.purchases, fitted.spend)):
                transactional = fitted
                c = fitted.customers
                parts.append(pd.DataFrame({"customer": c["customer"], "orders_value": c["clv"].round(2),
                                           "expected_purchases": c["expected_purchases"].round(4),
                                           "probability_alive": c["probability_alive"].round(4),
                                           "expected_spend": c["expected_spend"].round(2)}))
            else:  # a value from a fit that did not settle would be made up
                notes.append("buyers not valued: their orders do not pin the purchase and spend models down")
            notes += list(fitted.notes)
    if not parts:
        raise PredictError("nothing to value: " + ("; ".join(notes) or "no subscriptions and no orders"),
                           "lifetime value")
    out = parts[0]
    for p in parts[1:]:
        out = out.merge(p, on="customer", how="outer")
    out["value"] = out.reindex(columns=["subscription_value", "orders_value"]).sum(axis=1, min_count=1).round(2)
    frame = out.assign(score=out["value"])
    frame["details"] = [{k: (None if pd.isna(v) else v) for k, v in r.items() if k not in ("customer", "score")}
                        for r in out.to_dict("records")]
    settings_json = settings.model_dump() | {"notes": notes}
    evaluation = None
    version = "subscription: churn hazard"
    if transactional is not None:
        evaluation = {"bgnbd": transactional.purchases.to_dict(), "gamma_gamma": transactional.spend.to_dict()}
        version += "; orders: BG/NBD + Gamma-Gamma"
    run_id = save(wh, "clv", day, frame, version=version, settings=settings_json, evaluation=evaluation)
    return ValueRun(run_id, day, out.sort_values("value", ascending=False, na_position="last").reset_index(drop=True),
                    transactional, notes)
