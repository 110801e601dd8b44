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
IMPORTANCE_ROWS = 20_000  # accounts of the test snapshot whose contributions give the features' importance
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
    fitted: gbm.Model | None = field(default=None, repr=False)  # the model tested

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
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise PredictError(f"predict.churn.attributes names {', '.join(map(repr, twice))} more than once; "
                           "name each attribute once in patron.yml", "churn risk")
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


class Snapshots:
    """The month ends one run reads, each read once: the backtest and today's model share all
    but a few. Beyond `training_rows` customer-snapshots, the models learn from a random sample
    of customers (every snapshot of each, so a customer's rows stay in one fold)."""

    def __init__(self, wh: Warehouse, settings: ChurnSettings = DEFAULT, as_of: date | None = None):
        h = self.horizon = settings.horizon_months
        self.wh = wh
        self.day = F.scoring_day(wh, as_of, "churn risk")
        self.labelled = labelled_snapshots(wh, h, self.day)
        self.tested_on = self.labelled[-1] if self.labelled else None
        # a snapshot learned from in the backtest had its outcome known by the day it is tested on
        self.known = [d for d in self.labelled if F.add_months(d, h) <= F.add_months(self.tested_on, 0)
                      ][-settings.snapshots:] if self.tested_on else []
        self.recent = self.labelled[-settings.snapshots:]
        self.stable, self.flags = _stable(wh, settings.attributes)
        self.budget = settings.training_rows
        self._sample: pd.DataFrame | None = None
        self._sampled = self._fetched = False
        self._train: dict[date, pd.DataFrame] = {}
        self._full: dict[tuple[date, int | None], pd.DataFrame] = {}

    def _join(self, frame: pd.DataFrame) -> pd.DataFrame:
        return frame if self.stable is None else frame.join(self.stable, on="customer")

    def sample(self) -> pd.DataFrame | None:
        """The customers learned from when every snapshot's would exceed the budget, else None."""
        if not self._sampled:
            self._sampled = True
            days = sorted(set(self.known) | set(self.recent))
            if days:
                self._sample = _sample(self.wh, days, self.budget)
        return self._sample

    def _fetch(self) -> None:
        """Every snapshot the run reads, in one query: the month ends learned from (the sample's
        customers), the test month end and the day scored (every customer)."""
        if self._fetched:
            return
        self._fetched = True
        learn = sorted(set(self.known) | set(self.recent))
        whole = sorted({d for d in (self.tested_on, self.day) if d is not None})
        if not learn and not whole:
            return
        sample = self.sample()
        if sample is None:
            frame = F.snapshot(self.wh, learn + whole, self.horizon)
        else:
            with self.wh.frame("churn_training_sample", sample) as name:
                frame = F.snapshot(self.wh, learn, self.horizon, customers=name, whole=whole)
        by_day = {pd.Timestamp(d).date(): part.reset_index(drop=True)
                  for d, part in frame.groupby("snapshot", sort=False)}
        for d in sorted(set(learn) | set(whole)):
            part = self._join(by_day.get(d, frame.iloc[:0]))
            if d in whole:
                self._full[(d, self.horizon)] = part
            if d in learn:
                self._train[d] = part if sample is None or d not in whole else \
                    part[part["customer"].isin(sample["customer"])].reset_index(drop=True)
        if self.day is not None and self.day not in self.labelled:
            # the day scored: its outcome is in the future, so it has none
            self._full[(self.day, None)] = self._full.pop((self.day, self.horizon)).drop(columns="churned")

    def training(self, days: list[date]) -> pd.DataFrame:
        """The labelled snapshots of `days` for the sample (all customers under the budget)."""
        self._fetch()
        todo = [d for d in days if d not in self._train]
        if todo:
            sample = self.sample()
            if sample is None:
                frame = F.snapshot(self.wh, todo, self.horizon)
            else:
                with self.wh.frame("churn_training_sample", sample) as name:
                    frame = F.snapshot(self.wh, todo, self.horizon, customers=name)
            by_day = {pd.Timestamp(d).date(): part for d, part in frame.groupby("snapshot", sort=False)}
            for d in todo:
                self._train[d] = self._join(by_day.get(d, frame.iloc[:0]).reset_index(drop=True))
        parts = [self._train[d] for d in days]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

    def full(self, day: date, horizon: int | None) -> pd.DataFrame:
        """Every customer paying on `day`, with its outcome when `horizon` is given."""
        self._fetch()
        if (day, horizon) not in self._full:
            self._full[(day, horizon)] = self._join(F.snapshot(self.wh, day, horizon))
        return self._full[(day, horizon)]


def _sample(wh: Warehouse, days: list[date], budget: int) -> pd.DataFrame | None:
    """A reproducible random sample of the customers who ever paid, of about `budget` snapshots
    at these days; None when all of them fit. The count is of paying subscriptions, not
    customers (a customer paying two at once counts twice): two cheap queries, where counting
    each customer's snapshots took seconds more at a million customers."""
    days_sql = ", ".join(f"(DATE '{d.isoformat()}')" for d in days)
    rows = wh.scalar(f"SELECT COUNT(*) FROM subscriptions AS x JOIN (VALUES {days_sql}) AS s(snapshot) "
                     "ON x.start_date <= s.snapshot AND (x.end_date IS NULL OR x.end_date > s.snapshot) "
                     "AND x.mrr > 0") or 0
    if rows <= budget:
        return None
    who = wh.df("SELECT DISTINCT COALESCE(customer_id, customer_ref) AS customer FROM subscriptions WHERE mrr > 0 "
                "ORDER BY customer")
    return choose(who, rows, budget)


def choose(customers: pd.DataFrame, rows: int, budget: int, seed: int = 7) -> pd.DataFrame | None:
    """From `customers` (in their sort order), each kept with the same chance, so that of `rows`
    snapshots about `budget` are kept; None when all fit."""
    if rows <= budget:
        return None
    keep = np.random.default_rng(seed).random(len(customers)) < budget / rows
    return customers.loc[keep, ["customer"]].reset_index(drop=True)


def _usable(frame: pd.DataFrame, stable: pd.DataFrame | None = None) -> list[str]:
    """The features with any value: a source the company does not have gives none."""
    own = [n for n in F.NAMES if frame[n].notna().any() and frame[n].nunique(dropna=True) > 1]
    return own + ([] if stable is None else attributes.learnable(frame, list(stable.columns)))


def _fit(snaps: Snapshots, days: list[date]) -> tuple[gbm.Model, pd.DataFrame]:
    h = snaps.horizon
    train = snaps.training(days)
    pos = int(train["churned"].sum()) if len(train) else 0
    if pos < MIN_POSITIVES:
        raise PredictError(f"{pos} customers churned within {h} months of the snapshots "
                           f"{days[0]:%Y-%m} to {days[-1]:%Y-%m}; at least {MIN_POSITIVES} are needed to learn from",
                           "churn risk")
    usable = _usable(train, snaps.stable)
    if not usable:
        span = f"snapshot {days[0]:%Y-%m}" if len(days) == 1 else f"snapshots {days[0]:%Y-%m} to {days[-1]:%Y-%m}"
        raise PredictError(f"no feature varies between the customers of the {span} (every one has the same "
                           "value, or none), so there is nothing to learn who leaves from; load usage, tickets "
                           "or surveys, or name attributes under predict.churn.attributes", "churn risk")
    model = gbm.fit(train, train["churned"].to_numpy(), usable, train["customer"].to_numpy(), F.RISK)
    return model, train


def _check_history(wh: Warehouse, days: list[date], horizon: int, need: int) -> None:
    if wh.scalar("SELECT COUNT(*) FROM subscriptions") == 0:
        raise PredictError("needs subscriptions (who paid each month) to tell who left; this warehouse has none. "
                           "For an export with a churn flag and no history, name the flag as predict.churn.outcome "
                           "in patron.yml", "churn risk")
    if len(days) < need:
        raise PredictError(f"needs {need} month-end snapshots whose {horizon}-month outcome is known; "
                           f"the billing history gives {len(days)}", "churn risk")


def backtest(wh: Warehouse, settings: ChurnSettings = DEFAULT, as_of: date | None = None,
             snaps: Snapshots | None = None) -> Backtest:
    """Learn on snapshots whose outcome was known by the latest labelled snapshot; test on it.
    With `as_of`, as it could have been done that day: nothing known after it is used."""
    snaps = snaps or Snapshots(wh, settings, as_of)
    h = settings.horizon_months
    _check_history(wh, snaps.labelled, h, need=h + 2)
    if not snaps.known:
        raise PredictError(f"no snapshot's outcome was known by {snaps.tested_on}", "churn risk")
    model, train = _fit(snaps, snaps.known)
    test = snaps.full(snaps.tested_on, h)
    if test.empty:
        raise PredictError(f"no customer was paying on the test day {snaps.tested_on} (the last month end whose "
                           f"{h}-month outcome is known), so the model cannot be tested on it", "churn risk")
    p = model.probability(test)
    ev = evaluate(test["churned"].to_numpy(), p)
    # importance is a mean: 20,000 accounts tell it as well as a million, at a fiftieth of the cost
    few = test.sample(n=IMPORTANCE_ROWS, random_state=0) if len(test) > IMPORTANCE_ROWS else test
    contrib = model.contributions(few).abs().mean()
    importance = {k: round(float(v), 4) for k, v in contrib.sort_values(ascending=False).items()}
    return Backtest(ev, snaps.known, snaps.tested_on, len(train), int(train["churned"].sum()), model.describe(),
                    importance, test.assign(probability=p), fitted=model)


def score(wh: Warehouse, settings: ChurnSettings = DEFAULT, as_of: date | None = None,
          snaps: Snapshots | None = None) -> Scores:
    """Every paying customer's probability of leaving within the horizon after `as_of` (default:
    the data's last day), with its top reasons, from a model fitted on all labelled snapshots
    up to that day."""
    snaps = snaps or Snapshots(wh, settings, as_of)
    _check_history(wh, snaps.labelled, settings.horizon_months, need=2)
    model, _ = _fit(snaps, snaps.recent)
    now = snaps.full(snaps.day, None)
    if now.empty:
        raise PredictError(f"no customer was paying on {snaps.day}", "churn risk")
    p = model.probability(now)
    reasons = top_reasons(model.contributions(now), now, typical=model.typical, flags=snaps.flags)
    frame = now.assign(probability=np.round(p, 4), arr=12 * now["mrr"], reasons=reasons)
    frame["at_stake"] = np.round(frame["arr"] * frame["probability"], 2)
    return Scores(snaps.day, frame, snaps.recent, model.describe())


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
    snaps = Snapshots(wh, settings, as_of)
    bt = backtest(wh, settings, as_of, snaps)
    sc = score(wh, settings, as_of, snaps)
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
