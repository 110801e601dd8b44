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
