"""Did a play work? On the demo company's planted plays, and on plays brought in from another tool."""

from __future__ import annotations

import json
import subprocess

import pandas as pd
import pytest

from conftest import PATRON
from patron.errors import SourceError
from patron.project import Project


@pytest.fixture(scope="module")
def demo(demo_project):
    folder = demo_project / "patron-demo"
    planted = json.loads((folder / "truth" / "planted.json").read_text())["plays"]
    with Project.open(folder / "patron.yml") as project:
        yield project, planted, {u.play: u for u in project.act.uplift(planted["save_plan"]["window_months"])}


def test_the_save_plan_s_estimate_covers_its_planted_effect_on_churn(demo):
    _, planted, found = demo
    save = found["save_plan"]
    truth = planted["save_plan"]
    assert save.treated + save.holdout == truth["eligible"]  # every eligible account, its window passed
    churn = next(o for o in save.outcomes if o.name == "churn")
    d = churn.difference
    assert d.ci_low <= truth["effect_on_churn"] <= d.ci_high
    assert d.value < 0 and churn.treated < churn.holdout
    assert (d.n_a, d.n_b) == (save.treated, save.holdout)


def test_a_play_with_no_planted_effect_is_reported_as_not_significant(demo):
    _, planted, found = demo
    reference = found["reference_request"]
    churn = next(o for o in reference.outcomes if o.name == "churn")
    assert not churn.difference.significant
    assert churn.verdict.startswith("no significant difference in churn")
    assert reference.done == pytest.approx(0.8, abs=0.08)  # the tool's export: four in five done


def test_uplift_reads_only_windows_that_have_passed(demo):
    project, planted, _ = demo
    early = {u.play: u for u in project.act.uplift(36)}
    assert early["save_plan"].treated == 0 and early["save_plan"].note.startswith("no outcome yet")


def test_the_uplift_command_gives_every_outcome_with_its_interval_and_n(demo_copy):
    r = subprocess.run([*PATRON, "actions", "uplift", "--format", "json"], cwd=demo_copy / "patron-demo",
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    save = next(p for p in doc["plays"] if p["play"] == "save_plan")
    assert [o["name"] for o in save["outcomes"]] == ["churn", "revenue", "nps"]
    for o in save["outcomes"]:
        assert {"value", "ci_low", "ci_high", "p_value", "n_a", "n_b", "significant"} <= set(o["difference"])


def _company(tmp_path):
    from test_plays import tiny_company

    project = Project.open(tiny_company(tmp_path), tmp_path / "w.duckdb", require_config=True)
    project.ingest()
    return project


def test_importing_plays_checks_every_row_first_and_twice_adds_nothing(tmp_path):
    project = _company(tmp_path)
    good = pd.DataFrame({"play": ["save_plan"] * 3, "customer": ["c01", "c02", "c03"],
                         "arm": ["treated", "holdout", "treated"], "assigned_on": ["2026-05-01"] * 3,
                         "status": ["done", "", "dismissed"], "closed_on": ["2026-05-09", "", "2026-05-10"],
                         "reason": ["", "", "declined"]})
    good.to_csv(tmp_path / "plays.csv", index=False)
    r = project.act.import_plays(tmp_path / "plays.csv", "crm", "Ana")
    assert (r.assigned, r.items, r.already) == (3, 2, 0)
    again = project.act.import_plays(tmp_path / "plays.csv", "crm", "Ana")
    assert (again.assigned, again.items, again.already) == (0, 0, 3)
    items = project.warehouse.df("SELECT customer_id, status, closed_at FROM action_items ORDER BY customer_id")
    assert items["customer_id"].tolist() == ["c01", "c03"] and items["status"].tolist() == ["done", "dismissed"]
    bad = good.assign(customer=["c01", "nobody", "c03"], arm=["treated", "holdout", "maybe"],
                      assigned_on=["2026-05-01", "May 1", "2026-05-01"])
    bad.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(SourceError) as e:
        project.act.import_plays(tmp_path / "bad.csv", "crm", "Ana")
    text = str(e.value)
    assert "bad.csv: nothing imported" in text
    assert "row 3, field 'customer': no customer has the id 'nobody'" in text
    assert "row 3, field 'assigned_on': 'May 1' is not a date" in text
    assert "row 4, field 'arm': 'maybe' is neither treated nor holdout" in text
    assert project.warehouse.scalar("SELECT COUNT(*) FROM play_assignments") == 3
    project.close()


def test_the_briefing_says_who_owns_what_and_whether_each_play_works(demo):
    from patron.report import build, render_html

    project, _, found = demo
    b = build(project.warehouse, project.metrics.catalog())
    assert b.actions["open"] > 0 and b.actions["owners"]
    plays = {p[0]: p for p in b.actions["plays"]}
    assert plays["save_plan"][5] == next(o for o in found["save_plan"].outcomes if o.name == "churn").verdict
    html = render_html(b)
    assert "Do the plays work?" in html and "reference_request" in html


def test_a_released_holdout_compares_only_what_ended_before_its_release(demo_copy):
    with Project.open(demo_copy / "patron-demo" / "patron.yml") as project:
        before = {u.play: u for u in project.act.uplift(6)}["save_plan"]
        assert before.treated > 0 and "drawn outside patron" in before.note  # the demo's plays came in a file
        first = project.warehouse.scalar("SELECT MIN(as_of) FROM play_assignments WHERE play = 'save_plan'")
        project.warehouse.execute("UPDATE play_assignments SET released_at = CAST(? AS DATE) + INTERVAL 3 MONTH "
                                  "WHERE play = 'save_plan' AND arm = 'holdout'", [first])
        after = {u.play: u for u in project.act.uplift(6)}["save_plan"]
        assert (after.treated, after.holdout, after.outcomes) == (0, 0, [])  # six months had not passed by then
        assert "its holdout was released on" in after.note and after.note.startswith("no outcome yet")
        assert {u.play: u for u in project.act.uplift(2)}["save_plan"].treated > 0


def test_a_release_before_a_customer_was_drawn_does_not_hide_its_outcome(demo_copy):
    with Project.open(demo_copy / "patron-demo" / "patron.yml") as project:
        before = {u.play: u for u in project.act.uplift(6)}["save_plan"]
        first = project.warehouse.scalar("SELECT MIN(assigned_at) FROM play_assignments WHERE play = 'save_plan'")
        # an earlier holdout of the play, released a month before these customers were drawn
        project.warehouse.execute(
            "INSERT INTO play_assignments (play, customer_id, arm, assigned_at, as_of, share, source, released_at) "
            "VALUES ('save_plan', 'someone-else', 'holdout', ? - INTERVAL 90 DAY, CAST(? AS DATE) - INTERVAL 90 DAY, "
            "0.3, 'run:old', ? - INTERVAL 30 DAY)", [first, first, first])
        after = {u.play: u for u in project.act.uplift(6)}["save_plan"]
    assert (after.treated, after.holdout) == (before.treated, before.holdout)
    for a, b in zip(after.outcomes, before.outcomes, strict=True):
        assert (a.difference.n_a, a.difference.n_b) == (b.difference.n_a, b.difference.n_b)
        assert a.difference.value == pytest.approx(b.difference.value)
