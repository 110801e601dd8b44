"""The demo company: deterministic, loads cleanly, and its planted truth is really there."""

from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from patron.demo import generate
from patron.warehouse import open_warehouse


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_same_company_other_seed_other_company(tmp_path):
    day = date(2026, 3, 31)
    a = generate(300, seed=5, out=tmp_path / "a", as_of=day, usage_days=10)
    generate(300, seed=5, out=tmp_path / "b", as_of=day, usage_days=10)
    generate(300, seed=6, out=tmp_path / "c", as_of=day, usage_days=10)
    da, db, dc = (_digest(tmp_path / x) for x in "abc")
    assert da == db
    assert da.keys() == dc.keys() and da != dc
    assert a.files["exports/crm/accounts.csv"] >= 300


def test_refuses_to_overwrite_an_earlier_company(tmp_path):
    generate(50, seed=1, out=tmp_path / "x", as_of=date(2026, 1, 31), usage_days=5)
    with pytest.raises(FileExistsError, match="not empty"):
        generate(50, seed=1, out=tmp_path / "x", as_of=date(2026, 1, 31), usage_days=5)


def test_the_demo_loads_and_every_count_adds_up(demo_loaded):
    _, db, result = demo_loaded
    assert len(result.files) == 16  # the success tool's earlier plays are imported, not loaded
    for f in result.files:
        assert f.read == f.loaded + f.quarantined + f.already_loaded, f.file
        assert f.loaded > 0, f.file
    with open_warehouse(db) as wh:
        kinds = set(wh.rows("SELECT DISTINCT source, field, reason FROM quarantine"))
    # only the bad rows the generator planted on purpose, as real exports have them
    assert kinds == {("crm_contacts", "email", "not an email address"),
                     ("survey_responses", "score", "nps score must be 0-10")}


def test_identity_truth_covers_every_customer_record(demo_loaded, demo_dir):
    _, db, _ = demo_loaded
    ids = pd.read_csv(demo_dir / "truth" / "identities.csv", dtype=str)
    planted = json.loads((demo_dir / "truth" / "planted.json").read_text())
    with open_warehouse(db) as wh:
        records = wh.df("SELECT source, customer_ref FROM customers")
    merged = records.merge(ids, on=["source", "customer_ref"], how="left")
    assert merged["true_customer"].notna().all()
    assert len(ids) == len(records)
    assert ids["true_customer"].nunique() == 1500
    per_source = ids.groupby(["source", "true_customer"]).size()
    assert int((per_source - 1).sum()) == planted["duplicates"] > 0


def test_churn_truth_matches_billing(demo_loaded, demo_dir):
    _, db, _ = demo_loaded
    churn = pd.read_csv(demo_dir / "truth" / "churn.csv", dtype=str, keep_default_na=False)
    ids = pd.read_csv(demo_dir / "truth" / "identities.csv", dtype=str)
    billing = ids[ids.source == "billing_customers"]
    with open_warehouse(db) as wh:
        active = set(wh.df("SELECT DISTINCT customer_ref FROM subscriptions WHERE end_date IS NULL")["customer_ref"])
    billing = billing.assign(active=billing.customer_ref.isin(active)).groupby("true_customer")["active"].any()
    churn = churn.set_index("true_customer")
    left = churn.churned_on != ""
    assert set(churn.loc[left, "cause"]) == {"low_usage", "support_pain", "price"}
    assert not billing.reindex(churn.index[left]).fillna(False).any()  # churned: nothing active
    assert left.mean() > 0.05


def test_planted_spike_stands_out_on_its_channel(demo_loaded, demo_dir):
    planted = json.loads((demo_dir / "truth" / "planted.json").read_text())["spike"]
    truth = pd.read_csv(demo_dir / "truth" / "comments.csv", dtype=str)
    social = pd.read_csv(demo_dir / "exports" / "feedback" / "social_mentions.csv", dtype=str)
    social = social.merge(truth[truth.source == "feedback_social"], left_on="post_id", right_on="source_key")
    social["day"] = social.posted_at.str[:10]
    login = social[social.theme == planted["theme"]].groupby("day").size()
    days = pd.date_range(end=social.day.max(), periods=400).strftime("%Y-%m-%d")
    login = login.reindex(days, fill_value=0)
    inside = login[(login.index >= planted["first_day"]) & (login.index <= planted["last_day"])]
    outside = login[(login.index < planted["first_day"]) | (login.index > planted["last_day"])]
    assert len(inside) == 6
    assert inside.mean() > 5 * max(outside.mean(), 0.2)
    assert planted["channel"] == "social"


def test_comment_truth_follows_the_scores(demo_dir):
    truth = pd.read_csv(demo_dir / "truth" / "comments.csv", dtype=str)
    resp = pd.read_csv(demo_dir / "exports" / "surveys" / "responses.csv", dtype=str)
    joined = resp.merge(truth, left_on="Response ID", right_on="source_key")
    nps = joined[(joined.Survey == "NPS") & (joined.Score != "11")]
    score = nps.Score.astype(int)
    assert (nps.sentiment[score <= 6] == "negative").all()
    assert (nps.sentiment[score >= 9] == "positive").all()
    # varied wording: many distinct texts per (theme, sentiment)
    assert joined.groupby(["theme", "sentiment"]).Comment.nunique().median() > 20
    assert set(truth.theme) >= {"login", "billing", "support", "onboarding"}


def test_the_planted_driver_moves_nps_most(demo_loaded, demo_dir):
    _, db, _ = demo_loaded
    with open_warehouse(db) as wh:
        df = wh.df(
            "WITH rel AS (SELECT customer_ref, avg(score) AS nps FROM responses WHERE survey = 'nps' "
            "AND touchpoint IS NULL AND customer_ref IS NOT NULL GROUP BY 1), "
            "tp AS (SELECT customer_ref, touchpoint, avg(score) AS csat FROM responses WHERE survey = 'csat' "
            "AND customer_ref IS NOT NULL GROUP BY 1, 2) "
            "SELECT touchpoint, corr(nps, csat) AS r, count(*) AS n FROM rel JOIN tp USING (customer_ref) GROUP BY 1"
        ).set_index("touchpoint")
    planted = json.loads((demo_dir / "truth" / "planted.json").read_text())["driver"]["touchpoint"]
    assert df.r.idxmax() == planted
    assert df.r[planted] > df.r.drop(planted).max() + 0.1


def test_hidden_health_drives_churn(demo_dir):
    health = pd.read_csv(demo_dir / "truth" / "health.csv")
    churn = pd.read_csv(demo_dir / "truth" / "churn.csv", keep_default_na=False)
    mean_health = health.groupby("true_customer").health.mean()
    gone = churn.set_index("true_customer").churned_on != ""
    assert mean_health[gone[gone].index].mean() < mean_health[gone[~gone].index].mean() - 0.05
    assert health.health.between(0, 1).all()
    assert np.isclose(len(health) / 1500, 24)


def test_usage_and_dates_end_at_as_of(demo_loaded):
    _, db, _ = demo_loaded
    with open_warehouse(db) as wh:
        last = wh.scalar("SELECT max(day) FROM usage")
        first = wh.scalar("SELECT min(day) FROM usage")
        latest_ticket = wh.scalar("SELECT max(opened_at) FROM tickets")
    assert last == date(2026, 6, 30) and first == last - timedelta(days=29)
    assert latest_ticket.date() <= date(2026, 6, 30)
