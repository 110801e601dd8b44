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
from patron.predict import gbm
from patron.predict.evaluation import Evaluation, evaluate
from patron.predict.reasons import top_reasons
from patron.relations import CURRENT_ATTRIBUTES
from patron.warehouse.as_of import data_as_of

if TYPE_CHECKING:
    from patron.warehouse import Warehouse

HOLDOUT = 0.25
SEED = 7
MODEL = "churn risk"


def frame(wh: Warehouse, outcome: str) -> tuple[pd.DataFrame, list[str], frozenset[str]]:
    """One row per customer: every non-personal attribute typed, and the outcome as 0/1; the
    features to learn from, and those of them that say yes or no."""
    long = wh.df(f"SELECT * FROM ({CURRENT_ATTRIBUTES}) AS a")
    names = sorted(long["name"].unique()) if len(long) else []
    if outcome not in names:
        raise PredictError(f"predict.churn.outcome names {outcome!r}, but no source keeps that attribute; "
                           f"attributes are: {', '.join(names) or '(none: declare them under a source)'}", MODEL)
    kinds = long.drop_duplicates("name").set_index("name")["type"].to_dict()
    if kinds[outcome] not in ("bool", "int"):
        raise PredictError(f"the outcome {outcome!r} is {kinds[outcome]}; it must say yes or no (a bool "
                           "attribute, or an int of 0 and 1)", MODEL)
    personal = set(long.loc[long["personal"].astype(bool), "name"])
    wide = {}
    for name, part in long.groupby("name"):
        if name in personal:
            continue
        part = part.set_index("customer")
        kind = kinds[name]
        wide[name] = (part["flag"].astype(float) if kind == "bool" else part["number"].astype(float)
                      if kind in ("int", "float") else part["value"].astype("string"))
    out = pd.DataFrame(wide)
    y = out.pop(outcome)
    if not set(y.dropna().unique()) <= {0.0, 1.0}:
        raise PredictError(f"the outcome {outcome!r} holds values other than 0 and 1", MODEL)
    out = out[y.notna()]
    out["churned"] = y[y.notna()].astype(int)
    # a text with a value per customer (an id, a free note) says nothing a model can learn
    features = [c for c in out.columns if c != "churned" and out[c].nunique(dropna=True) > 1
                and (pd.api.types.is_numeric_dtype(out[c]) or out[c].nunique() <= 50)]
    flags = frozenset(n for n in features if kinds[n] == "bool")
    return out.rename_axis("customer").reset_index(), features, flags


def run(wh: Warehouse, settings: ChurnSettings) -> tuple[Evaluation, pd.DataFrame, gbm.Model, dict]:
    """Test on a holdout of customers, then score every customer still with the company with a
    model learned from all of them; returns the holdout's evaluation, the scores, the model and
    what was done, in words and numbers."""
    data, features, flags = frame(wh, settings.outcome or "")
    if not features:
        raise PredictError("no attribute besides the outcome to learn from (personal ones are never used)", MODEL)
    y = data["churned"].to_numpy()
    if min(y.sum(), len(y) - y.sum()) < 20:
        raise PredictError(f"{int(y.sum())} of {len(y)} customers have the outcome; at least 20 of each kind are "
                           "needed to learn and to test", MODEL)
    train, test = train_test_split(data, test_size=HOLDOUT, random_state=SEED, stratify=y)
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
