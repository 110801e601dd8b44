"""The metric catalog's monthly numbers written by hand, twice: DuckDB SQL and pandas.

These are the baselines of bench/metrics_catalog.py: what a careful analyst would write for the
same definitions (docs/metrics.md), without patron. Each returns one long table: metric, period,
value, n.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

GROSS_MARGIN = 0.75
SERVICES_COSTS = ("services", "professional_services")

REVENUE_SQL = """
WITH b AS (
    SELECT date_trunc('month', min(start_date))::DATE AS fm,
           date_trunc('month', max(greatest(start_date, coalesce(end_date, start_date))))::DATE AS lm
    FROM subscriptions
), sm AS (
    SELECT subscription_id AS sid, coalesce(customer_id, customer_ref) AS c, mrr,
           unnest(generate_series(date_trunc('month', start_date)::DATE,
                  coalesce((date_trunc('month', end_date) - INTERVAL 1 MONTH)::DATE, b.lm),
                  INTERVAL 1 MONTH))::DATE AS m
    FROM subscriptions, b
), cm AS (
    SELECT c, m, sum(mrr) AS mrr FROM sm GROUP BY c, m HAVING sum(mrr) > 0
), w AS (
    SELECT c, m, mrr,
           lag(m) OVER (PARTITION BY c ORDER BY m) AS pm, lag(mrr) OVER (PARTITION BY c ORDER BY m) AS pmrr,
           lead(m) OVER (PARTITION BY c ORDER BY m) AS nm, min(m) OVER (PARTITION BY c) AS first
    FROM cm
), mv AS (
    SELECT m, mrr, CASE WHEN pm = m - INTERVAL 1 MONTH THEN pmrr ELSE 0 END AS prev, first FROM w
    UNION ALL
    SELECT (m + INTERVAL 1 MONTH)::DATE, 0, mrr, first FROM w, b
    WHERE (nm IS NULL OR nm <> m + INTERVAL 1 MONTH) AND m + INTERVAL 1 MONTH <= b.lm
), movements AS (
    SELECT m, sum(mrr) AS mrr_end, sum(prev) AS mrr_start,
           sum(mrr) FILTER (prev = 0 AND m = first) AS new, count(*) FILTER (prev = 0 AND m = first) AS new_n,
           sum(mrr) FILTER (prev = 0 AND m > first) AS react,
           sum(mrr - prev) FILTER (prev > 0 AND mrr > prev) AS expansion,
           sum(prev - mrr) FILTER (prev > 0 AND mrr > 0 AND mrr < prev) AS contraction,
           sum(prev) FILTER (prev > 0 AND mrr = 0) AS churn,
           count(*) FILTER (prev > 0) AS c_start, count(*) FILTER (mrr > 0) AS c_end,
           count(*) FILTER (prev > 0 AND mrr = 0) AS c_churned, count(*) AS c_active
    FROM mv GROUP BY m
), cohort AS (
    SELECT (a.m + INTERVAL 12 MONTH)::DATE AS m, count(*) AS co_n, sum(a.mrr) AS co_start,
           sum(coalesce(z.mrr, 0)) AS co_now, sum(least(coalesce(z.mrr, 0), a.mrr)) AS co_kept
    FROM cm AS a LEFT JOIN cm AS z ON z.c = a.c AND z.m = a.m + INTERVAL 12 MONTH, b
    WHERE a.m + INTERVAL 12 MONTH <= b.lm GROUP BY 1
), subs AS (
    SELECT sid, m, sum(mrr) AS mrr FROM sm GROUP BY sid, m
), terms AS (
    SELECT subscription_id AS sid, date_trunc('month', min(start_date))::DATE AS anchor, max(term_months) AS term
    FROM subscriptions WHERE term_months IS NOT NULL GROUP BY sid
), sw AS (
    SELECT s.sid, s.m, s.mrr, t.anchor, t.term, lead(s.m) OVER (PARTITION BY s.sid ORDER BY s.m) AS nm,
           lead(s.mrr) OVER (PARTITION BY s.sid ORDER BY s.m) AS nmrr
    FROM subs AS s JOIN terms AS t USING (sid)
), renewals AS (
    SELECT (m + INTERVAL 1 MONTH)::DATE AS m, count(*) AS due,
           count(*) FILTER (nm = m + INTERVAL 1 MONTH AND nmrr > 0) AS renewed, sum(mrr) AS due_mrr,
           sum(CASE WHEN nm = m + INTERVAL 1 MONTH THEN least(nmrr, mrr) ELSE 0 END) AS renewed_mrr
    FROM sw, b
    WHERE mrr > 0 AND m + INTERVAL 1 MONTH <= b.lm AND datediff('month', anchor, m + INTERVAL 1 MONTH) % term = 0
    GROUP BY 1
)
SELECT mo.m AS period, mrr_end, mrr_start, coalesce(new, 0) AS new, new_n, coalesce(react, 0) AS react,
       coalesce(expansion, 0) AS expansion, coalesce(contraction, 0) AS contraction, coalesce(churn, 0) AS churn,
       c_start, c_end, c_churned, c_active, coalesce(co_n, 0) AS co_n, co_start, co_now, co_kept,
       coalesce(due, 0) AS due, renewed, due_mrr, renewed_mrr
FROM movements AS mo LEFT JOIN cohort USING (m) LEFT JOIN renewals USING (m) ORDER BY period
"""

FACTS_SQL = {
    "responses": """
SELECT date_trunc('month', submitted_at)::DATE AS period,
       count(*) FILTER (survey = 'nps') AS nps_n,
       100.0 * (count(*) FILTER (survey = 'nps' AND score >= 9) - count(*) FILTER (survey = 'nps' AND score <= 6))
           / nullif(count(*) FILTER (survey = 'nps'), 0) AS nps,
       count(*) FILTER (survey = 'csat') AS csat_n,
       (count(*) FILTER (survey = 'csat' AND score >= 4)) / nullif(count(*) FILTER (survey = 'csat'), 0) AS csat,
       count(*) FILTER (survey = 'ces') AS ces_n, avg(score) FILTER (survey = 'ces') AS ces
FROM responses WHERE submitted_at IS NOT NULL GROUP BY 1""",
    "tickets": """
SELECT date_trunc('month', opened_at)::DATE AS period, count(*) AS tickets,
       count(first_response_at) AS fr_n,
       quantile_cont(date_diff('minute', opened_at, first_response_at) / 60.0, 0.5) AS fr_median,
       quantile_cont(date_diff('minute', opened_at, first_response_at) / 60.0, 0.9) AS fr_p90,
       count(resolved_at) AS res_n,
       quantile_cont(date_diff('minute', opened_at, resolved_at) / 60.0, 0.5) AS res_median,
       count(csat) AS tcsat_n, count(*) FILTER (csat >= 4) / nullif(count(csat), 0) AS tcsat
FROM tickets WHERE opened_at IS NOT NULL GROUP BY 1""",
    "orders": """
SELECT date_trunc('month', ordered_at)::DATE AS period, count(amount) AS sr_n, sum(amount) AS sr
FROM orders WHERE category = 'services' GROUP BY 1""",
    "costs": """
SELECT date_trunc('month', month)::DATE AS period, count(amount) AS sc_n, sum(amount) AS sc
FROM costs WHERE cost_center IN ('services', 'professional_services') GROUP BY 1""",
}


def _long(frame: pd.DataFrame, metrics: dict[str, tuple[str, str]]) -> pd.DataFrame:
    """metric name -> (value column, n column) of a wide monthly frame."""
    parts = [pd.DataFrame({"metric": name, "period": pd.to_datetime(frame["period"]),
                           "value": frame[v].astype(float), "n": frame[n].fillna(0).astype(int)})
             for name, (v, n) in metrics.items()]
    return pd.concat(parts, ignore_index=True)


def _derive(rev: pd.DataFrame, resp: pd.DataFrame, tix: pd.DataFrame, orders: pd.DataFrame,
            costs: pd.DataFrame) -> pd.DataFrame:
    """The same formulas on the wide monthly tables, whichever engine produced them."""
    r = rev.copy()
    nz = lambda s: s.where(s != 0)  # noqa: E731 - x / 0 is not available, never 0 or inf
    r["grr"] = (r.mrr_start - r.contraction - r.churn) / nz(r.mrr_start)
    r["nrr"] = (r.mrr_start + r.expansion - r.contraction - r.churn) / nz(r.mrr_start)
    r["logo"] = r.c_churned / nz(r.c_start)
    r["revchurn"] = r.churn / nz(r.mrr_start)
    r["arpa"] = r.mrr_end / nz(r.c_end)
    r["grr_ttm"] = r.co_kept / nz(r.co_start)
    r["nrr_ttm"] = r.co_now / nz(r.co_start)
    r["renewal"] = r.renewed / nz(r.due)
    r["renewal_rev"] = r.renewed_mrr / nz(r.due_mrr)
    r["ltv"] = r.arpa * GROSS_MARGIN / nz(r.logo)
    r["paying"] = r.c_end
    out = [_long(r, {
        "mrr": ("mrr_end", "c_active"), "grr_monthly": ("grr", "c_start"), "nrr_monthly": ("nrr", "c_start"),
        "logo_churn_monthly": ("logo", "c_start"), "revenue_churn_monthly": ("revchurn", "c_start"),
        "paying_customers": ("paying", "c_end"), "arpa": ("arpa", "c_end"), "mrr_new": ("new", "c_active"),
        "mrr_expansion": ("expansion", "c_active"), "mrr_contraction": ("contraction", "c_active"),
        "mrr_churn": ("churn", "c_active"), "mrr_reactivation": ("react", "c_active"),
        "grr_ttm": ("grr_ttm", "co_n"), "nrr_ttm": ("nrr_ttm", "co_n"), "renewal_rate": ("renewal", "due"),
        "renewal_rate_revenue": ("renewal_rev", "due"), "ltv": ("ltv", "c_start")})]
    out.append(_long(resp, {"nps": ("nps", "nps_n"), "csat": ("csat", "csat_n"), "ces": ("ces", "ces_n")}))
    out.append(_long(tix, {"tickets": ("tickets", "tickets"), "first_response_hours_median": ("fr_median", "fr_n"),
                           "first_response_hours_p90": ("fr_p90", "fr_n"),
                           "resolution_hours_median": ("res_median", "res_n"), "ticket_csat": ("tcsat", "tcsat_n")}))
    out.append(_long(orders, {"services_revenue": ("sr", "sr_n")}))
    out.append(_long(costs, {"services_cost": ("sc", "sc_n")}))
    tpc = tix[["period", "tickets"]].merge(r[["period", "paying"]], on="period", how="outer")
    tpc["value"] = tpc.tickets / nz(tpc.paying)
    out.append(_long(tpc, {"tickets_per_customer": ("value", "paying")}))
    margin = orders.merge(costs, on="period", how="outer")
    margin["value"] = (margin.sr - margin.sc) / nz(margin.sr)
    out.append(_long(margin, {"services_gross_margin": ("value", "sr_n")}))
    return pd.concat(out, ignore_index=True)


def duckdb_hand(con) -> pd.DataFrame:
    """One hand-written query per table read (revenue, responses, tickets, orders, costs)."""
    rev = con.sql(REVENUE_SQL).df()
    facts = {name: con.sql(sql).df() for name, sql in FACTS_SQL.items()}
    return _derive(rev, facts["responses"], facts["tickets"], facts["orders"], facts["costs"])


def _months(ts: pd.Series) -> pd.Series:
    """Months since 1970-01 (an integer: month arithmetic without calendars)."""
    d = pd.to_datetime(ts)
    return (d.dt.year - 1970) * 12 + d.dt.month - 1


def _to_period(m: pd.Series) -> pd.Series:
    return pd.to_datetime({"year": 1970 + m // 12, "month": m % 12 + 1, "day": 1})


def _hours(a: pd.Series, b: pd.Series) -> pd.Series:
    """Minute boundaries crossed, in hours (SQL's date_diff('minute', a, b) / 60)."""
    return (b.dt.floor("min") - a.dt.floor("min")).dt.total_seconds() / 3600.0


def pandas_hand(t: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """A straightforward pandas implementation: explode periods into months, self-merge, group."""
    s = t["subscriptions"]
    start_m = _months(s.start_date)
    last = int(max(start_m.max(), _months(s.end_date.fillna(s.start_date)).max()))
    end_m = (_months(s.end_date) - 1).fillna(last).astype(int)
    count = (end_m - start_m + 1).clip(lower=0).to_numpy()
    idx = np.repeat(np.arange(len(s)), count)
    offset = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    sm = pd.DataFrame({"sid": s.subscription_id.to_numpy()[idx],
                       "c": s.customer_id.fillna(s.customer_ref).to_numpy()[idx],
                       "mrr": s.mrr.to_numpy()[idx], "m": start_m.to_numpy()[idx] + offset})
    cm = sm.groupby(["c", "m"], as_index=False)["mrr"].sum()
    cm = cm[cm.mrr > 0]
    first = cm.groupby("c")["m"].min().rename("first")
    shifted = cm.assign(m=cm.m + 1).rename(columns={"mrr": "prev"})
    mv = cm.merge(shifted, on=["c", "m"], how="outer")
    mv = mv[mv.m <= last].fillna({"mrr": 0.0, "prev": 0.0}).join(first, on="c")
    start, end = mv.prev > 0, mv.mrr > 0
    is_new, is_react = ~start & (mv.m == mv["first"]), ~start & (mv.m > mv["first"])
    mv = mv.assign(new=mv.mrr.where(is_new, 0.0), new_n=is_new, react=mv.mrr.where(is_react, 0.0),
                   expansion=(mv.mrr - mv.prev).where(start & (mv.mrr > mv.prev), 0.0),
                   contraction=(mv.prev - mv.mrr).where(start & end & (mv.mrr < mv.prev), 0.0),
                   churn=mv.prev.where(start & ~end, 0.0), c_start=start, c_end=end, c_churned=start & ~end,
                   c_active=1)
    rev = mv.groupby("m").agg(mrr_end=("mrr", "sum"), mrr_start=("prev", "sum"), new=("new", "sum"),
                              new_n=("new_n", "sum"), react=("react", "sum"), expansion=("expansion", "sum"),
                              contraction=("contraction", "sum"), churn=("churn", "sum"),
                              c_start=("c_start", "sum"), c_end=("c_end", "sum"), c_churned=("c_churned", "sum"),
                              c_active=("c_active", "sum"))
    co = cm.assign(m=cm.m + 12).rename(columns={"mrr": "then"}).merge(cm, on=["c", "m"], how="left")
    co = co[co.m <= last].fillna({"mrr": 0.0})
    co["kept"] = np.minimum(co.mrr, co.then)
    rev = rev.join(co.groupby("m").agg(co_n=("then", "size"), co_start=("then", "sum"), co_now=("mrr", "sum"),
                                       co_kept=("kept", "sum")))
    subs = sm.groupby(["sid", "m"], as_index=False)["mrr"].sum()
    terms = s[s.term_months.notna()].assign(sm=start_m).groupby("subscription_id").agg(
        anchor=("sm", "min"), term=("term_months", "max"))
    due = subs[subs.mrr > 0].join(terms, on="sid", how="inner")
    due = due[((due.m + 1 - due.anchor) % due.term == 0) & (due.m + 1 <= last)]
    nxt = subs.assign(m=subs.m - 1).rename(columns={"mrr": "after"})
    due = due.merge(nxt, on=["sid", "m"], how="left").fillna({"after": 0.0})
    due = due.assign(m=due.m + 1, renewed=due.after > 0, kept=np.minimum(due.after, due.mrr))
    rev = rev.join(due.groupby("m").agg(due=("mrr", "size"), renewed=("renewed", "sum"), due_mrr=("mrr", "sum"),
                                        renewed_mrr=("kept", "sum")))
    rev = rev.fillna({"co_n": 0, "due": 0}).reset_index().rename(columns={"m": "period"})
    rev["period"] = _to_period(rev.period)

    r = t["responses"].dropna(subset=["submitted_at"]).assign(period=lambda d: d.submitted_at.dt.to_period("M"))
    g = r.groupby(["period", "survey"])["score"]
    by = pd.DataFrame({"n": g.size(), "pro": r.score.ge(9).groupby([r.period, r.survey]).sum(),
                       "det": r.score.le(6).groupby([r.period, r.survey]).sum(),
                       "good": r.score.ge(4).groupby([r.period, r.survey]).sum(), "mean": g.mean()}).unstack("survey")
    resp = pd.DataFrame({"nps_n": by["n"]["nps"], "nps": 100.0 * (by["pro"]["nps"] - by["det"]["nps"]) / by["n"]["nps"],
                         "csat_n": by["n"]["csat"], "csat": by["good"]["csat"] / by["n"]["csat"],
                         "ces_n": by["n"]["ces"], "ces": by["mean"]["ces"]})
    resp = resp.reset_index().assign(period=lambda d: d.period.dt.to_timestamp())

    k = t["tickets"].dropna(subset=["opened_at"])
    k = k.assign(period=k.opened_at.dt.to_period("M"),
                 fr=_hours(k.opened_at, k.first_response_at), res=_hours(k.opened_at, k.resolved_at),
                 good=k.csat.ge(4).where(k.csat.notna()))
    g = k.groupby("period")
    tix = pd.DataFrame({"tickets": g.size(), "fr_n": g.fr.count(), "fr_median": g.fr.median(),
                        "fr_p90": g.fr.quantile(0.9), "res_n": g.res.count(), "res_median": g.res.median(),
                        "tcsat_n": g.csat.count(), "tcsat": g.good.mean()})
    tix = tix.reset_index().assign(period=lambda d: d.period.dt.to_timestamp())

    o = t["orders"]
    o = o[o.category == "services"]
    orders = o.groupby(o.ordered_at.dt.to_period("M")).amount.agg(sr_n="count", sr="sum").reset_index()
    orders = orders.rename(columns={"ordered_at": "period"}).assign(period=lambda d: d.period.dt.to_timestamp())
    c = t["costs"]
    c = c[c.cost_center.isin(SERVICES_COSTS)]
    costs = c.groupby(pd.to_datetime(c.month).dt.to_period("M")).amount.agg(sc_n="count", sc="sum").reset_index()
    costs = costs.rename(columns={"month": "period"}).assign(period=lambda d: d.period.dt.to_timestamp())
    return _derive(rev, resp, tix, orders, costs)
