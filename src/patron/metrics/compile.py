"""MetricSpec + slicing -> a SQLGlot expression, rendered late for any engine.

The spec's value and filter are parsed, their bare columns bound to the metric's table, and the
query assembled from the kind's aggregates. Portable forms only (CASE sums, not FILTER), so the
same definition transpiles to Spark, PostgreSQL, Snowflake or BigQuery.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from patron.errors import MetricError
from patron.metrics.spec import CUSTOMER_DIMENSIONS, PERIODS, MetricSpec
from patron.model import TABLES

AGGREGATES = {
    "nps": ["COUNT({v}) AS n", "SUM(CASE WHEN {v} >= 9 THEN 1 ELSE 0 END) AS pro",
            "SUM(CASE WHEN {v} <= 6 THEN 1 ELSE 0 END) AS det"],
    "share": ["COUNT({v}) AS n", "SUM(CASE WHEN {v} THEN 1 ELSE 0 END) AS good"],
    "mean": ["COUNT({v}) AS n", "AVG({v}) AS mean", "STDDEV_SAMP({v}) AS sd"],
    "count": ["COUNT(*) AS n"],
    "sum": ["COUNT({v}) AS n", "SUM({v}) AS total"],
    "median": ["COUNT({v}) AS n", "QUANTILE_CONT({v}, 0.5) AS q"],
    "p90": ["COUNT({v}) AS n", "QUANTILE_CONT({v}, 0.9) AS q"],
}


def _bind(sql: str) -> str:
    """Parse a spec expression and qualify its bare columns with the fact table's alias."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    for col in tree.find_all(exp.Column):
        if not col.table:
            col.set("table", exp.to_identifier("t"))
    return tree.sql(dialect="duckdb")


def compile_metric(spec: MetricSpec, by: list[str] | None = None, period: str | None = None) -> exp.Select:
    by = by or []
    unknown = [d for d in by if d not in spec.dimensions]
    if unknown:
        raise MetricError(f"cannot be sliced by {', '.join(unknown)}; "
                          f"its dimensions are: {', '.join(spec.dimensions) or '(none)'}", spec.name)
    if period is not None and period not in PERIODS:
        raise MetricError(f"period must be one of {', '.join(PERIODS)}, not {period!r}", spec.name)
    columns = TABLES[spec.table].names
    joins_golden = any(d not in columns for d in by)
    select = [f"{'t' if d in columns else 'g'}.{d} AS {d}" for d in by]
    if period:
        select.append(f"CAST(DATE_TRUNC('{period}', t.{spec.time}) AS DATE) AS period")
    value = _bind(spec.value) if spec.value else "1"
    select += [a.format(v=value) for a in AGGREGATES[spec.kind]]
    where = [f"t.{spec.time} IS NOT NULL"] + ([_bind(spec.filter)] if spec.filter else [])
    sql = f"SELECT {', '.join(select)} FROM {spec.table} AS t"
    if joins_golden:
        sql += " LEFT JOIN customer_golden AS g ON g.customer_id = t.customer_id"
    sql += f" WHERE {' AND '.join(f'({w})' for w in where)}"
    keys = by + (["period"] if period else [])
    if keys:
        sql += f" GROUP BY {', '.join(keys)} ORDER BY {', '.join(keys)}"
    return sqlglot.parse_one(sql, read="duckdb")


def render(tree: exp.Expression, dialect: str = "duckdb") -> str:
    return tree.sql(dialect=dialect)


def customer_dimension(name: str) -> bool:
    return name in CUSTOMER_DIMENSIONS
