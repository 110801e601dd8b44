"""The demo tells the truth whatever day it is made on: a month's texts, scores and billing
events are spread over all its days, the current month has only its elapsed share of them, and
the listening stage finds the planted spike and almost nothing else."""

from __future__ import annotations

import json
import os
from datetime import date, timedelta

import pandas as pd
import pytest

from patron.demo import generate
from patron.listen.spikes import daily, detect
from patron.project import Project

# the first, third, middle, 28th and last day of a month (February's last included)
AS_OF = ["2026-12-01", "2026-10-03", "2026-11-15", "2026-02-28", "2026-08-31"]
TEXTS_PER_DAY = (
    "SELECT CAST(occurred_at AS DATE) AS day, count(*) AS n FROM enrichment WHERE occurred_at IS NOT NULL GROUP BY 1")


@pytest.mark.parametrize("as_of", AS_OF)
def test_the_demo_made_on_any_day_has_its_planted_spike_and_few_false_alerts(as_of, tmp_path):
    today = date.fromisoformat(as_of)
    generate(1500, seed=5, out=tmp_path / "co", as_of=today, usage_days=7)
    planted = json.loads((tmp_path / "co" / "truth" / "planted.json").read_text())["spike"]
    first, last = date.fromisoformat(planted["first_day"]), date.fromisoformat(planted["last_day"])
    with Project.open(tmp_path / "co" / "patron.yml", tmp_path / "w.duckdb", require_config=True) as project:
        project.ingest()
        project.listen.enrich()
        project.listen.themes()
        alerts = detect(project.warehouse, since=today - timedelta(days=30))
        per_day = project.warehouse.df(TEXTS_PER_DAY).set_index("day")["n"]
        series = daily(project.warehouse).shape[1]
    per_day.index = pd.to_datetime(per_day.index)
    usual = per_day[(per_day.index < pd.Timestamp(first)) & (per_day.index >= pd.Timestamp(today - timedelta(90)))]
    spike = (per_day.index >= pd.Timestamp(first)) & (per_day.index <= pd.Timestamp(last))
    recent = per_day[(per_day.index >= pd.Timestamp(today.replace(day=1))) & ~spike]
    assert per_day.index.max() <= pd.Timestamp(today)
    # the current month is not squeezed into its first days
    assert 0.6 * usual.mean() < recent.mean() < 1.5 * usual.mean(), (recent, usual.mean())
    late = per_day[per_day.index.day >= 29]  # and the last days of every month are as busy as the rest
    assert late.mean() > 0.7 * per_day[per_day.index.day < 29].mean()

    found = [a for a in alerts if a.kind == "spike" and first <= a.first_day <= first + timedelta(days=1)
             and (a.theme_id == f"channel:{planted['channel']}" or a.name == "Sign-in and SSO")]
    assert found, [(a.name, str(a.first_day)) for a in alerts]
    false = [a for a in alerts if a.kind == "spike" and not first <= a.first_day <= last]
    assert len(false) <= 2, [(a.name, str(a.first_day)) for a in false]
    assert not [a for a in alerts if a.kind == "data"]
    assert series > 10  # themes and channels were all watched


def test_a_partial_month_is_neither_compared_nor_reported_as_the_latest_value(tmp_path):
    import subprocess
    import sys

    generate(600, seed=2, out=tmp_path / "co", as_of=date(2026, 12, 4), usage_days=7)
    cli = [sys.executable, "-c", "from patron.cli.main import run; run()"]
    env = os.environ | {"COLUMNS": "200"}

    def patron(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*cli, *args], cwd=tmp_path / "co", capture_output=True, text=True, timeout=300,
                              env=env)

    assert patron("ingest").returncode == 0
    latest = json.loads(patron("metrics", "run", "--format", "json").stdout)
    assert latest and not [r for r in latest if str(r.get("period", "")).startswith("2026-12")]
    shown = patron("metrics", "show", "logo_churn_monthly").stdout
    partial = next(line for line in shown.splitlines() if "2026-12 (partial)" in line)
    assert "significant" not in partial and "not comparable" in shown


@pytest.mark.parametrize("as_of", ["2026-12-01", "2026-11-15", "2026-02-28"])
def test_churn_risk_on_a_demo_made_on_any_day_tests_on_the_last_complete_quarter(as_of, tmp_path):
    """Whatever the day, the backtest's test snapshot is the last month end whose three months
    are over, the planted churners rank above chance there, and today's scores are for today."""
    from patron.config import ChurnSettings
    from patron.predict import churn

    today = date.fromisoformat(as_of)
    generate(1000, seed=5, out=tmp_path / "co", as_of=today, usage_days=120)
    with Project.open(tmp_path / "co" / "patron.yml", tmp_path / "w.duckdb", require_config=True) as project:
        project.run(stages=("ingest", "identity", "enrich"))
        ran = churn.run(project.warehouse, ChurnSettings())
    complete = today.replace(day=1) - timedelta(days=1) if today.day < 28 or (today + timedelta(1)).day != 1 \
        else today  # the month of the day is complete only on its last day
    k = complete.year * 12 + complete.month - 1 - 3
    tested = date(k // 12, k % 12 + 1, 1)
    assert ran.backtest.tested_on.replace(day=1) == tested
    assert ran.backtest.evaluation.auc.value > 0.6
    assert ran.scores.as_of == today and len(ran.scores.frame) > 700
