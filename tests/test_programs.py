"""Programs and whether they go with better retention and NPS: loaded like any source, compared with
matched non-participants (an association) or with their holdout (an effect), too few said plainly,
and the demo's planted program found without moving any other export."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from conftest import DEMO_AS_OF, PATRON
from patron.act import programs as P
from patron.demo import generate
from patron.demo import programs as demo_programs
from patron.errors import ActionError
from patron.project import Project
from patron.warehouse import open_warehouse


@pytest.fixture(scope="module")
def demo(demo_loaded, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(patron.yml, warehouse) of the session's demo company, identities resolved, in a copy of its own."""
    config, db, _ = demo_loaded
    copy = tmp_path_factory.mktemp("programs") / "w.duckdb"
    shutil.copy(db, copy)
    with Project.open(config, copy, require_config=True) as project:
        project.run(stages=("identity",))
    return config, copy


@pytest.fixture(scope="module")
def report(demo) -> P.ProgramsReport:
    with Project.open(*demo) as project:
        return project.act.programs()


def _planted(config: Path) -> dict:
    return json.loads((config.parent / "truth" / "planted.json").read_text())["program"]


# -- loading --

def test_the_demo_program_loads_through_its_configured_source_and_identity_stamps_it(demo):
    config, db = demo
    exported = pd.read_csv(config.parent / "exports" / demo_programs.EXPORT, dtype=str)
    with open_warehouse(db) as wh:
        rows, unresolved, sources = wh.rows("SELECT COUNT(*), COUNT(*) - COUNT(customer_id), "
                                            "STRING_AGG(DISTINCT source, ',') FROM programs")[0]
        rejected = wh.scalar("SELECT COUNT(*) FROM quarantine WHERE source = 'academy_programs'")
        differ = wh.scalar("SELECT COUNT(*) FROM programs AS p JOIN customers AS c ON c.source = 'crm_accounts' "
                           "AND c.customer_ref = p.customer_ref WHERE c.customer_id <> p.customer_id")
    assert rows == len(exported) == _planted(config)["learners"] > 0
    assert (unresolved, sources, rejected, differ) == (0, "academy_programs", 0, 0)


def test_a_file_with_canonical_names_loads_with_into_and_bad_rows_are_quarantined(company):
    with open_warehouse(company) as wh:
        arms = dict(wh.rows("SELECT arm, COUNT(*) FROM programs WHERE program = 'community' GROUP BY arm"))
        rejected = set(wh.rows("SELECT row_number, field, reason FROM quarantine WHERE source LIKE 'file:%programs%'"))
    assert arms == {"participant": 100, "holdout": 100}
    assert rejected == {(206, "arm", "must be one of: participant, holdout"),
                        (207, "left_at", "before joined_at")}


# -- the demo's planted program --

def test_the_matched_comparison_recovers_the_planted_program_and_undoes_the_selection(demo, report):
    planted = _planted(demo[0])
    (p,) = report.programs
    assert (p.program, p.design, p.conclusion) == (planted["program"], "matched", P.ASSOCIATION)
    assert p.participants >= p.paying_before >= p.matched >= 100 and p.comparison > p.matched
    for outcome, effect in (("retention", planted["effect"]["retention"]), ("nps", planted["effect"]["nps"])):
        o = getattr(p, outcome)
        assert o.difference.ci_low <= effect <= o.difference.ci_high, outcome
    # promoters were invited more: unmatched, members look far happier; matched, the gap is gone
    assert p.nps.unmatched_difference.ci_low > 0
    assert p.nps.unmatched_difference.value - p.nps.difference.value > 10


def test_it_says_an_association_and_how_prior_health_was_read(report):
    (p,) = report.programs
    assert p.conclusion == ("an association, not proof the program causes it: customers who join may differ in "
                            "ways patron cannot see")
    assert p.prior == {"nps": p.matched}  # no health run: the last NPS answer before joining
    assert "6-month retention" in p.summary and "NPS" in p.summary


def test_a_health_run_gives_the_prior_health_where_it_scored_the_month_end(demo, tmp_path):
    copy = tmp_path / "w.duckdb"
    shutil.copy(demo[1], copy)
    with Project.open(demo[0], copy) as project:
        project.predict.health()
        (p,) = project.act.programs().programs
    assert p.prior.get("health_nps", 0) > 0 and set(p.prior) <= {"health_nps", "health", "nps"}
    assert sum(p.prior.values()) == p.matched


def test_retention_counts_only_participants_whose_months_have_passed(demo, report):
    with Project.open(*demo) as project:
        year = project.act.programs(12).programs[0]
        never = project.act.programs(60).programs[0]
    six = report.programs[0]
    assert year.retention.participants.n < six.retention.participants.n
    assert never.retention.participants is None and never.retention.difference is None
    assert never.retention.note.startswith("too few whose 60 months have passed: 0 matched participants")


# -- a program with a holdout, and too few --

def _write(path: Path, rows: list[dict]) -> Path:
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse of one-off files: 400 monthly customers with a month of usage and no NPS answer
    before March 2025; a community program that invited 200 of them on 2025-01-15 and held every
    other one out (participants 5% gone by July, the holdout 25%), and five "[bold]ambassadors[/bold]"
    who joined in February; the programs loaded with `patron ingest FILE --into programs`."""
    root = tmp_path_factory.mktemp("company")
    subs, answers, members = [], [], []
    for i in range(400):
        ref, invited, takes_part = f"c{i:04d}", i < 200, i < 200 and i % 2 == 0
        gone = (i % 40 == 0) if takes_part else (i % 8 == 1) if invited else (i % 7 == 0)
        subs.append({"subscription_id": f"s{i:04d}", "customer_ref": ref, "mrr": 100 + 400 * (i % 3 == 0),
                     "start_date": "2024-01-01", "end_date": "2025-04-15" if gone else "", "term_months": 1})
        score = (10 if i % 10 < 7 else 8 if i % 10 < 9 else 3) if takes_part else (10 if i % 10 < 3 else 8 if
                                                                                   i % 10 < 7 else 3)
        answers.append({"response_id": f"r{i:04d}", "customer_ref": ref, "survey": "nps", "score": score,
                        "submitted_at": "2025-03-10 10:00:00"})
        if invited:
            members.append({"customer_ref": ref, "program": "community", "participant": "account",
                            "joined_at": "2025-01-15", "left_at": "", "arm": "participant" if takes_part else
                            "holdout"})
    answers.append({"response_id": "last", "customer_ref": "c0399", "survey": "nps", "score": 9,
                    "submitted_at": "2025-12-31 12:00:00"})
    members += [{"customer_ref": f"c{i:04d}", "program": "[bold]ambassadors[/bold]", "participant": "account",
                 "joined_at": "2025-02-10", "left_at": "", "arm": ""} for i in range(200, 205)]
    members += [{"customer_ref": "c0300", "program": "community", "participant": "x", "joined_at": "2025-01-15",
                 "left_at": "", "arm": "control"},
                {"customer_ref": "c0301", "program": "community", "participant": "x", "joined_at": "2025-01-15",
                 "left_at": "2025-01-01", "arm": ""}]
    used = [{"customer_ref": f"c{i:04d}", "day": day, "feature": "reports", "events": i % 5}
            for i in range(400) for day in ("2025-01-02", "2025-01-31")]
    db = root / "w.duckdb"
    with Project.open(None, db) as project:
        project.ingest.file(_write(root / "subscriptions.csv", subs), "subscriptions")
        project.ingest.file(_write(root / "responses.csv", answers), "responses")
        project.ingest.file(_write(root / "usage.csv", used), "usage")
    r = subprocess.run([*PATRON, "ingest", str(_write(root / "programs.csv", members)), "--into", "programs",
                        "--db", str(db)], cwd=root, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return db


def _program(result: P.ProgramsReport, name: str) -> P.ProgramResult:
    return next(p for p in result.programs if p.program == name)


def test_a_program_with_a_holdout_is_compared_with_it_and_called_an_effect(company):
    with Project.open(None, company) as project:
        p = _program(project.act.programs(), "community")
    assert (p.design, p.conclusion, p.participants, p.holdout, p.comparison) == ("holdout", P.EFFECT, 100, 100, 100)
    r = p.retention
    assert (r.participants.value, r.comparison.value) == pytest.approx((0.95, 0.75))
    assert r.significant and r.difference.ci_low <= 0.20 <= r.difference.ci_high and r.difference.ci_low > 0
    assert p.nps.participants.value == pytest.approx(80) and p.nps.comparison.value == pytest.approx(-20)
    assert p.nps.significant and p.prior == {} and r.unmatched_difference is None
    assert "effect" in p.conclusion and "association" not in p.conclusion


def test_too_few_participants_say_so_with_the_numbers_instead_of_figures(company):
    with Project.open(None, company) as project:
        p = _program(project.act.programs(), "[bold]ambassadors[/bold]")
    assert p.retention is None and p.nps is None
    assert p.prior == {"usage": 5}  # no health run, no NPS answer before: January's usage
    assert p.note == p.summary == ("Too few to compare: 5 participants, 5 of them paying at the month end before "
                                   "joining, 5 matched with 288 comparable non-participants; at least 20 of each are "
                                   "needed.")


def test_the_command_prints_a_table_and_json_and_escapes_program_names(company):
    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*PATRON, "programs", "--db", str(company), *args], capture_output=True, text=True,
                              timeout=120, env={**os.environ, "COLUMNS": "200"})

    shown = run()
    assert shown.returncode == 0, shown.stderr
    assert "[bold]ambassadors[/bold]" in shown.stdout and "Too few to compare" in shown.stdout
    assert "This is an effect" in " ".join(shown.stdout.split())
    doc = json.loads(run("--format", "json", "--months", "3").stdout)
    assert set(doc) == {"as_of", "months", "method", "programs"} and doc["months"] == 3
    community = next(p for p in doc["programs"] if p["program"] == "community")
    assert set(community) >= {"program", "design", "participants", "paying_before", "matched", "comparison",
                              "holdout", "prior", "retention", "nps", "conclusion", "summary", "note"}
    assert set(community["retention"]) == {"outcome", "measure", "participants", "comparison", "difference",
                                           "p_value", "significant", "unmatched_difference", "note"}
    assert set(community["retention"]["difference"]) == {"value", "n", "ci_low", "ci_high"}


def test_no_programs_and_a_bad_horizon_are_one_clear_error(tmp_path, company):
    open_warehouse(tmp_path / "empty.duckdb").close()
    with Project.open(None, tmp_path / "empty.duckdb") as project, pytest.raises(ActionError, match="--into programs"):
        project.act.programs()
    with Project.open(None, company) as project, pytest.raises(ActionError, match="1 to 60 months"):
        project.act.programs(0)
    r = subprocess.run([*PATRON, "programs", "--db", str(tmp_path / "none.duckdb")], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1


# -- the demo's other exports do not move --

def test_the_program_draws_on_its_own_stream_so_no_other_export_changes(tmp_path, monkeypatch):
    def digests(folder: Path) -> dict[str, bytes]:
        return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}

    generate(300, seed=5, out=tmp_path / "with", as_of=DEMO_AS_OF, usage_days=10)
    empty = pd.DataFrame(columns=["account_id", "program", "learner_email", "enrolled_on", "left_on"])
    monkeypatch.setattr(demo_programs, "export", lambda *a, **k: empty)
    generate(300, seed=5, out=tmp_path / "without", as_of=DEMO_AS_OF, usage_days=10)
    with_, without = digests(tmp_path / "with"), digests(tmp_path / "without")
    mine = {f"exports/{demo_programs.EXPORT}", "truth/planted.json"}
    assert with_.keys() == without.keys() and len(with_) > len(mine)
    assert {k: v for k, v in with_.items() if k not in mine} == {k: v for k, v in without.items() if k not in mine}
    assert with_[f"exports/{demo_programs.EXPORT}"] != without[f"exports/{demo_programs.EXPORT}"]


def test_a_customer_held_out_and_enrolled_later_counts_in_the_holdout_it_was_drawn_to(tmp_path):
    rows = [{"customer_ref": "a", "program": "p", "participant": "x", "joined_at": "2025-01-15", "arm": "holdout"},
            {"customer_ref": "a", "program": "p", "participant": "x", "joined_at": "2025-03-01", "arm": "participant"},
            {"customer_ref": "b", "program": "p", "participant": "x", "joined_at": "2025-01-15", "arm": "participant"},
            {"customer_ref": "b", "program": "p", "participant": "x", "joined_at": "2025-04-01", "arm": "holdout"},
            {"customer_ref": "c", "program": "p", "participant": "x", "joined_at": "2025-02-01", "arm": ""}]
    with Project.open(None, tmp_path / "w.duckdb") as project:
        project.ingest.file(_write(tmp_path / "programs.csv", rows), "programs")
        members = project.warehouse.df(f"SELECT * FROM ({P._MEMBERS}) AS m ORDER BY customer", ["p"])
    assert members["holdout"].tolist() == [True, False, False]
    assert [str(d)[:10] for d in members["joined_at"]] == ["2025-01-15", "2025-01-15", "2025-02-01"]
