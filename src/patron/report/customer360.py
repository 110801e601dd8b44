"""One customer, everything known about it: the 360 view, found by id, source id, email or name."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
import pandas as pd

from patron.errors import PatronError
from patron.metrics import MetricSpec, builtin_catalog, evaluate
from patron.metrics.scoped import for_customer, survey_metrics
from patron.relations import CUSTOMER_MONTHS
from patron.report.money import data_currency
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
    order_count: int = 0
    first_order_at: datetime | None = None  # of all the customer's orders (`orders` holds the latest ORDERS)
    last_order_at: datetime | None = None
    spend: list[dict] = field(default_factory=list)  # currency, amount: what it spent, by currency
    currency: str = "USD"  # the warehouse's money, for amounts that name none
    # the latest churn run's word on it: as_of, probability, band, ARR, at stake, reasons (None:
    # not scored, e.g. not paying, or `patron predict` never ran)
    risk: dict | None = None
    # the latest health run's months for it, oldest first: month, score, band, components, weakest
    health: list[dict] = field(default_factory=list)
    # the latest lifetime value run's word on it: as_of, value and its parts (None: not valued)
    value: dict | None = None

    def to_dict(self) -> dict:
        return self.__dict__.copy()

    @property
    def has_record(self) -> bool:
        """Whether a `customers` source describes it: one known only from its tickets, feedback,
        responses or orders has source ids and activity but no profile."""
        return bool(self.profile.get("customer_record", True))


@dataclass
class CustomerMatches:
    """A query that fits several customers: the candidates, best first."""

    query: str
    candidates: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"query": self.query, "candidates": self.candidates}


ORDERS = 20  # the latest orders a 360 holds; counts, spend and dates cover all of them



def _months_to(last: date, n: int) -> list[date]:
    """The first days of the `n` months up to `last`'s, oldest first."""
    k = last.year * 12 + last.month - 1
    return [date((k - i) // 12, (k - i) % 12 + 1, 1) for i in range(n - 1, -1, -1)]

def _plain(v: object) -> object:
    """A cell as JSON reads it: a list column (DuckDB gives numpy arrays) becomes a list."""
    return v.tolist() if isinstance(v, np.ndarray) else v


def _records(wh: Warehouse, sql: str, params: list) -> list[dict]:
    df = wh.df(sql, params)
    rows = df.astype(object).where(df.notna(), None).to_dict(orient="records")
    return [{k: _plain(v) for k, v in r.items()} for r in rows]


def find(wh: Warehouse, query: str) -> str | CustomerMatches:
    """The customer_id the query names, or the candidates when it fits several (or none). Master
    ids come from identity_map as well as customer_golden: a project without a `customers` source
    (only tickets, feedback, responses or orders) has master customers but no golden records."""
    if not wh.scalar("SELECT count(*) FROM customer_golden") and not wh.scalar("SELECT count(*) FROM identity_map"):
        raise PatronError("no master customers yet; run `patron identity resolve` first")
    q = query.strip()
    if not q:
        raise PatronError("say which customer: a master id, a source's id, an email or a name")
    # a master id names one customer whatever else shares its spelling (a source id sent through
    # the API, say): the candidates a wider match lists can always be opened by their master id
    if wh.scalar("SELECT count(*) FROM (SELECT customer_id FROM customer_golden WHERE customer_id = $1 "
                 "UNION ALL SELECT customer_id FROM identity_map WHERE customer_id = $1)", [q]):
        return q
    exact = wh.rows(
        "SELECT DISTINCT customer_id FROM (SELECT customer_id FROM customer_golden WHERE customer_id = $1 "
        "UNION ALL SELECT customer_id FROM identity_map WHERE customer_id = $1 OR ref = $1 "
        "UNION ALL SELECT customer_id FROM contacts WHERE email = lower($1) AND customer_id IS NOT NULL "
        "UNION ALL SELECT customer_id FROM customers WHERE email = lower($1) AND customer_id IS NOT NULL "
        "UNION ALL SELECT customer_id FROM customer_golden WHERE lower(name) = lower($1))",
        [q],
    )
    if len(exact) == 1:
        return exact[0][0]
    wh.engine.temp_table("_patron_exact", {"customer_id": "VARCHAR"}, {"customer_id": [r[0] for r in exact]})
    candidates = _records(
        wh,
        "SELECT customer_id, name, domain, segment, records, "
        "round(jaro_winkler_similarity(lower(name), lower($1)), 3) AS similarity FROM customer_golden "
        "WHERE customer_id IN (SELECT customer_id FROM _patron_exact) OR contains(lower(name), lower($1)) "
        "OR jaro_winkler_similarity(lower(name), lower($1)) >= 0.88 "
        "ORDER BY similarity DESC, customer_id LIMIT 20",
        [q],
    )
    listed = {c["customer_id"] for c in candidates}
    candidates += [{"customer_id": r[0], "name": None, "domain": None, "segment": None, "records": 0,
                    "similarity": 1.0} for r in exact if r[0] not in listed]  # no golden record: ids only
    if len(candidates) == 1:
        return candidates[0]["customer_id"]
    return CustomerMatches(q, candidates)


def _profile(wh: Warehouse, customer_id: str) -> dict:
    """The golden record, or for a master id without one (no `customers` source names it) a
    profile that says so and lists the systems its source ids come from."""
    golden = _records(wh, "SELECT * EXCLUDE (built_at) FROM customer_golden WHERE customer_id = ?", [customer_id])
    if golden:
        return {**golden[0], "customer_record": True}
    systems = [r[0] for r in wh.rows("SELECT DISTINCT system FROM identity_map WHERE customer_id = ? ORDER BY 1",
                                     [customer_id])]
    if not systems:
        raise PatronError(f"no customer {customer_id!r}")
    return {"customer_id": customer_id, "name": None, "records": 0, "sources": systems, "customer_record": False}


def _scores(wh: Warehouse, customer_id: str, catalog: dict[str, MetricSpec]) -> list[dict]:
    """The customer's survey metrics by touchpoint and quarter, evaluated by the catalog."""
    out = []
    for spec in survey_metrics(catalog):
        df = evaluate(wh, for_customer(spec, customer_id), ["touchpoint"], "quarter", store=False, catalog=catalog)
        for r in df[df["n"] > 0].to_dict("records"):
            q = r["period"]
            out.append({"survey": spec.name, "label": spec.label, "unit": spec.unit,
                        "touchpoint": r["touchpoint"] if isinstance(r["touchpoint"], str) else "(relationship)",
                        "quarter": f"{q.year}-Q{(q.month - 1) // 3 + 1}",
                        **{k: None if pd.isna(r[k]) else r[k] for k in ("value", "ci_low", "ci_high")},
                        "n": int(r["n"])})
    return sorted(out, key=lambda s: (s["survey"], s["touchpoint"], s["quarter"]))


def build(wh: Warehouse, customer_id: str, as_of: date | None = None,
          catalog: dict[str, MetricSpec] | None = None) -> Customer360:
    """`catalog`: the project's (patron.yml's definitions laid over the built-in ones)."""
    profile = _profile(wh, customer_id)
    cid = [customer_id]
    currency = data_currency(wh)
    order_count, first_order, last_order = wh.rows(
        "SELECT count(*), min(ordered_at), max(ordered_at) FROM orders WHERE customer_id = ?", cid)[0]
    as_of = as_of or data_as_of(wh) or date.today()
    billed_to = wh.scalar(f"SELECT max(month) FROM ({CUSTOMER_MONTHS}) AS c "
                          "WHERE month <= ?", [date(as_of.year, as_of.month, 1)]) or as_of
    # the 24 months to billed_to, as literals: the same SQL on every engine
    months = ", ".join(f"(DATE '{m.isoformat()}')" for m in _months_to(billed_to, 24))
    scores = _scores(wh, customer_id, catalog if catalog is not None else builtin_catalog())
    return Customer360(
        customer_id=customer_id,
        profile=profile,
        source_ids=_records(wh, "SELECT system, ref, method FROM identity_map WHERE customer_id = ? ORDER BY 1, 2",
                            cid),
        contacts=_records(wh, "SELECT DISTINCT name, email, phone, role FROM contacts WHERE customer_id = ? "
                              "ORDER BY name", cid),
        # the catalog's revenue months (what MRR counts), the last 24 up to the last month billing
        # covers by the data's day: a text dated in a later month does not make MRR look like 0
        mrr_by_month=_records(
            wh,
            f"WITH months AS (SELECT m FROM (VALUES {months}) AS v(m)) "
            f"SELECT strftime(m, '%Y-%m') AS month, coalesce(c.mrr, 0) AS mrr FROM months LEFT JOIN "
            f"({CUSTOMER_MONTHS}) AS c ON c.month = months.m AND c.customer = ? ORDER BY m",
            [customer_id],
        ),
        subscriptions=_records(wh, "SELECT subscription_id, plan, mrr, currency, start_date, end_date, term_months, "
                                   "renewal_date FROM subscriptions WHERE customer_id = ? ORDER BY start_date", cid),
        orders=_records(wh, "SELECT order_id, ordered_at, amount, currency, product FROM orders "
                            f"WHERE customer_id = ? ORDER BY ordered_at DESC, order_id LIMIT {ORDERS}", cid),
        scores=scores,
        tickets=_records(wh, "SELECT ticket_id, opened_at, priority, category, subject, resolved_at, csat "
                             "FROM tickets WHERE customer_id = ? ORDER BY opened_at DESC LIMIT 20", cid),
        feedback=_records(wh, "SELECT received_at, channel, rating, text FROM feedback WHERE customer_id = ? "
                              "ORDER BY received_at DESC LIMIT 20", cid),
        ticket_count=wh.scalar("SELECT count(*) FROM tickets WHERE customer_id = ?", cid),
        feedback_count=wh.scalar("SELECT count(*) FROM feedback WHERE customer_id = ?", cid),
        order_count=order_count, first_order_at=first_order, last_order_at=last_order,
        # an order without a currency is in the warehouse's; amounts in two currencies are never added
        spend=_records(wh, "SELECT coalesce(upper(trim(currency)), ?) AS currency, round(sum(amount), 2) AS amount "
                           "FROM orders WHERE customer_id = ? AND amount IS NOT NULL GROUP BY 1 "
                           "ORDER BY count(*) DESC, 1", [currency, customer_id]),
        currency=currency,
        risk=_risk(wh, customer_id),
        health=_health(wh, customer_id),
        value=_value(wh, customer_id),
    )


def _value(wh: Warehouse, customer_id: str) -> dict | None:
    from patron.predict.store import latest_scores

    scores = latest_scores(wh, "clv")
    mine = scores[scores["customer_id"] == customer_id]
    if mine.empty:
        return None
    r = mine.iloc[0]
    return {"as_of": r["as_of"], "value": float(r["score"]), **(r["details"] or {})}


def _health(wh: Warehouse, customer_id: str) -> list[dict]:
    from patron.predict.store import latest_scores

    scores = latest_scores(wh, "health")
    mine = scores[scores["customer_id"] == customer_id].sort_values("as_of")
    return [{"month": r.as_of, "score": None if pd.isna(r.score) else float(r.score), "band": r.band,
             "components": (r.details or {}).get("components", {}), "weakest": r.reasons or []}
            for r in mine.itertuples()]


def _risk(wh: Warehouse, customer_id: str) -> dict | None:
    from patron.predict.store import latest_run, latest_scores

    run = latest_run(wh, "churn")
    scores = latest_scores(wh, "churn")
    mine = scores[scores["customer_id"] == customer_id]
    if mine.empty:
        return None
    r = mine.iloc[0]
    details = r["details"] or {}
    term = wh.scalar("SELECT MAX(COALESCE(term_months, 1)) FROM subscriptions WHERE customer_id = ? "
                     "AND start_date <= ?", [customer_id, r["as_of"]])

    def num(v: object) -> float | None:
        return None if v is None or pd.isna(v) else float(v)

    settings = (run or {}).get("settings") or {}
    # a one-snapshot run (a churn flag, no history) says who will leave, with no horizon
    horizon = None if settings.get("mode") == "one snapshot" else settings.get("horizon_months")
    return {"as_of": r["as_of"], "horizon_months": horizon,
            "probability": float(r["score"]), "band": r["band"], "arr": num(r["value"]),
            "at_stake": num(r["at_stake"]), "reasons": r["reasons"] or [], "details": details,
            # when its contract next renews, as the model saw it (a strong feature): months, and the term
            "months_to_renewal": details.get("months_to_renewal"), "term_months": None if term is None else int(term)}
