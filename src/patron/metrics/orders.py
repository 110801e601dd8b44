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

from patron.metrics.revenue import combine
from patron.relations import COHORTS

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


def _base(period: str | None) -> str:
    when = f"CAST(DATE_TRUNC('{period}', ordered_at) AS DATE)" if period else WHOLE_RANGE
    return f"""
o AS (
    SELECT COALESCE(customer_id, customer_ref) AS customer, amount, {when} AS period
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
)""".strip()


def _dimension(d: str) -> str:
    return "co.cohort_month" if d == "cohort_month" else f"g.{d}"


def facts_sql(families: list[str], by: list[str], period: str | None) -> str:
    """A query with one row per slice and period and the columns of the families asked for (0
    where a family has no rows in that slice and period)."""
    families = [f for f in FAMILIES if f in families] or ["activity"]
    golden = any(d != "cohort_month" for d in by)
    dims = [f"{_dimension(d)} AS {d}" for d in by]
    joins = " LEFT JOIN customer_golden AS g ON g.customer_id = r.customer" if golden else ""
    if "cohort_month" in by:
        joins += f" LEFT JOIN ({COHORTS}) AS co ON co.customer = r.customer"
    slices = [_dimension(d) for d in by]
    ctes = [_base(period)]
    if "activity" in families:
        cols = ", ".join(f"{agg} AS {name}" for name, agg in _AGGREGATES["activity"].items())
        ctes.append(f"activity AS (SELECT {''.join(d + ', ' for d in dims)}r.period, {cols} "
                    f"FROM hist AS r{joins} GROUP BY {', '.join([*slices, 'r.period'])})")
    if "cohort" in families:
        # each slice's customers by the period of their first purchase, then, for every period of
        # the orders, those acquired before it
        ctes.append(f"acquired AS (SELECT {''.join(d + ', ' for d in dims)}r.period AS first_period, "
                    f"COUNT(*) AS customers, SUM(r.revenue) AS revenue FROM hist AS r{joins} "
                    f"WHERE r.period = r.first_period GROUP BY {', '.join([*slices, 'r.period'])})")
        cols = ", ".join(f"{agg} AS {name}" for name, agg in _AGGREGATES["cohort"].items())
        ctes.append(f"cohort AS (SELECT {''.join(f'r.{d}, ' for d in by)}p.period, {cols} FROM acquired AS r "
                    f"JOIN (SELECT DISTINCT period FROM o) AS p ON r.first_period < p.period "
                    f"GROUP BY {', '.join([*(f'r.{d}' for d in by), 'p.period'])})")
    return combine(ctes, families, [*by, "period"], FAMILIES)
