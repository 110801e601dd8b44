"""Renewals due soon: the next renewal day of each contract, its probability and revenue."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import date, timedelta

import pytest

from conftest import PATRON
from patron.errors import PredictError
from patron.predict.renewals import next_renewal
from patron.warehouse import open_warehouse


@pytest.mark.parametrize(("start", "term", "after", "want"), [
    (date(2024, 3, 15), 12, date(2026, 6, 30), date(2027, 3, 15)),
    (date(2024, 7, 15), 12, date(2026, 6, 30), date(2026, 7, 15)),
    (date(2025, 1, 31), 1, date(2026, 2, 10), date(2026, 2, 28)),  # the month's last day when it has no 31st
    (date(2024, 2, 29), 12, date(2025, 3, 1), date(2026, 2, 28)),
    (date(2025, 6, 30), 12, date(2026, 6, 30), date(2027, 6, 30)),  # renewing on the day: that one is past
    (date(2026, 6, 1), 24, date(2026, 6, 30), date(2028, 6, 1)),
])
def test_the_next_renewal_is_the_first_anniversary_after_the_day(start, term, after, want):
    assert next_renewal(start, term, after) == want


def test_renewals_need_a_churn_run(year_of_usage, tmp_path):
    copy = tmp_path / "r.duckdb"
    shutil.copy(year_of_usage[1], copy)
    r = subprocess.run([*PATRON, "renewals", "--db", str(copy)], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 1 and "run `patron predict` first" in r.stderr


def test_renewals_due_list_contracts_longer_than_a_month_within_the_window(year_predicted, tmp_path):
    copy = tmp_path / "r.duckdb"
    shutil.copy(year_predicted, copy)
    r = subprocess.run([*PATRON, "renewals", "--db", str(copy), "-f", "json", "--by", "segment"],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    rows = doc["renewals"]
    assert rows and all(date(2026, 6, 30) < date.fromisoformat(x["renewal_date"]) <= date(2026, 6, 30)
                        + timedelta(days=90) for x in rows)
    assert all(x["term"] > 1 for x in rows)
    assert all(x["expected_arr"] == pytest.approx(x["value"] * x["p_renew"], abs=0.01) for x in rows)
    assert sum(g["renewals"] for g in doc["by"]) == len(rows)
    assert sum(g["at_stake"] for g in doc["by"]) == pytest.approx(sum(x["at_stake"] for x in rows))
    with open_warehouse(copy) as wh, pytest.raises(PredictError, match="horizon_months"):
        from patron.predict.renewals import due

        due(wh, days=200)


def test_the_briefing_tells_the_renewals_patron_renewals_lists(year_predicted, tmp_path):
    from patron.report import build, render_html

    copy = tmp_path / "r.duckdb"
    shutil.copy(year_predicted, copy)
    doc = json.loads(subprocess.run([*PATRON, "renewals", "--db", str(copy), "-f", "json"], capture_output=True,
                                    text=True, cwd=tmp_path).stdout)
    rows = doc["renewals"]
    with open_warehouse(copy) as wh:
        b = build(wh)
    r = b.renewals
    assert r["note"] is None and r["days"] == 90 and r["renewals"] == len(rows) > 0
    assert r["arr_due"] == pytest.approx(sum(x["value"] for x in rows))
    assert r["expected_arr"] == pytest.approx(sum(x["expected_arr"] for x in rows))
    assert r["at_stake"] == pytest.approx(sum(x["at_stake"] for x in rows))
    most = max(rows, key=lambda x: x["at_stake"])
    assert r["top"][0][0] == (most["name"] or most["customer_id"]) and len(r["top"]) == min(8, len(rows))
    text = " ".join(render_html(b).split())
    assert "<h2>Renewals in the next 90 days</h2>" in text
    assert (f"{len(rows):,} contracts renew in the 90 days after 2026-06-30: ${r['arr_due']:,.0f} ARR due, "
            f"${r['expected_arr']:,.0f} expected to renew, ${r['at_stake']:,.0f} at risk") in text


def test_without_contracts_to_renew_the_briefing_and_the_command_say_so_plainly(year_predicted, tmp_path):
    from patron.report import build, render_html

    copy = tmp_path / "r.duckdb"
    shutil.copy(year_predicted, copy)
    with open_warehouse(copy) as wh:
        wh.execute("UPDATE subscriptions SET term_months = 1")  # every contract monthly
        b = build(wh)
    assert b.renewals["renewals"] == 0 and b.renewals["note"].startswith("No contracts to renew: every subscription "
                                                                          "is monthly")
    assert "No contracts to renew: every subscription is monthly" in " ".join(render_html(b).split())
    r = subprocess.run([*PATRON, "renewals", "--db", str(copy)], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0 and "No contracts to renew: every subscription is monthly" in " ".join(r.stdout.split())


def test_counts_of_days_months_and_renewals_read_in_the_singular_for_one(year_predicted, tmp_path):
    import os

    copy = tmp_path / "r.duckdb"
    shutil.copy(year_predicted, copy)
    env = os.environ | {"COLUMNS": "200"}
    one_day = " ".join(subprocess.run([*PATRON, "renewals", "--db", str(copy), "--days", "1"], capture_output=True,
                                      text=True, cwd=tmp_path, env=env).stdout.split())
    assert "1 days" not in one_day and "the 1 day after 2026-06-30" in one_day
    assert not any(f" 1 {w}s" in one_day for w in ("renewal", "month", "day", "account"))
    from patron.cli.scores import renews
    from patron.report.html import counted

    assert renews(1, 12) == "in 1 month" and renews(5, 12) == "in 5 months" and renews(1, 1) == "monthly"
    assert counted(1, "day") == "1 day" and counted(90, "day") == "90 days"
    with open_warehouse(copy) as wh:
        wh.execute("UPDATE prediction_runs SET settings = json_merge_patch(settings, '{\"horizon_months\": 1}')")
        from patron.predict.renewals import due

        with pytest.raises(PredictError, match=r"looks 1 month ahead"):
            due(wh, days=90)


def test_the_limit_help_says_in_which_order_rows_come():
    from typer.testing import CliRunner

    from patron.cli.main import app

    def help_of(*args: str) -> str:
        return " ".join(CliRunner().invoke(app, [*args, "--help"], env={"COLUMNS": "200"}).output.split())

    for command, order in (("risk", "most ARR at stake first"), ("predict", "most ARR at stake first"),
                           ("renewals", "soonest renewal first"), ("health", "least healthy first"),
                           ("clv", "most valuable first")):
        shown = help_of(command)
        assert order in shown and "newest first" not in shown, (command, shown)
