"""Who is likely to leave, and why: a model learned on earlier month-end snapshots and tested on a
later one it never saw (a time-based backtest), then refitted on everything known to score today.

A training snapshot's outcome window must close by the test snapshot, so nothing the backtest
learns from happened after the day it is tested on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from patron.config import ChurnSettings
from patron.errors import PredictError
from patron.predict import attributes, gbm
from patron.predict import features as F
from patron.predict.evaluation import Evaluation, evaluate
from patron.predict.reasons import top_reasons
from patron.relations import ARR_NOW
from patron.warehouse.as_of import data_as_of

if TYPE_CHECKING:
    from patron.warehouse import Warehouse

MIN_POSITIVES = 10  # churners the model must learn from
DEFAULT = ChurnSettings()
# the model's own features and columns: an attribute may not take their names
RESERVED = frozenset({*F.NAMES, "customer", "snapshot", "churned", "probability", "score", "band", "value", "arr",
                      "at_stake", "reasons", "details", "mrr"})


@dataclass
class Backtest:
    evaluation: Evaluation
    trained_on: list[date]
    tested_on: date | None  # None: one snapshot, tested on a holdout of customers
    n_train: int
    positives_train: int
    model: str
    importance: dict[str, float] = field(default_factory=dict)
    test: pd.DataFrame | None = None  # the test snapshot's customers, outcome and probability
    mode: str = "time"  # time: a later snapshot; holdout: customers it never saw, of the one snapshot

    def to_dict(self) -> dict:
        return {"mode": self.mode, "evaluation": self.evaluation.to_dict(),
                "trained_on": [d.isoformat() for d in self.trained_on],
                "tested_on": self.tested_on.isoformat() if self.tested_on else None,
                "n_train": self.n_train, "positives_train": self.positives_train, "importance": self.importance}


@dataclass
class Scores:
    as_of: date
    frame: pd.DataFrame  # customer, probability, mrr, arr, at_stake, reasons + features
    trained_on: list[date]
    model: str


def labelled_snapshots(wh: Warehouse, horizon_months: int, as_of: date | None = None) -> list[date]:
    """Month ends whose outcome (paying or not `horizon_months` later) was known on `as_of`
    (default: the data's last day; a day before it sees nothing after it)."""
    last_day = data_as_of(wh)
    as_of = last_day if as_of is None or last_day is None else min(as_of, last_day)
    first = wh.scalar("SELECT MIN(start_date) FROM subscriptions WHERE mrr > 0")
    if as_of is None or first is None:
        return []
    last_complete = F.add_months(as_of, 0 if as_of == F.month_end(as_of) else -1)
    last = F.add_months(last_complete, -horizon_months)
    out, m = [], F.add_months(first, 0)
    while m <= last:
        out.append(F.month_end(m))
        m = F.add_months(m, 1)
    return out


def _stable(wh: Warehouse, names: list[str]) -> tuple[pd.DataFrame | None, frozenset[str]]:
    """The attributes predict.churn.attributes names (ones that do not change over time), typed,
    and which of them say yes or no; None when it names none."""
    if not names:
        return None, frozenset()
    frame, kinds, personal = attributes.wide(wh)
    unknown = [n for n in names if n not in kinds]
    if unknown:
        raise PredictError(f"predict.churn.attributes names {', '.join(map(repr, unknown))}, which no source keeps; "
                           f"attributes are: {', '.join(sorted(kinds)) or '(none)'}", "churn risk")
    taken = [n for n in names if n in RESERVED]
    if taken:
        raise PredictError(f"predict.churn.attributes: {', '.join(map(repr, taken))} is the name of a feature or "
                           "column of the model's own; rename the attribute in patron.yml", "churn risk")
    mine = [n for n in names if n in personal]
    if mine:
        raise PredictError(f"{', '.join(map(repr, mine))}: personal data is never a feature", "churn risk")
    return frame[names], frozenset(n for n in names if kinds[n] == "bool")


def _snapshot(wh: Warehouse, day: date, horizon: int | None, stable: pd.DataFrame | None) -> pd.DataFrame:
    frame = F.snapshot(wh, day, horizon)
    return frame if stable is None else frame.join(stable, on="customer")


def _frames(wh: Warehouse, days: list[date], horizon: int, stable: pd.DataFrame | None = None) -> pd.DataFrame:
    frames = [_snapshot(wh, d, horizon, stable) for d in days]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _usable(frame: pd.DataFrame, stable: pd.DataFrame | None = None) -> list[str]:
    """The features with any value: a source the company does not have gives none."""
    own = [n for n in F.NAMES if frame[n].notna().any() and frame[n].nunique(dropna=True) > 1]
    return own + ([] if stable is None else attributes.learnable(frame, list(stable.columns)))


def _fit(wh: Warehouse, days: list[date], horizon: int,
         stable: pd.DataFrame | None = None) -> tuple[gbm.Model, pd.DataFrame]:
    train = _frames(wh, days, horizon, stable)
    pos = int(train["churned"].sum()) if len(train) else 0
    if pos < MIN_POSITIVES:
        raise PredictError(f"{pos} customers churned within {horizon} months of the snapshots "
                           f"{days[0]:%Y-%m} to {days[-1]:%Y-%m}; at least {MIN_POSITIVES} are needed to learn from",
                           "churn risk")
    model = gbm.fit(train, train["churned"].to_numpy(), _usable(train, stable), train["customer"].to_numpy(), F.RISK)
    return model, train


def _check_history(wh: Warehouse, days: list[date], horizon: int, need: int) -> None:
    if wh.scalar("SELECT COUNT(*) FROM subscriptions") == 0:
        raise PredictError("needs subscriptions (who paid each month) to tell who left; this warehouse has none. "
                           "For an export with a churn flag and no history, name the flag as predict.churn.outcome "
                           "in patron.yml", "churn risk")
    if len(days) < need:
        raise PredictError(f"needs {need} month-end snapshots whose {horizon}-month outcome is known; "
                           f"the billing history gives {len(days)}", "churn risk")


def backtest(wh: Warehouse, settings: ChurnSettings = DEFAULT, as_of: date | None = None) -> Backtest:
    """Learn on snapshots whose outcome was known by the latest labelled snapshot; test on it.
    With `as_of`, as it could have been done that day: nothing known after it is used."""
    h = settings.horizon_months
    days = labelled_snapshots(wh, h, F.scoring_day(wh, as_of, "churn risk"))
    _check_history(wh, days, h, need=h + 2)
    tested_on = days[-1]
    known = [d for d in days if F.add_months(d, h) <= F.add_months(tested_on, 0)][-settings.snapshots:]
    if not known:
        raise PredictError(f"no snapshot's outcome was known by {tested_on}", "churn risk")
    stable, _ = _stable(wh, settings.attributes)
    model, train = _fit(wh, known, h, stable)
    test = _snapshot(wh, tested_on, h, stable)
    p = model.probability(test)
    ev = evaluate(test["churned"].to_numpy(), p)
    contrib = model.contributions(test).abs().mean()
    importance = {k: round(float(v), 4) for k, v in contrib.sort_values(ascending=False).items()}
    return Backtest(ev, known, tested_on, len(train), int(train["churned"].sum()), model.describe(),
                    importance, test.assign(probability=p))


def score(wh: Warehouse, settings: ChurnSettings = DEFAULT, as_of: date | None = None) -> Scores:
    """Every paying customer's probability of leaving within the horizon after `as_of` (default:
    the data's last day), with its top reasons, from a model fitted on all labelled snapshots
    up to that day."""
    h = settings.horizon_months
    day = F.scoring_day(wh, as_of, "churn risk")
    days = labelled_snapshots(wh, h, day)
    _check_history(wh, days, h, need=2)
    days = days[-settings.snapshots:]
    stable, flags = _stable(wh, settings.attributes)
    model, _ = _fit(wh, days, h, stable)
    now = _snapshot(wh, day, None, stable)
    if now.empty:
        raise PredictError(f"no customer was paying on {day}", "churn risk")
    p = model.probability(now)
    reasons = top_reasons(model.contributions(now), now, typical=model.typical, flags=flags)
    frame = now.assign(probability=np.round(p, 4), arr=12 * now["mrr"], reasons=reasons)
    frame["at_stake"] = np.round(frame["arr"] * frame["probability"], 2)
    return Scores(day, frame, days, model.describe())


def band(probability: np.ndarray, settings: ChurnSettings) -> np.ndarray:
    return np.where(probability >= settings.high, "high", np.where(probability >= settings.medium, "medium", "low"))


@dataclass
class ChurnRun:
    run_id: str
    backtest: Backtest
    scores: Scores


def run(wh: Warehouse, settings: ChurnSettings = DEFAULT, as_of: date | None = None) -> ChurnRun:
    """Test the model on the latest snapshot it can be tested on, then score today and keep both.
    With predict.churn.outcome (one snapshot, a churn flag), test on a holdout of customers."""
    from patron.predict.store import save

    if settings.outcome:
        return _one_snapshot(wh, settings)
    bt = backtest(wh, settings, as_of)
    sc = score(wh, settings, as_of)
    frame = sc.frame.assign(score=sc.frame["probability"], band=band(sc.frame["probability"].to_numpy(), settings),
                            value=sc.frame["arr"])
    frame["details"] = [{"months_to_renewal": None if pd.isna(m) else int(m), "mrr": round(float(r), 2)}
                        for m, r in zip(frame["months_to_renewal"], frame["mrr"], strict=True)]
    run_id = save(wh, "churn", sc.as_of, frame, version=sc.model, settings=settings.model_dump(),
                  trained_on=sc.trained_on, tested_on=bt.tested_on, evaluation=bt.to_dict())
    return ChurnRun(run_id, bt, sc)


def _one_snapshot(wh: Warehouse, settings: ChurnSettings) -> ChurnRun:
    from patron.predict import snapshot_mode
    from patron.predict.store import save

    ev, scores, model, about = snapshot_mode.run(wh, settings)
    day = snapshot_mode.as_of(wh)
    arr = wh.df(f"SELECT customer, arr FROM ({ARR_NOW}) AS a").set_index("customer")["arr"]
    frame = scores.assign(score=scores["probability"], band=band(scores["probability"].to_numpy(), settings),
                          value=scores["customer"].map(arr))
    frame["at_stake"] = (frame["value"] * frame["probability"]).round(2)
    bt = Backtest(ev, [], None, about["holdout"]["train"], 0, model.describe(), mode="holdout")
    run_id = save(wh, "churn", day, frame, version=model.describe(), settings={**settings.model_dump(), **about},
                  evaluation=bt.to_dict())
    return ChurnRun(run_id, bt, Scores(day, frame, [], model.describe()))
