"""The predictive stage against the demo company's planted truth: the churn backtest, how often
the planted churners' reasons name their planted cause, the health score against the hidden
health, and the planted NPS driver.

    python bench/predict_quality.py [--customers 2000] [--seed 3]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import date
from pathlib import Path

import pandas as pd
from scipy.stats import spearmanr

from patron.config import ChurnSettings, HealthSettings
from patron.demo import generate
from patron.predict import churn, health
from patron.predict.drivers import analyse
from patron.predict.reasons import top_reasons
from patron.project import Project
from patron.warehouse import open_warehouse

CAUSE_GROUP = {"low_usage": "usage", "support_pain": "support", "price": "billing"}


def true_ids(out: Path, wh) -> pd.Series:
    ids = pd.read_csv(out / "truth" / "identities.csv", dtype=str)
    both = wh.df("SELECT source, customer_ref, customer_id FROM customers").merge(ids, on=["source", "customer_ref"])
    return both.groupby("customer_id")["true_customer"].agg(lambda s: s.mode()[0])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "company"
        generate(args.customers, seed=args.seed, out=out, as_of=date(2026, 6, 30), usage_days=365)
        with Project.open(out / "patron.yml", Path(tmp) / "w.duckdb", require_config=True) as project:
            project.run(stages=("ingest", "identity", "enrich", "themes"))
        with open_warehouse(Path(tmp) / "w.duckdb") as wh:
            t0 = time.perf_counter()
            bt = churn.backtest(wh, ChurnSettings())
            t_bt = time.perf_counter() - t0
            ev = bt.evaluation
            print(f"demo: {args.customers:,} customers, seed {args.seed}, as of 2026-06-30, a year of usage")
            print(f"churn backtest ({t_bt:.1f} s): trained on {len(bt.trained_on)} month ends "
                  f"{bt.trained_on[0]:%Y-%m}..{bt.trained_on[-1]:%Y-%m} ({bt.n_train:,} rows, {bt.positives_train} "
                  f"churned), tested on {bt.tested_on} (n {ev.n:,}, {ev.positives} churned)")
            for k in ("auc", "pr_auc", "top_decile_lift", "brier"):
                e = getattr(ev, k)
                print(f"  {k:16} {e.value:.3f} (95% {e.ci_low:.3f}-{e.ci_high:.3f})")
            model = bt.fitted
            test = bt.test
            reasons = top_reasons(model.contributions(test), test, typical=model.typical)
            ids = true_ids(out, wh)
            truth = pd.read_csv(out / "truth" / "churn.csv", dtype=str, keep_default_na=False)
            cause = test["customer"].map(ids).map(truth.set_index("true_customer")["cause"])
            print("planted churners of the test snapshot whose reasons name their planted cause:")
            for planted, group in CAUSE_GROUP.items():
                rows = [r for r, c, ch in zip(reasons, cause, test["churned"], strict=True) if ch == 1 and c == planted]
                first = sum(bool(r) and r[0]["group"] == group for r in rows)
                three = sum(any(x["group"] == group for x in r) for r in rows)
                print(f"  {planted:13} n {len(rows):3}: top reason {first / max(len(rows), 1):.0%}, "
                      f"in the top three {three / max(len(rows), 1):.0%}")
            run = health.run(wh, HealthSettings())
            hidden = pd.read_csv(out / "truth" / "health.csv")
            now = run.scores[run.scores["month"] == date(2026, 6, 30)]
            planted = now["customer"].map(ids).map(hidden[hidden["month"] == "2026-06-01"].set_index(
                "true_customer")["health"])
            ok = planted.notna()
            rho = spearmanr(now["score"][ok], planted[ok]).statistic
            a = run.check.evaluation.auc
            print(f"health: Spearman with the hidden health {rho:.3f} (n {ok.sum():,}); the scores of "
                  f"{run.check.scored_on} ranked who left since with AUC {a.value:.3f} "
                  f"({a.ci_low:.3f}-{a.ci_high:.3f})")
            proposal = health.learn(wh, HealthSettings())
            pa = proposal.check.evaluation.auc
            print(f"health --learn: AUC {pa.value:.3f} ({pa.ci_low:.3f}-{pa.ci_high:.3f}), weights {proposal.weights}")
            d = analyse(wh, "nps", "touchpoints")
            want = json.loads((out / "truth" / "planted.json").read_text())["driver"]["touchpoint"]
            top, second = d.overall.drivers[0], d.overall.drivers[1]
            print(f"NPS drivers (n {d.overall.n:,}, R² {d.overall.r2:.3f}): first {top.predictor} {top.percent:.0f}% "
                  f"({top.percent_low:.0f}-{top.percent_high:.0f}%), planted {want}, clear of the next: "
                  f"{top.clear_of_next}; second {second.predictor} {second.percent:.0f}% "
                  f"({second.percent_low:.0f}-{second.percent_high:.0f}%); drivers: "
                  f"{[x.predictor for x in d.overall.drivers if x.is_driver]}")


if __name__ == "__main__":
    main()
