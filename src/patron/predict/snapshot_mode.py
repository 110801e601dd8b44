"""Churn risk from one snapshot: an export with a churn flag and no history (a bank's customer
list with `Exited`, a telco's with `Churn`). There is no later snapshot to test on, so the model
is tested on customers it never saw (a stratified 25% holdout), and the result says so.

Features are the customer attributes the sources keep (`attributes:` in patron.yml), never a
personal one and never the outcome itself.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from patron.config import ChurnSettings
from patron.errors import PredictError
from patron.predict import attributes, gbm
from patron.predict.churn import RESERVED
from patron.predict.evaluation import Evaluation, evaluate
from patron.predict.reasons import top_reasons
from patron.warehouse.as_of import data_as_of

if TYPE_CHECKING:
    from patron.warehouse import Warehouse

HOLDOUT = 0.25
SEED = 7
MODEL = "churn risk"


def frame(wh: Warehouse, outcome: str) -> tuple[pd.DataFrame, list[str], frozenset[str]]:
    """One row per customer: every non-personal attribute typed, and the outcome as 0/1; the
    features to learn from, and those of them that say yes or no."""
    out, kinds, personal = attributes.wide(wh)
    names = sorted(kinds)
    if outcome not in names:
        raise PredictError(f"predict.churn.outcome names {outcome!r}, but no source keeps that attribute; "
                           f"attributes are: {', '.join(names) or '(none: declare them under a source)'}", MODEL)
    if outcome in personal:
        raise PredictError(f"the outcome {outcome!r} is personal data; name an attribute that is not", MODEL)
    if kinds[outcome] not in ("bool", "int"):
        raise PredictError(f"the outcome {outcome!r} is {kinds[outcome]}; it must say yes or no (a bool "
                           "attribute, or an int of 0 and 1)", MODEL)
    taken = sorted(set(out.columns) & RESERVED)
    if taken:
        raise PredictError(f"{', '.join(map(repr, taken))}: the name of a column of the model's own; rename the "
                           "attribute in patron.yml", MODEL)
    y = out.pop(outcome)
    if not set(y.dropna().unique()) <= {0.0, 1.0}:
        raise PredictError(f"the outcome {outcome!r} holds values other than 0 and 1", MODEL)
    out = out[y.notna()]
    out["churned"] = y[y.notna()].astype(int)
    features = attributes.learnable(out, [c for c in out.columns if c != "churned"])
    flags = frozenset(n for n in features if kinds[n] == "bool")
    return out.reset_index(), features, flags


def run(wh: Warehouse, settings: ChurnSettings) -> tuple[Evaluation, pd.DataFrame, gbm.Model, dict]:
    """Test on a holdout of customers, then score every customer still with the company with a
    model learned from all of them; returns the holdout's evaluation, the scores, the model and
    what was done, in words and numbers."""
    data, features, flags = frame(wh, settings.outcome or "")
    if not features:
        raise PredictError("no feature varies between the customers of the snapshot: no attribute besides the "
                           "outcome has more than one value (personal ones are never used)", MODEL)
    y = data["churned"].to_numpy()
    if min(y.sum(), len(y) - y.sum()) < 20:
        raise PredictError(f"{int(y.sum())} of {len(y)} customers have the outcome; at least 20 of each kind are "
                           "needed to learn and to test", MODEL)
    train, test = train_test_split(data, test_size=HOLDOUT, random_state=SEED, stratify=y)
    if not attributes.learnable(train, features):
        raise PredictError("no feature varies between the customers of the snapshot learned from (every attribute "
                           "has the same value, or none, for them), so there is nothing to learn who leaves from",
                           MODEL)
    model = gbm.fit(train, train["churned"].to_numpy(), features, train["customer"].to_numpy())
    ev = evaluate(test["churned"].to_numpy(), model.probability(test))
    final = gbm.fit(data, y, features, data["customer"].to_numpy())
    stay = data[data["churned"] == 0].reset_index(drop=True)
    p = final.probability(stay)
    scores = stay.assign(probability=np.round(p, 4),
                         reasons=top_reasons(final.contributions(stay), stay, typical=final.typical,
                                             flags=flags))
    about = {"mode": "one snapshot", "outcome": settings.outcome, "features": features,
             "holdout": {"share": HOLDOUT, "seed": SEED, "train": len(train), "test": len(test)},
             "scored": "the customers the outcome says are still customers"}
    return ev, scores, final, about


def as_of(wh: Warehouse) -> date:
    """The data's last event, or for an export of customers alone the day it was loaded."""
    return data_as_of(wh) or wh.scalar("SELECT CAST(MAX(loaded_at) AS DATE) FROM customer_attributes") or date.today()
