"""Churn risk on the demo company: a time-based backtest that finds the planted churners, reasons
that name their planted causes, and features that never see past the snapshot day."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from conftest import PATRON, true_customers
from patron.config import ChurnSettings
from patron.errors import PredictError
from patron.predict import churn
from patron.predict import features as F
from patron.warehouse import open_warehouse

CAUSE_GROUP = {"low_usage": "usage", "support_pain": "support", "price": "billing"}


@pytest.fixture(scope="module")
def company(year_of_usage) -> tuple[Path, Path]:
    return year_of_usage


@pytest.fixture(scope="module")
def backtest(company) -> churn.Backtest:
    with open_warehouse(company[1]) as wh:
        return churn.backtest(wh, ChurnSettings())


def test_the_backtest_learns_only_from_snapshots_whose_outcome_was_known_by_the_test_day(backtest):
    h = ChurnSettings().horizon_months
    assert backtest.trained_on and all(F.add_months(d, h) <= F.add_months(backtest.tested_on, 0)
                                       for d in backtest.trained_on)
    assert backtest.tested_on == date(2026, 3, 31)  # the last month end whose 3 months are in the data


def test_the_backtest_ranks_the_planted_churners_well_above_chance(backtest):
    ev = backtest.evaluation
    assert ev.n > 1000 and ev.positives >= 20
    assert ev.auc.ci_low > 0.7, ev.auc
    assert ev.top_decile_lift.value > 2
    assert 0 < ev.brier.value < ev.base_rate  # better than saying nobody leaves
    assert sum(c["n"] for c in ev.calibration) == ev.n


def test_the_test_snapshot_churners_are_the_planted_ones(company, backtest):
    out, db = company
    truth = pd.read_csv(out / "truth" / "churn.csv", dtype=str, keep_default_na=False).set_index("true_customer")
    true = backtest.test["customer"].map(true_customers(out, db))
    churned_on = true.map(truth["churned_on"])
    planted = churned_on.gt("2026-03-31") & churned_on.le("2026-06-30")
    flagged = backtest.test["churned"].eq(1)
    # every planted churner of the window is a churner to patron; a few more leave a subscription
    # and come back later than the window, or lose a duplicate's billing
    assert (flagged & planted).sum() >= 0.9 * planted.sum()


def test_the_top_reasons_name_the_planted_cause_for_most_churners(company, backtest):
    out, db = company
    model = backtest.fitted
    test = backtest.test
    reasons = churn.top_reasons(model.contributions(test), test, typical=model.typical)
    cause = test["customer"].map(true_customers(out, db)).map(
        pd.read_csv(out / "truth" / "churn.csv", dtype=str, keep_default_na=False).set_index("true_customer")["cause"])
    churned = test["churned"].eq(1).to_numpy()
    for planted, group in CAUSE_GROUP.items():
        rows = [r for r, c, ch in zip(reasons, cause, churned, strict=True) if ch and c == planted]
        assert len(rows) >= 5, f"too few {planted} churners in the test snapshot to tell"
        named = sum(any(x["group"] == group for x in r) for r in rows) / len(rows)
        assert named > 0.5, f"{planted}: {named:.0%} of its churners have a {group} reason"


def test_no_feature_sees_anything_after_the_snapshot_day(company, tmp_path):
    """Rows planted after the snapshot day, in every table a feature reads, change no feature;
    the same rows a day before it do. A ticket opened on the day and resolved (and rated) after
    it is open on the day, and its rating unknown."""
    out, db = company
    copy = tmp_path / "leak.duckdb"
    shutil.copy(db, copy)
    day = date(2026, 3, 31)
    with open_warehouse(copy) as wh:
        base = F.snapshot(wh, day)
        who = base["customer"].iloc[:50].tolist()
        for i, c in enumerate(who):
            wh.execute("INSERT INTO tickets (ticket_id, customer_id, opened_at, resolved_at, priority, csat) "
                       "VALUES (?, ?, ?, ?, 'urgent', 1)",
                       [f"open-{i}", c, f"{day} 08:00:00", f"{day + timedelta(1)} 09:00:00"])
        before = F.snapshot(wh, day)
        assert (before["urgent_open"].iloc[:50] == base["urgent_open"].iloc[:50] + 1).all()
        pd.testing.assert_series_equal(before["ticket_csat_180d"], base["ticket_csat_180d"])

        def plant(when: date) -> None:
            ts = f"{when} 12:00:00"
            for i, c in enumerate(who):
                key = f"leak-{when}-{i}"
                wh.execute("INSERT INTO tickets (ticket_id, customer_ref, customer_id, opened_at, resolved_at, "
                           "priority, category, csat) VALUES (?, ?, ?, ?, ?, 'urgent', 'Billing', 1)",
                           [key, c, c, ts, ts])
                wh.execute("INSERT INTO responses (response_id, customer_id, survey, score, submitted_at) "
                           "VALUES (?, ?, 'nps', 0, ?)", [key, c, ts])
                wh.execute("INSERT INTO feedback (feedback_id, customer_id, channel, received_at, text) "
                           "VALUES (?, ?, 'web', ?, 'awful')", [key, c, ts])
                wh.execute("INSERT INTO usage (customer_ref, customer_id, day, feature, events) "
                           "VALUES (?, ?, ?, 'x', 999)", [c, c, when])
                wh.execute("INSERT INTO subscriptions (subscription_id, customer_ref, customer_id, mrr, start_date) "
                           "VALUES (?, ?, ?, 99999, ?)", [key, c, c, when])

        plant(day + timedelta(days=1))
        after = F.snapshot(wh, day)
        pd.testing.assert_frame_equal(before[["customer", *F.NAMES]], after[["customer", *F.NAMES]])
        plant(day - timedelta(days=1))
        inside = F.snapshot(wh, day)
    for name in ("billing_tickets_90d", "nps_180d", "feedback_90d", "events_30d"):
        assert not inside[name].iloc[:50].equals(before[name].iloc[:50]), f"{name}: the check cannot see a change"


def test_predict_and_risk_on_the_command_line(company, tmp_path):
    out, db = company
    copy = tmp_path / "cli.duckdb"
    shutil.copy(db, copy)
    r = subprocess.run([*PATRON, "risk", "--db", str(copy)], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 1 and "run `patron predict` first" in r.stderr
    r = subprocess.run([*PATRON, "predict", "--db", str(copy), "-f", "json"], capture_output=True, text=True,
                       cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["backtest"]["tested_on"] == "2026-03-31" and doc["scored"] > 1000
    top = doc["accounts"][0]
    assert top["band"] in ("high", "medium") and top["reasons"] and top["at_stake"] == pytest.approx(
        top["value"] * top["score"], rel=1e-3)
    r = subprocess.run([*PATRON, "risk", "--db", str(copy), "--by", "owner", "-f", "json"], capture_output=True,
                       text=True, cwd=tmp_path)
    by = json.loads(r.stdout)["by"]
    assert sum(g["at_stake"] for g in by) == pytest.approx(
        sum(a["at_stake"] for a in json.loads(r.stdout)["accounts"]) + sum(
            g["at_stake"] for g in by if g["band"] == "low"), rel=1e-6)
    with open_warehouse(copy) as wh:
        runs = wh.rows("SELECT model, tested_on, evaluation FROM prediction_runs")
        assert len(runs) == 1 and runs[0][0] == "churn" and json.loads(runs[0][2])["evaluation"]["auc"]["value"]
        assert wh.scalar("SELECT count(*) FROM predictions") == doc["scored"]


def test_without_subscriptions_it_says_what_it_needs(tmp_path):
    with open_warehouse(tmp_path / "empty.duckdb") as wh, pytest.raises(PredictError, match="needs subscriptions"):
        churn.backtest(wh)


def test_attributes_named_as_stable_are_learned_from_and_no_other(company, tmp_path):
    """predict.churn.attributes lets a stable attribute (a tier set at signing) into every
    snapshot; one not named stays out, a personal one or an unknown one is refused by name."""
    copy = tmp_path / "attrs.duckdb"
    shutil.copy(company[1], copy)
    with open_warehouse(copy) as wh:
        customers = [c for c, in wh.rows("SELECT DISTINCT customer_id FROM customers WHERE customer_id IS NOT NULL")]
        for i, c in enumerate(customers):
            for name, kind, value, personal in (("tier", "text", "gold" if i % 3 else "silver", False),
                                                ("contact_name", "text", f"Person {i}", True)):
                wh.execute("INSERT INTO customer_attributes (source, customer_ref, customer_id, name, type, personal, "
                           "value, trust, source_key, source_row, load_id, loaded_at) "
                           "VALUES ('crm', ?, ?, ?, ?, ?, ?, 0, ?, ?, 1, TIMESTAMP '2026-06-30 00:00:00')",
                           [c, c, name, kind, personal, value, c, i + 1])
        plain = churn.backtest(wh, ChurnSettings())
        assert "tier" not in plain.importance
        tiered = churn.backtest(wh, ChurnSettings(attributes=["tier"]))
        assert "tier" in tiered.importance
        with pytest.raises(PredictError, match="'contact_name': personal data is never a feature"):
            churn.backtest(wh, ChurnSettings(attributes=["contact_name"]))
        with pytest.raises(PredictError, match="'plan_code', which no source keeps; attributes are: contact_name, "
                                               "tier"):
            churn.backtest(wh, ChurnSettings(attributes=["plan_code"]))


def _kept_run(year_predicted, tmp_path) -> Path:
    copy = tmp_path / "kept.duckdb"
    shutil.copy(year_predicted, copy)
    return copy


def _patron(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([*PATRON, *args], capture_output=True, text=True, cwd=cwd,
                          env=os.environ | {"COLUMNS": "200"})


def test_risk_by_owner_gives_one_row_per_owner_with_the_band_split_still_there(year_predicted, tmp_path):
    db = _kept_run(year_predicted, tmp_path)
    doc = json.loads(_patron("risk", "--db", str(db), "--by", "owner", "-f", "json", cwd=tmp_path).stdout)
    totals, by = pd.DataFrame(doc["totals"]), pd.DataFrame(doc["by"])
    assert totals["owner"].is_unique and set(totals["owner"]) == set(by["owner"])
    per_owner = by.groupby("owner").agg(accounts=("accounts", "sum"), arr=("arr", "sum"), at_stake=("at_stake", "sum"))
    t = totals.set_index("owner").loc[per_owner.index]
    assert (t["accounts"] == per_owner["accounts"]).all()
    assert t["arr"].to_numpy() == pytest.approx(per_owner["arr"].to_numpy(), abs=0.02)
    assert t["at_stake"].to_numpy() == pytest.approx(per_owner["at_stake"].to_numpy(), abs=0.02)
    risky = by[by["band"] != "low"].groupby("owner")["at_stake"].sum().reindex(t.index, fill_value=0)
    assert t["at_stake_at_risk"].to_numpy() == pytest.approx(risky.to_numpy(), abs=0.02)
    high = by[by["band"] == "high"].groupby("owner")["accounts"].sum().reindex(t.index, fill_value=0)
    assert (t["high"] == high).all()
    # the terminal: an owner's name once, in the per-owner table; with --bands, once per band it has
    shown = _patron("risk", "--db", str(db), "--by", "owner", cwd=tmp_path).stdout
    owner = totals["owner"].iloc[0]
    assert shown.count(f"│ {owner} ") == 1 and "all bands" in shown
    split = _patron("risk", "--db", str(db), "--by", "owner", "--bands", cwd=tmp_path).stdout
    assert split.count(f"│ {owner} ") == (by["owner"] == owner).sum() > 1


def test_the_arr_at_stake_is_split_between_high_and_medium_risk_and_every_account(year_predicted, tmp_path):
    db = _kept_run(year_predicted, tmp_path)
    doc = json.loads(_patron("risk", "--db", str(db), "--all", "-f", "json", cwd=tmp_path).stdout)
    accounts = pd.DataFrame(doc["accounts"])
    risky = accounts[accounts["band"].isin(["high", "medium"])]
    stake = doc["stake"]
    assert stake["at_risk"] == pytest.approx(risky["at_stake"].sum(), abs=0.02)
    assert stake["all"] == pytest.approx(accounts["at_stake"].sum(), abs=0.02) and stake["all"] > stake["at_risk"]
    assert stake["at_risk_accounts"] == len(risky)
    said = " ".join(_patron("risk", "--db", str(db), cwd=tmp_path).stdout.split())
    assert (f"ARR at stake ${stake['at_risk']:,.0f} in the {len(risky):,} high and medium risk accounts" in said
            and f"${stake['all']:,.0f} across every account scored, low risk's "
                f"${stake['all'] - stake['at_risk']:,.0f} included" in said), said


def test_the_risk_table_and_the_360_show_months_to_renewal(year_predicted, tmp_path):
    from patron.cli import customer
    from patron.cli import render as cli_render
    from patron.project import Project

    db = _kept_run(year_predicted, tmp_path)
    doc = json.loads(_patron("risk", "--db", str(db), "-f", "json", cwd=tmp_path).stdout)
    top = doc["accounts"][0]
    assert top["months_to_renewal"] == top["details"]["months_to_renewal"] is not None
    months = top["months_to_renewal"]
    want = "monthly" if top["term"] == 1 else f"in {months} month{'s' if months != 1 else ''}"
    shown = _patron("risk", "--db", str(db), "--limit", "1", cwd=tmp_path).stdout
    assert "renews" in shown and want in shown
    every = json.loads(_patron("risk", "--db", str(db), "--all", "-f", "json", cwd=tmp_path).stdout)["accounts"]
    yearly = next(a for a in every if a["term"] and a["term"] > 1)
    with Project.open(None, db) as project:
        view = project.customer(yearly["customer_id"])
    assert view.risk["months_to_renewal"] == yearly["months_to_renewal"] and view.risk["term_months"] > 1
    import io

    from rich.console import Console

    con = Console(file=io.StringIO(), width=200, record=True)
    mp = pytest.MonkeyPatch()
    mp.setattr(customer, "out", con)
    mp.setattr(cli_render, "out", con)
    try:
        customer.render_360(view)
    finally:
        mp.undo()
    m = yearly["months_to_renewal"]
    assert f"Its contract renews in {m} month{'s' if m != 1 else ''}." in " ".join(con.export_text().split())


def test_the_calibration_kept_with_the_run_reads_in_the_terminal(year_predicted, tmp_path):
    import io

    from rich.console import Console

    from patron.cli import render as cli_render
    from patron.cli.scores import calibration

    with open_warehouse(_kept_run(year_predicted, tmp_path)) as wh:
        rows = json.loads(wh.scalar("SELECT evaluation FROM prediction_runs"))["evaluation"]["calibration"]
    con = Console(file=io.StringIO(), width=120, record=True)
    mp = pytest.MonkeyPatch()
    mp.setattr(cli_render, "out", con)
    try:
        calibration(rows, "the test snapshot of 2026-03-31")
    finally:
        mp.undo()
    text = con.export_text()
    assert "Calibration: predicted against left" in text and len(rows) == 10
    for r in rows:
        assert f"{r['predicted']:.1%}" in text and f"{r['observed']:.1%}" in text
    assert "On the test snapshot of 2026-03-31, least risky tenth first" in " ".join(text.split())


def test_predict_as_of_an_earlier_day_shows_the_accounts_of_that_run(year_predicted, tmp_path):
    """The kept run of the data's last day stays the latest for the views; the run just made
    `--as-of` an earlier day is the one `patron predict` shows."""
    db = tmp_path / "asof.duckdb"
    shutil.copy(year_predicted, db)
    r = subprocess.run([*PATRON, "predict", "--db", str(db), "--as-of", "2026-05-31", "-f", "json"],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert str(doc["as_of"])[:10] == "2026-05-31"
    with open_warehouse(db) as wh:
        mine = wh.df("SELECT customer_id, score FROM predictions WHERE run_id = ? AND band IN ('high', 'medium')",
                     [doc["run_id"]])
    assert len(doc["accounts"]) == len(mine) > 0
    assert {a["customer_id"] for a in doc["accounts"]} == set(mine["customer_id"])
