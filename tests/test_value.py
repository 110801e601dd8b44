"""Lifetime value of subscribers from their churn risk, side by side with buyers' BG/NBD value."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest

from conftest import PATRON
from patron.config import ClvSettings
from patron.predict.value import subscription_value
from patron.warehouse import open_warehouse


def test_a_subscriber_is_worth_its_margin_over_the_discounted_months_it_is_expected_to_stay():
    flat = ClvSettings(annual_discount=0.0, margin=1.0)
    # leaving within 3 months with probability 1 - 0.9^3 is a monthly hazard of 10%: 9 months expected
    value, months = subscription_value(np.array([100.0]), np.array([1 - 0.9 ** 3]), 3, flat)
    assert months[0] == pytest.approx(9 * (1 - 0.9 ** 120), rel=1e-9) and value[0] == pytest.approx(100 * months[0])
    half = subscription_value(np.array([100.0]), np.array([1 - 0.9 ** 3]), 3, ClvSettings(margin=0.5,
                                                                                          annual_discount=0.0))[0]
    assert half[0] == pytest.approx(value[0] / 2)
    discounted = subscription_value(np.array([100.0]), np.array([1 - 0.9 ** 3]), 3, ClvSettings())[0]
    assert discounted[0] < value[0]
    # a customer who never leaves stays as long as the cap, never for ever
    _, never = subscription_value(np.array([100.0]), np.array([0.0]), 3, flat)
    assert never[0] == 120


def test_clv_on_the_demo_needs_a_churn_run_of_the_same_day_and_says_so(year_of_usage, year_predicted, tmp_path):
    db = tmp_path / "v.duckdb"
    shutil.copy(year_of_usage[1], db)
    r = subprocess.run([*PATRON, "clv", "--db", str(db)], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 1 and "run `patron predict` first" in r.stderr
    shutil.copy(year_predicted, db)
    r = subprocess.run([*PATRON, "clv", "--db", str(db), "-f", "json"], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    subs = [c for c in doc["customers"] if c.get("subscription_value") is not None]
    assert len(subs) > 1500 and all(c["value"] >= c["subscription_value"] > 0 for c in subs)
    # the demo's service orders are too few repeat purchases for BG/NBD: said, never a made-up value
    assert doc["bgnbd"] is None and any("buyers not valued" in n for n in doc["notes"])
    # the settings it used, for scripts beside the keys they read, and for a person in words and headers
    assert doc["settings"] == ClvSettings().model_dump() and {"customer", "value", "subscription_value",
                                                             "expected_months"} <= set(doc["customers"][0])
    import os

    r = subprocess.run([*PATRON, "clv", "--db", str(db)], capture_output=True, text=True, cwd=tmp_path,
                       env=os.environ | {"COLUMNS": "160"})
    said = " ".join(r.stdout.split())
    assert ("Settings (predict.clv in patron.yml): margin 100% of revenue; future money discounted 10% a year; "
            "buyers valued over the next 12 months; a subscriber's lifetime capped at 120 months.") in said
    assert "subscription value" in said and "expected months" in said and "subscription_value" not in said
    # amounts read in the warehouse's currency, as every other command prints them
    ddb = tmp_path / "eur.duckdb"
    shutil.copy(db, ddb)
    with open_warehouse(ddb) as wh:
        wh.execute("UPDATE subscriptions SET currency = 'EUR'")
        wh.execute("UPDATE orders SET currency = 'EUR'")
    for cmd in (["clv"], ["risk"]):
        r = subprocess.run([*PATRON, *cmd, "--db", str(ddb)], capture_output=True, text=True, cwd=tmp_path,
                           env=os.environ | {"COLUMNS": "160"})
        assert r.returncode == 0 and "€" in r.stdout and "$" not in r.stdout, (cmd, r.stdout[-800:])
