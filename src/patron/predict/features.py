"""What was known about each paying customer on a snapshot day, as SQL over the warehouse.

Every window ends on the snapshot day and every table is cut there: a ticket resolved later is
open, a rating given later is unknown, a subscription that starts later does not exist. Windows
are date literals computed here, so the SQL is the same on any engine. Where the data does not
reach back far enough for a window (usage exported for the last 90 days only), the feature is
missing rather than zero: "no usage data" is not "no usage".
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

import pandas as pd

from patron.relations import REVENUE_MONTHS

if TYPE_CHECKING:
    from patron.warehouse import Warehouse


@dataclass(frozen=True)
class Feature:
    name: str
    group: str  # usage, support, surveys, billing, engagement; contract, size, tenure say when and how big
    description: str
    # how risk moves with it, where everyone in the trade agrees (+1 more is worse, -1 more is
    # better, 0 either way): a model held to it never gives "heavy use" as a reason to leave
    risk: int = 0


FEATURES: tuple[Feature, ...] = (
    Feature("mrr", "size", "MRR at the snapshot"),
    Feature("mrr_change_12m", "billing", "change in MRR since twelve months before (share)"),
    Feature("months_to_renewal", "contract", "whole months until the contract's next renewal"),
    Feature("term_months", "contract", "contract term in months"),
    Feature("tenure_months", "tenure", "months since the customer first paid"),
    Feature("events_30d", "usage", "product events in the last 30 days", risk=-1),
    Feature("usage_change_90d", "usage", "events in the last 30 days against the 30 days 61-90 days before "
            "(share)", risk=-1),
    Feature("features_30d", "usage", "product features used in the last 30 days", risk=-1),
    Feature("active_users_30d", "usage", "average daily active users in the last 30 days", risk=-1),
    Feature("days_since_use", "usage", "days since the last product use", risk=1),
    Feature("billing_tickets_90d", "billing", "tickets about billing or price in the last 90 days (by the "
            "helpdesk's category)", risk=1),
    Feature("tickets_90d", "support", "tickets opened in the last 90 days, those about billing or price aside", risk=1),
    Feature("open_tickets", "support", "tickets unresolved on the snapshot day", risk=1),
    Feature("urgent_open", "support", "urgent or high-priority tickets unresolved on the snapshot day", risk=1),
    Feature("negative_tickets_90d", "support", "share of the last 90 days' tickets written in negative words", risk=1),
    Feature("ticket_csat_180d", "support", "mean CSAT of tickets resolved in the last 180 days", risk=-1),
    Feature("nps_180d", "surveys", "mean NPS answer (0-10) in the last 180 days", risk=-1),
    Feature("csat_180d", "surveys", "mean CSAT answer (1-5) in the last 180 days", risk=-1),
    Feature("ces_180d", "surveys", "mean effort answer (1-7, 7 the easiest) in the last 180 days", risk=-1),
    Feature("responses_180d", "engagement", "survey answers in the last 180 days"),
    Feature("feedback_90d", "engagement", "feedback items in the last 90 days"),
    Feature("negative_feedback_90d", "engagement", "share of the last 90 days' feedback in negative words", risk=1),
)
NAMES = tuple(f.name for f in FEATURES)
RISK = {f.name: f.risk for f in FEATURES}
GROUP = {f.name: f.group for f in FEATURES}
# what an account is, not why it would leave: shown beside the reasons, never as one
CONTEXT = frozenset({"contract", "size", "tenure"})
USAGE_DAYS = 90  # the usage features need this much history before the snapshot
# a ticket about money, by the helpdesk's own category (helpdesks name it Billing, Pricing, Invoices...)
BILLING = "COALESCE(" + " OR ".join(f"lower(t.category) LIKE '%{w}%'" for w in (
    "bill", "pric", "invoice", "payment", "refund")) + ", FALSE)"


def month_end(d: date) -> date:
    return d.replace(day=calendar.monthrange(d.year, d.month)[1])


def add_months(d: date, months: int) -> date:
    """The first day of the month `months` away from d's month."""
    k = d.year * 12 + d.month - 1 + months
    return date(k // 12, k % 12 + 1, 1)


def _lit(d: date) -> str:
    return f"DATE '{d.isoformat()}'"


def _ts(d: date) -> str:
    """The first instant after day d: timestamps before it happened on or before d."""
    return f"TIMESTAMP '{(d + timedelta(days=1)).isoformat()} 00:00:00'"


def snapshot_sql(snapshot: date, horizon_months: int | None = None, usage_from: date | None = None) -> str:
    """One row per customer paying at the end of the snapshot's month (cut at the snapshot day),
    with every feature; with `horizon_months`, `churned`: not paying at the end of the month that
    many months later. `usage_from` is the first day the usage data covers."""
    month = add_months(snapshot, 0)
    s, ts = _lit(snapshot), _ts(snapshot)
    d30, d60, d90, d180 = (_lit(snapshot - timedelta(days=k)) for k in (30, 60, 90, 180))
    t30, t90, t180 = (_ts(snapshot - timedelta(days=k)) for k in (30, 90, 180))
    covered = usage_from is not None and usage_from <= snapshot - timedelta(days=USAGE_DAYS)
    usage = "u." if covered else "CAST(NULL AS DOUBLE) AS _x_"

    def cust(alias: str = "") -> str:
        a = f"{alias}." if alias else ""
        return f"COALESCE({a}customer_id, {a}customer_ref)"

    label = ""
    if horizon_months is not None:
        later = add_months(snapshot, horizon_months)
        label = (f", CASE WHEN EXISTS (SELECT 1 FROM customer_months AS l WHERE l.customer = p.customer "
                 f"AND l.month = {_lit(later)}) THEN 0 ELSE 1 END AS churned")
    ctes = [
        REVENUE_MONTHS.strip(),
        # subscription periods known on the snapshot day: cut there, so a later end or change is unknown
        f"subs AS (SELECT {cust()} AS customer, subscription_id, start_date, term_months FROM subscriptions "
        f"WHERE start_date <= {s})",
        f"pop AS (SELECT customer, mrr FROM customer_months WHERE month = {_lit(month)})",
        f"before AS (SELECT customer, mrr FROM customer_months WHERE month = {_lit(add_months(snapshot, -12))})",
        # a subscription's first period; its term renews every term_months from that day
        "contract AS (SELECT customer, MIN(first_start) AS first_start, MAX(term) AS term FROM ("
        "SELECT customer, subscription_id, MIN(start_date) AS first_start, MAX(COALESCE(term_months, 1)) AS term "
        "FROM subs GROUP BY customer, subscription_id) AS x GROUP BY customer)",
        f"tk AS (SELECT {cust('t')} AS customer, "
        f"SUM(CASE WHEN t.opened_at >= {t90} AND NOT ({BILLING}) THEN 1 ELSE 0 END) AS tickets_90d, "
        f"SUM(CASE WHEN t.opened_at >= {t90} AND ({BILLING}) THEN 1 ELSE 0 END) AS billing_tickets_90d, "
        f"SUM(CASE WHEN t.resolved_at IS NULL OR t.resolved_at >= {ts} THEN 1 ELSE 0 END) AS open_tickets, "
        f"SUM(CASE WHEN (t.resolved_at IS NULL OR t.resolved_at >= {ts}) AND lower(t.priority) IN ('urgent', 'high') "
        "THEN 1 ELSE 0 END) AS urgent_open, "
        f"AVG(CASE WHEN t.opened_at >= {t90} THEN CASE WHEN e.sentiment_label = 'negative' THEN 1.0 "
        "WHEN e.sentiment_label IS NOT NULL THEN 0.0 END END) AS negative_tickets_90d, "
        f"AVG(CASE WHEN t.resolved_at < {ts} AND t.resolved_at >= {t180} THEN t.csat END) AS ticket_csat_180d "
        "FROM tickets AS t LEFT JOIN enrichment AS e ON e.source_table = 'tickets' AND e.item_id = t.ticket_id "
        f"WHERE t.opened_at < {ts} GROUP BY {cust('t')})",
        f"sv AS (SELECT {cust()} AS customer, "
        "AVG(CASE WHEN survey = 'nps' THEN score END) AS nps_180d, "
        "AVG(CASE WHEN survey = 'csat' THEN score END) AS csat_180d, "
        "AVG(CASE WHEN survey = 'ces' THEN score END) AS ces_180d, COUNT(*) AS responses_180d "
        f"FROM responses WHERE submitted_at < {ts} AND submitted_at >= {t180} GROUP BY {cust()})",
        f"fb AS (SELECT {cust('f')} AS customer, COUNT(*) AS feedback_90d, "
        "AVG(CASE WHEN e.sentiment_label = 'negative' THEN 1.0 WHEN e.sentiment_label IS NOT NULL THEN 0.0 END) "
        "AS negative_feedback_90d FROM feedback AS f "
        "LEFT JOIN enrichment AS e ON e.source_table = 'feedback' AND e.item_id = f.feedback_id "
        f"WHERE f.received_at < {ts} AND f.received_at >= {t90} GROUP BY {cust('f')})",
    ]
    if covered:
        ctes += [
            f"ud AS (SELECT {cust()} AS customer, day, SUM(events) AS events, SUM(active_users) AS users, "
            f"COUNT(DISTINCT feature) AS features FROM usage WHERE day <= {s} AND day > {d90} "
            f"GROUP BY {cust()}, day)",
            f"fu AS (SELECT {cust()} AS customer, COUNT(DISTINCT feature) AS features_30d FROM usage "
            f"WHERE day <= {s} AND day > {d30} GROUP BY {cust()})",
            f"lu AS (SELECT {cust()} AS customer, MAX(day) AS last_day FROM usage WHERE day <= {s} GROUP BY {cust()})",
            "u AS (SELECT customer, "
            f"SUM(CASE WHEN day > {d30} THEN events ELSE 0 END) AS events_30d, "
            f"SUM(CASE WHEN day <= {d60} THEN events ELSE 0 END) AS events_61_90, "
            f"SUM(CASE WHEN day > {d30} THEN users ELSE 0 END) / 30.0 AS active_users_30d "
            "FROM ud GROUP BY customer)",
        ]
    if covered:
        usage_cols = ("COALESCE(u.events_30d, 0) AS events_30d, "
                      "CASE WHEN COALESCE(u.events_61_90, 0) > 0 THEN COALESCE(u.events_30d, 0) / u.events_61_90 - 1 "
                      "WHEN COALESCE(u.events_30d, 0) > 0 THEN 1.0 END AS usage_change_90d, "
                      "COALESCE(fu.features_30d, 0) AS features_30d, "
                      "COALESCE(u.active_users_30d, 0) AS active_users_30d, "
                      f"CASE WHEN lu.last_day IS NULL THEN {USAGE_DAYS + 1} "
                      f"ELSE LEAST({USAGE_DAYS + 1}, {s} - lu.last_day) END AS days_since_use")
        usage_joins = ("LEFT JOIN u ON u.customer = p.customer LEFT JOIN fu ON fu.customer = p.customer "
                       "LEFT JOIN lu ON lu.customer = p.customer")
    else:
        usage_cols = ", ".join(f"CAST(NULL AS DOUBLE) AS {n}" for n in
                               ("events_30d", "usage_change_90d", "features_30d", "active_users_30d", "days_since_use"))
        usage_joins = ""
    del usage
    months_since = (f"((YEAR({s}) - YEAR(c.first_start)) * 12 + MONTH({s}) - MONTH(c.first_start) "
                    f"- CASE WHEN DAY({s}) < DAY(c.first_start) THEN 1 ELSE 0 END)")
    select = (
        f"SELECT p.customer, {s} AS snapshot, p.mrr, "
        "CASE WHEN b.mrr > 0 THEN p.mrr / b.mrr - 1 END AS mrr_change_12m, "
        f"c.term - MOD({months_since}, c.term) AS months_to_renewal, c.term AS term_months, "
        f"(YEAR({s}) - YEAR(f.first_month)) * 12 + MONTH({s}) - MONTH(f.first_month) AS tenure_months, "
        f"{usage_cols}, "
        "COALESCE(tk.tickets_90d, 0) AS tickets_90d, COALESCE(tk.billing_tickets_90d, 0) AS billing_tickets_90d, "
        "COALESCE(tk.open_tickets, 0) AS open_tickets, "
        "COALESCE(tk.urgent_open, 0) AS urgent_open, tk.negative_tickets_90d, tk.ticket_csat_180d, "
        "sv.nps_180d, sv.csat_180d, sv.ces_180d, COALESCE(sv.responses_180d, 0) AS responses_180d, "
        "COALESCE(fb.feedback_90d, 0) AS feedback_90d, fb.negative_feedback_90d"
        f"{label} FROM pop AS p LEFT JOIN before AS b ON b.customer = p.customer "
        "LEFT JOIN firsts AS f ON f.customer = p.customer LEFT JOIN contract AS c ON c.customer = p.customer "
        f"LEFT JOIN tk ON tk.customer = p.customer LEFT JOIN sv ON sv.customer = p.customer "
        f"LEFT JOIN fb ON fb.customer = p.customer {usage_joins}"
    )
    return "WITH " + ", ".join(ctes) + " " + select + " ORDER BY p.customer"


def usage_from(wh: Warehouse) -> date | None:
    return wh.scalar("SELECT MIN(day) FROM usage")


def snapshot(wh: Warehouse, day: date, horizon_months: int | None = None) -> pd.DataFrame:
    """The features of every customer paying on `day` (and, with a horizon, whether it churned)."""
    frame = wh.df(snapshot_sql(day, horizon_months, usage_from(wh)))
    for name in NAMES:
        frame[name] = pd.to_numeric(frame[name], errors="coerce").astype(float)
    return frame


def scoring_day(wh: Warehouse, as_of: date | None, model: str) -> date | None:
    """The day a run scores: `as_of`, which must lie within the data (a model knows nothing of
    days after it, nor of days before the first), else the data's last day."""
    from patron.errors import PredictError
    from patron.warehouse.as_of import data_as_of

    last = data_as_of(wh)
    if as_of is None or last is None:
        return as_of or last
    first = wh.scalar("SELECT MIN(start_date) FROM subscriptions") or wh.scalar(
        "SELECT CAST(MIN(ordered_at) AS DATE) FROM orders")
    if as_of > last:
        raise PredictError(f"--as-of {as_of} is after the data's last day ({last}): nothing is known of it", model)
    if first is not None and as_of < first:
        raise PredictError(f"--as-of {as_of} is before the first billing or order ({first})", model)
    return as_of
