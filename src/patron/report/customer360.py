"""One customer, everything known about it: the 360 view, found by id, source id, email or name."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from patron import stats
from patron.errors import PatronError
from patron.relations import CUSTOMER_MONTHS
from patron.warehouse import Warehouse
from patron.warehouse.as_of import data_as_of


@dataclass
class Customer360:
    customer_id: str
    profile: dict
    source_ids: list[dict]
    contacts: list[dict]
    mrr_by_month: list[dict]
    subscriptions: list[dict]
    orders: list[dict]
    scores: list[dict]  # survey, touchpoint, quarter, value, n, ci_low, ci_high
    tickets: list[dict]
    feedback: list[dict]
    ticket_count: int = 0
    feedback_count: int = 0

    def to_dict(self) -> dict:
        return self.__dict__.copy()


@dataclass
class CustomerMatches:
    """A query that fits several customers: the candidates, best first."""

    query: str
    candidates: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"query": self.query, "candidates": self.candidates}


def _records(wh: Warehouse, sql: str, params: list) -> list[dict]:
    df = wh.df(sql, params)
    return df.astype(object).where(df.notna(), None).to_dict(orient="records")


def find(wh: Warehouse, query: str) -> str | CustomerMatches:
    """The customer_id the query names, or the candidates when it fits several (or none)."""
    if not wh.scalar("SELECT count(*) FROM customer_golden"):
        raise PatronError("no master customers yet; run `patron identity resolve` first")
    q = query.strip()
    if not q:
        raise PatronError("say which customer: a master id, a source's id, an email or a name")
    exact = wh.rows(
        "SELECT DISTINCT customer_id FROM (SELECT customer_id FROM customer_golden WHERE customer_id = $1 "
        "UNION ALL SELECT customer_id FROM identity_map WHERE ref = $1 "
        "UNION ALL SELECT customer_id FROM contacts WHERE email = lower($1) AND customer_id IS NOT NULL "
        "UNION ALL SELECT customer_id FROM customers WHERE email = lower($1) AND customer_id IS NOT NULL "
        "UNION ALL SELECT customer_id FROM customer_golden WHERE lower(name) = lower($1))",
        [q],
    )
    if len(exact) == 1:
        return exact[0][0]
    candidates = _records(
        wh,
        "SELECT customer_id, name, domain, segment, records, "
        "round(jaro_winkler_similarity(lower(name), lower($1)), 3) AS similarity FROM customer_golden "
        "WHERE customer_id IN (SELECT unnest($2::VARCHAR[])) OR contains(lower(name), lower($1)) "
        "OR jaro_winkler_similarity(lower(name), lower($1)) >= 0.88 "
        "ORDER BY similarity DESC, customer_id LIMIT 20",
        [q, [r[0] for r in exact]],
    )
    if len(candidates) == 1:
        return candidates[0]["customer_id"]
    return CustomerMatches(q, candidates)


def build(wh: Warehouse, customer_id: str, as_of: date | None = None) -> Customer360:
    profile = _records(wh, "SELECT * EXCLUDE (built_at) FROM customer_golden WHERE customer_id = ?", [customer_id])
    if not profile:
        raise PatronError(f"no customer {customer_id!r}")
    cid = [customer_id]
    as_of = as_of or data_as_of(wh) or date.today()
    scores = []
    for row in _records(
        wh,
        "SELECT survey, coalesce(touchpoint, '(relationship)') AS touchpoint, "
        "strftime(date_trunc('quarter', submitted_at), '%Y-Q') || quarter(submitted_at) AS quarter, "
        "count(*) AS n, count(*) FILTER (WHERE score >= 9) AS pro, count(*) FILTER (WHERE score <= 6) AS det, "
        "count(*) FILTER (WHERE score >= 4) AS good, list(score) AS scores FROM responses "
        "WHERE customer_id = ? GROUP BY ALL ORDER BY survey, touchpoint, quarter",
        cid,
    ):
        if row["survey"] == "nps":
            e = stats.nps(row["pro"], row["n"] - row["pro"] - row["det"], row["det"])
        elif row["survey"] == "csat":
            e = stats.proportion(row["good"], row["n"])
        else:
            e = stats.mean([float(s) for s in row["scores"]])
        scores.append({"survey": row["survey"], "touchpoint": row["touchpoint"], "quarter": row["quarter"],
                       **e.to_dict()})
    return Customer360(
        customer_id=customer_id,
        profile=profile[0],
        source_ids=_records(wh, "SELECT system, ref, method FROM identity_map WHERE customer_id = ? ORDER BY 1, 2",
                            cid),
        contacts=_records(wh, "SELECT DISTINCT name, email, phone, role FROM contacts WHERE customer_id = ? "
                              "ORDER BY name", cid),
        # the catalog's revenue months (what MRR counts), the last 24 up to the data's day
        mrr_by_month=_records(
            wh,
            "WITH months AS (SELECT CAST(unnest(generate_series(date_trunc('month', ?::DATE) - INTERVAL 23 MONTH, "
            "date_trunc('month', ?::DATE), INTERVAL 1 MONTH)) AS DATE) AS m) "
            f"SELECT strftime(m, '%Y-%m') AS month, coalesce(c.mrr, 0) AS mrr FROM months LEFT JOIN "
            f"({CUSTOMER_MONTHS}) AS c ON c.month = months.m AND c.customer = ? ORDER BY m",
            [as_of, as_of, customer_id],
        ),
        subscriptions=_records(wh, "SELECT subscription_id, plan, mrr, currency, start_date, end_date, term_months, "
                                   "renewal_date FROM subscriptions WHERE customer_id = ? ORDER BY start_date", cid),
        orders=_records(wh, "SELECT order_id, ordered_at, amount, currency, product FROM orders "
                            "WHERE customer_id = ? ORDER BY ordered_at", cid),
        scores=scores,
        tickets=_records(wh, "SELECT ticket_id, opened_at, priority, category, subject, resolved_at, csat "
                             "FROM tickets WHERE customer_id = ? ORDER BY opened_at DESC LIMIT 20", cid),
        feedback=_records(wh, "SELECT received_at, channel, rating, text FROM feedback WHERE customer_id = ? "
                              "ORDER BY received_at DESC LIMIT 20", cid),
        ticket_count=wh.scalar("SELECT count(*) FROM tickets WHERE customer_id = ?", cid),
        feedback_count=wh.scalar("SELECT count(*) FROM feedback WHERE customer_id = ?", cid),
    )
