"""Key drivers on the demo company: the planted NPS driver (the implementation touchpoint) ranks
first, clear of the others; churn's drivers and the per-segment view say what they cannot tell."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from conftest import PATRON
from patron.errors import PredictError
from patron.predict.drivers import analyse
from patron.warehouse import open_warehouse


@pytest.fixture(scope="module")
def wh(year_of_usage):
    with open_warehouse(year_of_usage[1]) as w:
        yield w


def test_the_planted_nps_driver_ranks_first_clear_of_the_others(wh, year_of_usage):
    planted = json.loads((year_of_usage[0] / "truth" / "planted.json").read_text())["driver"]["touchpoint"]
    result = analyse(wh, "nps", "touchpoints", bootstrap=500)
    top = result.overall.drivers[0]
    assert top.predictor == planted and top.is_driver and top.clear_of_next
    assert not all(d.is_driver for d in result.overall.drivers)  # the rest barely move NPS: not all are drivers
    assert result.overall.n >= 500 and all(n >= 30 for n in result.rated.values())
    assert sum(d.share for d in result.overall.drivers) == pytest.approx(result.overall.r2)


def test_drivers_per_segment_give_their_n_or_say_why_not(wh):
    result = analyse(wh, "nps", "touchpoints", by="segment", bootstrap=200, min_segment=150)
    assert result.segments or result.skipped
    for seg, part in result.segments.items():
        assert part.n >= 150, seg
        # each segment counts its own customers rating each touchpoint, never the company's
        own = result.segment_rated[seg]
        assert set(own) == set(result.rated) and all(0 < own[t] <= min(part.n, result.rated[t]) for t in own)
        assert own != result.rated
    for seg, n, why in result.skipped:
        assert n < 150 or why, seg


def test_drivers_of_churn_among_behaviours_read_the_latest_known_snapshot(wh):
    result = analyse(wh, "churn", "behaviours", bootstrap=200)
    assert str(result.as_of) == "2026-03-31"
    assert result.overall.n > 1000 and any(d.is_driver for d in result.overall.drivers)


def test_an_unknown_outcome_is_named(wh):
    with pytest.raises(PredictError, match="drivers of nps or churn among touchpoints, themes, behaviours"):
        analyse(wh, "happiness", "touchpoints")


def test_drivers_on_the_command_line(year_of_usage, tmp_path):
    db = tmp_path / "d.duckdb"
    shutil.copy(year_of_usage[1], db)  # the module's tests hold the shared warehouse open
    r = subprocess.run([*PATRON, "drivers", "--db", str(db), "-f", "json"], capture_output=True,
                       text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["overall"]["drivers"][0]["predictor"] == "implementation"
    r = subprocess.run([*PATRON, "drivers", "--db", str(db), "--among", "nothing"],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 1 and "among touchpoints, themes, behaviours" in r.stderr
