"""docs/metrics.md, generated from the built-in catalog so the two never disagree.

Run `python -m patron.metrics.doc > docs/metrics.md`; a test fails when the file is stale.
"""

from __future__ import annotations

from patron.metrics import orders
from patron.metrics.revenue import FAMILIES, FAMILY_MEANING
from patron.metrics.spec import CUSTOMER_DIMENSIONS, PERIODS, MetricSpec, builtin_catalog

INTRO = f"""\
# The metric catalog

One definition of each number, shipped as YAML (`src/patron/metrics/catalog/*.yml`) and
compiled to SQL with SQLGlot: DuckDB runs it, and every definition transpiles to Spark SQL,
PostgreSQL, Snowflake and BigQuery. `patron metrics list` shows the catalog, `patron metrics
explain NAME` a metric's definition, owner, target and SQL, `patron metrics show NAME --by
DIMENSION --period PERIOD` its values, and `patron metrics run` evaluates all of it at once.

## Your own numbers

Under `metrics:` in `patron.yml`, give a metric an owner and a target, change any field of a
built-in, or add a metric of your own:

```yaml
metrics:
  nps: {{owner: VP Customer Success, target: 40}}
  ltv: {{params: {{gross_margin: 0.82}}}}
  urgent_tickets:
    label: Urgent tickets
    definition: Tickets marked urgent.
    kind: count
    table: tickets
    filter: priority = 'urgent'
    time: opened_at
    unit: count
    better: lower
    dimensions: [channel, segment]
```

Kinds: `nps` (0-10 scores), `share` (a condition's share of rows), `mean`, `count`, `sum`,
`median`, `p90` (all over one table: `value` and `filter` are SQL on its columns, `time` places
a row in a period); `revenue` (an expression over the monthly revenue facts below; `base` is
the column that is its n, `successes` the one that makes it a rate with an interval); `orders`
(the same over the order facts below, at any period); `formula` (an expression over other
metrics, joined by slice and period; `base` names the metric whose n it reports). `params` are
named numbers the expression may use.

`patron check` checks this section with the rest of the file, and evaluating a metric refuses a
bad one the same way: every problem at once, each with its key, e.g. `metrics.nsp: no such metric
'nsp' — did you mean 'nps'?`, an unknown or ill-typed field, a new metric without its label,
definition, kind, unit and better, and any expression that is not one SQL expression (a `;`, SQL
that does not parse) or is not on the allow-list (no subqueries, tables, files or unknown
functions; a column named like an SQL keyword, such as `comment`, goes in double quotes).

## Slices and periods

Periods: {", ".join(PERIODS)} (revenue, and formulas over it, are monthly; without a period,
a metric is computed over the whole range as one period). A metric can be sliced by its table's
columns listed in its `dimensions` and by customer attributes from the golden record
({", ".join(CUSTOMER_DIMENSIONS)}), which need `patron identity resolve`. The cohort month is
the month of the customer's first subscription period with MRR above 0 or, for a customer with
no subscription (a retailer's), the month of its first purchase.

A metric sliced by those is also sliced by every attribute a source keeps (`attributes:` under a
source in `patron.yml`: contract type, payment method, a churn flag...), e.g. `--by contract_type`:
the customer's current value, as text (a number as written, an ISO date, `true` or `false`), from
the most trusted source that gives one. An attribute marked personal, or named like personal data
(surname, email, phone, address, date of birth...), is never a slice: asking for one is refused
and says so.

## Statistics

Every value comes with its n. Sample estimates come with a 95% interval: shares use the Wilson
score interval; NPS an adjusted Wald interval (one pseudo-response added to promoters, passives
and detractors, so one answer or five identical ones do not give a zero-width interval); means
Student's t. A change from the period just before is tested and flagged only when p < 0.05:
NPS with a two-sample z test on the difference of (promoters - detractors) shares with
multinomial variances; shares and customer rates (logo churn, renewal rate, repeat purchase
rate) with a pooled two-proportion z test; means with Welch's t test. Counts, sums,
percentiles, money (average order value included) and formulas are not sample estimates here:
they get no interval and no test.

A value that cannot be computed is "not available" with the reason, never 0. The reason names
the input that is actually missing: no data in the slice and period; the table is empty ("no
subscriptions are loaded" only when none are); rows are loaded but none the metric reads (none
where `survey = 'nps'`, none with MRR above 0, no contract terms, no month with customers paying
at its start, no customer acquired in an earlier period...), with the counts; a formula's input
that has no data, and why; or the metric's own reason, e.g. no customer churned for LTV. Every
evaluation by `patron metrics run` is stored in `metric_values` (metric, slice, grain, period, value, n,
interval, p-value, run): the history scripts read. The briefing evaluates what it shows and writes nothing.

## Monthly revenue facts

A customer pays in a month when the subscription periods active on the month's last day sum to
MRR above 0. Customers are master customers once identity is resolved, else billing's customer
ids. Each month of the facts has these columns (one set of queries serves every revenue metric):
"""


ORDERS_INTRO = """\
For a company that sells orders rather than subscriptions (a retailer, a marketplace): who
bought, how often and how much, from the orders table alone, at any period (day to year; without
a period, the whole range as one). A purchase is an order with an amount above 0; a credit or a
cancellation (0 or below) counts in revenue only. A customer is acquired in the period of its
first purchase in the loaded orders, so in the first period of the data every customer is new and
repeat rates there are understated. Customers are master customers once identity is resolved,
else the orders' own customer ids; order metrics are sliced by customer attributes. Each period
of the facts has these columns:
"""


def _metric(s: MetricSpec) -> list[str]:
    lines = [f"### `{s.name}`: {s.label}", "", s.definition, ""]
    facts = [f"kind `{s.kind}`", f"unit {s.unit}", f"{s.better} is better"]
    if s.table:
        facts.append(f"table `{s.table}`" + (f" by `{s.time}`" if s.time else ""))
    lines.append("; ".join(facts) + ".")
    lines.append("")
    if s.value:
        lines.append(f"- value: `{s.value}`")
    if s.filter:
        lines.append(f"- rows: `{s.filter}`")
    if s.base:
        lines.append(f"- n: `{s.base}`" + (f"; successes: `{s.successes}`" if s.successes else ""))
    if s.params:
        lines.append("- params: " + ", ".join(f"`{k}` = {v}" for k, v in s.params.items()))
    lines.append(f"- slices: {', '.join(s.dimensions) or '(none)'}")
    lines.append("")
    return lines


def render() -> str:
    out = [INTRO]
    for family, columns in FAMILIES.items():
        out.append(f"**{family}**: {FAMILY_MEANING[family]}.\n")
        out.append("| column | meaning |\n| --- | --- |")
        out += [f"| `{c}` | {meaning} |" for c, meaning in columns.items()]
        out.append("")
    out.append("## Order facts\n")
    out.append(ORDERS_INTRO)
    for family, columns in orders.FAMILIES.items():
        out.append(f"**{family}**: {orders.FAMILY_MEANING[family]}.\n")
        out.append("| column | meaning |\n| --- | --- |")
        out += [f"| `{c}` | {meaning} |" for c, meaning in columns.items()]
        out.append("")
    out.append("## Built-in metrics\n")
    for s in builtin_catalog().values():
        out += _metric(s)
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    print(render(), end="")
