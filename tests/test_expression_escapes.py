"""Expressions in patron.yml cannot escape the allow-list through SQLGlot's rendering: what runs
is checked (quoted type names, quoted date parts and type sizes would render into other SQL)."""

from __future__ import annotations

import pytest

from patron.config import parse_project
from patron.errors import ConfigError
from patron.metrics.spec import config_problems

ESCAPES = [
    'msg::"main.varchar) || (SELECT string_agg(key_hash, \',\') FROM api_keys) || CAST(msg AS VARCHAR"',
    'msg::"a) , (select 1"',
    'EXTRACT("epoch) , (select 1" FROM msg)',
    'CAST(msg AS DECIMAL("10) , (select 1"))',
    'msg::"x -- "',
    "msg::main.varchar",
    "(" * 60 + "msg" + ")" * 60,
]


@pytest.mark.parametrize("payload", ESCAPES)
def test_a_source_expression_or_filter_that_would_render_into_other_sql_is_refused(tmp_path, payload):
    for key, source in (("expressions.text", {"expressions": {"text": payload}}),
                        ("filter", {"filter": f"{payload} IS NOT NULL"})):
        src = {"path": "f.csv", "table": "feedback", "columns": {"feedback_id": "id"}} | source
        with pytest.raises(ConfigError) as e:
            parse_project({"sources": {"evil": src}}, root=tmp_path)
        assert f"sources.evil.{key}:" in str(e.value)


@pytest.mark.parametrize("payload", ESCAPES)
def test_a_metric_expression_that_would_render_into_other_sql_is_refused(payload):
    problems = config_problems({"evil": {"label": "Evil", "definition": "x", "kind": "count", "table": "responses",
                                         "time": "submitted_at", "unit": "count", "better": "higher",
                                         "filter": payload.replace("msg", "comment") + " IS NOT NULL"}})
    assert problems and all(p.startswith("metrics.evil") for p in problems)


def test_plain_casts_date_parts_and_quoted_column_names_still_work(tmp_path):
    src = {"path": "f.csv", "table": "orders", "customer_ref": "Customer ID",
           "columns": {"order_id": "id", "ordered_at": "day"},
           "expressions": {"amount": 'CAST("Unit Price" AS DECIMAL(10, 2)) * Quantity',
                           "product": "upper(CAST(EXTRACT(year FROM CAST(day AS DATE)) AS VARCHAR))"},
           "filter": "CAST(day AS DATE) >= DATE '2020-01-01'"}
    assert parse_project({"sources": {"shop": src}}, root=tmp_path).sources["shop"].expressions
