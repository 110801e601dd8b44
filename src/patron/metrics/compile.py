"""MetricSpec + slicing -> a SQLGlot expression, rendered late for any engine.

The spec's value and filter are parsed, their bare columns bound to the metric's table, and the
query assembled from the kind's aggregates. Portable forms only (CASE sums, not FILTER), so the
same definition transpiles to Spark, PostgreSQL, Snowflake or BigQuery.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from patron.errors import MetricError
from patron.metrics.spec import PERIODS, MetricSpec
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


# Customer-months of MRR and their movements against the month before. One definition, used by
# every revenue metric; the movements add up: mrr_end - mrr_start = new + reactivation +
# expansion - contraction - churn.
MOVEMENTS = """
WITH bounds AS (
    SELECT CAST(DATE_TRUNC('month', MIN(start_date)) AS DATE) AS first_month,
           CAST(DATE_TRUNC('month', MAX(GREATEST(start_date, COALESCE(end_date, start_date)))) AS DATE) AS last_month
    FROM subscriptions
), months AS (
    SELECT CAST(UNNEST(GENERATE_SERIES(first_month, last_month, INTERVAL 1 MONTH)) AS DATE) AS month FROM bounds
), customer_months AS (
    SELECT COALESCE(s.customer_id, s.customer_ref) AS customer, m.month, SUM(s.mrr) AS mrr
    FROM subscriptions AS s JOIN months AS m ON s.start_date <= LAST_DAY(m.month)
        AND (s.end_date IS NULL OR s.end_date > LAST_DAY(m.month))
    GROUP BY 1, 2
), firsts AS (
    SELECT customer, MIN(month) AS first_month FROM customer_months GROUP BY 1
), paired AS (
    SELECT COALESCE(cur.customer, prev.customer) AS customer,
           COALESCE(cur.month, CAST(prev.month + INTERVAL 1 MONTH AS DATE)) AS month,
           COALESCE(cur.mrr, 0) AS mrr, COALESCE(prev.mrr, 0) AS prev_mrr
    FROM customer_months AS cur
    FULL JOIN customer_months AS prev
        ON prev.customer = cur.customer AND CAST(prev.month + INTERVAL 1 MONTH AS DATE) = cur.month
)
SELECT p.customer, p.month, p.mrr, p.prev_mrr, f.first_month
FROM paired AS p JOIN firsts AS f USING (customer) CROSS JOIN bounds AS b
WHERE p.month <= b.last_month
"""

MOVEMENT_COLUMNS = (
    "SUM(mrr) AS mrr_end, SUM(prev_mrr) AS mrr_start, "
    "SUM(CASE WHEN prev_mrr = 0 AND month = first_month THEN mrr ELSE 0 END) AS new, "
    "SUM(CASE WHEN prev_mrr = 0 AND month > first_month THEN mrr ELSE 0 END) AS reactivation, "
    "SUM(CASE WHEN prev_mrr > 0 AND mrr > prev_mrr THEN mrr - prev_mrr ELSE 0 END) AS expansion, "
    "SUM(CASE WHEN prev_mrr > 0 AND mrr > 0 AND mrr < prev_mrr THEN prev_mrr - mrr ELSE 0 END) AS contraction, "
    "SUM(CASE WHEN prev_mrr > 0 AND mrr = 0 THEN prev_mrr ELSE 0 END) AS churn, "
    "SUM(CASE WHEN prev_mrr > 0 THEN 1 ELSE 0 END) AS customers_start, "
    "SUM(CASE WHEN mrr > 0 THEN 1 ELSE 0 END) AS customers_end, "
    "SUM(CASE WHEN prev_mrr > 0 AND mrr = 0 THEN 1 ELSE 0 END) AS churned_customers"
)


def _compile_revenue(spec: MetricSpec, by: list[str], period: str | None) -> exp.Select:
    if period not in (None, "month"):
        raise MetricError(f"is a monthly metric; use --period month (not {period})", spec.name)
    dims = [f"g.{d} AS {d}" for d in by]
    join = " LEFT JOIN customer_golden AS g ON g.customer_id = mv.customer" if by else ""
    keys = [*by, "month"]
    sql = (
        f"SELECT {', '.join(by)}{', ' if by else ''}month AS period, {spec.value} AS value, "
        f"{spec.base} AS n{f', {spec.successes} AS good' if spec.successes else ''}, "
        "mrr_end, mrr_start, new, reactivation, expansion, contraction, churn FROM ("
        f"SELECT {', '.join(dims)}{', ' if dims else ''}mv.month, {MOVEMENT_COLUMNS} "
        f"FROM ({MOVEMENTS}) AS mv{join} GROUP BY {', '.join(keys)}) ORDER BY {', '.join(keys)}"
    )
    return sqlglot.parse_one(sql, read="duckdb")


def compile_metric(spec: MetricSpec, by: list[str] | None = None, period: str | None = None) -> exp.Select:
    by = by or []
    unknown = [d for d in by if d not in spec.dimensions]
    if unknown:
        raise MetricError(f"cannot be sliced by {', '.join(unknown)}; "
                          f"its dimensions are: {', '.join(spec.dimensions) or '(none)'}", spec.name)
    if period is not None and period not in PERIODS:
        raise MetricError(f"period must be one of {', '.join(PERIODS)}, not {period!r}", spec.name)
    if spec.kind == "revenue":
        return _compile_revenue(spec, by, period)
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


def render(tree: exp.Expression, dialect: str = "duckdb", pretty: bool = False) -> str:
    return tree.sql(dialect=dialect, pretty=pretty)
