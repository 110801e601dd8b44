"""Identity resolution on data the probabilistic model cannot learn from: one source, two records,
names that never repeat, identical records. It falls back to the certain rules and exact names,
says why in one line, and still gives every record a master id."""

from __future__ import annotations

import json
import os
import subprocess
from itertools import combinations, product
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import PATRON, REPO
from patron.config import parse_project
from patron.identity import ResolveResult, linkage
from patron.identity.linkage import COMPANIES, PERSONS, model_links, untrainable
from patron.project import Project
from patron.report.customer360 import Customer360

COLUMNS = ["customer_ref", "name", "domain", "phone", "email"]
ONLY = "; linked by domain, email and exact name only."


def _project(tmp_path: Path, sources: dict[str, list[tuple]]) -> Path:
    """A patron.yml whose sources are customer files written here, one row per tuple of COLUMNS."""
    config: dict = {"sources": {}}
    for name, rows in sources.items():
        pd.DataFrame(rows, columns=COLUMNS).to_csv(tmp_path / f"{name}.csv", index=False)
        config["sources"][name] = {"path": f"{name}.csv", "table": "customers", "customer_ref": "customer_ref"}
    (tmp_path / "patron.yml").write_text(yaml.safe_dump(config))
    return tmp_path / "patron.yml"


def _resolve(tmp_path: Path, sources: dict[str, list[tuple]]) -> tuple[ResolveResult, dict[str, str]]:
    """Ingest, resolve (no exception is the first assertion), check every record and row got a master
    id and the golden record was built; the result and record -> master id."""
    config = _project(tmp_path, sources)
    with Project.open(config, tmp_path / "w.duckdb", require_config=True) as project:
        project.ingest()
        result = project.identity.resolve()
        wh = project.warehouse
        ids = dict(wh.rows("SELECT system || ':' || ref, customer_id FROM identity_map"))
        assert len(ids) == result.records == sum(len(rows) for rows in sources.values())
        assert all(ids.values())
        assert wh.scalar("SELECT count(*) FROM customers WHERE customer_id IS NULL") == 0
        assert wh.scalar("SELECT count(*) FROM customer_golden") == result.customers == len(set(ids.values()))
    return result, ids


def _shown(tmp_path: Path, query: str) -> Customer360:
    with Project.open(tmp_path / "patron.yml", tmp_path / "w.duckdb") as project:
        view = project.customer(query)
    assert isinstance(view, Customer360), view
    return view


def test_one_record_in_one_source_is_its_own_customer(tmp_path):
    result, ids = _resolve(tmp_path, {"crm": [("A1", "Acme Inc", "acme.example", None, None)]})
    assert result.customers == 1 and result.model_links == result.name_links == 0
    assert result.fallback == "Model not trained: fewer than two records have a name" + ONLY
    assert _shown(tmp_path, "Acme Inc").customer_id == ids["crm:A1"]


def test_two_records_with_nothing_in_common_stay_apart(tmp_path):
    result, ids = _resolve(tmp_path, {"crm": [("A1", "Acme Inc", "acme.example", "555 0101", "ann@acme.example"),
                                              ("A2", "Globex", "globex.example", "555 0202", "bo@globex.example")]})
    assert ids["crm:A1"] != ids["crm:A2"] and result.customers == 2
    assert result.fallback == "Model not trained: no two records share a name" + ONLY
    assert _shown(tmp_path, "Globex").customer_id == ids["crm:A2"]


def test_no_names_in_common_rules_still_merge_by_domain_and_email(tmp_path):
    crm = [(f"C{i}", f"Company {i:03d}", f"c{i}.example", None, f"x@c{i}.example") for i in range(30)]
    billing = [("B1", "Company Zero Zero Zero", "c0.example", None, None),  # same domain as C0
               ("B2", "Hooli", None, None, "pay@gmail.com"),
               ("B3", "Initech", None, None, "pay@gmail.com")]  # the same free-mail address as B2
    result, ids = _resolve(tmp_path, {"crm": crm, "billing": billing})
    assert ids["billing:B1"] == ids["crm:C0"]
    assert ids["billing:B2"] == ids["billing:B3"]  # one email address under two refs: the rule says so
    assert len({ids[f"crm:C{i}"] for i in range(30)}) == 30
    assert result.customers == 31 and result.rule_links == 2 and result.name_links == 0
    assert result.fallback == "Model not trained: no two records share a name" + ONLY


@pytest.mark.parametrize("row", [("Acme Inc", "acme.example", "555 0101", "ann@acme.example"),
                                 ("Acme Inc", None, None, None)], ids=["every-field", "name-only"])
def test_identical_records_merge_into_one_customer(tmp_path, row):
    result, ids = _resolve(tmp_path, {"crm": [(f"A{i}", *row) for i in range(4)],
                                      "billing": [("B1", *row)]})
    assert result.customers == 1 and len(set(ids.values())) == 1
    assert result.name_links == 4
    assert result.fallback == ("Model not trained: only 10 pairs of records share a name, fewer than the 50 it "
                               "needs to learn from" + ONLY)
    assert len(_shown(tmp_path, "B1").source_ids) == 5


FIRST = ["Alder", "Birch", "Cedar", "Dune", "Ember", "Fjord", "Garnet", "Harbor", "Iris", "Juniper", "Kestrel",
         "Lumen", "Maple", "Nimbus", "Orchid", "Pine", "Quartz", "Raven", "Sierra", "Tundra"]
SECOND = ["Analytics", "Bakery", "Cargo", "Dental", "Energy", "Foods", "Games", "Health", "Insurance", "Joinery",
          "Kitchens", "Logistics", "Media", "Networks", "Optics"]


def _companies() -> list[tuple]:
    """300 companies with unique names, domains, phones and emails, as one CRM export has them."""
    return [(_ref(a, b), f"{a} {b}", f"{a}{b}.example".lower(), f"+1 555 {i:04d}", f"info@{a}{b}.example".lower())
            for i, (a, b) in enumerate(product(FIRST, SECOND))]


def _ref(first: str, second: str) -> str:
    return f"CRM-{FIRST.index(first) * len(SECOND) + SECOND.index(second):04d}"


def test_a_few_hundred_unique_companies_in_one_source_resolve_with_their_duplicates(tmp_path):
    crm = _companies()
    crm += [("CRM-9001", "BIRCH LOGISTICS LTD", None, None, None),  # exact name once normalised
            ("CRM-9002", "Cedar Dynamcs", "cedardental.example", None, None)]  # a typo, the same domain
    result, ids = _resolve(tmp_path, {"crm": crm})
    assert ids["crm:CRM-9001"] == ids[f"crm:{_ref('Birch', 'Logistics')}"]
    assert ids["crm:CRM-9002"] == ids[f"crm:{_ref('Cedar', 'Dental')}"]
    assert result.records == 302 and result.customers == 300
    assert (result.rule_links, result.name_links, result.model_links) == (1, 1, 0)
    assert result.fallback == ("Model not trained: only one pair of records shares a name, fewer than the 50 it "
                               "needs to learn from" + ONLY)
    view = _shown(tmp_path, "Birch Logistics")
    assert {s["ref"]: s["method"] for s in view.source_ids} == {
        _ref("Birch", "Logistics"): "rule:name", "CRM-9001": "rule:name"}
    # running again keeps every master id
    with Project.open(tmp_path / "patron.yml", tmp_path / "w.duckdb") as project:
        again = project.identity.resolve()
        assert again.kept_ids == again.records and again.fallback == result.fallback


def test_names_that_most_records_of_a_system_repeat_do_not_merge(tmp_path):
    surnames = ["Smith", "Brown", "Walker", "Scott", "Martin"]
    bank = [(f"{i}", surnames[i % 5], None, None, None) for i in range(40)]
    crm = [("A1", "Acme", None, None, None), ("A2", "Acme", None, None, None)]
    result, ids = _resolve(tmp_path, {"bank": bank, "crm": crm})
    assert len({ids[f"bank:{i}"] for i in range(40)}) == 40  # 8 Smiths are not one customer
    assert ids["crm:A1"] == ids["crm:A2"]  # the other system's names still link
    assert result.name_links == 1
    assert result.fallback == ("Model not trained: no two records share a domain; linked by domain, email and "
                               "exact name only, but not by name in bank (100% of its records repeat a name).")


def test_the_cli_prints_the_reason_and_customer_show_works_after_a_fallback(tmp_path):
    _project(tmp_path, {"crm": [("A1", "Acme Inc", "acme.example", None, None),
                                ("A2", "ACME, Inc.", None, None, None),
                                ("A3", "Globex", None, None, None)]})

    def patron(*args: str) -> subprocess.CompletedProcess:
        r = subprocess.run([*PATRON, *args], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                           env=os.environ | {"COLUMNS": "200"})
        assert r.returncode == 0, r.stderr
        return r

    patron("ingest")
    line = ("Model not trained: only one pair of records shares a name, fewer than the 50 it needs to learn "
            "from" + ONLY)
    table = patron("identity", "resolve")
    assert line in table.stdout and "links by exact name" in table.stdout and "Traceback" not in table.stderr
    as_json = json.loads(patron("identity", "resolve", "--format", "json").stdout)
    assert as_json["fallback"] == line and as_json["customers"] == 2 and as_json["name_links"] == 1
    shown = json.loads(patron("customer", "show", "A2", "--format", "json").stdout)
    assert {s["ref"] for s in shown["source_ids"]} == {"A1", "A2"}


def _frame(names: list, domains: list | None = None) -> pd.DataFrame:
    n = len(names)
    return pd.DataFrame({"unique_id": [f"r{i}" for i in range(n)], "name_norm": names,
                         "domain": domains or [None] * n, "phone": [None] * n})


@pytest.mark.parametrize(("names", "domains", "reason"), [
    (["acme"], None, "fewer than two records have a name"),
    (["acme", None, None], None, "fewer than two records have a name"),
    ([f"n{i}" for i in range(40)], None, "no two records share a name"),
    ([f"n{i // 2}" for i in range(40)], None,
     "only 20 pairs of records share a name, fewer than the 50 it needs to learn from"),
    ([f"n{i // 4}" for i in range(80)], None, "no two records share a domain"),
    ([f"n{i // 4}" for i in range(80)], [f"d{i // 2}" for i in range(60)] + [None] * 20,
     "only 30 pairs of records share a domain, fewer than the 50 it needs to learn from"),
    ([f"n{i // 8}" for i in range(40)], ["d"] * 40, "780 of 780 pairs of records share a domain, too many to tell "
                                                    "matches apart"),
    ([f"n{i // 4}" for i in range(200)], [f"d{i // 8}" for i in range(200)], None),
])
def test_untrainable_says_which_condition_splink_would_fail_on(names, domains, reason):
    assert untrainable(_frame(names, domains), COMPANIES) == reason


def test_pairs_found_by_any_rule_are_counted_as_splink_counts_them():
    rows = [(s, g, n, d) for s, g, n, d in product(["1", "2", None], ["ann", "bo"], ["lee", "li"], ["d1", None])] * 2
    df = pd.DataFrame(rows, columns=["soc_sec_id", "given_name", "surname", "date_of_birth"])
    by_hand = sum(
        any(all(a[c] is not None and a[c] == b[c] for c in rule) for rule in PERSONS.prior_rules)
        for a, b in combinations(df.to_dict("records"), 2))
    assert linkage._any_rule_pairs(df, PERSONS.prior_rules) == by_hand > 0


def test_only_splinks_training_exception_becomes_a_reason(monkeypatch):
    monkeypatch.setattr(linkage, "untrainable", lambda data, spec: None)  # let Splink meet the data
    unique = _frame([f"n{i}" for i in range(40)], [f"d{i}" for i in range(40)])
    got = model_links(unique, 0.5)
    assert got.pairs.empty and got.untrained.startswith("Splink's training failed (Training rule")
    assert "\n" not in got.untrained
    # any other failure is not swallowed: no two records share a domain makes Splink's prior log(0)
    with pytest.raises(ValueError, match="math domain error"):
        model_links(_frame(["acme"] * 3), 0.5)


def test_online_retail_customers_get_master_ids_without_a_model(datasets, tmp_path):
    data = yaml.safe_load((REPO / "docs" / "examples" / "online_retail.yml").read_text())
    data["sources"] = {"retail_customers": data["sources"]["retail_customers"]}  # its names never repeat
    with Project(parse_project(data, "online_retail.yml", datasets / "online_retail"), tmp_path / "w.duckdb") as p:
        p.ingest()
        result = p.identity.resolve()
        assert result.records == result.customers == 4_372
        assert result.fallback == "Model not trained: no two records share a name" + ONLY
        assert p.warehouse.scalar("SELECT count(*) FROM customers WHERE customer_id IS NULL") == 0
        view = p.customer("Customer 12347")
        assert isinstance(view, Customer360) and [s["ref"] for s in view.source_ids] == ["12347"]


def test_bank_churn_surnames_do_not_make_one_customer_of_every_smith(datasets, tmp_path):
    cfg = parse_project({"sources": {"bank": {
        "path": "bank_churn_modelling.csv", "table": "customers", "customer_ref": "CustomerId",
        "columns": {"name": "Surname", "region": "Geography"}}}}, "bank.yml", datasets / "bank_churn")
    with Project(cfg, tmp_path / "w.duckdb") as p:
        p.ingest()
        result = p.identity.resolve()
    assert result.records == result.customers == 10_000 and result.name_links == 0
    assert result.fallback.endswith("but not by name in bank (84% of its records repeat a name).")
