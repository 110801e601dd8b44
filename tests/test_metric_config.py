"""patron.yml's `metrics:` section checked like the rest of the file: every problem at once, each
with its key, in words (never SQLGlot's traceback), the same when the metrics are evaluated."""

from __future__ import annotations

import json
import subprocess

import pytest

from conftest import PATRON, write
from patron.config import ConfigProblems
from patron.errors import ConfigError
from patron.metrics.spec import builtin_catalog, config_problems, problems, with_overrides
from patron.project import Project

URGENT = {"label": "Urgent tickets", "definition": "Tickets marked urgent.", "kind": "count", "table": "tickets",
          "filter": "priority = 'urgent'", "time": "opened_at", "unit": "count", "better": "lower"}


def test_the_built_in_catalog_and_a_full_new_metric_have_no_problems():
    catalog = builtin_catalog()
    assert config_problems({}) == []
    assert [p for s in catalog.values() for p in problems(s, catalog)] == []
    assert config_problems({"nps": {"owner": "VP Customer Success", "target": 40}, "urgent_tickets": URGENT,
                            "ltv": {"params": {"gross_margin": 0.8}}}) == []


def test_a_typo_in_a_metric_name_names_the_nearest_metric():
    assert config_problems({"nsp": {"owner": "VP Customer Success", "target": 40}}) == [
        "metrics.nsp: no such metric 'nsp' — did you mean 'nps'?"]
    assert config_problems({"zzz": {"owner": "me"}}) == [
        "metrics.zzz: no such metric 'zzz'; a new metric needs label, definition, kind, unit, better "
        "(`patron metrics list` shows the catalog)"]


def test_every_problem_is_reported_with_its_key():
    found = config_problems({
        "nsp": {"target": 40},
        "nps": {"tagret": 40, "better": "more"},
        "csat": {"time": "submited_at"},
        "urgent_tickets": {k: v for k, v in URGENT.items() if k not in ("unit", "better")},
        "ces": 4,
        "tickets_per_customer": {"value": "tickets / nullif(paying_customer, 0)"},
        "repeat_purchase_rate": {"successes": "repeaters"},
    })
    assert found[0] == "metrics.nsp: no such metric 'nsp' — did you mean 'nps'?"
    assert "metrics.nps.tagret: unknown field — did you mean 'target'?" in found[1]
    assert found[2].startswith("metrics.nps.better: Input should be 'higher' or 'lower'")
    assert "metrics.csat.time: responses has no column 'submited_at' — did you mean 'submitted_at'?" in found
    assert "metrics.urgent_tickets.unit: missing: a new metric needs label, definition, kind, unit, better" in found
    assert "metrics.urgent_tickets.better: missing: a new metric needs label, definition, kind, unit, better" in found
    assert any(p.startswith("metrics.ces: give a mapping of fields") for p in found)
    assert ("metrics.tickets_per_customer.value: 'paying_customer' is not a metric in the catalog — did you mean "
            "'paying_customers'?") in found
    assert any(p.startswith("metrics.repeat_purchase_rate.successes: 'repeaters' is not an order fact") for p in found)
    assert len(found) == 10


@pytest.mark.parametrize("field, sql, says", [
    ("value", "score;", "'score;' holds a ';': an expression is one SQL expression, not statements"),
    ("filter", "survey = 'nps'; DROP TABLE responses", "holds a ';'"),
    ("value", ";", "holds a ';'"),
    ("value", "score +", "cannot parse 'score +' at '+' (column 7): it is incomplete"),
    ("filter", "survey = 'nps", "cannot read \"survey = 'nps\" as SQL"),
    ("filter", "CASE WHEN", "cannot parse 'CASE WHEN'"),
    ("filter", "comment IS NOT NULL", 'a column named like an SQL keyword goes in double quotes, e.g. "comment"'),
    ("value", "read_text('/etc/passwd')", "function read_text() is not allowed in a metric"),
])
def test_sql_that_cannot_be_parsed_or_holds_a_semicolon_is_a_clear_problem(field, sql, says):
    found = config_problems({"nps": {field: sql}})
    assert len(found) == 1 and found[0].startswith(f"metrics.nps.{field}: ") and says in found[0]
    assert "<class" not in found[0] and "sqlglot" not in found[0].lower()
    with pytest.raises(ConfigProblems) as raised:  # the path evaluation takes raises the same problem
        with_overrides(builtin_catalog(), {"nps": {field: sql}})
    assert raised.value.problems == found and isinstance(raised.value, ConfigError)


def test_a_semicolon_inside_a_quoted_value_is_data():
    assert config_problems({"nps": {"filter": "survey = 'nps' AND touchpoint <> 'a;b'"}}) == []


def test_evaluating_metrics_with_a_bad_section_is_one_clear_error(tmp_path):
    write(tmp_path / "patron.yml", "metrics:\n  nsp: {owner: VP Customer Success}\n"
                                   "  csat: {value: 'score >= 4;'}\n")
    write(tmp_path / "r.csv", "response_id,customer_ref,survey,score,submitted_at\na,A,nps,9,2024-01-03\n")
    with Project.open(tmp_path / "patron.yml", tmp_path / "w.duckdb") as project:
        project.ingest.file(tmp_path / "r.csv", "responses")
        with pytest.raises(ConfigProblems) as raised:
            project.metrics.evaluate("nps")
    assert raised.value.problems == config_problems(project.config.metrics)
    assert str(raised.value) == (
        "patron.yml: 2 problems: metrics.nsp: no such metric 'nsp' — did you mean 'nps'?; metrics.csat.value: "
        "'score >= 4;' holds a ';': an expression is one SQL expression, not statements")
    run = subprocess.run([*PATRON, "metrics", "show", "nps", "--db", "w.duckdb"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode != 0 and "Traceback" not in run.stderr
    assert "metrics.csat.value: 'score >= 4;' holds a ';'" in run.stderr


def test_an_expression_the_engine_refuses_names_the_metric(tmp_path):
    from patron.errors import MetricError

    write(tmp_path / "patron.yml", "metrics:\n  odd:\n    label: Odd\n    definition: A type error.\n"
                                   "    kind: mean\n    table: responses\n    value: survey * 2\n"
                                   "    time: submitted_at\n    unit: score\n    better: higher\n")
    write(tmp_path / "r.csv", "response_id,customer_ref,survey,score,submitted_at\na,A,nps,9,2024-01-03\n")
    with Project.open(tmp_path / "patron.yml", tmp_path / "w.duckdb") as project:
        assert config_problems(project.config.metrics) == []  # it parses and is allowed: the engine decides
        project.ingest.file(tmp_path / "r.csv", "responses")
        with pytest.raises(MetricError, match=r"^metric odd: the warehouse cannot evaluate it: .*Binder Error"):
            project.metrics.evaluate("odd")
    # `patron check` says so before anything is loaded, naming the key
    assert [p for p in Project.check(tmp_path / "patron.yml").problems if p.startswith("metrics.")] == [
        next(p for p in Project.check(tmp_path / "patron.yml").problems if "metrics.odd" in p)]
    run = subprocess.run([*PATRON, "check"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode != 0 and "Traceback" not in run.stderr + run.stdout
    assert "metrics.odd: the warehouse cannot evaluate it" in run.stdout + run.stderr


def test_check_binds_formulas_over_a_changed_metric_and_passes_a_good_section(tmp_path):
    write(tmp_path / "patron.yml", "metrics:\n  csat: {owner: Head of Support, target: 0.9}\n"
                                   "  urgent: " + json.dumps(URGENT) + "\n")
    assert Project.check(tmp_path / "patron.yml").problems == []


def test_a_formula_over_one_metric_is_that_metric_transformed(tmp_path):
    write(tmp_path / "patron.yml", "metrics:\n  tickets_doubled: {label: x, definition: x, kind: formula, "
                                   "value: tickets * 2, unit: count, better: lower}\n")
    write(tmp_path / "t.csv", "ticket_id,customer_ref,opened_at\na,A,2024-01-03\nb,A,2024-01-05\nc,B,2024-02-01\n")
    assert Project.check(tmp_path / "patron.yml").problems == []
    with Project.open(tmp_path / "patron.yml", tmp_path / "w.duckdb") as project:
        project.ingest.file(tmp_path / "t.csv", "tickets")
        doubled = project.metrics.evaluate("tickets_doubled", period="month")
        tickets = project.metrics.evaluate("tickets", period="month")
    assert list(doubled["value"]) == [2 * v for v in tickets["value"]] == [4, 2]


def test_a_slice_named_twice_is_a_clear_error():
    from patron.errors import MetricError
    from patron.metrics import compile_metric

    with pytest.raises(MetricError, match="sliced by touchpoint more than once"):
        compile_metric(builtin_catalog()["csat"], ["touchpoint", "touchpoint"], "month")


def test_names_that_differ_only_in_case_and_targets_that_are_not_numbers_are_problems():
    nps_again = {"label": "x", "definition": "x", "kind": "mean", "table": "responses", "value": "score",
                 "time": "submitted_at", "unit": "score", "better": "higher"}
    found = config_problems({"Nps": nps_again, "csat": {"target": float("nan")}, "ces": {"target": float("inf")}})
    assert any(p.startswith("metrics.Nps: differs from the metric 'nps' only in case") for p in found)
    assert any(p.startswith("metrics.csat.target") for p in found)
    assert any(p.startswith("metrics.ces.target") for p in found)


def test_a_definition_the_engine_refuses_at_run_time_is_named_alone_not_with_its_tables_other_metrics(tmp_path):
    from patron.errors import MetricError

    write(tmp_path / "patron.yml", "metrics:\n  comment_number:\n    label: x\n    definition: x\n    kind: mean\n"
                                   "    table: responses\n    value: CAST(comment AS INTEGER)\n"
                                   "    time: submitted_at\n    unit: score\n    better: higher\n")
    write(tmp_path / "r.csv", "response_id,customer_ref,survey,score,submitted_at,comment\n"
                              "a,A,nps,9,2024-01-03,great service\n")
    with Project.open(tmp_path / "patron.yml", tmp_path / "w.duckdb") as project:
        project.ingest.file(tmp_path / "r.csv", "responses")
        with pytest.raises(MetricError) as raised:
            project.metrics()
    assert str(raised.value).startswith("metric comment_number: the warehouse cannot evaluate it")
