"""MetricSpec + slicing -> a SQLGlot expression, rendered late for any engine.

Metrics that read the same rows compile to one query: fact metrics of one table share a scan
(each with its own filter inside its aggregates), revenue metrics share the monthly revenue
facts, order metrics the order facts (per period). A formula is a query over its input metrics'
results. Portable forms only (CASE sums, not FILTER), so the same definition transpiles to Spark,
PostgreSQL, Snowflake or BigQuery.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from patron.errors import MetricError
from patron.metrics import orders, revenue
from patron.metrics.spec import PERIODS, MetricSpec, expression_problems, names_in
from patron.model import TABLES

# per kind: the aggregates ({v} the value, {f} the filter) and the value computed from them
AGGREGATES = {
    "nps": {"n": "COUNT({v})", "pro": "SUM(CASE WHEN {v} >= 9 THEN 1 ELSE 0 END)",
            "det": "SUM(CASE WHEN {v} <= 6 THEN 1 ELSE 0 END)"},
    "share": {"n": "COUNT({v})", "good": "SUM(CASE WHEN {v} THEN 1 ELSE 0 END)"},
    "mean": {"n": "COUNT({v})", "mean": "AVG({v})", "sd": "STDDEV_SAMP({v})"},
    "count": {"n": "COUNT({v})"},
    "sum": {"n": "COUNT({v})", "total": "SUM({v})"},
    "median": {"n": "COUNT({v})", "q": "QUANTILE_CONT({v}, 0.5)"},
    "p90": {"n": "COUNT({v})", "q": "QUANTILE_CONT({v}, 0.9)"},
}
VALUES = {
    "nps": "100.0 * ({pro} - {det}) / NULLIF({n}, 0)",
    "share": "1.0 * {good} / NULLIF({n}, 0)",
    "mean": "{mean}",
    "count": "{n}",
    "sum": "{total}",
    "median": "{q}",
    "p90": "{q}",
}


def bind(sql: str, alias: str | None, params: dict[str, float], names: dict[str, str] | None = None) -> str:
    """Parse a spec expression: params become literals, other bare names columns of `alias`
    (or, through `names`, columns of their own)."""
    tree = sqlglot.parse_one(sql, read="duckdb")

    def swap(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and not node.table:
            if node.name in params:
                return exp.Literal.number(params[node.name])
            if names and node.name in names:
                return sqlglot.parse_one(names[node.name], read="duckdb")
            if alias:
                return exp.column(node.name, table=alias)
        return node

    return tree.transform(swap).sql(dialect="duckdb")


def _check(spec: MetricSpec, by: list[str], period: str | None) -> None:
    bad = expression_problems(spec)
    if bad:
        from patron.config import ConfigProblems

        raise ConfigProblems("patron.yml", bad)
    unknown = [d for d in by if d not in spec.dimensions]
    if unknown:
        raise MetricError(f"cannot be sliced by {', '.join(unknown)}; "
                          f"its dimensions are: {', '.join(spec.dimensions) or '(none)'}", spec.name)
    if period is not None and period not in PERIODS:
        raise MetricError(f"period must be one of {', '.join(PERIODS)}, not {period!r}", spec.name)
    effective_period(spec, period, None)


def stat_columns(spec: MetricSpec) -> list[str]:
    """The columns evaluation reads for a metric, besides its slice keys."""
    if spec.kind in ("revenue", "orders"):
        return ["value", "n", *(["good"] if spec.successes else [])]
    if spec.kind == "formula":
        return ["value", "n"]
    return [*AGGREGATES[spec.kind], "value"]


def _fact(specs: list[MetricSpec], by: list[str], period: str | None, prefix: bool) -> str:
    """One scan of one table for every metric in `specs`."""
    first = specs[0]
    table = first.table
    columns = TABLES[table].names
    golden = any(d not in columns and d != "cohort_month" for d in by)
    keys = [f"{f't.{d}' if d in columns else ('co.' if d == 'cohort_month' else 'g.') + d} AS {d}" for d in by]
    if period:
        keys.append(f"CAST(DATE_TRUNC('{period}', t.{first.time}) AS DATE) AS period")
    aggs, values = [], []
    for s in specs:
        p = f"{s.name}__" if prefix else ""
        v = bind(s.value, "t", s.params) if s.value else "1"
        if prefix and s.filter:  # each metric's own rows, inside its aggregates
            v = f"CASE WHEN {bind(s.filter, 't', s.params)} THEN {v} END"
        aggs += [f"{agg.format(v=v)} AS {p}{name}" for name, agg in AGGREGATES[s.kind].items()]
        values.append(VALUES[s.kind].format(**{c: p + c for c in AGGREGATES[s.kind]}) + f" AS {p}value")
    where = [f"t.{first.time} IS NOT NULL"]
    filters = [bind(s.filter, "t", s.params) for s in specs if s.filter]
    if len(filters) == len(specs):
        where.append(" OR ".join(f"({f})" for f in dict.fromkeys(filters)))
    sql = f"SELECT {', '.join(keys + aggs)} FROM {table} AS t"
    if golden:
        sql += " LEFT JOIN customer_golden AS g ON g.customer_id = t.customer_id"
    if "cohort_month" in by:
        sql += f" LEFT JOIN ({revenue.COHORTS}) AS co ON co.customer = t.customer_id"
    sql += f" WHERE {' AND '.join(f'({w})' for w in where)}"
    group = [k.rsplit(" AS ", 1)[0] for k in keys]
    if group:
        sql += f" GROUP BY {', '.join(group)}"
    names = [*by, *(["period"] if period else [])]
    order = f" ORDER BY {', '.join(names)}" if names else ""
    return f"SELECT *, {', '.join(values)} FROM ({sql}) AS a{order}"


def _per_period(specs: list[MetricSpec], by: list[str], period: str | None, prefix: bool) -> str:
    """The revenue (monthly) or order facts once, every metric of that kind as an expression over them."""
    kind = specs[0].kind
    module = revenue if kind == "revenue" else orders
    used = set()
    for s in specs:
        used |= set().union(*(names_in(x) for x in (s.value, s.base, s.successes) if x))
    families = sorted({module.COLUMNS[c] for c in used if c in module.COLUMNS})
    out = []
    for s in specs:
        p = f"{s.name}__" if prefix else ""
        out += [f"{bind(s.value, None, s.params)} AS {p}value", f"{bind(s.base, None, s.params)} AS {p}n"]
        if s.successes:
            out.append(f"{bind(s.successes, None, s.params)} AS {p}good")
    if kind == "revenue":
        facts, when = revenue.facts_sql(families, by), "month"
    else:
        facts, when = orders.facts_sql(families, by, period), "period"
    family_cols = [] if prefix else [c for f in module.FAMILIES if f in families for c in module.FAMILIES[f]]
    keys = [*by, *([when] if kind == "revenue" or period else [])]
    period_col = [f"{when} AS period"] if kind == "revenue" or period else []
    return (f"SELECT {', '.join([*by, *period_col, *out, *family_cols])} "
            f"FROM ({facts}) AS r" + (f" ORDER BY {', '.join(keys)}" if keys else ""))


def inputs(spec: MetricSpec) -> list[str]:
    """The metrics a formula is computed from, its base first."""
    used = sorted(names_in(spec.value) - set(spec.params))
    base = spec.base or used[0]
    return [base, *(u for u in used if u != base)]


def formula_select(spec: MetricSpec, by: list[str], period: str | None) -> str:
    """A formula over tables named m_<input>, each holding that input's keys, value and n; every
    slice and period any input has is kept (an input without data there makes it unavailable)."""
    names = inputs(spec)
    keys = [*by, *(["period"] if period else [])]
    value = bind(spec.value, None, spec.params, {n: f"m_{n}.value" for n in names})
    cols = [f"{value} AS value", f"COALESCE(m_{names[0]}.n, 0) AS n", *(f"m_{n}.value AS {n}" for n in names)]
    if not keys:
        joins = "".join(f" CROSS JOIN m_{n}" for n in names[1:])
        return f"SELECT {', '.join(cols)} FROM m_{names[0]}{joins}"
    union = " UNION ".join(f"SELECT {', '.join(keys)} FROM m_{n}" for n in names)
    joins = "".join(
        f" LEFT JOIN m_{n} ON " + " AND ".join(f"m_{n}.{k} IS NOT DISTINCT FROM k.{k}" for k in keys) for n in names
    )
    return (f"SELECT {', '.join(f'k.{k}' for k in keys)}, {', '.join(cols)} FROM ({union}) AS k{joins} "
            f"ORDER BY {', '.join(f'k.{k}' for k in keys)}")


def effective_period(spec: MetricSpec, period: str | None, catalog: dict[str, MetricSpec] | None) -> str | None:
    """Revenue is monthly, and so is a formula over revenue."""
    monthly = spec.kind == "revenue" or (
        spec.kind == "formula" and catalog is not None
        and any(catalog[n].kind == "revenue" for n in inputs(spec) if n in catalog))
    if monthly and period not in (None, "month"):
        raise MetricError(f"is a monthly metric; use --period month (not {period})", spec.name)
    return "month" if monthly else period


def compile_metric(spec: MetricSpec, by: list[str] | None = None, period: str | None = None,
                   catalog: dict[str, MetricSpec] | None = None) -> exp.Select:
    """One metric's query: slice keys, its value and n, and the numbers behind them."""
    by = by or []
    _check(spec, by, period)
    if spec.kind == "formula":
        if catalog is None:
            raise MetricError("is a formula; compiling it needs the catalog of its inputs", spec.name)
        period = effective_period(spec, period, catalog)
        ctes = []
        for n in inputs(spec):
            sub = compile_group([catalog[n]], by, period)
            ctes.append(f"m_{n} AS ({render(sub)})")
        sql = f"WITH {', '.join(ctes)} {formula_select(spec, by, period)}"
    else:
        sql = _query([spec], by, period, prefix=False)
    return sqlglot.parse_one(sql, read="duckdb")


def compile_group(specs: list[MetricSpec], by: list[str], period: str | None) -> exp.Select:
    """Metrics that read the same rows (one table's facts, or revenue) in one query; columns are
    prefixed with the metric's name when there is more than one."""
    for s in specs:
        _check(s, by, period)
    return sqlglot.parse_one(_query(specs, by, period, prefix=len(specs) > 1), read="duckdb")


def _query(specs: list[MetricSpec], by: list[str], period: str | None, prefix: bool) -> str:
    if any(s.kind == "formula" for s in specs):
        raise MetricError("a formula compiles on its own, over its inputs", specs[0].name)
    if specs[0].kind in ("revenue", "orders"):
        return _per_period(specs, by, period, prefix)
    return _fact(specs, by, period, prefix)


def group_key(spec: MetricSpec) -> str:
    """Metrics with the same key can share a query."""
    return spec.kind if spec.kind in ("revenue", "orders") else f"table:{spec.table}:{spec.time}"


def render(tree: exp.Expression, dialect: str = "duckdb", pretty: bool = False) -> str:
    return tree.sql(dialect=dialect, pretty=pretty)

