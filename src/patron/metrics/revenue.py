"""Monthly revenue facts from subscriptions: one set of customer-months behind every revenue metric.

A revenue metric is an expression over the columns below, computed per month (and slice). Three
families, each built only when a metric in the query uses it:

- movements: each paying customer-month against the month before (MRR movements, churn);
- cohort: customers paying at the end of the month twelve months earlier, against now (TTM);
- renewals: subscriptions whose contract term ends in the month, against the month after.

A customer pays in a month when the subscription periods active on its last day sum to MRR > 0.
Customers are master customers once identity is resolved, else billing's customer ids.
"""

from __future__ import annotations

import functools

import sqlglot
from sqlglot import exp

from patron.relations import COHORTS, CURRENT_ATTRIBUTES, REVENUE_MONTHS

# the golden record's fields a metric slices by; any other customer dimension but the cohort month
# is an attribute a source keeps (patron.yml's `attributes:`), read through CURRENT_ATTRIBUTES
GOLDEN_DIMENSIONS = ("segment", "region", "industry", "plan", "owner")

FAMILY_MEANING = {
    "movements": "each paying customer-month against the month before; they add up: mrr_end - mrr_start = "
                 "new + reactivation + expansion - contraction - churn",
    "cohort": "trailing twelve months: the customers paying at the end of the month a year earlier, now",
    "renewals": "subscriptions whose contract term (every term_months from the subscription's first start "
                "month) ends in the month",
}
FAMILIES: dict[str, dict[str, str]] = {
    "movements": {
        "mrr_end": "MRR at the end of the month",
        "mrr_start": "MRR at the end of the month before",
        "new": "MRR of customers paying for the first time",
        "reactivation": "MRR of customers paying again after a month or more without",
        "expansion": "MRR gained from customers who paid more than the month before",
        "contraction": "MRR lost from customers who paid less (but still paid)",
        "churn": "MRR lost from customers who stopped paying",
        "customers_start": "customers paying at the start of the month",
        "customers_end": "customers paying at its end",
        "churned_customers": "customers paying at the start and not at the end",
        "new_customers": "customers paying for the first time",
        "reactivated_customers": "customers paying again after a month or more without",
        "customers_active": "customers paying at the start or the end of the month",
    },
    "cohort": {
        "cohort_customers": "customers paying at the end of the month twelve months earlier",
        "cohort_mrr_start": "their MRR then",
        "cohort_mrr_now": "their MRR now (expansion included, churned customers at 0)",
        "cohort_mrr_retained": "their MRR now, each capped at what it was then",
        "cohort_customers_retained": "those of them still paying",
    },
    "renewals": {
        "renewals_due": "subscriptions whose contract term ends in the month (paying at its start)",
        "renewals_renewed": "those still paying at the end of the month",
        "renewal_mrr_due": "MRR of the subscriptions due, at the start of the month",
        "renewal_mrr_renewed": "MRR renewed, each capped at its MRR before the renewal",
    },
}
COLUMNS = {c: family for family, cols in FAMILIES.items() for c in cols}

_ROWS = {
    # one row per customer and month where it paid at the start or the end
    "movements": """
    SELECT COALESCE(cur.customer, prev.customer) AS customer,
           COALESCE(cur.month, CAST(prev.month + INTERVAL 1 MONTH AS DATE)) AS month,
           COALESCE(cur.mrr, 0) AS mrr, COALESCE(prev.mrr, 0) AS prev_mrr
    FROM customer_months AS cur
    FULL JOIN customer_months AS prev
        ON prev.customer = cur.customer AND CAST(prev.month + INTERVAL 1 MONTH AS DATE) = cur.month""",
    # one row per customer paying twelve months before the month
    "cohort": """
    SELECT prev.customer, CAST(prev.month + INTERVAL 12 MONTH AS DATE) AS month,
           COALESCE(cur.mrr, 0) AS mrr, prev.mrr AS prev_mrr
    FROM customer_months AS prev
    LEFT JOIN customer_months AS cur
        ON cur.customer = prev.customer AND cur.month = CAST(prev.month + INTERVAL 12 MONTH AS DATE)""",
    # one row per subscription whose term ends in the month: paying at the start, renewed or not
    "renewals": """
    SELECT prev.customer, CAST(prev.month + INTERVAL 1 MONTH AS DATE) AS month,
           COALESCE(cur.mrr, 0) AS mrr, prev.mrr AS prev_mrr
    FROM (SELECT subscription_id, MIN(customer) AS customer, month, SUM(mrr) AS mrr FROM sub_months
          GROUP BY subscription_id, month) AS prev
    JOIN (SELECT subscription_id, CAST(DATE_TRUNC('month', MIN(start_date)) AS DATE) AS anchor,
                 MAX(term_months) AS term
          FROM subscriptions WHERE term_months IS NOT NULL GROUP BY subscription_id) AS c
        ON c.subscription_id = prev.subscription_id
    LEFT JOIN (SELECT subscription_id, month, SUM(mrr) AS mrr FROM sub_months GROUP BY subscription_id, month) AS cur
        ON cur.subscription_id = prev.subscription_id AND cur.month = CAST(prev.month + INTERVAL 1 MONTH AS DATE)
    WHERE prev.mrr > 0
      AND MOD(DATE_DIFF('month', c.anchor, CAST(prev.month + INTERVAL 1 MONTH AS DATE)), c.term) = 0""",
}

_AGGREGATES = {
    "movements": {
        "mrr_end": "SUM(r.mrr)",
        "mrr_start": "SUM(r.prev_mrr)",
        "new": "SUM(CASE WHEN r.prev_mrr = 0 AND r.month = f.first_month THEN r.mrr ELSE 0 END)",
        "reactivation": "SUM(CASE WHEN r.prev_mrr = 0 AND r.month > f.first_month THEN r.mrr ELSE 0 END)",
        "expansion": "SUM(CASE WHEN r.prev_mrr > 0 AND r.mrr > r.prev_mrr THEN r.mrr - r.prev_mrr ELSE 0 END)",
        "contraction": "SUM(CASE WHEN r.prev_mrr > 0 AND r.mrr > 0 AND r.mrr < r.prev_mrr "
                       "THEN r.prev_mrr - r.mrr ELSE 0 END)",
        "churn": "SUM(CASE WHEN r.prev_mrr > 0 AND r.mrr = 0 THEN r.prev_mrr ELSE 0 END)",
        "customers_start": "SUM(CASE WHEN r.prev_mrr > 0 THEN 1 ELSE 0 END)",
        "customers_end": "SUM(CASE WHEN r.mrr > 0 THEN 1 ELSE 0 END)",
        "churned_customers": "SUM(CASE WHEN r.prev_mrr > 0 AND r.mrr = 0 THEN 1 ELSE 0 END)",
        "new_customers": "SUM(CASE WHEN r.prev_mrr = 0 AND r.month = f.first_month THEN 1 ELSE 0 END)",
        "reactivated_customers": "SUM(CASE WHEN r.prev_mrr = 0 AND r.month > f.first_month THEN 1 ELSE 0 END)",
        "customers_active": "COUNT(*)",
    },
    "cohort": {
        "cohort_customers": "COUNT(*)",
        "cohort_mrr_start": "SUM(r.prev_mrr)",
        "cohort_mrr_now": "SUM(r.mrr)",
        "cohort_mrr_retained": "SUM(LEAST(r.mrr, r.prev_mrr))",
        "cohort_customers_retained": "SUM(CASE WHEN r.mrr > 0 THEN 1 ELSE 0 END)",
    },
    "renewals": {
        "renewals_due": "COUNT(*)",
        "renewals_renewed": "SUM(CASE WHEN r.mrr > 0 THEN 1 ELSE 0 END)",
        "renewal_mrr_due": "SUM(r.prev_mrr)",
        "renewal_mrr_renewed": "SUM(LEAST(r.mrr, r.prev_mrr))",
    },
}


def dimension(d: str) -> exp.Column:
    """A customer slice: from the golden record, the cohorts, or the customer's current attributes."""
    if d == "cohort_month":
        return exp.column("cohort_month", "co")
    return exp.column(d, "g") if d in GOLDEN_DIMENSIONS else exp.column("value", attribute_alias(d))


def attribute_alias(name: str) -> str:
    return f"ca_{name}"


def attributes_in(by: list[str]) -> list[str]:
    """The slices that are attributes: neither golden fields nor the cohort month."""
    return [d for d in by if d not in GOLDEN_DIMENSIONS and d != "cohort_month"]


def facts_query(families: list[str], by: list[str]) -> exp.Select:
    """A query with one row per slice and month and the columns of the families asked for."""
    # movements always: their months (every month anyone paid) are the months a metric reports
    families = [f for f in FAMILIES if f in families or f == "movements"]
    dims = [exp.alias_(dimension(d), d) for d in by]
    groups = [*(dimension(d) for d in by), exp.column("month", "r")]
    ctes = ctes_of(REVENUE_MONTHS)
    for fam in families:
        cols = [exp.alias_(fragment(agg), name) for name, agg in _AGGREGATES[fam].items()]
        query = (exp.select(*dims, exp.column("month", "r"), *cols)
                 .from_(fragment(_ROWS[fam]).subquery("r"))
                 .join(exp.table_("firsts", alias="f"), on=fragment("f.customer = r.customer")))
        query = slice_joins(query, exp.column("customer", "r"), golden=any(d in GOLDEN_DIMENSIONS for d in by),
                            cohorts="cohort_month" in by, attributes=attributes_in(by))
        query = (query.join(exp.table_("bounds", alias="b"), join_type="cross")
                 .where(fragment("r.month <= b.last_month")).group_by(*groups))
        ctes.append(cte(fam, query))
    return combine(ctes, families, [*by, "month"], FAMILIES)


def slice_joins(query: exp.Select, customer: exp.Column, golden: bool, cohorts: bool,
                attributes: list[str] | tuple[str, ...] = ()) -> exp.Select:
    """The golden record (as g), the cohorts (as co) and each attribute's current value (as
    ca_<name>) of `customer`, joined to `query` where slices need them."""
    for name in attributes:
        values = (exp.select("customer", "value").from_(fragment(CURRENT_ATTRIBUTES).subquery("a"))
                  .where(exp.column("name", "a").eq(exp.Literal.string(name))))
        query = query.join(values.subquery(attribute_alias(name)), join_type="left",
                           on=exp.column("customer", attribute_alias(name)).eq(customer.copy()))
    if golden:
        query = query.join(exp.table_("customer_golden", alias="g"), join_type="left",
                           on=exp.column("customer_id", "g").eq(customer.copy()))
    if cohorts:
        query = query.join(fragment(COHORTS).subquery("co"), join_type="left",
                           on=exp.column("customer", "co").eq(customer.copy()))
    return query


def combine(ctes: list[exp.CTE], families: list[str], keys: list[str],
            columns: dict[str, dict[str, str]]) -> exp.Select:
    """One query over the families' CTEs: every slice-period any family has, then each family's
    columns (0 where it has no rows). Revenue and order facts both end this way."""
    if len(families) == 1:
        return with_ctes(exp.select(exp.Star()).from_(exp.table_(families[0])), ctes)
    slices = exp.union(*(exp.select(*(exp.column(k) for k in keys)).from_(exp.table_(f)) for f in families),
                       distinct=True)
    query = exp.select(*(exp.column(k, "k") for k in keys), *(
        exp.alias_(exp.func("COALESCE", exp.column(c, fam), exp.Literal.number(0)), c)
        for fam in families for c in columns[fam])).from_(exp.table_("slices", alias="k"))
    for f in families:
        query = query.join(exp.table_(f), join_type="left", on=exp.and_(*(
            exp.NullSafeEQ(this=exp.column(k, f), expression=exp.column(k, "k")) for k in keys)))
    return with_ctes(query, [*ctes, cte("slices", slices)])


# building blocks: the fixed SQL of this package, parsed once, joined into queries as expressions

DIALECT = "duckdb"  # the dialect metric definitions and these fragments are written in


@functools.cache
def _parsed(sql: str) -> exp.Expression:
    return sqlglot.parse_one(sql, read=DIALECT)


def fragment(sql: str, **parts: exp.Expression) -> exp.Expression:
    """Fixed SQL as an expression, each bare name in `parts` replaced by that expression."""
    tree = _parsed(sql).copy()

    def swap(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and not node.table and node.name in parts:
            return parts[node.name].copy()
        return node

    return tree.transform(swap, copy=False) if parts else tree


def truncated(value: exp.Expression, period: str) -> exp.Expression:
    """CAST(DATE_TRUNC(period, value) AS DATE): the first day of the period `value` falls in."""
    return exp.cast(exp.TimestampTrunc(this=value, unit=exp.var(period.upper())), exp.DataType.build("DATE"))


def ctes_of(sql: str, **parts: exp.Expression) -> list[exp.CTE]:
    """The CTEs of fixed SQL written as a WITH list (`a AS (...), b AS (...)`), as `fragment` makes them."""
    return list(fragment(f"WITH {sql.strip()} SELECT 1", **parts).args["with_"].expressions)


def cte(name: str, query: exp.Expression) -> exp.CTE:
    return exp.CTE(this=query, alias=exp.TableAlias(this=exp.to_identifier(name)))


def with_ctes(query: exp.Select, ctes: list[exp.CTE]) -> exp.Select:
    query.set("with_", exp.With(expressions=ctes))
    return query
