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


def _snaps(days: list[date], horizon_months: int | None, usage_from: date | None, whole: set[date]) -> str:
    """The snapshot days with every window bound each needs, as literals: one row per day."""
    rows = []
    for d in days:
        covered = usage_from is not None and usage_from <= d - timedelta(days=USAGE_DAYS)
        later = _lit(add_months(d, horizon_months)) if horizon_months is not None else "CAST(NULL AS DATE)"
        rows.append("(" + ", ".join([
            _lit(d), _lit(add_months(d, 0)), _lit(add_months(d, -12)), later, _ts(d),
            *(_lit(d - timedelta(days=k)) for k in (30, 60, 90, USAGE_DAYS + 1)),
            *(_ts(d - timedelta(days=k)) for k in (30, 90, 180)), "TRUE" if covered else "FALSE",
            "TRUE" if d in whole else "FALSE"]) + ")")
    return ("snaps AS (SELECT * FROM (VALUES " + ", ".join(rows) + ") AS v(snapshot, month, month_12, later, ts, "
            "d30, d60, d90, d91, t30, t90, t180, covered, whole))")


def snapshot_sql(snapshot: date | list[date], horizon_months: int | None = None, usage_from: date | None = None,
                 customers: str | None = None, whole: list[date] | None = None) -> str:
    """One row per customer and snapshot day for every customer paying on that day (cut there),
    with every feature; with `horizon_months`, `churned`: not paying at the end of the month that
    many months later. `usage_from` is the first day the usage data covers; `customers`, a table
    of the customers to keep (a training sample) except on the days of `whole`, where every
    customer is kept. All days in one pass over each table: a run reads a dozen month ends, and
    each table is read once, not once per day."""
    days = sorted(set(snapshot if isinstance(snapshot, list) else [snapshot]) | set(whole or []))

    def cust(alias: str = "") -> str:
        a = f"{alias}." if alias else ""
        return f"COALESCE({a}customer_id, {a}customer_ref)"

    def keep(alias: str, customer: str | None = None) -> str:
        """The sample's customers only, on the days that keep a sample (s: the snapshot's row)."""
        if not customers:
            return ""
        return f" AND (s.whole OR {customer or cust(alias)} IN (SELECT customer FROM {customers}))"
    ctes = [
        REVENUE_MONTHS.strip(),
        _snaps(days, horizon_months, usage_from, set(whole or [])),
        # paying on the day: the periods begun by it and not ended (on a month end, the customers
        # customer_months has for that month; on any other day, not those who start later that
        # month nor, yet, those who stop later that month)
        "pop AS (SELECT s.snapshot, s.month, s.month_12, s.later, s.ts, s.covered, "
        f"{cust('x')} AS customer, SUM(x.mrr) AS mrr "
        "FROM subscriptions AS x JOIN snaps AS s ON x.start_date <= s.snapshot "
        f"AND (x.end_date IS NULL OR x.end_date > s.snapshot){keep('x')} "
        f"GROUP BY s.snapshot, s.month, s.month_12, s.later, s.ts, s.covered, {cust('x')} HAVING SUM(x.mrr) > 0)",
        # the contract on the snapshot day: of the subscriptions running then (cut there, so a later
        # end or change is unknown), the longest term's; it renews every term_months from its
        # renewal date where the billing gives one, else from the subscription's first period (not
        # from an earlier subscription the customer ended: a monthly plan turned annual renews a
        # year after the annual one began)
        f"sub AS (SELECT s.snapshot, {cust('x')} AS customer, x.subscription_id, MIN(x.start_date) AS first_start, "
        "MAX(COALESCE(x.term_months, 1)) AS term, "
        "MAX(CASE WHEN x.end_date IS NULL OR x.end_date > s.snapshot THEN x.renewal_date END) AS renewal "
        f"FROM subscriptions AS x JOIN snaps AS s ON x.start_date <= s.snapshot{keep('x')} "
        f"GROUP BY s.snapshot, {cust('x')}, x.subscription_id "
        "HAVING MAX(CASE WHEN x.end_date IS NULL OR x.end_date > s.snapshot THEN 1 ELSE 0 END) = 1)",
        "contract AS (SELECT y.snapshot, y.customer, COALESCE(MIN(y.renewal), MIN(y.first_start)) AS anchor, "
        "MAX(y.term) AS term FROM sub AS y JOIN (SELECT snapshot, customer, MAX(term) AS term FROM sub "
        "GROUP BY snapshot, customer) AS l ON l.snapshot = y.snapshot AND l.customer = y.customer AND l.term = y.term "
        "GROUP BY y.snapshot, y.customer)",
        f"te AS (SELECT {cust('t')} AS customer, t.opened_at, t.resolved_at, t.priority, t.csat, "
        f"{BILLING} AS billing, e.sentiment_label FROM tickets AS t "
        "LEFT JOIN enrichment AS e ON e.source_table = 'tickets' AND e.item_id = t.ticket_id)",
        # a ticket counts where it was opened in the last 180 days or is open on the day
        "tk AS (SELECT s.snapshot, t.customer, "
        "SUM(CASE WHEN t.opened_at >= s.t90 AND NOT t.billing THEN 1 ELSE 0 END) AS tickets_90d, "
        "SUM(CASE WHEN t.opened_at >= s.t90 AND t.billing THEN 1 ELSE 0 END) AS billing_tickets_90d, "
        "SUM(CASE WHEN t.resolved_at IS NULL OR t.resolved_at >= s.ts THEN 1 ELSE 0 END) AS open_tickets, "
        "SUM(CASE WHEN (t.resolved_at IS NULL OR t.resolved_at >= s.ts) AND lower(t.priority) IN ('urgent', 'high') "
        "THEN 1 ELSE 0 END) AS urgent_open, "
        "AVG(CAST(CASE WHEN t.opened_at >= s.t90 THEN CASE WHEN t.sentiment_label = 'negative' THEN 1 "
        "WHEN t.sentiment_label IS NOT NULL THEN 0 END END AS DOUBLE)) AS negative_tickets_90d, "
        "AVG(CASE WHEN t.resolved_at < s.ts AND t.resolved_at >= s.t180 THEN t.csat END) AS ticket_csat_180d "
        "FROM te AS t JOIN snaps AS s ON t.opened_at < s.ts "
        f"AND (t.opened_at >= s.t180 OR t.resolved_at IS NULL OR t.resolved_at >= s.t180){keep('t', 't.customer')} "
        "GROUP BY s.snapshot, t.customer)",
        f"sv AS (SELECT s.snapshot, {cust('r')} AS customer, "
        "AVG(CASE WHEN r.survey = 'nps' THEN r.score END) AS nps_180d, "
        "AVG(CASE WHEN r.survey = 'csat' THEN r.score END) AS csat_180d, "
        "AVG(CASE WHEN r.survey = 'ces' THEN r.score END) AS ces_180d, COUNT(*) AS responses_180d "
        f"FROM responses AS r JOIN snaps AS s ON r.submitted_at < s.ts AND r.submitted_at >= s.t180{keep('r')} "
        f"GROUP BY s.snapshot, {cust('r')})",
        f"fb AS (SELECT s.snapshot, {cust('f')} AS customer, COUNT(*) AS feedback_90d, "
        "AVG(CAST(CASE WHEN e.sentiment_label = 'negative' THEN 1 WHEN e.sentiment_label IS NOT NULL THEN 0 END "
        "AS DOUBLE)) "
        "AS negative_feedback_90d FROM feedback AS f "
        "LEFT JOIN enrichment AS e ON e.source_table = 'feedback' AND e.item_id = f.feedback_id "
        f"JOIN snaps AS s ON f.received_at < s.ts AND f.received_at >= s.t90{keep('f')} "
        f"GROUP BY s.snapshot, {cust('f')})",
        # usage only on days whose 90 days it covers; a last use more than 90 days back counts as
        # 91 days, so the last 91 days tell it. A row is a customer's day in one feature: the day's
        # active users are the most of any feature's, since a user of two features is one user
        f"ud AS (SELECT s.snapshot, {cust('u')} AS customer, u.day, SUM(u.events) AS events, "
        "MAX(u.active_users) AS users FROM usage AS u JOIN snaps AS s ON s.covered AND u.day <= s.snapshot "
        f"AND u.day > s.d91{keep('u')} GROUP BY s.snapshot, {cust('u')}, u.day)",
        f"fu AS (SELECT s.snapshot, {cust('u')} AS customer, COUNT(DISTINCT u.feature) AS features_30d "
        f"FROM usage AS u JOIN snaps AS s ON s.covered AND u.day <= s.snapshot AND u.day > s.d30{keep('u')} "
        f"GROUP BY s.snapshot, {cust('u')})",
        "u AS (SELECT ud.snapshot, ud.customer, "
        "SUM(CASE WHEN ud.day > s.d30 THEN ud.events ELSE 0 END) AS events_30d, "
        "SUM(CASE WHEN ud.day <= s.d60 AND ud.day > s.d90 THEN ud.events ELSE 0 END) AS events_61_90, "
        "CAST(SUM(CASE WHEN ud.day > s.d30 THEN ud.users ELSE 0 END) AS DOUBLE) / 30 AS active_users_30d, "
        "MAX(ud.day) AS last_day FROM ud JOIN snaps AS s ON s.snapshot = ud.snapshot "
        "GROUP BY ud.snapshot, ud.customer)",
    ]

    def used(expr: str) -> str:
        return f"CASE WHEN p.covered THEN {expr} END"

    # whole months from the anchor (negative for a renewal date ahead), and its place in the term
    months_since = ("((YEAR(p.snapshot) - YEAR(c.anchor)) * 12 + MONTH(p.snapshot) - MONTH(c.anchor) "
                    "- CASE WHEN DAY(p.snapshot) < DAY(c.anchor) THEN 1 ELSE 0 END)")
    label = ", CASE WHEN l.customer IS NULL THEN 1 ELSE 0 END AS churned" if horizon_months is not None else ""
    label_join = ("LEFT JOIN customer_months AS l ON l.customer = p.customer AND l.month = p.later "
                  if horizon_months is not None else "")
    on = "ON {0}.snapshot = p.snapshot AND {0}.customer = p.customer"
    select = (
        "SELECT p.customer, p.snapshot, CAST(p.mrr AS DOUBLE) AS mrr, "
        "CASE WHEN b.mrr > 0 THEN p.mrr / b.mrr - 1 END AS mrr_change_12m, "
        f"c.term - MOD(MOD({months_since}, c.term) + c.term, c.term) AS months_to_renewal, c.term AS term_months, "
        "(YEAR(p.snapshot) - YEAR(f.first_month)) * 12 + MONTH(p.snapshot) - MONTH(f.first_month) AS tenure_months, "
        f"{used('COALESCE(u.events_30d, 0)')} AS events_30d, "
        + used("CASE WHEN COALESCE(u.events_61_90, 0) > 0 THEN COALESCE(u.events_30d, 0) / u.events_61_90 - 1 "
               "WHEN COALESCE(u.events_30d, 0) > 0 THEN 1.0 END") + " AS usage_change_90d, "
        f"{used('COALESCE(fu.features_30d, 0)')} AS features_30d, "
        f"{used('COALESCE(u.active_users_30d, 0)')} AS active_users_30d, "
        + used(f"CASE WHEN u.last_day IS NULL THEN {USAGE_DAYS + 1} "
               f"ELSE LEAST({USAGE_DAYS + 1}, DATE_DIFF('day', u.last_day, p.snapshot)) END") + " AS days_since_use, "
        "COALESCE(tk.tickets_90d, 0) AS tickets_90d, COALESCE(tk.billing_tickets_90d, 0) AS billing_tickets_90d, "
        "COALESCE(tk.open_tickets, 0) AS open_tickets, "
        "COALESCE(tk.urgent_open, 0) AS urgent_open, tk.negative_tickets_90d, tk.ticket_csat_180d, "
        "sv.nps_180d, sv.csat_180d, sv.ces_180d, COALESCE(sv.responses_180d, 0) AS responses_180d, "
        "COALESCE(fb.feedback_90d, 0) AS feedback_90d, fb.negative_feedback_90d"
        f"{label} FROM pop AS p LEFT JOIN customer_months AS b ON b.customer = p.customer AND b.month = p.month_12 "
        "LEFT JOIN firsts AS f ON f.customer = p.customer "
        f"LEFT JOIN contract AS c {on.format('c')} LEFT JOIN tk {on.format('tk')} LEFT JOIN sv {on.format('sv')} "
        f"LEFT JOIN fb {on.format('fb')} LEFT JOIN u {on.format('u')} LEFT JOIN fu {on.format('fu')} {label_join}"
    )
    return "WITH " + ", ".join(ctes) + " " + select + " ORDER BY p.snapshot, p.customer"


def usage_from(wh: Warehouse) -> date | None:
    return wh.scalar("SELECT MIN(day) FROM usage")


def snapshot(wh: Warehouse, day: date | list[date], horizon_months: int | None = None,
             customers: str | None = None, whole: list[date] | None = None) -> pd.DataFrame:
    """The features of every customer paying on `day` (or on each of a list of days; `customers`:
    a table naming the only ones to keep, but on the days of `whole`) and, with a horizon,
    whether it churned."""
    frame = wh.df(snapshot_sql(day, horizon_months, usage_from(wh), customers, whole))
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
