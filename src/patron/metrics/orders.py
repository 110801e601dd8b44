"""Order facts per period: one set of customer-periods behind every order metric.

A company that sells orders rather than subscriptions (a retailer, a marketplace) has no MRR;
its customer metrics are about who bought, how often and how much. An order metric is an
expression over the columns below, computed per period (any grain; none: the whole range as one
period) and slice. Two families, each built only when a metric in the query uses it:

- activity: each customer with an order in the period (what it bought, and whether it had bought
  before);
- cohort: the customers acquired (first purchase) in an earlier period, and what they brought in
  the period they were acquired.

An order with an amount above 0 is a purchase; one of 0 or below (a credit, a cancellation) counts
in revenue only. Customers are master customers once identity is resolved, else the orders' own
customer ids.
"""

from __future__ import annotations

from sqlglot import exp

from patron.metrics.revenue import (
    GOLDEN_DIMENSIONS,
    attributes_in,
    combine,
    cte,
    ctes_of,
    dimension,
    fragment,
    slice_joins,
    truncated,
)

FAMILY_MEANING = {
    "activity": "each customer with an order in the period; a purchase is an order with an amount above 0, "
                "credits (0 or below) count in revenue only",
    "cohort": "the customers whose first purchase was in an earlier period (at the same grain), and their "
              "revenue in the period of that first purchase",
}
FAMILIES: dict[str, dict[str, str]] = {
    "activity": {
        "revenue": "order amounts in the period, credits included (net revenue)",
        "sales": "amounts of the period's purchases (gross, before credits)",
        "orders": "purchases in the period",
        "customers": "customers with a purchase in the period",
        "new_customers": "of them, those whose first purchase in the loaded orders is in the period",
        "returning_customers": "of them, those who had bought in an earlier period",
        "repeat_customers": "of them, those with at least two purchases by the period's end (one before it, "
                            "or two in it)",
        "cohort_revenue_now": "revenue in the period from customers acquired in an earlier period",
    },
    "cohort": {
        "cohort_customers": "customers acquired (first purchase) in an earlier period",
        "cohort_revenue_start": "their revenue in the period of their first purchase",
    },
}
COLUMNS = {c: family for family, cols in FAMILIES.items() for c in cols}

# the period every order falls in when no grain is asked for: the whole range as one
WHOLE_RANGE = "CAST('1970-01-01' AS DATE)"

_AGGREGATES = {
    "activity": {
        "revenue": "SUM(r.revenue)",
        "sales": "SUM(r.sales)",
        "orders": "SUM(r.purchases)",
        "customers": "SUM(CASE WHEN r.purchases > 0 THEN 1 ELSE 0 END)",
        "new_customers": "SUM(CASE WHEN r.purchases > 0 AND r.period = r.first_period THEN 1 ELSE 0 END)",
        "returning_customers": "SUM(CASE WHEN r.purchases > 0 AND r.period > r.first_period THEN 1 ELSE 0 END)",
        "repeat_customers": "SUM(CASE WHEN r.purchases > 0 AND r.purchases_to_date >= 2 THEN 1 ELSE 0 END)",
        "cohort_revenue_now": "SUM(CASE WHEN r.first_period < r.period THEN r.revenue ELSE 0 END)",
    },
    "cohort": {
        "cohort_customers": "SUM(r.customers)",
        "cohort_revenue_start": "SUM(r.revenue)",
    },
}


# the CTEs every order metric starts from; `_when` is the period an order falls in
_BASE = """
o AS (
    SELECT COALESCE(customer_id, customer_ref) AS customer, amount, _when AS period
    FROM orders WHERE ordered_at IS NOT NULL AND amount IS NOT NULL
), cp AS (
    -- one row per customer and period with an order
    SELECT customer, period, SUM(amount) AS revenue,
           SUM(CASE WHEN amount > 0 THEN amount ELSE 0 END) AS sales,
           SUM(CASE WHEN amount > 0 THEN 1 ELSE 0 END) AS purchases
    FROM o GROUP BY customer, period
), firsts AS (
    SELECT customer, MIN(period) AS first_period FROM cp WHERE purchases > 0 GROUP BY customer
), hist AS (
    SELECT cp.customer, cp.period, cp.revenue, cp.sales, cp.purchases, f.first_period,
           SUM(cp.purchases) OVER (PARTITION BY cp.customer ORDER BY cp.period
                                   ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS purchases_to_date
    FROM cp LEFT JOIN firsts AS f ON f.customer = cp.customer
)"""


def _base(period: str | None) -> list[exp.CTE]:
    return ctes_of(_BASE, _when=truncated(exp.column("ordered_at"), period) if period else fragment(WHOLE_RANGE))


def facts_query(families: list[str], by: list[str], period: str | None) -> exp.Select:
    """A query with one row per slice and period and the columns of the families asked for (0
    where a family has no rows in that slice and period)."""
    families = [f for f in FAMILIES if f in families] or ["activity"]
    golden, cohorts = any(d in GOLDEN_DIMENSIONS for d in by), "cohort_month" in by
    attributes = attributes_in(by)
    dims = [exp.alias_(dimension(d), d) for d in by]
    slices = [dimension(d) for d in by]
    customer = exp.column("customer", "r")
    ctes = _base(period)
    if "activity" in families:
        cols = [exp.alias_(fragment(agg), name) for name, agg in _AGGREGATES["activity"].items()]
        query = exp.select(*dims, exp.column("period", "r"), *cols).from_(exp.table_("hist", alias="r"))
        query = slice_joins(query, customer, golden, cohorts, attributes).group_by(*slices,
                                                                                  exp.column("period", "r"))
        ctes.append(cte("activity", query))
    if "cohort" in families:
        # each slice's customers by the period of their first purchase, then, for every period of
        # the orders, those acquired before it
        query = exp.select(*dims, exp.alias_(exp.column("period", "r"), "first_period"),
                           fragment("COUNT(*) AS customers"), fragment("SUM(r.revenue) AS revenue")
                           ).from_(exp.table_("hist", alias="r"))
        query = (slice_joins(query, customer, golden, cohorts, attributes)
                 .where(fragment("r.period = r.first_period"))
                 .group_by(*slices, exp.column("period", "r")))
        ctes.append(cte("acquired", query))
        cols = [exp.alias_(fragment(agg), name) for name, agg in _AGGREGATES["cohort"].items()]
        query = (exp.select(*(exp.column(d, "r") for d in by), exp.column("period", "p"), *cols)
                 .from_(exp.table_("acquired", alias="r"))
                 .join(fragment("SELECT DISTINCT period FROM o").subquery("p"),
                       on=fragment("r.first_period < p.period"))
                 .group_by(*(exp.column(d, "r") for d in by), exp.column("period", "p")))
        ctes.append(cte("cohort", query))
    return combine(ctes, families, [*by, "period"], FAMILIES)
