"""Why a metric has no value anywhere: the input it actually lacks, asked of the warehouse.

A reason must be true. "No subscriptions are loaded" is said only when none are; with 7,043
subscription rows loaded and no value, the reason names what is missing among them (no MRR above
0, no customer paying at a month's start, no contract terms...), with the counts that show it.
These queries run only for a metric that came out empty, so they cost nothing otherwise.
"""

from __future__ import annotations

from datetime import date

from patron.metrics import orders, revenue
from patron.metrics.compile import bind
from patron.metrics.spec import MetricSpec, names_in
from patron.warehouse import Warehouse


def absent(wh: Warehouse, spec: MetricSpec, period: str | None) -> str:
    """'not available: ...' for a measured metric (not a formula) with no data in any slice or period."""
    if spec.kind == "revenue":
        return f"not available: {_revenue(wh, spec)}"
    if spec.kind == "orders":
        return f"not available: {_orders(wh, spec, period)}"
    return f"not available: {_fact(wh, spec)}"


def empty_slice(spec: MetricSpec) -> str:
    """Why one slice and period has no value while others have."""
    if spec.kind == "orders" and orders.COLUMNS.get(_family_column(spec, orders.COLUMNS) or "") == "cohort":
        return "no customer here was acquired in an earlier period"
    return "no data in this slice and period"


def _rows(n: int, what: str) -> str:
    kept = "there" if what in MADE_HERE else "loaded"
    return f"{n:,} {what} row{'s are' if n != 1 else ' is'} {kept}"


# tables patron writes itself rather than loads: "none yet" says what to run
MADE_HERE = {"action_items": "no action items yet (`patron actions run` runs the plays)"}


def _fact(wh: Warehouse, spec: MetricSpec) -> str:
    table, t = spec.table, f"t.{spec.time}"
    rows = f"{t} IS NOT NULL" + (f" AND ({bind(spec.filter, 't', spec.params)})" if spec.filter else "")
    value = bind(spec.value, "t", spec.params) if spec.value else "1"
    total, dated, matching, valued = wh.rows(
        f"SELECT count(*), count({t}), count(CASE WHEN {rows} THEN 1 END), "
        f"count(CASE WHEN {rows} THEN {value} END) FROM {table} AS t")[0]
    if not total:
        return MADE_HERE.get(table, f"no {table} are loaded")
    if not dated:
        return f"{_rows(total, table)}, but none has a {spec.time}"
    if spec.filter and not matching:
        return f"{_rows(total, table)}, but none where {spec.filter}"
    if not valued:
        scope = f" where {spec.filter}" if spec.filter else ""
        return f"{_rows(total, table)}, but {spec.value} is empty in every one{scope}"
    return f"no {table} rows in the slices asked for"


def _month(d: date | None) -> str:
    return d.strftime("%b %Y") if d else "?"


def _family_column(spec: MetricSpec, columns: dict[str, str]) -> str | None:
    """The fact column behind a metric's n."""
    used = sorted(names_in(spec.base) & set(columns)) if spec.base else []
    return used[0] if used else None


def _revenue(wh: Warehouse, spec: MetricSpec) -> str:
    total, paying, termed, first, last = wh.rows(
        "SELECT count(*), count(CASE WHEN mrr > 0 THEN 1 END), count(CASE WHEN mrr > 0 THEN term_months END), "
        "CAST(DATE_TRUNC('month', min(CASE WHEN mrr > 0 THEN start_date END)) AS DATE), "
        "CAST(DATE_TRUNC('month', max(GREATEST(start_date, COALESCE(end_date, start_date)))) AS DATE) "
        "FROM subscriptions")[0]
    if not total:
        return "no subscriptions are loaded"
    loaded = _rows(total, "subscription")
    if not paying:
        return f"{loaded}, but none has an MRR above 0"
    column = _family_column(spec, revenue.COLUMNS)
    family = revenue.COLUMNS.get(column or "", "movements")
    if family == "renewals" and not termed:
        return f"{loaded}, but none with MRR above 0 has a term_months, so no contract term ends"
    months = (last.year - first.year) * 12 + last.month - first.month + 1 if first and last else 0
    meaning = revenue.FAMILIES[family].get(column or "", "a paying customer")
    why = ""
    if family == "cohort" and months <= 12:
        why = f": {months} month{'s' if months != 1 else ''} of billing, and a year-on-year comparison needs 13"
    elif column in ("customers_start", "mrr_start", "churned_customers") and months <= 1:
        why = ": one month of billing has no month before it"
    return f"{loaded} ({_month(first)} to {_month(last)}), but no month has {meaning}{why}"


def _orders(wh: Warehouse, spec: MetricSpec, period: str | None) -> str:
    total, purchases = wh.rows("SELECT count(*), count(CASE WHEN amount > 0 THEN 1 END) FROM orders")[0]
    if not total:
        return "no orders are loaded"
    loaded = f"{total:,} order{'s are' if total != 1 else ' is'} loaded"
    if not purchases:
        return f"{loaded}, but none has an amount above 0 (credits only), so no customer made a purchase"
    column = _family_column(spec, orders.COLUMNS)
    if orders.COLUMNS.get(column or "") == "cohort":
        if period is None:
            return (f"{loaded}, but taken as one period (no period asked for) no customer was acquired in an "
                    "earlier one; evaluate it by period, e.g. --period month")
        last = wh.scalar(f"SELECT CAST(DATE_TRUNC('{period}', max(ordered_at)) AS DATE) FROM orders")
        return (f"{loaded}, but every customer's first purchase is in the last {period} of the orders "
                f"(starting {last}), so none was acquired in an earlier one")
    meaning = orders.FAMILIES["activity"].get(column or "", "customers with a purchase")
    return f"{loaded}, but no {period or 'period'} has {meaning}"
