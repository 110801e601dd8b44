"""Churn risk from one snapshot: a real bank's customer list with a churn flag and no history,
mapped the way a customer would map it, learned and tested on customers the model never saw."""

from __future__ import annotations

import json
import os
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
    assert any(s.startswith("age ") for s in said) and any(s in ("active member", "not active member")
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
