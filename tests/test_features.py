"""The churn snapshot features read many days in one query: the same rows as one day at a time,
the same payers as the shared revenue months on a month end, and on any other day only those
paying that day. A training sample keeps its customers and leaves the whole days whole."""

from __future__ import annotations

import shutil
from datetime import date

import pandas as pd
import pytest

from patron.config import ChurnSettings
from patron.predict import churn
from patron.predict import features as F
from patron.relations import CUSTOMER_MONTHS
from patron.warehouse import open_warehouse

DAYS = [date(2025, 9, 30), date(2026, 1, 31), date(2026, 3, 31)]


@pytest.fixture(scope="module")
def wh(year_of_usage):
    with open_warehouse(year_of_usage[1]) as w:
        yield w


def _day(frame: pd.DataFrame, d: date) -> pd.DataFrame:
    return frame[frame["snapshot"] == pd.Timestamp(d)].drop(columns="snapshot").reset_index(drop=True)


def test_many_days_in_one_query_give_each_day_s_own_rows(wh):
    together = F.snapshot(wh, DAYS, 3)
    for d in DAYS:
        alone = F.snapshot(wh, d, 3).drop(columns="snapshot")
        pd.testing.assert_frame_equal(_day(together, d), alone)
        assert alone["events_30d"].notna().all()  # a year of usage: the usage features are there


def test_on_a_month_end_the_payers_are_the_shared_revenue_months(wh):
    for d in DAYS:
        paying = wh.df(f"SELECT customer, mrr FROM ({CUSTOMER_MONTHS}) AS c WHERE month = DATE '{F.add_months(d, 0)}' "
                       "ORDER BY customer")
        snap = F.snapshot(wh, d)
        assert snap["customer"].tolist() == paying["customer"].tolist()
        assert (snap["mrr"].to_numpy() == paying["mrr"].astype(float).to_numpy()).all()


def test_mid_month_only_those_paying_that_day_are_scored(year_of_usage, tmp_path):
    db = tmp_path / "w.duckdb"
    shutil.copy(year_of_usage[1], db)
    day = date(2026, 6, 15)
    with open_warehouse(db) as w:
        before = F.snapshot(w, day)
        leaving, staying = before["customer"].iloc[0], before["customer"].iloc[1]
        # one stops paying on the 20th (known, but after the day); another starts on the 25th
        w.execute("UPDATE subscriptions SET end_date = DATE '2026-06-20' "
                  "WHERE COALESCE(customer_id, customer_ref) = ? AND end_date IS NULL", [leaving])
        w.execute("INSERT INTO subscriptions (subscription_id, customer_ref, customer_id, mrr, start_date) "
                  "VALUES ('late-starter', 'late', 'late', 500, DATE '2026-06-25')")
        after = F.snapshot(w, day)
        assert leaving in set(after["customer"]), "paying on the 15th: scored, though it stops on the 20th"
        assert staying in set(after["customer"])
        assert "late" not in set(after["customer"]), "it starts on the 25th: nothing to score on the 15th"
        assert "late" in set(F.snapshot(w, date(2026, 6, 30))["customer"])
        assert leaving not in set(F.snapshot(w, date(2026, 6, 30))["customer"])


def test_a_training_sample_keeps_its_customers_and_whole_days_stay_whole(wh):
    every = F.snapshot(wh, DAYS, 3)
    sample = every[["customer"]].drop_duplicates().iloc[::4].reset_index(drop=True)
    with wh.frame("sample_of_customers", sample) as name:
        kept = F.snapshot(wh, DAYS, 3, customers=name, whole=[DAYS[-1]])
    for d in DAYS[:-1]:
        mine = _day(every, d)
        mine = mine[mine["customer"].isin(sample["customer"])].reset_index(drop=True)
        pd.testing.assert_frame_equal(_day(kept, d), mine)
    pd.testing.assert_frame_equal(_day(kept, DAYS[-1]), _day(every, DAYS[-1]))


def test_past_the_row_budget_models_learn_from_a_sample_of_whole_customers(year_of_usage):
    with open_warehouse(year_of_usage[1]) as w:
        everyone = churn.Snapshots(w, ChurnSettings())
        assert everyone.sample() is None
        budget = churn.Snapshots(w, ChurnSettings(training_rows=5000))
        sample = budget.sample()
        train = budget.training(budget.known)
        full = everyone.training(everyone.known)
        assert set(train["customer"]) <= set(sample["customer"])
        assert 0.5 * 5000 < len(train) < 1.5 * 5000 < len(full)
        # a sampled customer keeps every snapshot it has
        mine = full[full["customer"].isin(sample["customer"])]
        assert len(mine) == len(train)
        # the test month end and the day scored keep every customer
        assert len(budget.full(budget.tested_on, 3)) == len(everyone.full(everyone.tested_on, 3))
        assert len(budget.full(budget.day, None)) == len(everyone.full(everyone.day, None))
        assert "churned" not in budget.full(budget.day, None).columns
        bt = churn.backtest(w, ChurnSettings(training_rows=5000), snaps=budget)
        assert bt.n_train == len(train) and bt.evaluation.auc.value > 0.7
