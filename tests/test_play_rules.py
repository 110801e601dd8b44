"""A play's condition as the engine sees it: a literal it cannot read (`DATE '2020-02-30'`) is a
problem named by the play, found by `patron check` before anything is written."""

from __future__ import annotations

import json
import subprocess

import pytest

from conftest import PATRON
from patron.act.rules import engine_problems
from patron.config import PlayConfig
from patron.warehouse import open_warehouse
from test_plays import tiny_company


def _problems(when: str, subject: str = "customer") -> list[str]:
    with open_warehouse(None) as scratch:
        return engine_problems(scratch, {"p": PlayConfig(subject=subject, when=when, action="x", owner="me")})


@pytest.mark.parametrize(("when", "literal"), [
    ("nps_last_at > DATE '2020-02-30'", "2020-02-30"),
    ("nps_last_at > CAST('2020-13-01' AS DATE)", "2020-13-01"),
    ("arr > 0 AND nps_last_at < DATE '2021-02-29' + INTERVAL 1 DAY", "2021-02-29"),
])
def test_a_literal_the_engine_cannot_read_is_a_problem_of_its_play(when, literal):
    problems = _problems(when)
    assert len(problems) == 1  # said once, though it sits inside a larger constant
    assert problems[0].startswith(f"plays.p.when: CAST('{literal}' AS DATE) cannot be evaluated: ")
    assert literal in problems[0].split("cannot be evaluated: ")[1]  # the engine's own words, naming it


def test_a_bad_pattern_is_a_problem_of_its_play():
    assert [p[:40] for p in _problems("regexp_matches(comment, '(')", "response")] == \
           ["plays.p.when: the engine cannot run \"reg"]
    constant = _problems("regexp_matches('abc', '(') AND score > 0", "response")
    assert len(constant) == 1 and constant[0].startswith("plays.p.when: REGEXP_MATCHES('abc', '(') cannot be evaluated")


@pytest.mark.parametrize("when", [
    "nps_last_at > DATE '2020-02-29' AND arr > CAST('100' AS DOUBLE)",
    "nps_last_at < current_date - INTERVAL 30 DAY AND upper('a') = 'A'",
    "TRY_CAST('not a number' AS INTEGER) IS NULL AND arr > 0",
])
def test_a_condition_with_good_literals_has_no_problem(when):
    assert _problems(when) == []


def test_each_distinct_constant_is_evaluated_once():
    class Counting:
        def __init__(self, wh):
            self.wh, self.asked = wh, []

        def rows(self, sql, params=None):
            self.asked.append(sql)
            return self.wh.rows(sql, params)

    with open_warehouse(None) as scratch:
        wh = Counting(scratch)
        when = "nps_last_at > DATE '2020-01-01' AND nps_last_at < DATE '2020-01-01' + INTERVAL 1 DAY"
        plays = {n: PlayConfig(when=when, action="x", owner="me") for n in ("a", "b")}
        assert engine_problems(wh, plays) == []
    constants = [q for q in wh.asked if "FROM" not in q]
    assert constants.count("SELECT CAST('2020-01-01' AS DATE)") == 1 and len(constants) == len(set(constants))


def test_patron_check_reports_a_bad_date_before_anything_is_written(tmp_path):
    yml = tiny_company(tmp_path, {"stale": {"when": "nps_last_at < DATE '2026-02-30'", "action": "Call",
                                            "owner": "me"}})
    before = sorted(p.name for p in tmp_path.iterdir())
    r = subprocess.run([*PATRON, "check", "--config", str(yml), "--format", "json"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1, r.stderr
    problems = json.loads(r.stdout)["problems"]
    assert any(p.startswith("plays.stale.when: CAST('2026-02-30' AS DATE) cannot be evaluated") for p in problems)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no warehouse, no file
