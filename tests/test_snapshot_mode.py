"""Churn risk from one snapshot: a real bank's customer list with a churn flag and no history,
mapped the way a customer would map it, learned and tested on customers the model never saw."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import PATRON
from patron.config import ChurnSettings
from patron.errors import PredictError
from patron.predict import churn
from patron.project import Project

ATTRIBUTES = {
    "credit_score": {"column": "CreditScore", "type": "int"}, "country": "Geography", "gender": "Gender",
    "age": {"column": "Age", "type": "int"}, "tenure": {"column": "Tenure", "type": "int"},
    "balance": {"column": "Balance", "type": "float"}, "products": {"column": "NumOfProducts", "type": "int"},
    "has_card": {"column": "HasCrCard", "type": "bool"}, "active_member": {"column": "IsActiveMember", "type": "bool"},
    "salary": {"column": "EstimatedSalary", "type": "float"}, "exited": {"column": "Exited", "type": "bool"},
    "surname": "Surname",
}


def bank_project(root: Path, csv: Path, outcome: str | None = "exited") -> Path:
    yml = {"sources": {"bank": {"path": str(csv), "table": "customers", "customer_ref": "CustomerId",
                                "columns": {"name": "Surname", "region": "Geography"}, "attributes": ATTRIBUTES}},
           "predict": {"churn": {"outcome": outcome}} if outcome else {}}
    (root / "patron.yml").write_text(yaml.safe_dump(yml))
    return root / "patron.yml"


@pytest.fixture(scope="module")
def bank(datasets: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bank")
    yml = bank_project(root, datasets / "bank_churn" / "bank_churn_modelling.csv")
    with Project.open(yml, root / "w.duckdb", require_config=True) as project:
        project.ingest()
        project.identity.resolve()
    return root


def test_one_snapshot_is_tested_on_customers_it_never_saw_and_says_so(bank, datasets):
    r = subprocess.run([*PATRON, "predict", "--db", "w.duckdb"], cwd=bank, capture_output=True, text=True,
                       env=os.environ | {"COLUMNS": "120"})
    assert r.returncode == 0, r.stderr
    assert "One snapshot: 'exited' says who left" in " ".join(r.stdout.split())
    doc = json.loads(subprocess.run([*PATRON, "risk", "--db", "w.duckdb", "--all", "-f", "json"], cwd=bank,
                                    capture_output=True, text=True).stdout)
    ev = doc["evaluation"]["evaluation"]
    assert doc["evaluation"]["mode"] == "holdout" and doc["evaluation"]["tested_on"] is None
    assert ev["n"] == 2500 and ev["positives"] == pytest.approx(0.2037 * 2500, abs=2)  # a stratified quarter
    assert ev["auc"]["ci_low"] > 0.8  # published models on this file reach about 0.85-0.87
    csv = pd.read_csv(datasets / "bank_churn" / "bank_churn_modelling.csv")
    assert len(doc["accounts"]) == (csv["Exited"] == 0).sum()  # those still customers are scored
    said = [x["says"] for a in doc["accounts"] for x in a["reasons"]]
    assert said and not any("surname" in s.lower() for s in said)  # personal data is never a feature
    assert any(s.startswith("age ") for s in said) and any(s in ("active member: yes", "active member: no")
                                                             for s in said)


def test_a_missing_or_wrong_outcome_is_named(bank):
    with Project.open(bank / "patron.yml", bank / "w.duckdb") as project:
        wh = project.warehouse
        with pytest.raises(PredictError, match="no source keeps that attribute; attributes are: .*exited"):
            churn.run(wh, ChurnSettings(outcome="churn_flag"))
        with pytest.raises(PredictError, match="'country' is text; it must say yes or no"):
            churn.run(wh, ChurnSettings(outcome="country"))
        with pytest.raises(PredictError, match="needs subscriptions"):
            churn.run(wh, ChurnSettings())  # no outcome named, and no history to tell who left


# A small company with a churn flag and no billing, built here so these tests need no dataset and
# learn in a blink: a customer list with the flag, age and gender among its attributes (protected
# characteristics a model should never take in silently), and a helpdesk export, so the data has a day.
def small_company(root: Path, n: int = 400) -> Path:
    import numpy as np

    rng = np.random.default_rng(5)
    age = rng.integers(20, 80, n)
    active = rng.random(n) < 0.5
    exited = rng.random(n) < np.where(active, 0.1, 0.45)
    pd.DataFrame({"Id": [f"K{i:04d}" for i in range(n)], "Name": [f"Firm {i}" for i in range(n)],
                  "Sex": rng.choice(["F", "M"], n), "Age": age, "Active": active.astype(int),
                  "Plan": rng.choice(["basic", "pro"], n), "Exited": exited.astype(int)}).to_csv(
        root / "customers.csv", index=False)
    pd.DataFrame({"TicketId": [f"T{i}" for i in range(60)], "Customer": [f"K{i:04d}" for i in range(60)],
                  "Opened": [f"2026-05-{1 + i % 28:02d} 10:00" for i in range(60)]}).to_csv(
        root / "tickets.csv", index=False)
    yml = {"sources": {
        "crm": {"path": "customers.csv", "table": "customers", "customer_ref": "Id", "columns": {"name": "Name"},
                "attributes": {"sex": "Sex", "age": {"column": "Age", "type": "int"},
                               "active_member": {"column": "Active", "type": "bool"}, "plan_tier": "Plan",
                               "exited": {"column": "Exited", "type": "bool"}}},
        "desk": {"path": "tickets.csv", "table": "tickets", "customer_ref": "Customer", "system": "crm",
                 "columns": {"ticket_id": "TicketId", "opened_at": "Opened"}}},
        "predict": {"churn": {"outcome": "exited"}}}
    (root / "patron.yml").write_text(yaml.safe_dump(yml))
    return root / "patron.yml"


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess]:
    """(folder, what `patron predict` printed) of the small company, loaded, resolved and predicted once."""
    root = tmp_path_factory.mktemp("small")
    small_company(root)
    with Project.open(root / "patron.yml", root / "w.duckdb", require_config=True) as project:
        project.ingest()
        project.identity.resolve()
    r = subprocess.run([*PATRON, "predict", "--db", "w.duckdb"], cwd=root, capture_output=True, text=True,
                       env=os.environ | {"COLUMNS": "200"})
    assert r.returncode == 0, r.stderr
    return root, r


def test_a_protected_characteristic_used_as_a_feature_is_named_in_the_output_and_the_json(small):
    root, predicted = small
    said = " ".join(predicted.stdout.split())
    assert "Protected characteristics used as a feature: the model learned from 'age' and 'sex'" in said
    assert "mark them personal: true" in said  # a one-snapshot run learns from every attribute not personal
    doc = json.loads(subprocess.run([*PATRON, "risk", "--db", "w.duckdb", "-f", "json"], cwd=root,
                                    capture_output=True, text=True).stdout)
    assert doc["protected_features"] == {"age": "age", "sex": "sex"}
    assert len(doc["warnings"]) == 1 and "'age' and 'sex'" in doc["warnings"][0]


def test_predict_shows_the_holdouts_calibration_in_the_terminal(small):
    said = " ".join(small[1].stdout.split())
    assert "Calibration: predicted against left, by tenth of scores" in said
    assert "On the holdout of 100 customers, least risky tenth first" in said
    assert "Brier score" in said


@pytest.mark.parametrize("name, also, kind", [
    ("gender", (), "gender"), ("customer_age", (), "age"), ("MaritalStatus", (), "marital status"),
    ("g", ("Gender",), "gender"), ("x", ("Age > 40",), "age"), ("usage_level", (), None), ("agency", (), None),
    ("page_views", (), None), ("religion", (), "religion"), ("Nationality", (), "nationality"),
    ("ethnic_group", (), "ethnicity"), ("race", (), "race"), ("disabled", (), "disability"), ("tier", (), None)])
def test_protected_characteristics_are_told_by_the_words_of_a_name_or_its_column(name, also, kind):
    from patron.predict.risk import protected

    assert protected(name, *also) == kind


def test_the_briefing_of_a_one_snapshot_run_shows_its_holdout_and_no_made_up_money(small):
    from patron.report import build, render_html

    root, _ = small
    with Project.open(root / "patron.yml", root / "w.duckdb") as project:
        b = build(project.warehouse, project.metrics.catalog())
    html = render_html(b)
    body = re.sub(r"<script.*?</script>", "", html.split("<body>")[1], flags=re.S)
    text = " ".join(html.split())
    assert b.as_of is not None and b.risk["mode"] == "holdout"  # the tickets date the data
    assert not re.search(r"\bnan\b", body, re.I) and not re.search(r"\bNone\b", body), body
    assert "Tested on 100 customers the model never learned from (a stratified holdout" in text
    assert "No revenue is loaded, so nothing is at stake in money." in text
    assert "Protected characteristics used as a feature" in text
    assert "No contracts to renew: the churn run is of one snapshot with no billing" in text


def test_a_briefing_of_customers_alone_says_what_was_loaded_and_what_is_missing(tmp_path):
    from patron.report import build, render_html

    small_company(tmp_path, n=50)
    cfg = yaml.safe_load((tmp_path / "patron.yml").read_text())
    del cfg["sources"]["desk"], cfg["predict"]
    (tmp_path / "patron.yml").write_text(yaml.safe_dump(cfg))
    with Project.open(tmp_path / "patron.yml", tmp_path / "w.duckdb", require_config=True) as project:
        project.ingest()
        b = build(project.warehouse, project.metrics.catalog())
    text = " ".join(render_html(b).split())
    assert "No customer data loaded yet" not in text
    assert ("Loaded: 50 customers (5 attributes kept); no subscriptions, orders, tickets, responses, feedback or "
            "usage yet") in text
    assert "headline numbers need dated data" in text
