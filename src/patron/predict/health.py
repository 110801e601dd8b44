"""The health score: a transparent scorecard, 0 to 100 per account and month, the way customer
success teams keep one, then checked against what happened.

Each component is a 0-100 reading of one part of the relationship, from the same snapshot
features churn risk uses; the score is their weighted mean (weights and bands in patron.yml). An
account without data for a component (no survey answer, no usage export) is scored on the
others, and says which it lacked. The check: how well the scores of a quarter ago ranked the
accounts that left since (AUC), shown next to the score. `learn` proposes weights fitted on
earlier snapshots and checks them on the same later one, for a person to accept or not.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from patron.config import HEALTH_COMPONENTS, HealthSettings
from patron.errors import PredictError
from patron.predict import features as F
from patron.predict.churn import labelled_snapshots
from patron.predict.evaluation import Evaluation, evaluate
from patron.predict.store import json_text

if TYPE_CHECKING:
    from patron.warehouse import Warehouse

CHECK_MONTHS = 3  # the check scores a quarter ago against who left since
MONTHS = 12  # months of history a run scores
CHUNK_ROWS = 250_000  # accounts' month-end rows a run reads at once


def _clip(x: pd.Series) -> pd.Series:
    return x.clip(0, 100)


def components(f: pd.DataFrame) -> pd.DataFrame:
    """Each component 0-100 (NaN where the account has no data for it)."""
    out = pd.DataFrame(index=f.index)
    out["usage_trend"] = _clip(60 + 100 * f["usage_change_90d"].clip(-0.6, 0.4))  # -60% -> 0, +40% -> 100
    # use against paying accounts of its size (its tenth by MRR): a big account's events are not a
    # small one's
    size = pd.qcut(f["mrr"].rank(method="first"), min(10, len(f)), labels=False) if len(f) else f["mrr"]
    out["usage_level"] = 100 * f["events_30d"].groupby(size).rank(pct=True)
    most = f["features_30d"].max()
    out["usage_breadth"] = 100 * f["features_30d"] / most if most and most > 0 else np.nan
    out["support_load"] = _clip(100 - 15 * f["tickets_90d"] - 25 * f["urgent_open"] - 10 * f["open_tickets"])
    out["ticket_sentiment"] = 100 * (1 - f["negative_tickets_90d"])
    out["nps"] = 10 * f["nps_180d"]
    csat = pd.concat([(f["csat_180d"] - 1) / 4, (f["ticket_csat_180d"] - 1) / 4], axis=1).mean(axis=1)
    out["csat"] = 100 * csat
    change = f["mrr_change_12m"].fillna(0)
    out["billing"] = _clip(100 + 200 * change.clip(upper=0) - 25 * f["billing_tickets_90d"])
    out["engagement"] = _clip(40 + 20 * (f["responses_180d"] + f["feedback_90d"]))
    return out.where(f[["events_30d"]].notna().to_numpy() | ~out.columns.str.startswith("usage")[None, :])


def score(parts: pd.DataFrame, weights: dict[str, float]) -> pd.Series:
    """The weighted mean of the components each account has."""
    w = pd.Series({c: float(weights.get(c, 0)) for c in HEALTH_COMPONENTS})
    have = parts[list(HEALTH_COMPONENTS)].notna()
    total = (have * w).sum(axis=1)
    return ((parts[list(HEALTH_COMPONENTS)].fillna(0) * w).sum(axis=1) / total.where(total > 0)).round(1)


def band(scores: pd.Series, settings: HealthSettings) -> np.ndarray:
    """red, amber or green; "unscored" for an account with no data for any weighted component."""
    return np.where(scores.isna(), "unscored", np.where(scores < settings.red, "red",
                                                       np.where(scores >= settings.green, "green", "amber")))


@dataclass
class Check:
    """How well the scores of `scored_on` ranked the accounts that left in the next CHECK_MONTHS."""
    scored_on: date
    evaluation: Evaluation
    churn_by_band: dict[str, dict] = field(default_factory=dict)  # band -> accounts, left, share

    def to_dict(self) -> dict:
        return {"scored_on": self.scored_on.isoformat(), "evaluation": self.evaluation.to_dict(),
                "churn_by_band": self.churn_by_band}


def _check(frame: pd.DataFrame, scores: pd.Series, settings: HealthSettings, day: date) -> Check:
    y = frame["churned"].to_numpy()
    ev = evaluate(y, 100 - scores.fillna(50).to_numpy(), probabilities=False)
    bands = band(scores, settings)
    by = {b: {"accounts": int((bands == b).sum()), "left": int(y[bands == b].sum()),
              "share": round(float(y[bands == b].mean()), 4) if (bands == b).any() else None}
          for b in ("red", "amber", "green")}
    return Check(day, ev, by)


def check(wh: Warehouse, settings: HealthSettings, as_of: date | None = None) -> Check:
    days = labelled_snapshots(wh, CHECK_MONTHS, as_of)
    if not days:
        raise PredictError(f"needs a month end whose next {CHECK_MONTHS} months are in the billing data, to check "
                           "the score against who left", "health")
    frame = F.snapshot(wh, days[-1], CHECK_MONTHS)
    if frame.empty:
        raise PredictError(f"no account was paying on {days[-1]}, the month end the check scores against who left "
                           f"in the next {CHECK_MONTHS} months", "health")
    scores = score(components(frame), settings.weights)
    if scores.isna().all():
        raise PredictError(f"no account paying on {days[-1]} has data for the weighted components "
                           f"({_weighted(settings)}), so there is no score to check", "health")
    return _check(frame, scores, settings, days[-1])


def _weighted(settings: HealthSettings) -> str:
    return ", ".join(c for c, w in settings.weights.items() if w) or "none"


@dataclass
class Proposal:
    weights: dict[str, float]
    learned_on: list[date]
    check: Check  # the proposed weights on the same snapshot as the configured ones


def learn(wh: Warehouse, settings: HealthSettings, snapshots: int = 12, as_of: date | None = None) -> Proposal:
    """Weights fitted (a logistic regression of leaving on the components) on snapshots whose
    outcome was known by the check's day; only components that lower the odds of leaving get
    weight, scaled to sum to 100."""
    days = labelled_snapshots(wh, CHECK_MONTHS, as_of)
    if len(days) < CHECK_MONTHS + 2:
        raise PredictError(f"needs {CHECK_MONTHS + 2} month ends with a known {CHECK_MONTHS}-month outcome to learn "
                           f"weights and check them; the billing history gives {len(days)}", "health")
    test = days[-1]
    known = [d for d in days if F.add_months(d, CHECK_MONTHS) <= F.add_months(test, 0)][-snapshots:]
    train = F.snapshot(wh, known, CHECK_MONTHS)
    parts = components(train)
    present = [c for c in HEALTH_COMPONENTS if parts[c].notna().any()]
    x = parts[present].fillna(parts[present].median()) / 100
    y = train["churned"].to_numpy()
    if min(y.sum(), len(y) - y.sum()) < 10:
        raise PredictError(f"{int(y.sum())} of {len(y)} accounts left after the snapshots learned from; at least 10 "
                           "that left and 10 that stayed are needed", "health")
    coef = LogisticRegression(C=1.0, max_iter=1000).fit(x, y).coef_[0]
    raw = {c: max(0.0, -float(b)) for c, b in zip(present, coef, strict=True)}
    total = sum(raw.values())
    if total <= 0:
        raise PredictError("no component lowers the odds of leaving in this data; keep the configured weights",
                           "health")
    weights = {c: round(100 * w / total, 1) for c, w in raw.items()}
    frame = F.snapshot(wh, test, CHECK_MONTHS)
    return Proposal(weights, known, _check(frame, score(components(frame), weights), settings, test))


@dataclass
class HealthRun:
    run_id: str
    as_of: date
    # customer, month, score, band, details, reasons: today's details and reasons as read, the
    # month ends' before as the JSON text they are stored as
    scores: pd.DataFrame
    check: Check | None
    note: str = ""


def _month_ends(wh: Warehouse, days: list[date]) -> Iterator[tuple[date, pd.DataFrame]]:
    """Each day's snapshot, in order, days with no paying account left out."""
    paying = wh.scalar("SELECT COUNT(DISTINCT COALESCE(customer_id, customer_ref)) FROM subscriptions") or 1
    per = max(1, CHUNK_ROWS // paying)
    for i in range(0, len(days), per):
        chunk = F.snapshot(wh, days[i:i + per])
        for d in days[i:i + per]:
            f = chunk[pd.to_datetime(chunk["snapshot"]) == pd.Timestamp(d)].reset_index(drop=True)
            if not f.empty:
                yield d, f
        del chunk


def run(wh: Warehouse, settings: HealthSettings, as_of: date | None = None) -> HealthRun:
    """Score every paying account at each of the last MONTHS month ends and on `as_of`, check the
    score against who left, and keep the run (one row per account and month)."""
    from patron.predict.store import save

    day = F.scoring_day(wh, as_of, "health")
    if day is None or not wh.scalar("SELECT COUNT(*) FROM subscriptions"):
        raise PredictError("needs subscriptions: the score is kept for each paying account", "health")
    days = [F.month_end(F.add_months(day, -k)) for k in range(MONTHS, 0, -1)] + [day]
    frames = []
    # month ends read together up to CHUNK_ROWS accounts' rows (each query costs seconds on a
    # cluster, however small the company), and each kept as its scores alone: a million accounts
    # over thirteen days held at once, features and all, would not fit in memory; the month ends
    # before today keep their details and reasons as the JSON text they are stored as
    for d, f in _month_ends(wh, sorted(dict.fromkeys(days))):
        parts = components(f)
        f = f.assign(score=score(parts, settings.weights))
        f["band"] = band(f["score"], settings)
        rows = parts.to_dict("records")
        details = [{"month": d.isoformat(), "components": {c: None if pd.isna(v) else round(float(v), 1)
                                                           for c, v in row.items()}} for row in rows]
        reasons = [_weakest(row) for row in rows]
        if d != day:
            details, reasons = [json_text(x) for x in details], [json_text(x) for x in reasons]
        keep = f[["customer"]].assign(score=f["score"], band=f["band"], month=d)
        keep["details"], keep["reasons"] = details, reasons
        frames.append(keep)
        del f, parts, rows
    if not frames:
        raise PredictError(f"no account was paying in the {MONTHS} months to {day}", "health")
    scores = pd.concat(frames, ignore_index=True)
    today = scores[scores["month"] == day]
    if len(today) and today["score"].isna().all():
        parts = pd.DataFrame(list(today["details"].map(lambda d: d["components"])))
        have = [c for c in HEALTH_COMPONENTS if c in parts and parts[c].notna().any()]
        raise PredictError(f"no account has data for the weighted components ({_weighted(settings)}) on {day}, so "
                           f"none of the {len(today):,} paying accounts can be scored; weight components the data "
                           f"has ({', '.join(have) or 'none'}) under predict.health.weights in patron.yml", "health")
    note, chk = "", None
    try:
        chk = check(wh, settings, day)
    except PredictError as e:
        note = str(e)
    run_id = save(wh, "health", day, scores, version="scorecard", settings=settings.model_dump(),
                  tested_on=chk.scored_on if chk else None, evaluation=chk.to_dict() if chk else None,
                  as_of_column="month")
    return HealthRun(run_id, day, scores, chk, note)


WORDS = {"usage_trend": "usage falling", "usage_level": "little use for its size",
         "usage_breadth": "few product features used",
         "support_load": "many tickets", "ticket_sentiment": "tickets in negative words", "nps": "low NPS",
         "csat": "low CSAT", "billing": "revenue falling or billing complaints", "engagement": "little contact"}


def _weakest(parts: dict[str, float], k: int = 2) -> list[dict]:
    """The components pulling the score down most (below 50), in words."""
    low = sorted((v, c) for c, v in parts.items() if v == v and v < 50)[:k]
    return [{"feature": c, "group": c, "says": f"{WORDS[c]} ({v:.0f}/100)", "weight": round(50 - v, 1)}
            for v, c in low]
