"""`patron actions import`: a file of plays run elsewhere is checked row by row before anything is
written; a bad row refuses the whole file, naming the row and the field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from patron.errors import SourceError
from patron.project import Project
from test_plays import tiny_company

GOOD = {"play": "win_back", "customer": "c05", "arm": "treated", "assigned_on": "2026-05-01", "title": "Call them",
        "owner": "Ana", "status": "done", "closed_on": "2026-05-09", "reason": ""}
TOMORROW = str((datetime.now(UTC) + timedelta(days=1)).date())


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """The tiny company, loaded, with one file of plays already imported."""
    root = tmp_path_factory.mktemp("import")
    project = Project.open(tiny_company(root), root / "w.duckdb", require_config=True)
    project.ingest()
    _write(root / "first.csv", [{**GOOD, "customer": "c01"}, {**GOOD, "customer": "c02", "arm": "holdout",
                                                                "status": "", "closed_on": "", "title": ""}])
    project.act.import_plays(root / "first.csv", "crm", "Ana")
    yield project
    project.close()


def _write(path: Path, rows: list[dict]) -> Path:
    pd.DataFrame(rows, columns=list(GOOD)).to_csv(path, index=False)
    return path


def _tables(project: Project) -> tuple[pd.DataFrame, ...]:
    wh = project.warehouse
    return (wh.df("SELECT * FROM play_assignments ORDER BY ALL"), wh.df("SELECT * FROM action_items ORDER BY item_id"),
            wh.df("SELECT * FROM action_history ORDER BY ALL"))


def _refused(project: Project, path: Path) -> str:
    before = _tables(project)
    with pytest.raises(SourceError) as e:
        project.act.import_plays(path, "crm", "Ana")
    for was, now in zip(before, _tables(project), strict=True):
        pd.testing.assert_frame_equal(now, was)
    assert len(before[0]) >= 2 and len(before[1]) >= 1  # what the first file brought is there, untouched
    return str(e.value)


@pytest.mark.parametrize(("change", "said"), [
    ({"assigned_on": "2025-01-01junk"}, "row 3, field 'assigned_on': '2025-01-01junk' is not a date (YYYY-MM-DD)"),
    ({"closed_on": "2026-05-09 10:00"}, "row 3, field 'closed_on': '2026-05-09 10:00' is not a date"),
    ({"assigned_on": "2026-02-30"}, "row 3, field 'assigned_on': '2026-02-30' is not a date"),
    ({"assigned_on": "1969-12-31"}, "row 3, field 'assigned_on': 1969-12-31 is before 1970-01-01"),
    ({"assigned_on": "0001-01-01"}, "row 3, field 'assigned_on': 0001-01-01 is before 1970-01-01"),
    ({"assigned_on": TOMORROW, "status": "", "closed_on": ""},
     f"row 3, field 'assigned_on': {TOMORROW} is after today"),
    ({"closed_on": "9999-12-31"}, "row 3, field 'closed_on': 9999-12-31 is after today"),
    ({"closed_on": "2026-04-30"}, "row 3, field 'closed_on': 2026-04-30 is before the day it was assigned "
                                  "(2026-05-01)"),
    ({"closed_on": ""}, "row 3, field 'closed_on': a done item needs the day it was closed"),
    ({"status": "dismissed", "reason": "declined", "closed_on": ""},
     "row 3, field 'closed_on': a dismissed item needs the day it was closed"),
    ({"title": "\x1b[31m" + "x" * 501}, "row 3, field 'title': longer than 500 characters"),
])
def test_a_bad_row_refuses_the_file_naming_the_row_and_the_field(company, tmp_path, change, said):
    path = _write(tmp_path / "plays.csv", [{**GOOD, "customer": "c06"}, {**GOOD, **change}])
    text = _refused(company, path)
    assert "plays.csv: nothing imported" in text and said in text
    assert "row 2" not in text  # the good row is not blamed


@pytest.mark.parametrize(("content", "said"), [("", "holds no rows"), (",".join(GOOD) + "\n", "holds no rows")])
def test_a_file_with_no_rows_is_refused(company, tmp_path, content, said):
    path = tmp_path / "empty.csv"
    path.write_text(content)
    assert f"empty.csv: {said}" in _refused(company, path)


def test_control_characters_are_stripped_and_a_blank_owner_is_no_owner(company, tmp_path):
    path = _write(tmp_path / "odd.csv", [
        {**GOOD, "customer": "c10", "title": "\x1b[31mCall\x07 them\x1b[0m", "owner": " \x00 ",
         "status": "dismissed", "reason": "said \x1b[2Jno\x7f"},
        {**GOOD, "customer": "c11", "title": "\x00", "owner": "\x1b\x08"}])
    r = company.act.import_plays(path, "crm", "Ana")
    assert (r.assigned, r.items) == (2, 2)
    items = company.warehouse.df("SELECT customer_id, title, owner, reason FROM action_items "
                                 "WHERE play = 'win_back' AND customer_id IN ('c10', 'c11') ORDER BY customer_id")
    assert items["title"].tolist() == ["[31mCall them[0m", "win_back"]  # a title left blank is the play's name
    assert items["owner"].isna().all()
    assert items["reason"].iloc[0] == "said [2Jno"


def test_a_good_file_imports_and_importing_it_twice_adds_nothing(tmp_path):
    with Project.open(tiny_company(tmp_path), tmp_path / "w.duckdb", require_config=True) as project:
        project.ingest()
        path = _write(tmp_path / "plays.csv", [
            {**GOOD, "customer": "c01"}, {**GOOD, "customer": "c02", "arm": "holdout", "status": "", "closed_on": ""},
            {**GOOD, "customer": "c03", "status": "dismissed", "reason": "declined", "closed_on": "2026-05-01"},
            {**GOOD, "customer": "c04", "status": "", "closed_on": "", "owner": ""}])
        r = project.act.import_plays(path, "crm", "Ana")
        assert (r.rows, r.assigned, r.items, r.already) == (4, 4, 3, 0)
        before = _tables(project)
        again = project.act.import_plays(path, "crm", "Ana")
        assert (again.assigned, again.items, again.already) == (0, 0, 4)
        for was, now in zip(before, _tables(project), strict=True):
            pd.testing.assert_frame_equal(now, was)
        items = before[1].set_index("customer_id")
        assert items.loc["c01", "status"] == "done" and str(items.loc["c01", "closed_at"]) == "2026-05-09 12:00:00"
        assert items.loc["c04", "status"] == "open" and pd.isna(items.loc["c04", "owner"])
        # a closed imported item is told as closed, not as a condition that cleared, with its close in its history
        assert items[["cleared_at"]].isna().all().all()
        c03 = items.loc["c03", "item_id"]
        history = project.warehouse.df("SELECT changed_at, field, old_value, new_value FROM action_history "
                                       "WHERE item_id = ? ORDER BY changed_at, field", [c03])
        assert [(str(r.changed_at), r.field, r.new_value) for r in history.itertuples()] == [
            ("2026-05-01 00:00:00", "created", "imported from plays.csv"),
            ("2026-05-01 12:00:00", "reason", "declined"), ("2026-05-01 12:00:00", "status", "dismissed")]


def test_a_live_play_of_the_same_name_starts_anew_where_an_imported_item_was_closed(tmp_path):
    plays = {"win_back": {"when": "arr >= 2400", "action": "Win them back", "owner": "Ana"}}
    with Project.open(tiny_company(tmp_path, plays), tmp_path / "w.duckdb", require_config=True) as project:
        project.ingest()
        project.act.import_plays(_write(tmp_path / "plays.csv", [
            {**GOOD, "customer": "c01"}, {**GOOD, "customer": "c04", "status": "", "closed_on": ""}]), "crm", "Ana")
        r = project.act.run_plays()
        assert (r.results[0].created, r.results[0].unchanged) == (38, 1)  # all but c00; c04's open item goes on
        items = project.warehouse.df("SELECT customer_id, status, created_by FROM action_items ORDER BY item_id")
        assert len(items[items["customer_id"] == "c01"]) == 2 and len(items[items["customer_id"] == "c04"]) == 1
