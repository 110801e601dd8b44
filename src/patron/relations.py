"""Business terms defined once, as SQL over the warehouse's canonical tables.

The catalog's metrics, the customer 360, the themes and the briefing all read these; none
derives them again. Each is a query (or the CTEs of one) that a stage wraps in its own SQL.

- revenue months: the MRR each customer pays at the end of each month, from subscriptions;
- cohorts: each customer's first paying month (its first subscription, else its first purchase);
- the data's last day: the latest event any canonical table records (the as-of day);
- ARR now: twelve times what each customer pays in the month of the data's last day;
- texts: every text customers wrote, one query per table, with a flag for a bad score;
- current attributes: each customer's value of each attribute its sources keep.

The as-of day of the data is `patron.warehouse.as_of.data_as_of`, which reads DATA_LAST_DAY.
"""

from __future__ import annotations

# last_day: the latest event any canonical table records, the day the data runs to. A subscription's
# start is an event; its end only once it had passed when its row was loaded (a churn, the day a
# snapshot export was taken): an end still ahead then is a schedule (a contract ending next year,
# 2099, 9999-12-31 for "no end"), which would stretch every open subscription up to it.
DATA_LAST_DAY = (
    "SELECT CAST(max(d) AS DATE) AS last_day FROM (SELECT max(submitted_at) AS d FROM responses UNION ALL "
    "SELECT max(opened_at) FROM tickets UNION ALL SELECT max(received_at) FROM feedback UNION ALL "
    "SELECT max(day) FROM usage UNION ALL SELECT max(start_date) FROM subscriptions UNION ALL "
    "SELECT max(end_date) FROM subscriptions WHERE end_date <= CAST(loaded_at AS DATE) UNION ALL "
    "SELECT max(ordered_at) FROM orders) AS events"
)

# The CTEs every revenue figure starts from. A customer pays in a month when the subscription
# periods active at its end sum to MRR > 0; a period is active at the end of each month from its
# start month to the month before it ends, and never after the month of the data's last day: an
# open period pays up to then (not only up to billing's last row, when other data runs longer), and
# one that ends in 2099 (or 9999-12-31, "no end") is not expanded beyond it. Customers are master
# customers once identity is resolved, else billing's customer ids.
REVENUE_MONTHS = f"""
bounds AS (
    SELECT CAST(DATE_TRUNC('month', MIN(start_date)) AS DATE) AS first_month,
           (SELECT CAST(DATE_TRUNC('month', e.last_day) AS DATE) FROM ({DATA_LAST_DAY}) AS e) AS last_month
    FROM subscriptions
), sub_spans AS (
    -- a period is active at the end of each month from its start month to the month before it ends
    SELECT s.subscription_id, COALESCE(s.customer_id, s.customer_ref) AS customer, s.term_months, s.mrr,
           CAST(DATE_TRUNC('month', s.start_date) AS DATE) AS first_active,
           LEAST(COALESCE(CAST(DATE_TRUNC('month', s.end_date) - INTERVAL 1 MONTH AS DATE), b.last_month),
                 b.last_month) AS last_active
    FROM subscriptions AS s CROSS JOIN bounds AS b
), sub_months AS (
    -- one row per active month; the series stands alone in its select (an engine may not nest a
    -- generator in an expression) and only over spans that have a month (one may refuse a
    -- backwards series rather than give none)
    SELECT subscription_id, customer, term_months, mrr, CAST(month_start AS DATE) AS month FROM (
        SELECT subscription_id, customer, term_months, mrr,
               UNNEST(GENERATE_SERIES(first_active, last_active, INTERVAL 1 MONTH)) AS month_start
        FROM sub_spans WHERE first_active <= last_active) AS expanded
), customer_months AS (
    SELECT customer, month, SUM(mrr) AS mrr FROM sub_months GROUP BY customer, month HAVING SUM(mrr) > 0
), firsts AS (
    SELECT customer, MIN(month) AS first_month FROM customer_months GROUP BY customer
)"""

# customer, month, mrr: every month each customer paid
CUSTOMER_MONTHS = f"WITH {REVENUE_MONTHS.strip()} SELECT customer, month, mrr FROM customer_months"

# customer, arr: the customers paying in the month of the data's last day, at twelve times that MRR
ARR_NOW = (f"WITH {REVENUE_MONTHS.strip()} SELECT c.customer, 12 * c.mrr AS arr FROM customer_months AS c "
           "JOIN bounds AS b ON c.month = b.last_month")

# A customer's cohort is the month of its first subscription period with MRR > 0 or, for a
# customer with none (a retailer's), the month of its first purchase (an order above 0); the same
# definition slices every other table (through customer_id, once identity is resolved).
COHORTS = ("SELECT customer, COALESCE(MIN(CASE WHEN billed THEN first_month END), MIN(first_month)) AS cohort_month "
           "FROM (SELECT COALESCE(customer_id, customer_ref) AS customer, TRUE AS billed, "
           "CAST(DATE_TRUNC('month', MIN(start_date)) AS DATE) AS first_month "
           "FROM subscriptions WHERE mrr > 0 GROUP BY COALESCE(customer_id, customer_ref) "
           "UNION ALL SELECT COALESCE(customer_id, customer_ref) AS customer, FALSE AS billed, "
           "CAST(DATE_TRUNC('month', MIN(ordered_at)) AS DATE) AS first_month "
           "FROM orders WHERE amount > 0 GROUP BY COALESCE(customer_id, customer_ref)) AS firsts GROUP BY customer")


# one query per table: id, customer, channel, touchpoint, time, text, a "bad score" flag, and
# the load that brought it (a pass over new rows only filters on it)
TEXTS = {
    "responses": "SELECT response_id AS item_id, customer_id, channel, touchpoint, submitted_at AS at, "
                 "comment AS text, (survey = 'nps' AND score <= 6) OR (survey = 'csat' AND score <= 2) AS bad_score, "
                 "load_id FROM responses WHERE comment IS NOT NULL AND trim(comment) <> ''",
    "tickets": "SELECT ticket_id AS item_id, customer_id, channel, NULL AS touchpoint, opened_at AS at, "
               "concat_ws('. ', subject, body) AS text, false AS bad_score, load_id FROM tickets "
               "WHERE coalesce(subject, body) IS NOT NULL",
    "feedback": "SELECT feedback_id AS item_id, customer_id, channel, NULL AS touchpoint, received_at AS at, text, "
                "coalesce(rating <= 2, false) AS bad_score, load_id FROM feedback WHERE text IS NOT NULL",
}


def texts_of(table: str, after_load: int | None = None) -> str:
    """The texts of one table; with `after_load`, only those of later loads."""
    return f"SELECT * FROM ({TEXTS[table]}) AS x" + ("" if after_load is None else
                                                       f" WHERE x.load_id > {int(after_load)}")
# source_table and every column above, for every table's texts
ALL_TEXTS = " UNION ALL ".join(f"SELECT '{t}' AS source_table, * FROM ({q})" for t, q in TEXTS.items())


# customer, name, type, value, number, day, flag, personal: each customer's current value of each
# attribute its sources keep (patron.yml's `attributes:`, stored in customer_attributes). Where
# sources give one customer different values, the most trusted source's (identity.trusted_sources,
# else patron.yml's order of sources), then the latest load's, then the later row's. An attribute
# is personal when any source says so. Customers are master customers once identity is resolved,
# else the source's own ids.
CURRENT_ATTRIBUTES = (
    "SELECT customer, name, type, value, number, day, flag, personal FROM ("
    "SELECT COALESCE(customer_id, customer_ref) AS customer, name, type, value, number, day, flag, "
    "MAX(CASE WHEN personal THEN 1 ELSE 0 END) OVER (PARTITION BY name) = 1 AS personal, "
    "ROW_NUMBER() OVER (PARTITION BY COALESCE(customer_id, customer_ref), name "
    "ORDER BY trust, load_id DESC, source_row DESC, source) AS pick "
    "FROM customer_attributes) AS ranked WHERE pick = 1")

# model, run_id, as_of, created_at, stale: the run each model's scores are read from, the newest
# that scored the data's last day, else the newest of any day (a run as of an earlier day never
# stands in for today's); stale where identity was resolved after it, since a resolution may give
# its customers' ids to others.
LATEST_RUNS = (
    "SELECT model, run_id, as_of, created_at, COALESCE(created_at < resolved, FALSE) AS stale FROM ("
    "SELECT r.model, r.run_id, r.as_of, r.created_at, i.resolved, ROW_NUMBER() OVER (PARTITION BY r.model "
    "ORDER BY CASE WHEN r.as_of = d.last_day THEN 0 ELSE 1 END, r.created_at DESC) AS pick "
    f"FROM prediction_runs AS r CROSS JOIN ({DATA_LAST_DAY}) AS d "
    "CROSS JOIN (SELECT MAX(resolved_at) AS resolved FROM identity_map) AS i) AS ranked WHERE pick = 1"
)
