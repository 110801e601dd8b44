"""`patron invest`: the customers to protect (value times risk), the expansion candidates and the
people who matter at each, on the demo company, on tiny companies that lack a part of the data,
and on real exports (a bank's churn snapshot, a shop's orders)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import PATRON, REPO
from patron.act.invest import CRITERIA, GROWTH, capacity_fields, expansion, role_kinds
from patron.project import Project

ENV = os.environ | {"COLUMNS": "250"}
NAN = re.compile(r"\bnan\b", re.IGNORECASE)  # a number that is not one, never shown


def patron(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*PATRON, *args], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=600)


def invest_json(cwd: Path, *args: str) -> dict:
    r = patron(cwd, "invest", "-f", "json", *args)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.fixture(scope="module")
def demo(demo_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo company (churn and health runs kept by `patron demo`), copied for this module."""
    root = tmp_path_factory.mktemp("invest") / "patron-demo"
    shutil.copytree(demo_project / "patron-demo", root)
    return root


@pytest.fixture(scope="module")
def doc(demo: Path) -> dict:
    return invest_json(demo)


# -- customers to protect --

def test_customers_to_protect_are_ranked_by_value_times_the_probability_of_leaving(doc):
    protect = doc["protect"]
    assert doc["risk"] == "churn" and doc["value"] == "ARR"  # the demo keeps no clv run: ARR is the value
    assert len(protect) > 100 and doc["totals"]["accounts"] == len(protect)
    for a in protect:
        assert a["value_basis"] == "arr" and a["value"] == a["arr"] > 0
        assert a["at_stake"] == pytest.approx(a["value"] * a["risk"], abs=0.01)
    stakes = [a["at_stake"] for a in protect]
    assert stakes == sorted(stakes, reverse=True)
    assert doc["totals"]["at_stake"] == pytest.approx(sum(stakes), abs=1)
    # the most at stake is not simply the likeliest to leave: value weighs in
    assert protect[0]["risk"] < max(a["risk"] for a in protect)


def test_the_top_accounts_to_protect_carry_their_reasons_and_renewal(doc):
    for a in doc["protect"][:10]:
        assert a["reasons"] and all(r["says"] for r in a["reasons"])
        assert a["band"] in ("high", "medium", "low") and a["months_to_renewal"] is not None


def test_a_clv_run_makes_lifetime_value_the_value(demo: Path, tmp_path: Path):
    shutil.copytree(demo, tmp_path / "co")
    assert patron(tmp_path / "co", "clv").returncode == 0
    d = invest_json(tmp_path / "co")
    assert d["value"] in ("lifetime value", "lifetime value, else ARR")
    top = d["protect"][0]
    assert top["value_basis"] == "clv" and top["value"] == top["clv"]
    assert top["at_stake"] == pytest.approx(top["clv"] * top["risk"], abs=0.01)


# -- expansion --

def test_each_expansion_candidate_meets_the_criteria_its_reasons_name(doc):
    expand = doc["expand"]
    assert expand and doc["criteria"]["read"] == ["health", "usage", "promoter"]
    assert "near_limit" in doc["criteria"]["cannot"]  # the demo keeps no seat limit: said, not invented
    as_of = pd.Timestamp(doc["as_of"])
    bands = {a["customer_id"]: a["band"] for a in doc["protect"]}
    for c in expand:
        assert c["met"] == len(c["criteria"]) >= 2
        assert [r["criterion"] for r in c["reasons"]] == c["criteria"]
        if "health" in c["criteria"]:
            assert c["health"] >= 70 and "(green)" in c["reasons"][c["criteria"].index("health")]["says"]
        if "usage" in c["criteria"]:
            assert c["usage_change"] >= GROWTH and c["usage_30d"] > c["usage_prior_30d"]
            assert f"usage up {c['usage_change']:.0%}" in c["reasons"][c["criteria"].index("usage")]["says"]
        if "promoter" in c["criteria"]:
            assert c["nps_last"] >= 9 and as_of - pd.Timestamp(c["nps_last_at"]) <= pd.Timedelta(days=365)
        assert bands.get(c["customer_id"]) != "high" and (c["nps_last"] is None or c["nps_last"] >= 7)
    keys = [(-c["met"], -(c["value"] or 0)) for c in expand]
    assert keys == sorted(keys)  # most criteria met first, then most value
    assert "most criteria met first, then most value" in doc["ranking"]["expand"]


def test_expansion_criteria_read_only_what_the_data_has():
    frame = pd.DataFrame({
        "customer_id": ["a", "b", "c"], "name": ["A", "B", "C"], "owner": None, "segment": None,
        "paying": [True, True, False], "arr": [1200.0, 2400.0, 0.0], "clv": float("nan"),
        "risk_band": ["low", "high", "low"], "health": [80.0, 90.0, 85.0], "health_band": ["green"] * 3,
        "usage_change": [0.5, 0.5, 0.5], "usage_30d": [300, 300, 300], "usage_prior_30d": [200, 200, 200],
        "active_users_30d": [9, 9, 9], "promoter": [False] * 3, "detractor": [False] * 3,
        "nps_last": [None] * 3, "nps_last_at": [None] * 3})
    out = expansion(frame, ["health", "usage"], pd.Timestamp("2026-06-30").date())
    assert list(out["customer_id"]) == ["a"]  # b is at high risk; c pays nothing in a company that bills
    assert out.loc[0, "criteria"] == ["health", "usage"]
    assert expansion(frame, [], None).empty


def test_seats_near_their_limit_make_a_candidate_when_a_source_keeps_them(tmp_path: Path):
    (tmp_path / "customers.csv").write_text("Id,Name,Owner,SeatsUsed,SeatLimit\nK1,Alpha Ltd,Dana,48,50\n"
                                            "K2,Beta Ltd,Dana,49,50\nK3,Gamma Ltd,Eli,10,50\nK4,Delta Ltd,Eli,12,\n")
    (tmp_path / "contacts.csv").write_text(
        "contact_id,customer_ref,name,email,phone,role\nc1,K1,Ann Alpha,ann@alpha.example,+1-555-0101,VP Operations\n"
        "c2,K2,Bob Beta,bob@beta.example,+1-555-0102,Salesforce Admin\nc3,K3,Gil Gamma,gil@gamma.example,,Analyst\n")
    (tmp_path / "nps.csv").write_text(
        "response_id,customer_ref,contact_email,survey,score,submitted_at\nr1,K1,ann@alpha.example,nps,10,2026-05-01\n"
        "r2,K3,gil@gamma.example,nps,9,2026-05-02\nr3,K2,bob@beta.example,nps,3,2026-05-03\n")
    yml = {"sources": {
        "crm": {"path": "customers.csv", "table": "customers", "customer_ref": "Id",
                "columns": {"name": "Name", "owner": "Owner"},
                "attributes": {"seats_used": {"column": "SeatsUsed", "type": "int"},
                               "seat_limit": {"column": "SeatLimit", "type": "int"}}},
        "people": {"path": "contacts.csv", "table": "contacts", "system": "crm", "customer_ref": "customer_ref"},
        "survey": {"path": "nps.csv", "table": "responses", "system": "crm", "customer_ref": "customer_ref"}}}
    (tmp_path / "patron.yml").write_text(yaml.safe_dump(yml))
    assert patron(tmp_path, "ingest").returncode == 0
    d = invest_json(tmp_path)
    assert d["capacity"] == {"limit": "seat_limit", "used": "seats_used"}
    assert d["criteria"]["read"] == ["promoter", "near_limit"]
    # K1: a promoter at 96% of its seats; K2 is near its limit but a detractor; K3 only a promoter
    assert [c["customer_id"] for c in d["expand"]] == ["K1"]
    k1 = d["expand"][0]
    assert [r["says"] for r in k1["reasons"]] == ["a promoter: latest NPS answer 10 of 10, on 2026-05-01",
                                                  "seats_used 48 of seat_limit 50 (96%)"]
    assert k1["contacts"][0]["name"] == "Ann Alpha" and k1["contacts"][0]["economic_buyer"]
    assert d["protect"] == [] and "no churn run yet" in " ".join(d["notes"])
    table = patron(tmp_path, "invest").stdout
    assert "Ann Alpha" in table and "ann@alpha.example" not in table and "555" not in table


def test_capacity_is_read_from_attribute_names_only_when_a_limit_is_kept():
    assert capacity_fields({"seats_used": "DOUBLE", "seat_limit": "DOUBLE"}) == {"limit": "seat_limit",
                                                                                 "used": "seats_used"}
    assert capacity_fields({"max_users": "DOUBLE"}) == {"limit": "max_users"}  # against daily active users
    assert capacity_fields({"licenses_purchased": "DOUBLE", "licenses_assigned": "DOUBLE"}) == {
        "limit": "licenses_purchased", "used": "licenses_assigned"}
    assert capacity_fields({"seat_limit": "VARCHAR", "seats": "DOUBLE", "balance": "DOUBLE"}) is None
    assert capacity_fields({}) is None


# -- the people who matter --

@pytest.mark.parametrize("role, kinds", [
    ("CFO", {"economic buyer"}), ("VP Sales", {"economic buyer"}), ("Head of IT", {"economic buyer"}),
    ("economic_buyer", {"economic buyer"}), ("Procurement lead", {"economic buyer"}),
    ("Vice President, Finance", {"economic buyer"}), ("champion", {"champion"}), ("Power User", {"champion"}),
    ("Salesforce Admin", {"champion"}), ("ITAdmin", {"champion"}), ("it_contact", set()), ("user", set()),
    ("Analyst", set()), (None, set()), ("Director & platform champion", {"champion", "economic buyer"}),
])
def test_roles_read_as_champions_and_budget_holders(role, kinds):
    assert role_kinds(role) == kinds


def test_a_detractor_at_an_account_to_protect_is_flagged(demo: Path, doc: dict, tmp_path: Path):
    from patron.warehouse import open_warehouse

    co = tmp_path / "co"
    shutil.copytree(demo, co)
    top = doc["protect"][0]["customer_id"]
    with open_warehouse(co / "patron.duckdb") as wh:
        contact_id, ref, email = wh.rows(
            "SELECT contact_id, customer_ref, email FROM contacts WHERE COALESCE(customer_id, customer_ref) = ? "
            "AND email IS NOT NULL ORDER BY contact_id LIMIT 1", [top])[0]
    (co / "planted.csv").write_text("response_id,customer_ref,contact_email,survey,score,submitted_at\n"
                                    f"planted-1,{ref},{email},nps,2,{doc['as_of']}\n")
    assert patron(co, "ingest", "planted.csv", "--into", "responses").returncode == 0
    d = invest_json(co)
    assert d["protect"][0]["customer_id"] == top  # the churn run still stands
    person = next(p for p in d["protect"][0]["contacts"] if p["contact_id"] == contact_id)
    assert person["detractor"] and person["nps"] == 2
    assert f"detractor: NPS 2 on {doc['as_of']}" in person["why"]
    assert set(person) == {"contact_id", "name", "role", "champion", "economic_buyer", "detractor", "nps", "nps_at",
                           "why"}  # never the email or the phone
    table = patron(co, "invest", "--limit", "1").stdout
    assert person["name"] in table and f"detractor: NPS 2 on {doc['as_of']}" in table and email not in table


def test_contacts_show_names_and_roles_never_emails_or_phones(demo: Path, doc: dict):
    listed = [p for a in doc["protect"] + doc["expand"] for p in a["contacts"]]
    assert listed and any(p["economic_buyer"] for p in listed) and any(p["detractor"] for p in listed)
    for p in listed:
        assert p["champion"] or p["economic_buyer"] or p["detractor"]
        assert not p["detractor"] or p["nps"] <= 6
        assert not (p["nps"] is not None and p["nps"] >= 9) or p["champion"]
    text = json.dumps(doc)
    assert "@" not in text and "+1-555" not in text and "NaN" not in text
    r = patron(demo, "invest")
    assert r.returncode == 0, r.stderr
    for heading in ("Customers to protect, most value at stake first", "Expansion candidates, most criteria met first",
                    "The people who matter at these accounts", "10 of "):
        assert heading in r.stdout
    assert "@" not in r.stdout and "+1-555" not in r.stdout and not NAN.search(r.stdout)


# -- totals and filters --

@pytest.mark.parametrize("by", ["owner", "segment"])
def test_totals_by_owner_or_segment_add_up_to_the_lists(demo: Path, doc: dict, by: str):
    d = invest_json(demo, "--by", by)
    rows = d["by"]
    assert len({r[by] for r in rows}) == len(rows)
    assert sum(r["accounts"] for r in rows) == len(doc["protect"])
    assert sum(r["expansion"] for r in rows) == len(doc["expand"])
    assert sum(r["at_stake"] or 0 for r in rows) == pytest.approx(doc["totals"]["at_stake"], abs=1)
    assert sum(r["expansion_value"] or 0 for r in rows) == pytest.approx(doc["totals"]["expansion_value"], abs=1)
    one = rows[0]
    mine = [a for a in doc["protect"] if (a[by] or "(none)") == one[by]]
    assert one["accounts"] == len(mine) and one["at_stake"] == pytest.approx(sum(a["at_stake"] for a in mine), abs=1)
    stakes = [r["at_stake"] or 0 for r in rows]
    assert stakes == sorted(stakes, reverse=True)
    r = patron(demo, "invest", "--by", by)
    assert r.returncode == 0 and f"Where to invest by {by}" in r.stdout


def test_owner_and_segment_filters_keep_only_theirs(demo: Path, doc: dict):
    owner = doc["protect"][0]["owner"]
    d = invest_json(demo, "--owner", owner.upper(), "--segment", doc["protect"][0]["segment"])
    assert d["filters"]["owner"] == owner.upper()
    assert d["protect"] and all(a["owner"] == owner for a in d["protect"] + d["expand"])
    assert d["protect"][0]["customer_id"] == doc["protect"][0]["customer_id"]
    assert len(d["protect"]) == len([a for a in doc["protect"] if a["owner"] == owner
                                     and a["segment"] == doc["protect"][0]["segment"]])
    odd = invest_json(demo, "--owner", "x' OR '1'='1")  # a parameter, never SQL
    assert odd["protect"] == [] and odd["expand"] == [] and odd["customers"] == 0
    assert "no customer of owner \"x' OR '1'='1\"" in odd["notes"]


def test_errors_are_one_json_line_on_stderr(tmp_path: Path):
    r = patron(tmp_path, "invest", "--db", "missing.duckdb", "-f", "json")
    assert r.returncode == 1 and r.stdout == "" and "no warehouse here yet" in json.loads(r.stderr)["error"]
    r = patron(tmp_path, "invest", "--by", "region", "-f", "json")
    assert r.returncode != 0 and "owner or segment" in json.loads(r.stderr)["error"]


# -- when the data cannot answer --

def test_without_a_churn_run_it_says_to_run_predict_first(tmp_path: Path):
    (tmp_path / "subs.csv").write_text("subscription_id,customer_ref,mrr,start_date\ns1,A,100,2026-01-01\n"
                                       "s2,B,50,2026-02-01\n")
    (tmp_path / "customers.csv").write_text("customer_ref,name,owner\nA,Alpha Ltd,Dana\nB,Beta Ltd,Eli\n")
    for file, table in (("subs.csv", "subscriptions"), ("customers.csv", "customers")):
        assert patron(tmp_path, "ingest", file, "--into", table, "--db", "w.duckdb").returncode == 0
    d = invest_json(tmp_path, "--db", "w.duckdb")
    assert d["protect"] == [] and d["risk"] is None and d["customers"] == 2
    assert "no churn run yet: run `patron predict` first" in d["notes"]
    assert "no health run yet" in d["criteria"]["cannot"]["health"]
    r = patron(tmp_path, "invest", "--db", "w.duckdb")
    assert r.returncode == 0 and "No churn run yet: run `patron predict` first." in r.stdout


def test_an_orders_only_company_is_told_what_is_missing(tmp_path: Path):
    (tmp_path / "orders.csv").write_text("order_id,customer_ref,ordered_at,amount,currency\n"
                                         "o1,A,2026-01-05,120,GBP\no2,A,2026-02-05,80,GBP\no3,B,2026-01-20,40,GBP\n")
    (tmp_path / "customers.csv").write_text("customer_ref,name\nA,Alpha Ltd\nB,Beta Ltd\n")
    for file, table in (("orders.csv", "orders"), ("customers.csv", "customers")):
        assert patron(tmp_path, "ingest", file, "--into", table, "--db", "w.duckdb").returncode == 0
    d = invest_json(tmp_path, "--db", "w.duckdb")
    assert d["protect"] == [] and d["expand"] == [] and d["value"] is None
    said = " ".join(d["notes"])
    assert "orders and no subscriptions" in said and "`patron clv`" in said and "no contacts loaded" in said
    assert set(d["criteria"]["cannot"]) == set(CRITERIA)
    r = patron(tmp_path, "invest", "--db", "w.duckdb")
    assert r.returncode == 0 and "Traceback" not in r.stderr
    assert "orders and no subscriptions" in " ".join(r.stdout.split()) and not NAN.search(r.stdout)


# -- real exports --

def test_a_banks_churn_snapshot_is_ranked_by_probability_with_nothing_in_money(datasets: Path, tmp_path: Path):
    yml = {"sources": {"bank": {
        "path": str(datasets / "bank_churn" / "bank_churn_modelling.csv"), "table": "customers",
        "customer_ref": "CustomerId", "columns": {"name": "Surname", "region": "Geography"},
        "attributes": {"gender": "Gender", "age": {"column": "Age", "type": "int"},
                       "balance": {"column": "Balance", "type": "float"},
                       "products": {"column": "NumOfProducts", "type": "int"},
                       "active_member": {"column": "IsActiveMember", "type": "bool"},
                       "exited": {"column": "Exited", "type": "bool"}}}},
           "predict": {"churn": {"outcome": "exited"}}}
    (tmp_path / "patron.yml").write_text(yaml.safe_dump(yml))
    with Project.open(tmp_path / "patron.yml", tmp_path / "w.duckdb", require_config=True) as project:
        project.run(stages=("ingest", "identity", "predict"))
    d = invest_json(tmp_path, "--db", "w.duckdb")
    exited = int(pd.read_csv(datasets / "bank_churn" / "bank_churn_modelling.csv")["Exited"].sum())
    assert len(d["protect"]) == 10_000 - exited  # those still customers
    assert d["value"] is None and all(a["value"] is None and a["at_stake"] is None for a in d["protect"])
    risks = [a["risk"] for a in d["protect"]]
    assert risks == sorted(risks, reverse=True) and all(a["reasons"] for a in d["protect"][:10])
    assert any("no value known" in n for n in d["notes"])
    assert set(d["protected_features"]) == {"age", "gender"} and d["warnings"]  # said, as `patron risk` says it
    assert d["expand"] == [] and set(d["criteria"]["cannot"]) == set(CRITERIA)
    r = patron(tmp_path, "invest", "--db", "w.duckdb")
    assert "Customers to protect, most likely to leave first" in r.stdout and "$" not in r.stdout


def test_a_shops_orders_give_no_churn_risk_and_say_so(datasets: Path, tmp_path: Path):
    yml = yaml.safe_load((REPO / "docs" / "examples" / "online_retail.yml").read_text())
    for source in yml["sources"].values():
        source["path"] = str(datasets / "online_retail" / source["path"])
    (tmp_path / "patron.yml").write_text(yaml.safe_dump(yml))
    with Project.open(tmp_path / "patron.yml", tmp_path / "w.duckdb", require_config=True) as project:
        project.run(stages=("ingest", "identity"))
        project.predict.value()  # lifetime value of every buyer: still no probability of leaving
    d = invest_json(tmp_path, "--db", "w.duckdb")
    assert "clv" in d["runs"] and d["customers"] == 4372
    assert d["protect"] == [] and d["risk"] is None
    assert any("orders and no subscriptions" in n for n in d["notes"])
    assert d["expand"] == [] and "health" in d["criteria"]["cannot"]
