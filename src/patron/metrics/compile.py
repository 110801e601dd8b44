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
from patron.metrics.revenue import (
    DIALECT,
    GOLDEN_DIMENSIONS,
    attributes_in,
    cte,
    dimension,
    fragment,
    slice_joins,
    truncated,
    with_ctes,
)
from patron.metrics.spec import PERIODS, MetricSpec, expression_problems, names_in
from patron.model import METRIC_TABLES

# per kind: the aggregates (over `v`, the value) and the value computed from them (over their names)
AGGREGATES = {
    "nps": {"n": "COUNT(v)", "pro": "SUM(CASE WHEN v >= 9 THEN 1 ELSE 0 END)",
            "det": "SUM(CASE WHEN v <= 6 THEN 1 ELSE 0 END)"},
    "share": {"n": "COUNT(v)", "good": "SUM(CASE WHEN v THEN 1 ELSE 0 END)"},
    "mean": {"n": "COUNT(v)", "mean": "AVG(v)", "sd": "STDDEV_SAMP(v)"},
    "count": {"n": "COUNT(v)"},
    "sum": {"n": "COUNT(v)", "total": "SUM(v)"},
    "median": {"n": "COUNT(v)", "q": "QUANTILE_CONT(v, 0.5)"},
    "p90": {"n": "COUNT(v)", "q": "QUANTILE_CONT(v, 0.9)"},
}
VALUES = {
    "nps": "100.0 * (pro - det) / NULLIF(n, 0)",
    "share": "1.0 * good / NULLIF(n, 0)",
    "mean": "mean",
    "count": "n",
    "sum": "total",
    "median": "q",
    "p90": "q",
}


def bound(sql: str, alias: str | None, params: dict[str, float],
          names: dict[str, exp.Expression] | None = None) -> exp.Expression:
    """Parse a spec expression: params become literals, other bare names columns of `alias`
    (or, through `names`, the expressions given for them)."""
    tree = sqlglot.parse_one(sql, read=DIALECT)

    def swap(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and not node.table:
            if node.name in params:
                return exp.Literal.number(params[node.name])
            if names and node.name in names:
                return names[node.name].copy()
            if alias:
                return exp.column(node.name, table=alias)
        return node

    return tree.transform(swap)


def bind(sql: str, alias: str | None, params: dict[str, float]) -> str:
    """`bound`, as SQL text in the dialect definitions are written in."""
    return bound(sql, alias, params).sql(dialect=DIALECT)


def _check(spec: MetricSpec, by: list[str], period: str | None) -> None:
    bad = expression_problems(spec)
    if bad:
        from patron.config import ConfigProblems

        raise ConfigProblems("patron.yml", bad)
    repeated = sorted({d for d in by if by.count(d) > 1})
    if repeated:
        raise MetricError(f"is sliced by {', '.join(repeated)} more than once; name each slice once", spec.name)
    personal = [d for d in by if d in spec.personal]
    if personal:
        raise MetricError(f"cannot be sliced by {', '.join(personal)}: personal data is kept, never a slice; "
                          f"its dimensions are: {', '.join(spec.dimensions) or '(none)'}", spec.name)
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


def _fact(specs: list[MetricSpec], by: list[str], period: str | None, prefix: bool) -> exp.Select:
    """One scan of one table for every metric in `specs`."""
    first = specs[0]
    table = first.table
    columns = METRIC_TABLES[table]
    keys = [exp.column(d, "t") if d in columns else dimension(d) for d in by]
    names = list(by)
    if period:
        keys.append(truncated(exp.column(first.time, "t"), period))
        names.append("period")
    aggs, values = [], []
    for s in specs:
        p = f"{s.name}__" if prefix else ""
        v = bound(s.value, "t", s.params) if s.value else exp.Literal.number(1)
        if prefix and s.filter:  # each metric's own rows, inside its aggregates
            v = exp.Case(ifs=[exp.If(this=bound(s.filter, "t", s.params), true=v)])
        aggs += [exp.alias_(fragment(agg, v=v), p + name) for name, agg in AGGREGATES[s.kind].items()]
        values.append(exp.alias_(fragment(VALUES[s.kind], **{c: exp.column(p + c) for c in AGGREGATES[s.kind]}),
                                 f"{p}value"))
    where = [fragment("t IS NOT NULL", t=exp.column(first.time, "t"))]
    filters = {f.sql(dialect=DIALECT): f for f in (bound(s.filter, "t", s.params) for s in specs if s.filter)}
    if filters and len(specs) == sum(1 for s in specs if s.filter):
        where.append(_joined(exp.Or, [exp.paren(f) for f in filters.values()]))
    query = exp.select(*(exp.alias_(k, n) for k, n in zip(keys, names, strict=True)), *aggs).from_(
        exp.table_(table, alias="t"))
    customer = [d for d in by if d not in columns]  # the rest are slices by the customer
    query = slice_joins(query, exp.column("customer_id", "t"), cohorts="cohort_month" in customer,
                        golden=any(d in GOLDEN_DIMENSIONS for d in customer), attributes=attributes_in(customer))
    query = query.where(_joined(exp.And, [exp.paren(w) for w in where]))
    if keys:
        query = query.group_by(*(k.copy() for k in keys))
    return _ordered(exp.select(exp.Star(), *values).from_(query.subquery("a")), [exp.column(n) for n in names])


def _joined(connector: type[exp.Connector], parts: list[exp.Expression]) -> exp.Expression:
    """a AND b AND c (or OR), nested as the parser nests them."""
    out = parts[0]
    for part in parts[1:]:
        out = connector(this=out, expression=part)
    return out


def _ordered(query: exp.Select, by: list[exp.Expression]) -> exp.Select:
    """ORDER BY `by`, ascending, NULLs last (as written in DuckDB, made explicit for any other engine)."""
    if by:
        query.set("order", exp.Order(expressions=[exp.Ordered(this=b, nulls_first=False) for b in by]))
    return query


def _per_period(specs: list[MetricSpec], by: list[str], period: str | None, prefix: bool) -> exp.Select:
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
        out += [exp.alias_(bound(s.value, None, s.params), f"{p}value"),
                exp.alias_(bound(s.base, None, s.params), f"{p}n")]
        if s.successes:
            out.append(exp.alias_(bound(s.successes, None, s.params), f"{p}good"))
    if kind == "revenue":
        facts, when = revenue.facts_query(families, by), "month"
    else:
        facts, when = orders.facts_query(families, by, period), "period"
    family_cols = [] if prefix else [c for f in module.FAMILIES if f in families for c in module.FAMILIES[f]]
    keys = [*by, *([when] if kind == "revenue" or period else [])]
    period_col = [exp.alias_(exp.column(when), "period")] if kind == "revenue" or period else []
    query = exp.select(*(exp.column(d) for d in by), *period_col, *out, *(exp.column(c) for c in family_cols))
    return _ordered(query.from_(facts.subquery("r")), [exp.column(k) for k in keys])


def inputs(spec: MetricSpec) -> list[str]:
    """The metrics a formula is computed from, its base first."""
    used = sorted(names_in(spec.value) - set(spec.params))
    base = spec.base or used[0]
    return [base, *(u for u in used if u != base)]


def formula_select(spec: MetricSpec, by: list[str], period: str | None) -> exp.Select:
    """A formula over tables named m_<input>, each holding that input's keys, value and n; every
    slice and period any input has is kept (an input without data there makes it unavailable)."""
    names = inputs(spec)
    keys = [*by, *(["period"] if period else [])]
    value = bound(spec.value, None, spec.params, {n: exp.column("value", f"m_{n}") for n in names})
    cols = [exp.alias_(value, "value"),
            exp.alias_(exp.func("COALESCE", exp.column("n", f"m_{names[0]}"), exp.Literal.number(0)), "n"),
            *(exp.alias_(exp.column("value", f"m_{n}"), n) for n in names)]
    if not keys:
        query = exp.select(*cols).from_(exp.table_(f"m_{names[0]}"))
        for n in names[1:]:
            query = query.join(exp.table_(f"m_{n}"), join_type="cross")
        return query
    selects = [exp.select(*(exp.column(k) for k in keys)).from_(exp.table_(f"m_{n}")) for n in names]
    # a formula over one metric (`mrr * 12`) has one input: its keys, without a union
    union = exp.union(*selects, distinct=True) if len(selects) > 1 else selects[0].distinct()
    query = exp.select(*(exp.column(k, "k") for k in keys), *cols).from_(union.subquery("k"))
    for n in names:
        query = query.join(exp.table_(f"m_{n}"), join_type="left", on=_joined(exp.And, [
            exp.NullSafeEQ(this=exp.column(k, f"m_{n}"), expression=exp.column(k, "k")) for k in keys]))
    return _ordered(query, [exp.column(k, "k") for k in keys])


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
    if spec.kind != "formula":
        return _query([spec], by, period, prefix=False)
    if catalog is None:
        raise MetricError("is a formula; compiling it needs the catalog of its inputs", spec.name)
    period = effective_period(spec, period, catalog)
    ctes = [cte(f"m_{n}", compile_group([catalog[n]], by, period)) for n in inputs(spec)]
    return with_ctes(formula_select(spec, by, period), ctes)


def compile_group(specs: list[MetricSpec], by: list[str], period: str | None) -> exp.Select:
    """Metrics that read the same rows (one table's facts, or revenue) in one query; columns are
    prefixed with the metric's name when there is more than one."""
    for s in specs:
        _check(s, by, period)
    return _query(specs, by, period, prefix=len(specs) > 1)


def _query(specs: list[MetricSpec], by: list[str], period: str | None, prefix: bool) -> exp.Select:
    if any(s.kind == "formula" for s in specs):
        raise MetricError("a formula compiles on its own, over its inputs", specs[0].name)
    if specs[0].kind in ("revenue", "orders"):
        return _per_period(specs, by, period, prefix)
    return _fact(specs, by, period, prefix)


def group_key(spec: MetricSpec) -> str:
    """Metrics with the same key can share a query."""
    return spec.kind if spec.kind in ("revenue", "orders") else f"table:{spec.table}:{spec.time}"


def render(tree: exp.Expression, dialect: str = DIALECT, pretty: bool = False) -> str:
    """The query as SQL text for an engine's dialect."""
    return tree.sql(dialect=dialect, pretty=pretty)

