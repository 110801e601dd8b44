"""What drives loyalty: which touchpoints' satisfaction, which themes and which behaviours matter
most for a customer's NPS, and for leaving, as shares of R² with bootstrap intervals
(importance.py), overall and per segment.

One row per customer. NPS is the customer's mean answer over the window; a touchpoint's
satisfaction its mean CSAT there; a theme, how many of its texts are in it; behaviours, the churn
features of the latest snapshot. Few customers rate every touchpoint, so a customer who did not
rate one takes that touchpoint's mean: it weakens a touchpoint's share, never invents one. How
many customers rated each is reported beside its share.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING

import pandas as pd

from patron.errors import PredictError
from patron.predict import features as F
from patron.predict.importance import MAX_PREDICTORS, Importance, by_segment, relative_importance
from patron.warehouse.as_of import data_as_of

if TYPE_CHECKING:
    from patron.warehouse import Warehouse

MIN_RATED = 30  # customers who must have rated a touchpoint (or raised a theme) for it to take part
KINDS = ("touchpoints", "themes", "behaviours")


@dataclass
class Drivers:
    outcome: str  # nps or churn
    kind: str  # touchpoints, themes or behaviours
    since: date
    as_of: date
    overall: Importance
    rated: dict[str, int]  # predictor -> customers with a value of their own (not the mean)
    segments: dict[str, Importance] = field(default_factory=dict)
    segment_rated: dict[str, dict[str, int]] = field(default_factory=dict)  # segment -> its own counts
    skipped: list[tuple[str, int, str]] = field(default_factory=list)  # segment, n, why


def _customer() -> str:
    return "COALESCE(customer_id, customer_ref)"


def _nps(wh: Warehouse, since: date, as_of: date) -> pd.Series:
    frame = wh.df(f"SELECT {_customer()} AS customer, AVG(score) AS nps FROM responses WHERE survey = 'nps' "
                  "AND submitted_at >= ? AND submitted_at < ? GROUP BY 1", [since, as_of + timedelta(days=1)])
    return frame.set_index("customer")["nps"].astype(float)


def _touchpoints(wh: Warehouse, since: date, as_of: date) -> pd.DataFrame:
    long = wh.df(f"SELECT {_customer()} AS customer, touchpoint, AVG(score) AS csat FROM responses "
                 "WHERE survey = 'csat' AND touchpoint IS NOT NULL AND submitted_at >= ? AND submitted_at < ? "
                 "GROUP BY 1, 2", [since, as_of + timedelta(days=1)])
    return long.pivot(index="customer", columns="touchpoint", values="csat").astype(float)


def _themes(wh: Warehouse, since: date, as_of: date) -> pd.DataFrame:
    long = wh.df("SELECT e.customer_id AS customer, th.name AS theme, COUNT(*) AS texts FROM enrichment AS e "
                 "JOIN text_themes AS t ON t.source_table = e.source_table AND t.item_id = e.item_id "
                 "JOIN themes AS th ON th.theme_id = t.theme_id WHERE e.customer_id IS NOT NULL "
                 "AND e.occurred_at >= ? AND e.occurred_at < ? GROUP BY 1, 2", [since, as_of + timedelta(days=1)])
    # texts in each theme, not shares of the customer's texts: shares add up to one for everyone,
    # so any theme would be the others' sum and no decomposition could tell them apart
    return long.pivot(index="customer", columns="theme", values="texts").fillna(0)


def _choose(x: pd.DataFrame, impute: bool) -> tuple[pd.DataFrame, dict[str, int], pd.DataFrame]:
    """The predictors with MIN_RATED customers of their own, most covered first (at most
    MAX_PREDICTORS), each missing value given the predictor's mean when `impute`; and which
    customers have a value of their own of each (to count them per segment)."""
    have = x.notna() if impute else x > 0
    rated = {c: int(have[c].sum()) for c in x.columns}
    keep = [c for c in sorted(rated, key=lambda c: (-rated[c], str(c))) if rated[c] >= MIN_RATED][:MAX_PREDICTORS]
    x = x[keep]
    return (x.fillna(x.mean()) if impute else x), {c: rated[c] for c in keep}, have[keep]


def analyse(wh: Warehouse, outcome: str = "nps", kind: str = "touchpoints", *, months: int = 12,
            by: str | None = None, bootstrap: int = 1000, seed: int = 0, horizon_months: int = 3,
            min_segment: int = 100) -> Drivers:
    """Key drivers of `outcome` (nps, or churn: leaving within `horizon_months` of the latest month
    end whose outcome is known) among `kind` predictors, overall and by `by` (segment, region...)."""
    if outcome not in ("nps", "churn") or kind not in KINDS:
        raise PredictError(f"drivers of nps or churn among {', '.join(KINDS)}; not {outcome} among {kind}",
                           "key drivers")
    as_of = data_as_of(wh)
    if as_of is None:
        raise PredictError("no dated data (survey answers, tickets, feedback, usage, billing or orders) to weigh "
                           "drivers in", "key drivers")
    if outcome == "churn":
        from patron.predict.churn import labelled_snapshots

        days = labelled_snapshots(wh, horizon_months)
        if not days:
            raise PredictError(f"needs a month end whose next {horizon_months} months are in the billing data",
                               "key drivers of churn")
        as_of = days[-1]
    since = F.add_months(as_of, -months + 1)
    if outcome == "nps":
        y = _nps(wh, since, as_of)
    else:
        snap = F.snapshot(wh, as_of, horizon_months).set_index("customer")
        y = snap["churned"].astype(float)
    if kind == "touchpoints":
        x, rated, have = _choose(_touchpoints(wh, since, as_of), impute=True)
    elif kind == "themes":
        x, rated, have = _choose(_themes(wh, since, as_of), impute=False)
    else:
        snap = F.snapshot(wh, as_of).set_index("customer")
        # NPS is never explained by NPS (nor by the other survey answers beside it)
        skip = F.CONTEXT | ({"surveys"} if outcome == "nps" else set())
        cols = [n for n in F.NAMES if F.GROUP[n] not in skip and snap[n].nunique(dropna=True) > 1]
        x, rated, have = _choose(snap[cols], impute=True)
    model = f"key drivers of {outcome}"
    if x.empty:
        raise PredictError(f"no {kind[:-1]} has {MIN_RATED} customers of its own between {since} and {as_of}", model)
    frame = x.join(y.rename(outcome), how="inner")
    if outcome == "nps" and kind == "behaviours":
        frame = frame.dropna()
    if len(frame) < 30:
        raise PredictError(f"{len(frame)} customers have both an {outcome} outcome and {kind} between {since} and "
                           f"{as_of}; at least 30 are needed", model)
    result = Drivers(outcome, kind, since, as_of,
                     relative_importance(frame[list(x.columns)], frame[outcome], bootstrap=bootstrap, seed=seed),
                     rated)
    if by:
        golden = wh.df("SELECT customer_id, " + _golden_column(by) + " AS seg FROM customer_golden")
        frame = frame.join(golden.set_index("customer_id")["seg"])
        seg = by_segment(frame.reset_index(drop=True), outcome, list(x.columns), "seg", min_n=min_segment,
                         bootstrap=bootstrap, seed=seed)
        result.segments = {str(k): v for k, v in seg.segments.items()}
        own = have.join(frame["seg"], how="inner")
        result.segment_rated = {str(k): {c: int(v) for c, v in part[list(x.columns)].sum().items()}
                                for k, part in own.groupby("seg") if str(k) in result.segments}
        result.skipped = [(str(s.segment), s.n, s.reason) for s in seg.skipped]
    return result


def _golden_column(by: str) -> str:
    allowed = ("segment", "region", "industry", "plan", "owner")
    if by not in allowed:
        raise PredictError(f"by one of {', '.join(allowed)}, not {by!r}", "key drivers")
    return by


def keep(wh: Warehouse, result: Drivers, months: int) -> str:
    """Store the analysis as a run (no per-customer scores): the briefing reads the latest."""
    import pandas as pd

    from patron.predict.store import save

    evaluation = {"overall": result.overall.to_dict(), "rated": result.rated, "segment_rated": result.segment_rated,
                  "segments": {k: v.to_dict() for k, v in result.segments.items()},
                  "skipped": [{"segment": s, "n": n, "reason": r} for s, n, r in result.skipped]}
    return save(wh, "drivers", result.as_of, pd.DataFrame({"customer": []}), version="Shapley shares of R²",
                settings={"outcome": result.outcome, "among": result.kind, "months": months,
                          "since": result.since.isoformat()}, evaluation=evaluation)
