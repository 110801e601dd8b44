"""Churn risk from one snapshot on a real bank's customer list (10,000 customers, `Exited`):
patron's holdout AUC next to a plain logistic regression and a LightGBM fitted outside patron on
the same customers, split the same way (a stratified quarter held out, seed 7).

    python bench/bank_churn.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import lightgbm as lgb
import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from patron.predict import churn  # noqa: E402
from patron.project import Project  # noqa: E402
from test_snapshot_mode import bank_project  # noqa: E402

DATASETS = Path(os.environ.get("PATRON_DATASETS", Path(__file__).resolve().parents[2] / "shared" / "datasets"))


def main() -> None:
    csv = DATASETS / "bank_churn" / "bank_churn_modelling.csv"
    if not csv.exists():
        sys.exit(f"bank_churn not found at {csv} (set PATRON_DATASETS)")
    with tempfile.TemporaryDirectory() as tmp:
        yml = bank_project(Path(tmp), csv)
        with Project.open(yml, Path(tmp) / "w.duckdb", require_config=True) as project:
            project.ingest()
            project.identity.resolve()
            t0 = time.perf_counter()
            run = churn.run(project.warehouse, project.config.predict.churn)
            seconds = time.perf_counter() - t0
    ev = run.backtest.evaluation
    df = pd.read_csv(csv)
    df = df.assign(key=df["CustomerId"].astype(str)).sort_values("key").reset_index(drop=True)
    y = df["Exited"].to_numpy()
    numeric = ["CreditScore", "Age", "Tenure", "Balance", "NumOfProducts", "HasCrCard", "IsActiveMember",
               "EstimatedSalary"]
    train, test = train_test_split(df, test_size=0.25, random_state=7, stratify=y)
    lr = make_pipeline(make_column_transformer((StandardScaler(), numeric),
                                               (OneHotEncoder(handle_unknown="ignore"), ["Geography", "Gender"])),
                       LogisticRegression(max_iter=1000))
    lr.fit(train, train["Exited"])
    auc_lr = roc_auc_score(test["Exited"], lr.predict_proba(test)[:, 1])
    x = df[numeric + ["Geography", "Gender"]].astype({"Geography": "category", "Gender": "category"})
    gbm = lgb.LGBMClassifier(n_estimators=200, learning_rate=0.05, num_leaves=15, verbose=-1, random_state=7)
    gbm.fit(x.loc[train.index], train["Exited"])
    auc_gbm = roc_auc_score(test["Exited"], gbm.predict_proba(x.loc[test.index])[:, 1])
    print(f"bank_churn: {len(df):,} customers, {y.mean():.1%} exited; holdout {len(test):,} customers")
    print(f"patron (one-snapshot mode)  AUC {ev.auc.value:.3f} (95% {ev.auc.ci_low:.3f}-{ev.auc.ci_high:.3f}), "
          f"PR-AUC {ev.pr_auc.value:.3f}, top-decile lift {ev.top_decile_lift.value:.2f}, Brier {ev.brier.value:.4f}"
          f"  [{seconds:.1f} s: holdout fit, final fit, scoring, stored]")
    print(f"logistic regression outside AUC {auc_lr:.3f}")
    print(f"LightGBM outside            AUC {auc_gbm:.3f}")


if __name__ == "__main__":
    main()
