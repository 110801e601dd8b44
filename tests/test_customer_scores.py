"""A customer's scores in its 360 are the catalog's metrics over its own answers: the same
definitions (patron.yml's included), the same intervals, never a copy of them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from patron.metrics import builtin_catalog, with_overrides
from patron.report.customer360 import build
from patron.warehouse import open_warehouse


@pytest.fixture(scope="module")
def wh(demo_project, tmp_path_factory):
    import shutil

    copy = tmp_path_factory.mktemp("scores") / "patron-demo"
    shutil.copytree(demo_project / "patron-demo", copy)
    with open_warehouse(copy / "patron.duckdb") as w:
        yield w


def _busiest(wh) -> str:
    return wh.scalar("SELECT customer_id FROM responses WHERE customer_id IS NOT NULL "
                     "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")


def test_a_customers_nps_csat_and_ces_are_counted_from_its_own_answers(wh):
    customer = _busiest(wh)
    scores = build(wh, customer).scores
    assert {s["survey"] for s in scores} >= {"nps", "csat"}
    for s in scores:
        touch = "touchpoint IS NULL" if s["touchpoint"] == "(relationship)" else "touchpoint = ?"
        quarter = [int(s["quarter"][:4]), int(s["quarter"][-1])]
        answers = [r[0] for r in wh.rows(
            f"SELECT score FROM responses WHERE customer_id = ? AND survey = ? AND {touch} "
            "AND year(submitted_at) = ? AND quarter(submitted_at) = ?",
            [customer, s["survey"], *([] if s["touchpoint"] == "(relationship)" else [s["touchpoint"]]), *quarter])]
        assert s["n"] == len(answers)
        if s["survey"] == "nps":
            want = 100 * (sum(a >= 9 for a in answers) - sum(a <= 6 for a in answers)) / len(answers)
        elif s["survey"] == "csat":
            want = sum(a >= 4 for a in answers) / len(answers)
        else:
            want = sum(answers) / len(answers)
        assert s["value"] == pytest.approx(want)
        if s["ci_low"] is None:  # one answer has no spread to give an interval (a mean's, for effort)
            assert s["n"] == 1 and s["survey"] == "ces"
        else:
            assert s["ci_low"] <= s["value"] <= s["ci_high"]


def test_the_360_follows_a_definition_patron_yml_changes(wh):
    customer = _busiest(wh)
    strict = with_overrides(builtin_catalog(), {"csat": {"value": "score >= 5"}})
    before = {(s["touchpoint"], s["quarter"]): s for s in build(wh, customer).scores if s["survey"] == "csat"}
    after = {(s["touchpoint"], s["quarter"]): s for s in build(wh, customer, catalog=strict).scores
             if s["survey"] == "csat"}
    assert before.keys() == after.keys()
    assert all(after[k]["value"] <= before[k]["value"] for k in before)
    fours = wh.scalar("SELECT count(*) FROM responses WHERE customer_id = ? AND survey = 'csat' AND score = 4",
                      [customer])
    assert (sum(after[k]["value"] < before[k]["value"] for k in before) > 0) == (fours > 0)


def test_a_metric_patron_yml_adds_over_survey_answers_shows_in_the_360(wh):
    customer = _busiest(wh)
    catalog = with_overrides(builtin_catalog(), {"nps_top_box": {
        "label": "NPS top box", "definition": "Share of NPS answers scoring 10.", "kind": "share",
        "table": "responses", "value": "score = 10", "filter": "survey = 'nps'", "time": "submitted_at",
        "unit": "share", "better": "higher", "dimensions": ["touchpoint"]}})
    shown = [s for s in build(wh, customer, catalog=catalog).scores if s["survey"] == "nps_top_box"]
    nps = [s for s in build(wh, customer).scores if s["survey"] == "nps"]
    assert [(s["touchpoint"], s["quarter"], s["n"]) for s in shown] == [(s["touchpoint"], s["quarter"], s["n"])
                                                                        for s in nps]
    assert shown[0]["label"] == "NPS top box"


def test_a_customer_id_with_quotes_is_a_value_not_sql(wh):
    odd = "x' OR '1'='1"
    wh.execute("INSERT INTO identity_map VALUES ('crm', ?, ?, 'test', now()::TIMESTAMP)", [odd, odd])
    try:
        view = build(wh, odd)
    finally:
        wh.execute("DELETE FROM identity_map WHERE customer_id = ?", [odd])
    assert view.scores == []  # not every customer's answers


def test_a_filter_that_ends_in_a_comment_still_narrows_to_the_customer(wh):
    customer = _busiest(wh)
    commented = with_overrides(builtin_catalog(), {"nps": {"filter": "survey = 'nps'  -- NPS answers only"}})
    assert [s for s in build(wh, customer, catalog=commented).scores if s["survey"] == "nps"] == [
        s for s in build(wh, customer).scores if s["survey"] == "nps"]


def test_a_master_id_opens_its_customer_whatever_source_id_shares_its_spelling(wh):
    from patron.report.customer360 import find

    master = _busiest(wh)
    wh.execute("INSERT INTO identity_map VALUES ('api', ?, 'C-OTHER', 'test', now()::TIMESTAMP)", [master])
    try:
        assert find(wh, master) == master
    finally:
        wh.execute("DELETE FROM identity_map WHERE customer_id = 'C-OTHER'")


def test_a_text_dated_in_a_month_billing_has_not_reached_leaves_mrr_as_it_is(wh):
    """The data now runs a month past billing's last row: an open subscription pays on through it
    (the data's last day bounds revenue, patron.relations), never 0 as if everyone had left."""
    from patron.relations import CUSTOMER_MONTHS

    top, month = wh.rows(f"SELECT customer, month FROM ({CUSTOMER_MONTHS}) AS c "
                         "WHERE month = (SELECT max(month) FROM c) ORDER BY mrr DESC LIMIT 1".replace(
                             "FROM c)", f"FROM ({CUSTOMER_MONTHS}))"))[0]
    before = build(wh, top).mrr_by_month[-1]
    wh.execute("INSERT INTO feedback (feedback_id, channel, text, received_at, source, load_id, loaded_at) "
               "VALUES ('late', 'web', 'x', ? + INTERVAL 40 DAY, 'test', 0, now()::TIMESTAMP)", [month])
    try:
        after = build(wh, top).mrr_by_month[-1]
    finally:
        wh.execute("DELETE FROM feedback WHERE feedback_id = 'late'")
    later = (month + timedelta(days=40)).replace(day=1)  # the text's month
    assert after == {"month": later.strftime("%Y-%m"), "mrr": before["mrr"]} and after["mrr"] > 0
