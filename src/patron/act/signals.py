"""What a play's condition may read: one relation per subject (a customer's state, a survey answer,
a spike alert), built from the shared relations, the golden record and the latest predictions.

The fields are declared once here, with their types and meanings: `patron check` checks each
condition against them, `patron actions fields` lists them, and the plays and the investment list
read the same relations, so a condition means the same wherever it is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from patron.relations import ARR_NOW, CURRENT_ATTRIBUTES, DATA_LAST_DAY, LATEST_RUNS

if TYPE_CHECKING:
    from patron.warehouse import Warehouse

Subject = Literal["customer", "response", "alert"]


@dataclass(frozen=True)
class Field:
    name: str
    sql_type: str  # VARCHAR, DOUBLE, BIGINT, BOOLEAN, DATE
    description: str
    model: str | None = None  # the prediction run it needs (churn, health, clv), if any


def _f(name: str, sql_type: str, description: str, model: str | None = None) -> Field:
    return Field(name, sql_type, description, model)


CUSTOMER_FIELDS: tuple[Field, ...] = (
    _f("customer_id", "VARCHAR", "The master customer."),
    _f("name", "VARCHAR", "Its name."),
    _f("owner", "VARCHAR", "Its account owner."),
    _f("segment", "VARCHAR", "Its segment."),
    _f("region", "VARCHAR", "Its region."),
    _f("industry", "VARCHAR", "Its industry."),
    _f("plan", "VARCHAR", "Its plan."),
    _f("paying", "BOOLEAN", "It pays in the month of the data's last day."),
    _f("churned", "BOOLEAN", "It has left: it paid before and pays nothing in the data's last month or, for an export "
                          "with a churn flag (predict.churn.outcome), the flag says so."),
    _f("arr", "DOUBLE", "Its ARR (twelve times the MRR of the data's last month); 0 when it pays nothing."),
    _f("tenure_days", "BIGINT", "Days since its first paid period (else its first purchase)."),
    _f("churn_risk", "DOUBLE", "Probability of leaving, from the latest churn run (0-1).", "churn"),
    _f("risk_band", "VARCHAR", "high, medium or low, from the latest churn run.", "churn"),
    _f("at_stake", "DOUBLE", "ARR times the probability of leaving.", "churn"),
    _f("months_to_renewal", "DOUBLE", "Months to its contract's next renewal.", "churn"),
    _f("health", "DOUBLE", "Health score 0-100, from the latest health run.", "health"),
    _f("health_band", "VARCHAR", "red, amber or green now.", "health"),
    _f("health_band_before", "VARCHAR", "red, amber or green at the month end before.", "health"),
    _f("clv", "DOUBLE", "Lifetime value, from the latest clv run.", "clv"),
    _f("nps_last", "BIGINT", "Its latest NPS answer (0-10), from any of its people."),
    _f("nps_last_at", "DATE", "When it was given."),
    _f("promoter", "BOOLEAN", "Its latest NPS answer is 9 or 10."),
    _f("detractor", "BOOLEAN", "Its latest NPS answer is 0 to 6."),
    _f("csat_last", "BIGINT", "Its latest CSAT answer (1-5)."),
    _f("usage_30d", "BIGINT", "Product events in the last 30 days of data."),
    _f("usage_prior_30d", "BIGINT", "Product events in the 30 days before those."),
    _f("usage_change", "DOUBLE", "usage_30d over usage_prior_30d, less 1 (0.2 is 20% more); empty without prior use."),
    _f("active_users_30d", "BIGINT", "The most people active on one day in the last 30 days."),
    _f("tickets_open", "BIGINT", "Its tickets not yet resolved."),
    _f("tickets_90d", "BIGINT", "Its tickets opened in the last 90 days of data."),
    _f("negative_texts_90d", "BIGINT", "Its texts (comments, tickets, feedback) of the last 90 days read as "
                                       "negative."),
)

# a response carries its customer's state too, under these names
RESPONSE_FIELDS: tuple[Field, ...] = (
    _f("response_id", "VARCHAR", "The answer."),
    _f("survey", "VARCHAR", "nps, csat or ces."),
    _f("score", "BIGINT", "The score (NPS 0-10, CSAT 1-5, CES 1-7)."),
    _f("submitted_at", "DATE", "When it was given."),
    _f("touchpoint", "VARCHAR", "The touchpoint it rates."),
    _f("journey_stage", "VARCHAR", "Its journey stage."),
    _f("channel", "VARCHAR", "The channel it came by."),
    _f("contact_email", "VARCHAR", "Who gave it."),
    _f("comment", "VARCHAR", "What they wrote."),
    _f("days_ago", "BIGINT", "Days from it to the data's last day."),
    *(f for f in CUSTOMER_FIELDS if f.name in ("customer_id", "name", "owner", "segment", "region", "plan", "arr",
                                                "churn_risk", "risk_band", "health_band", "clv")),
)

ALERT_FIELDS: tuple[Field, ...] = (
    _f("alert_id", "VARCHAR", "The alert (its series and first day)."),
    _f("series", "VARCHAR", "The theme or channel that moved (theme:ID or channel:NAME)."),
    _f("name", "VARCHAR", "What a person reads."),
    _f("first_day", "DATE", "The spike's first day."),
    _f("last_day", "DATE", "Its last day so far."),
    _f("observed", "BIGINT", "Texts seen."),
    _f("expected", "DOUBLE", "Texts expected."),
    _f("ratio", "DOUBLE", "Observed over expected."),
    _f("p_value", "DOUBLE", "How surprising, under the usual volume."),
    _f("days_ago", "BIGINT", "Days from its last day to the data's last day."),
)

FIELDS: dict[str, tuple[Field, ...]] = {"customer": CUSTOMER_FIELDS, "response": RESPONSE_FIELDS,
                                        "alert": ALERT_FIELDS}
# how each subject's rows are keyed in the items (the key column), and the customer each is about
# (a response's id is unique within its source only: two survey tools may both have an answer "1")
KEY = {"customer": "customer_id", "response": "response_key", "alert": "alert_id"}


def field_types(subject: Subject) -> dict[str, str]:
    return {f.name: f.sql_type for f in FIELDS[subject]}


def _runs(wh: Warehouse) -> dict[str, tuple[str, bool]]:
    """model -> (run id, stale) of the runs the scores are read from."""
    return {m: (r, bool(s)) for m, r, s in wh.rows(f"SELECT model, run_id, stale FROM ({LATEST_RUNS}) AS l")}


def usable_runs(wh: Warehouse) -> tuple[dict[str, str], list[str]]:
    """The run of each model whose scores can be read, and why any other cannot (stale)."""
    out, notes = {}, []
    for model, (run, stale) in _runs(wh).items():
        if stale:
            notes.append(f"the latest {model} run predates the last identity resolution; run `patron predict` "
                         "again to use its scores")
        else:
            out[model] = run
    return out, notes


def _scores(model: str, run: str | None, columns: str) -> str:
    """A run's per-customer rows, or none when it never ran (the fields read empty)."""
    where = "FALSE" if run is None else f"p.run_id = '{run}' AND p.model = '{model}'"
    return f"SELECT p.customer_id, {columns} FROM predictions AS p WHERE {where}"


def customer_relation(wh: Warehouse, runs: dict[str, str], left_flag: str | None = None) -> str:
    """SQL: one row per customer with every CUSTOMER_FIELDS column. `runs`: model -> run id, from
    `usable_runs` (its ids are patron's own hex, never user text); `left_flag`: the bool attribute
    that says a customer left (predict.churn.outcome, a checked name), where there is one."""
    for run in runs.values():
        if not run.isalnum():
            raise ValueError(f"not a run id: {run!r}")
    if left_flag is not None and not left_flag.isidentifier():
        raise ValueError(f"not an attribute name: {left_flag!r}")
    flags = ("SELECT CAST(NULL AS VARCHAR) AS customer, CAST(NULL AS BOOLEAN) AS flag WHERE FALSE"
             if left_flag is None else f"SELECT a.customer, MAX(a.flag) AS flag FROM ({CURRENT_ATTRIBUTES}) AS a "
             f"WHERE a.name = '{left_flag}' GROUP BY a.customer")
    golden = wh.scalar("SELECT COUNT(*) FROM customer_golden") > 0
    base = ("SELECT customer_id, name, owner, segment, region, industry, plan FROM customer_golden" if golden else
            # before identity is resolved: each source's own ids, as the predictions key them
            "SELECT COALESCE(customer_id, customer_ref) AS customer_id, MAX(name) AS name, MAX(owner) AS owner, "
            "MAX(segment) AS segment, MAX(region) AS region, MAX(industry) AS industry, MAX(plan) AS plan "
            "FROM customers GROUP BY COALESCE(customer_id, customer_ref)")
    who = "COALESCE(customer_id, customer_ref)"
    health = runs.get("health")
    return f"""
WITH d AS ({DATA_LAST_DAY}),
records AS ({base}),
arr AS ({ARR_NOW}),
billed AS (SELECT {who} AS customer, TRUE AS billed FROM subscriptions WHERE mrr > 0 GROUP BY 1),
flags AS ({flags}),
firsts AS (SELECT customer, MIN(first_day) AS first_day FROM (
    SELECT {who} AS customer, MIN(start_date) AS first_day FROM subscriptions WHERE mrr > 0 GROUP BY 1
    UNION ALL SELECT {who}, MIN(CAST(ordered_at AS DATE)) FROM orders WHERE amount > 0 GROUP BY 1) AS f GROUP BY 1),
churn AS ({_scores("churn", runs.get("churn"), "p.score AS churn_risk, p.band AS risk_band, p.at_stake, "
                   "CAST(json_extract_string(p.details, '$.months_to_renewal') AS DOUBLE) AS months_to_renewal")}),
health_all AS ({_scores("health", health, "p.as_of, p.score AS health, p.band AS health_band")}),
health_now AS (SELECT h.customer_id, h.health, h.health_band, ROW_NUMBER() OVER (PARTITION BY h.customer_id
    ORDER BY h.as_of DESC) AS k FROM health_all AS h),
health_before AS (SELECT h.customer_id, h.health_band, ROW_NUMBER() OVER (PARTITION BY h.customer_id
    ORDER BY h.as_of DESC) AS k FROM health_all AS h
    WHERE h.as_of < (SELECT MAX(as_of) FROM health_all) AND h.as_of = LAST_DAY(h.as_of)),
clv AS ({_scores("clv", runs.get("clv"), "p.score AS clv")}),
nps AS (SELECT {who} AS customer, score, CAST(submitted_at AS DATE) AS at, ROW_NUMBER() OVER (
    PARTITION BY {who} ORDER BY submitted_at DESC, response_id DESC) AS k FROM responses WHERE survey = 'nps'),
csat AS (SELECT {who} AS customer, score, ROW_NUMBER() OVER (
    PARTITION BY {who} ORDER BY submitted_at DESC, response_id DESC) AS k FROM responses WHERE survey = 'csat'),
use AS (SELECT {who} AS customer,
    SUM(CASE WHEN u.day > d.last_day - 30 THEN u.events ELSE 0 END) AS usage_30d,
    SUM(CASE WHEN u.day <= d.last_day - 30 THEN u.events ELSE 0 END) AS usage_prior_30d
    FROM usage AS u CROSS JOIN d WHERE u.day > d.last_day - 60 AND u.day <= d.last_day GROUP BY 1),
users AS (SELECT customer, MAX(people) AS active_users_30d FROM (
    SELECT {who} AS customer, u.day, MAX(u.active_users) AS people FROM usage AS u CROSS JOIN d
    WHERE u.day > d.last_day - 30 AND u.day <= d.last_day GROUP BY 1, 2) AS per_day GROUP BY 1),
tix AS (SELECT {who} AS customer, COUNT(*) FILTER (WHERE resolved_at IS NULL) AS tickets_open,
    COUNT(*) FILTER (WHERE CAST(opened_at AS DATE) > d.last_day - 90) AS tickets_90d
    FROM tickets CROSS JOIN d GROUP BY 1),
neg AS (SELECT e.customer_id AS customer, COUNT(*) AS negative_texts_90d FROM enrichment AS e CROSS JOIN d
    WHERE e.sentiment_label = 'negative' AND CAST(e.occurred_at AS DATE) > d.last_day - 90 GROUP BY 1),
-- every customer the data names, not only those with a customer record: a project whose only
-- source is tickets or surveys still has customers to act on (with no name or owner to show)
named AS (SELECT customer FROM arr UNION SELECT customer FROM firsts UNION SELECT customer FROM nps WHERE k = 1
    UNION SELECT customer FROM csat WHERE k = 1 UNION SELECT customer FROM use UNION SELECT customer FROM tix),
base AS (SELECT * FROM records UNION ALL
    SELECT n.customer, NULL, NULL, NULL, NULL, NULL, NULL FROM named AS n
    WHERE n.customer IS NOT NULL AND n.customer NOT IN (SELECT customer_id FROM records WHERE customer_id IS NOT NULL))
SELECT b.customer_id, b.name, b.owner, b.segment, b.region, b.industry, b.plan,
    COALESCE(a.arr, 0) > 0 AS paying,
    COALESCE(fl.flag, COALESCE(bl.billed, FALSE) AND COALESCE(a.arr, 0) = 0) AS churned, COALESCE(a.arr, 0) AS arr,
    CAST(d.last_day - f.first_day AS BIGINT) AS tenure_days,
    c.churn_risk, c.risk_band, c.at_stake, c.months_to_renewal,
    hn.health, hn.health_band, hb.health_band AS health_band_before, v.clv,
    CAST(n.score AS BIGINT) AS nps_last, n.at AS nps_last_at, n.score >= 9 AS promoter, n.score <= 6 AS detractor,
    CAST(s.score AS BIGINT) AS csat_last,
    CAST(COALESCE(u.usage_30d, 0) AS BIGINT) AS usage_30d, CAST(COALESCE(u.usage_prior_30d, 0) AS BIGINT)
        AS usage_prior_30d,
    CASE WHEN u.usage_prior_30d > 0 THEN 1.0 * u.usage_30d / u.usage_prior_30d - 1 END AS usage_change,
    CAST(COALESCE(p.active_users_30d, 0) AS BIGINT) AS active_users_30d,
    CAST(COALESCE(t.tickets_open, 0) AS BIGINT) AS tickets_open, CAST(COALESCE(t.tickets_90d, 0) AS BIGINT)
        AS tickets_90d,
    CAST(COALESCE(g.negative_texts_90d, 0) AS BIGINT) AS negative_texts_90d
FROM base AS b CROSS JOIN d
LEFT JOIN arr AS a ON a.customer = b.customer_id
LEFT JOIN billed AS bl ON bl.customer = b.customer_id
LEFT JOIN flags AS fl ON fl.customer = b.customer_id
LEFT JOIN firsts AS f ON f.customer = b.customer_id
LEFT JOIN churn AS c ON c.customer_id = b.customer_id
LEFT JOIN health_now AS hn ON hn.customer_id = b.customer_id AND hn.k = 1
LEFT JOIN health_before AS hb ON hb.customer_id = b.customer_id AND hb.k = 1
LEFT JOIN clv AS v ON v.customer_id = b.customer_id
LEFT JOIN nps AS n ON n.customer = b.customer_id AND n.k = 1
LEFT JOIN csat AS s ON s.customer = b.customer_id AND s.k = 1
LEFT JOIN use AS u ON u.customer = b.customer_id
LEFT JOIN users AS p ON p.customer = b.customer_id
LEFT JOIN tix AS t ON t.customer = b.customer_id
LEFT JOIN neg AS g ON g.customer = b.customer_id"""


def response_relation(customers: str, within_days: int) -> str:
    """SQL: every survey answer of the last `within_days` days of data, with its customer's state
    from `customers` (a table or a parenthesised query of `customer_relation`)."""
    mine = ", ".join(f"c.{f.name}" for f in RESPONSE_FIELDS if f.name in {g.name for g in CUSTOMER_FIELDS})
    return f"""
WITH d AS ({DATA_LAST_DAY})
SELECT r.source || ':' || r.response_id AS response_key,
    r.response_id, r.survey, CAST(r.score AS BIGINT) AS score, CAST(r.submitted_at AS DATE) AS submitted_at,
    r.touchpoint, r.journey_stage, r.channel, r.contact_email, r.comment,
    CAST(d.last_day - CAST(r.submitted_at AS DATE) AS BIGINT) AS days_ago, {mine}
FROM responses AS r CROSS JOIN d
LEFT JOIN {customers} AS c ON c.customer_id = COALESCE(r.customer_id, r.customer_ref)
WHERE CAST(r.submitted_at AS DATE) > d.last_day - {int(within_days)}"""


def alert_relation(within_days: int) -> str:
    """SQL: every spike alert whose last day is in the last `within_days` days of data."""
    return f"""
WITH d AS ({DATA_LAST_DAY})
SELECT a.series || '@' || CAST(a.first_day AS VARCHAR) AS alert_id, a.series, a.name, a.first_day, a.last_day,
    a.observed, a.expected, CASE WHEN a.expected > 0 THEN a.observed / a.expected END AS ratio, a.p_value,
    CAST(d.last_day - a.last_day AS BIGINT) AS days_ago, CAST(NULL AS VARCHAR) AS customer_id
FROM alerts AS a CROSS JOIN d WHERE a.last_day > d.last_day - {int(within_days)}"""


# an attribute's declared type as a condition reads it
ATTRIBUTE_TYPES = {"text": "VARCHAR", "int": "BIGINT", "float": "DOUBLE", "date": "DATE", "bool": "BOOLEAN"}


def attribute_fields(wh: Warehouse) -> dict[str, str]:
    """The customer attributes patron.yml's sources keep (not personal ones) and their types, so a
    play may read them by name as well; a name a field already has is left to the field."""
    taken = {f.name for f in CUSTOMER_FIELDS}
    types = ATTRIBUTE_TYPES
    rows = wh.rows(f"SELECT name, MIN(type), BOOL_OR(personal) FROM ({CURRENT_ATTRIBUTES}) AS a GROUP BY name")
    return {n: types.get(t, "VARCHAR") for n, t, personal in rows if not personal and n not in taken}


def with_attributes(relation: str, fields: dict[str, str]) -> str:
    """`relation` (a customer relation) with the attributes `fields` names (from `attribute_fields`:
    the warehouse's own attribute names, each checked to be a word) as columns of their types."""
    if not fields:
        return relation
    value = {"DOUBLE": "a.number", "BIGINT": "CAST(a.number AS BIGINT)", "DATE": "a.day", "BOOLEAN": "a.flag",
             "VARCHAR": "a.value"}
    cols, outer = [], []
    for name, sql_type in fields.items():
        if not name.isidentifier():
            raise ValueError(f"not an attribute name: {name!r}")
        cols.append(f"MAX(CASE WHEN a.name = '{name}' THEN {value[sql_type]} END) AS \"{name}\"")
        outer.append(f'x."{name}"')
    return (f"SELECT r.*, {', '.join(outer)} FROM ({relation}) AS r LEFT JOIN ("
            f"SELECT a.customer, {', '.join(cols)} FROM ({CURRENT_ATTRIBUTES}) AS a GROUP BY a.customer) AS x "
            "ON x.customer = r.customer_id")
