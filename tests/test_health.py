"""The health score on the demo company: a scorecard from patron.yml, every account and month,
that follows the planted health and is checked against who left."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import date

import pandas as pd
import pytest
from scipy.stats import spearmanr

from conftest import PATRON, true_customers
from patron.config import HEALTH_COMPONENTS, HealthSettings, parse_project
from patron.errors import ConfigError
from patron.predict import features as F
from patron.predict import health
from patron.warehouse import open_warehouse


@pytest.fixture(scope="module")
def scored(year_of_usage, tmp_path_factory: pytest.TempPathFactory) -> health.HealthRun:
    copy = tmp_path_factory.mktemp("health") / "w.duckdb"  # a run is kept: never in the shared warehouse
    shutil.copy(year_of_usage[1], copy)
    with open_warehouse(copy) as wh:
        return health.run(wh, HealthSettings())


def test_every_paying_account_is_scored_each_month_within_0_to_100(scored):
    s = scored.scores
    assert s["month"].nunique() == 13 and s["month"].max() == date(2026, 6, 30)
    assert s["score"].between(0, 100).all()
    assert set(s["band"]) <= {"red", "amber", "green"}
    assert ((s["score"] < 40) == (s["band"] == "red")).all() and ((s["score"] >= 70) == (s["band"] == "green")).all()
    # an account without a survey answer is scored on the rest, and says the component is missing
    # today's details as read; the month ends before as the JSON text they are stored as
    details = [json.loads(r) if isinstance(r, str) else r for r in s["details"]]
    no_nps = [r for r in details if r["components"]["nps"] is None]
    assert no_nps and all(r["components"]["support_load"] is not None for r in no_nps)


def test_the_score_follows_the_planted_health(year_of_usage, scored):
    out, db = year_of_usage
    truth = pd.read_csv(out / "truth" / "health.csv")
    truth = truth[truth["month"] == "2026-06-01"].set_index("true_customer")["health"]
    now = scored.scores[scored.scores["month"] == date(2026, 6, 30)]
    planted = now["customer"].map(true_customers(out, db)).map(truth)
    ok = planted.notna()
    assert ok.sum() > 1500
    assert spearmanr(now["score"][ok], planted[ok]).statistic > 0.45


def test_the_check_ranks_who_left_better_than_chance_and_reds_leave_more(scored):
    check = scored.check
    assert check.scored_on == date(2026, 3, 31)
    assert check.evaluation.auc.ci_low > 0.5
    bands = check.churn_by_band
    assert sum(b["accounts"] for b in bands.values()) == check.evaluation.n
    assert bands["green"]["share"] < bands["amber"]["share"]


def test_weights_from_patron_yml_make_the_score(year_of_usage):
    only_nps = HealthSettings(weights={"nps": 1})
    with open_warehouse(year_of_usage[1]) as wh:
        f = F.snapshot(wh, date(2026, 6, 30))
    parts = health.components(f)
    got = health.score(parts, only_nps.weights)
    has = parts["nps"].notna()
    assert (got[has] == parts["nps"][has].round(1)).all() and got[~has].isna().all()


def test_learned_weights_are_a_proposal_checked_on_the_same_snapshot(year_of_usage, scored):
    with open_warehouse(year_of_usage[1]) as wh:
        proposal = health.learn(wh, HealthSettings())
    assert sum(proposal.weights.values()) == pytest.approx(100, abs=0.5)
    assert all(w >= 0 for w in proposal.weights.values()) and set(proposal.weights) <= set(HEALTH_COMPONENTS)
    assert proposal.check.scored_on == scored.check.scored_on
    assert max(proposal.learned_on) <= F.month_end(F.add_months(proposal.check.scored_on, -health.CHECK_MONTHS))


@pytest.mark.parametrize(("settings", "says"), [
    ({"weights": {"happiness": 10}}, "no health component 'happiness'"),
    ({"weights": {"nps": -1}}, "from 0 to 1,000,000"),
    ({"red": 80, "green": 70}, "red (80.0) must be below green (70"),
])
def test_a_bad_scorecard_is_named_with_its_key(settings, says):
    with pytest.raises(ConfigError) as e:
        parse_project({"predict": {"health": settings}})
    assert "predict.health" in str(e.value) and says in str(e.value)


def test_health_on_the_command_line(year_of_usage, tmp_path):
    copy = tmp_path / "h.duckdb"
    shutil.copy(year_of_usage[1], copy)
    r = subprocess.run([*PATRON, "health", "--db", str(copy), "--learn", "-f", "json"], capture_output=True,
                       text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["check"]["evaluation"]["auc"]["value"] > 0.5 and doc["proposal"]["weights"]
    assert len(doc["accounts"]) > 1500 and doc["accounts"][0]["score"] <= doc["accounts"][-1]["score"]
    with open_warehouse(copy) as wh:
        assert wh.scalar("SELECT count(DISTINCT as_of) FROM predictions WHERE model = 'health'") == 13
