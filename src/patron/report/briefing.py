"""The briefing as data: what is loaded, what was rejected, and the first headline numbers."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta

import pandas as pd

from patron.ingest import quarantine
from patron.listen.spikes import detect
from patron.listen.themes import summary as theme_summary
from patron.metrics import MetricSpec, builtin_catalog, evaluate_catalog
from patron.model import TABLES
from patron.report.money import data_currency
from patron.units import DEFAULT_CURRENCY, in_unit
from patron.warehouse import Warehouse
from patron.warehouse.as_of import data_as_of


@dataclass
class Headline:
    name: str
    value: float | None
    unit: str  # points, share, score, currency, count, hours
    n: int | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    previous: float | None = None
    p_value: float | None = None  # of the change from `previous`; significant below 0.05
    note: str = ""
    metric: str | None = None  # its name in the metric catalog
    owner: str | None = None
    target: float | None = None
    better: str = "higher"
    period: str = ""  # the month the value is for
    trend: list[tuple[str, float | None]] = field(default_factory=list)  # (month, value), oldest first
    # no data in any period (`note` says why, in the catalog's words): listed, never given a card
    no_data: bool = False

    @property
    def on_target(self) -> bool | None:
        if self.target is None or self.value is None:
            return None
        return self.value >= self.target if self.better == "higher" else self.value <= self.target

    @property
    def significant(self) -> bool:
        return self.p_value is not None and self.p_value < 0.05


@dataclass
class SourceLoad:
    source: str
    table: str
    files: int
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    last_loaded_at: str


# the canonical tables whose rows are dated events: the data's day, headline numbers and trends need them
DATED = ("subscriptions", "orders", "tickets", "responses", "feedback", "usage")


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1] if names else ""


@dataclass
class Briefing:
    as_of: date | None
    generated_at: str
    headlines: list[Headline] = field(default_factory=list)
    currency: str = DEFAULT_CURRENCY  # what every amount is in (the data's most common currency)
    mrr_by_month: list[tuple[str, float]] = field(default_factory=list)
    nps_by_month: list[tuple[str, float | None, int, float | None, float | None]] = field(default_factory=list)
    sources: list[SourceLoad] = field(default_factory=list)
    tables: list[tuple[str, int]] = field(default_factory=list)
    # source, field, reason, rows, first example
    quarantine: list[tuple[str, str, str, int, str]] = field(default_factory=list)
    feedback_by_channel: list[tuple[str, int]] = field(default_factory=list)
    # what customers say, once `patron listen enrich` and `patron listen themes` have run:
    # name, top words, texts, share, mean sentiment, complaints, ARR of the customers raising it
    # (None when no subscriptions are loaded), new or emerging, its most typical texts
    themes: list[tuple[str, str, int, float, float | None, int, float | None, bool, list[str]]] = field(
        default_factory=list)
    # spikes of the last 30 days: theme, first day, last day, texts, expected, channels, example
    spikes: list[tuple[str, str, str, int, float, str, str]] = field(default_factory=list)
    # days every channel and theme moved at once (a backfill, a gap): message, first day, last day
    data_problems: list[tuple[str, str, str]] = field(default_factory=list)
    # the latest churn run: what it scored and how well it did on a snapshot it never saw
    risk: dict | None = None
    # the latest health run: accounts by band on its day, and its check against who left
    health: dict | None = None
    # the latest analysis of what drives NPS: n, R², since, as of, and per driver its share
    # (percent, interval), whether it is one and how many customers rated it
    drivers: dict | None = None
    # the latest lifetime value run: customers valued, the total, and the subscribers' part
    value: dict | None = None
    # its accounts most at stake: name, owner, band, probability, ARR, at stake (None where no
    # revenue is known), when the contract renews ("" without one), reasons in words
    at_risk: list[tuple[str, str, str, float, float | None, float | None, str, str]] = field(default_factory=list)
    # renewals due in the next 90 days, from the latest churn run (as `patron renewals`): days,
    # as_of, renewals, arr_due, expected_arr, at_stake, note (why there are none) and the accounts
    # with most at risk: name, owner, renewal day, ARR, probability of renewing, at risk, band, reasons
    renewals: dict | None = None
    # action items and the plays (once any exist): open, overdue, closed in the last 30 days, per
    # owner (owner, open, overdue) most overdue first, and per play with a holdout its churn
    # against the holdout's (play, treated, held out, churn treated, churn held out, verdict)
    actions: dict | None = None
    attributes: int = 0  # customer attributes kept (names), for an export of customers alone

    @property
    def loaded(self) -> list[tuple[str, int]]:
        """The canonical tables that hold rows, with their counts."""
        return [(t, n) for t, n in self.tables if n]

    @property
    def missing(self) -> list[str]:
        """The tables with dated events (what headline numbers and trends need) that hold nothing."""
        return [t for t, n in self.tables if not n and t in DATED]

    @property
    def state(self) -> str:
        """The header's line: the day the data runs to; or, for data with no dated events (an export of
        customers alone), what was loaded and what is missing; or that nothing is loaded."""
        if self.as_of:
            return f"Data through {self.as_of}"
        if not self.loaded:
            return "No customer data loaded yet"
        kept = ", ".join(f"{n:,} {t}" for t, n in self.loaded)
        if self.attributes:
            kept += f" ({self.attributes:,} attribute{'s' if self.attributes != 1 else ''} kept)"
        return (f"Loaded: {kept}; no {_listed(self.missing)} yet, so no dated numbers (headlines, trends, "
                "spikes)")

    @property
    def cards(self) -> list[Headline]:
        """The headlines with data somewhere: a card that could only say "not available" is none."""
        return [h for h in self.headlines if not h.no_data]

    @property
    def not_shown(self) -> list[tuple[str, str]]:
        """The headlines with no data anywhere, and why: one line under the cards."""
        return [(h.name, h.note) for h in self.headlines if h.no_data]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["as_of"] = self.as_of.isoformat() if self.as_of else None
        return d


def build(wh: Warehouse, catalog: dict[str, MetricSpec] | None = None) -> Briefing:
    """Everything the briefing shows, computed from the warehouse; headline numbers are the metric
    catalog's (owners and targets from patron.yml's `metrics:`), evaluated but not stored: building
    a report only reads."""
    as_of = data_as_of(wh)
    b = Briefing(as_of, datetime.now().strftime("%Y-%m-%d %H:%M"), currency=data_currency(wh))
    b.tables = [(t, wh.scalar(f"SELECT count(*) FROM {t}")) for t in TABLES]
    # rows read and quarantined by each file's latest load; loaded by all of them (a reload of a
    # file already in loads nothing new, and the rows it loaded before are still there)
    b.sources = [SourceLoad(*r) for r in wh.rows(
        "SELECT source, any_value(table_name), count(DISTINCT file), "
        "sum(rows_read) FILTER (WHERE latest), sum(rows_loaded), sum(rows_quarantined) FILTER (WHERE latest), "
        "strftime(max(finished_at), '%Y-%m-%d %H:%M') FROM (SELECT *, load_id = max(load_id) OVER "
        "(PARTITION BY source, file) AS latest FROM loads) GROUP BY source "
        "ORDER BY source"
    )]
    b.quarantine = [(q.source, q.field or "(line)", q.reason + (f" ({q.hint})" if q.hint else ""), q.rows,
                     f"{q.example_file} row {q.example_row}") for q in quarantine.summary(wh, limit=10)]
    b.attributes = wh.scalar("SELECT count(DISTINCT name) FROM customer_attributes") or 0
    # what the models said needs no dated data: a churn flag on a customer list is enough
    _risk(wh, b)
    _actions(wh, b)
    if as_of is None:
        return b
    _headlines(wh, b, as_of, catalog if catalog is not None else builtin_catalog())
    b.feedback_by_channel = [tuple(r) for r in wh.rows(
        "SELECT channel, count(*) FROM feedback WHERE received_at > ? GROUP BY channel ORDER BY 2 DESC",
        [as_of - timedelta(days=30)])]
    _voice(wh, b, as_of)
    return b


AT_RISK = 8
RENEWAL_DAYS = 90


def _risk(wh: Warehouse, b: Briefing) -> None:
    """Accounts most at stake from the latest `patron predict`, with the model's test figures."""
    from patron.predict.risk import BANDS, accounts, features, protected_features, protected_warning, run_info, stake
    from patron.predict.store import latest_run, latest_scores

    dr = latest_run(wh, "drivers")
    if dr is not None and dr["settings"].get("outcome") == "nps" and dr["evaluation"]:
        overall = dr["evaluation"]["overall"]
        b.drivers = {"among": dr["settings"].get("among"), "since": dr["settings"].get("since"),
                     "as_of": str(dr["as_of"]), "n": overall["n"], "r2": overall["r2"],
                     "rows": [(d["predictor"], d["percent"], d["percent_low"], d["percent_high"], d["is_driver"],
                               dr["evaluation"]["rated"].get(str(d["predictor"])))
                              for d in overall["drivers"]]}
    vr = latest_run(wh, "clv")
    if vr is not None:
        v = latest_scores(wh, "clv")
        b.value = {"as_of": str(vr["as_of"]), "customers": len(v), "total": float(v["score"].sum()),
                   "notes": vr["settings"].get("notes", [])}
    hr = latest_run(wh, "health")
    if hr is not None:
        now = latest_scores(wh, "health")
        now = now[now["as_of"] == hr["as_of"]]
        b.health = {"as_of": str(hr["as_of"]), "accounts": len(now),
                    **{band: int((now["band"] == band).sum()) for band in ("red", "amber", "green")},
                    "check": hr["evaluation"]}
    info = run_info(wh)
    if info is None:
        return
    every = accounts(wh, BANDS)
    kept = info["evaluation"] or {}
    ev = kept.get("evaluation") or {}
    money = stake(every)
    b.risk = {"as_of": str(info["as_of"]), "tested_on": None if info["tested_on"] is None else str(info["tested_on"]),
              "mode": kept.get("mode", "time"), "auc": ev.get("auc"), "brier": ev.get("brier"), "note": ev.get("note"),
              "n": ev.get("n"), "positives": ev.get("positives"), "scored": len(every),
              "high": int((every["band"] == "high").sum()), "medium": int((every["band"] == "medium").sum()),
              "known": money["known"], "at_stake": money["all"], "at_stake_at_risk": money["at_risk"],
              "protected": protected_warning(protected_features(features(info)), kept.get("mode") == "holdout")}
    for r in every[every["band"] != "low"].head(AT_RISK).itertuples():
        b.at_risk.append((_text(r.name) or str(r.customer_id), _text(r.owner), r.band, float(r.score), _num(r.value),
                          _num(r.at_stake), _renews(r.months_to_renewal, r.term),
                          "; ".join(x["says"] for x in r.reasons or [])))
    _renewals(wh, b, info)


def _text(v: object) -> str:
    """A name or an owner as shown: "" where there is none (None, NaN: a customer with no golden record)."""
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return ""
    return str(v)


def _renews(months: object, term: object) -> str:
    if months is None or pd.isna(months):
        return ""
    return "monthly" if term == 1 else f"in {int(months)} month{'' if int(months) == 1 else 's'}"


def _renewals(wh: Warehouse, b: Briefing, run: dict) -> None:
    """Renewals due in the next 90 days (less where the churn model looks less far ahead), read as
    `patron renewals` reads them; a note says plainly when there is none to renew."""
    from patron.predict.renewals import summary

    horizon = int((run["settings"] or {}).get("horizon_months") or 3)
    s = summary(wh, min(RENEWAL_DAYS, 30 * horizon), top=AT_RISK)
    s["as_of"] = None if s["as_of"] is None else str(s["as_of"])
    s["top"] = [(_text(r["name"]) or str(r["customer_id"]), _text(r["owner"]), str(r["renewal_date"]), float(r["arr"]),
                 float(r["p_renew"]), float(r["at_stake"]), str(r["band"]),
                 "; ".join(x["says"] for x in r["reasons"] or []) if r["band"] != "low" else "") for r in s["top"]]
    b.renewals = s


def _actions(wh: Warehouse, b: Briefing) -> None:
    """Who owns what, what is late, and whether the plays with a holdout work (as `patron actions
    list` and `patron actions uplift` read them)."""
    from patron.act.items import now
    from patron.act.uplift import measure

    if not wh.scalar("SELECT count(*) FROM action_items") and not wh.scalar("SELECT count(*) FROM play_assignments"):
        return
    at = now()
    open_, overdue, closed = wh.rows(
        "SELECT count(*) FILTER (WHERE status IN ('open', 'in_progress')), "
        "count(*) FILTER (WHERE status IN ('open', 'in_progress') AND due_at < ?), "
        "count(*) FILTER (WHERE closed_at >= ?) FROM action_items", [at, at - timedelta(days=30)])[0]
    owners = [(_text(o) or "(nobody)", int(n), int(late)) for o, n, late in wh.rows(
        "SELECT owner, count(*), count(*) FILTER (WHERE due_at < ?) FROM action_items "
        "WHERE status IN ('open', 'in_progress') GROUP BY owner ORDER BY 3 DESC, 2 DESC, owner LIMIT 8", [at])]
    plays = []
    for u in measure(wh, 6):
        churn = next((o for o in u.outcomes if o.name == "churn"), None)
        plays.append((_text(u.play), u.treated, u.holdout, churn.treated if churn else None,
                      churn.holdout if churn else None, churn.verdict if churn else (u.note or "")))
    b.actions = {"open": open_, "overdue": overdue, "closed_30d": closed, "owners": owners, "plays": plays}


def _voice(wh: Warehouse, b: Briefing, as_of: date) -> None:
    """Top themes and the last month's spikes, from what the listening commands stored."""
    if not wh.scalar("SELECT count(*) FROM text_themes"):
        return
    for r in theme_summary(wh).head(8).itertuples():
        b.themes.append((r.name, r.top_words, int(r.items), float(r.share),
                         None if pd.isna(r.sentiment) else float(r.sentiment), int(r.complaints),
                         None if r.arr is None or pd.isna(r.arr) else float(r.arr),
                         bool(r.new or r.emerging), list(r.examples[:2])))
    for a in detect(wh, since=as_of - timedelta(days=30)):
        if a.kind == "data":
            b.data_problems.append((a.name, str(a.first_day), str(a.last_day)))
            continue
        b.spikes.append((a.name, str(a.first_day), str(a.last_day), a.observed, round(a.expected, 1),
                         ", ".join(f"{k} {v}" for k, v in list(a.channels.items())[:3]),
                         a.examples[0] if a.examples else ""))


# What a CCO looks at first; any metric given a target in patron.yml joins them.
HEADLINES = ("mrr", "paying_customers", "nrr_ttm", "grr_ttm", "logo_churn_monthly", "renewal_rate", "nps", "csat",
             "ces", "tickets_per_customer", "first_response_hours_median")
TREND_MONTHS = 12


# A company that sells orders and loads no subscriptions (a retailer) sees its order metrics in
# place of the subscription ones, which could only say "not available".
ORDER_HEADLINES = ("order_revenue", "active_customers", "repeat_purchase_rate", "average_order_value",
                   "cohort_revenue_retention", "nps", "csat", "ces", "first_response_hours_median")


# a company whose revenue patron does not see (support and voice data only)
VOICE_HEADLINES = ("tickets", "feedback_items", "nps", "csat", "ces", "ticket_csat", "first_response_hours_median",
                   "resolution_hours_median")


def headline_metrics(catalog: dict[str, MetricSpec], orders_only: bool = False,
                     no_revenue: bool = False) -> list[str]:
    """The headlines for the business the data shows: subscriptions, orders, or neither."""
    chosen = VOICE_HEADLINES if no_revenue else ORDER_HEADLINES if orders_only else HEADLINES
    extra = [n for n in catalog if n not in chosen and catalog[n].target is not None]
    return [n for n in chosen if n in catalog] + extra


def _num(v: object) -> float | None:
    return None if v is None or pd.isna(v) else v


def last_complete_month(as_of: date) -> date:
    """The month a headline reports: as_of's own month only once it is over."""
    first = as_of.replace(day=1)
    if (as_of + timedelta(days=1)).month != as_of.month:
        return first
    return (first - timedelta(days=1)).replace(day=1)


def _no_data(values: pd.DataFrame) -> dict[str, str]:
    """Metrics with no data in any period, and the catalog's reason ("no responses are loaded")."""
    out = {}
    for name, rows in values.groupby("metric", sort=False):
        if (rows["n"].fillna(0) == 0).all() and rows["value"].isna().all():
            notes = [n for n in rows["note"] if isinstance(n, str) and n]
            out[str(name)] = notes[0].removeprefix("not available: ") if notes else "no data"
    return out


def _days(periods: pd.Series) -> pd.Series:
    """Periods as days (object dtype), None where there is none."""
    stamps = pd.to_datetime(periods)
    return pd.Series([None if pd.isna(t) else t.date() for t in stamps], index=periods.index, dtype=object)


def _latest(values: pd.DataFrame, month: date) -> dict[str, tuple[date, float]]:
    """Each metric's latest month with a value up to `month`: what a card without one for the
    reported month can say instead."""
    if "period" not in values.columns:
        return {}
    known = values[values["value"].notna() & values["period"].notna()]
    known = known[known["period"] <= month].sort_values("period")
    return {str(r.metric): (r.period, float(r.value)) for r in known.itertuples(index=False)}


def _headlines(wh: Warehouse, b: Briefing, as_of: date, catalog: dict[str, MetricSpec]) -> None:
    """Each headline metric for the last complete month, against target; its trend is read back
    from metric_values (the latest evaluation of each month)."""
    rows = dict(b.tables)
    names = headline_metrics(catalog, orders_only=not rows.get("subscriptions") and bool(rows.get("orders")),
                             no_revenue=not rows.get("subscriptions") and not rows.get("orders"))
    if not names:
        return
    # evaluated here, not stored: a report reads the warehouse and never writes it
    values = evaluate_catalog(wh, catalog, [], "month", store=False, only=names)
    month = last_complete_month(as_of)
    back = month.year * 12 + month.month - 1 - (TREND_MONTHS - 1)
    since = date(back // 12, back % 12 + 1, 1)
    history: dict[str, list] = {}
    if "period" in values.columns:
        # days (None where a metric has no period): an all-empty column would stay datetime64,
        # which cannot be compared with a day
        values = values.assign(period=_days(values["period"]))
    nowhere = _no_data(values)
    latest = _latest(values, month)
    if "period" in values.columns:
        values = values[values["period"].notna()]
        values = values[(values["period"] >= since) & (values["period"] <= month)].sort_values(["metric", "period"])
        for r in values.itertuples(index=False):
            n = _num(r.n)
            history.setdefault(r.metric, []).append((r.period, _num(r.value), None if n is None else int(n),
                                                     _num(r.ci_low), _num(r.ci_high), _num(r.p_value)))
    for name in names:
        spec = catalog[name]
        if name in nowhere:  # a card would only say "not available"; the line under the cards says why
            b.headlines.append(Headline(spec.label, None, spec.unit, note=nowhere[name], metric=name,
                                        owner=spec.owner, target=spec.target, better=spec.better,
                                        period=month.strftime("%b %Y"), no_data=True))
            continue
        rows = history.get(name, [])
        now = next((r for r in rows if r[0] == month), None)
        before = next((r for r in rows if r[0] == (month - timedelta(days=1)).replace(day=1)), None)
        h = Headline(spec.label, None if now is None else now[1], spec.unit, metric=name, owner=spec.owner,
                     target=spec.target, better=spec.better, period=month.strftime("%b %Y"),
                     trend=[(r[0].strftime("%Y-%m"), r[1]) for r in rows])
        if now is not None:
            h.n, h.ci_low, h.ci_high, h.p_value = now[2], now[3], now[4], now[5]
        if now is None or now[1] is None:
            h.note = f"no data for {month.strftime('%B %Y')}"
            if name in latest:
                when, value = latest[name]
                h.note += f"; the latest is {when.strftime('%B %Y')}: {in_unit(value, spec.unit, b.currency)}"
        if before is not None:
            h.previous = before[1]
        b.headlines.append(h)
    b.mrr_by_month = [(p, v) for p, v in next((h.trend for h in b.headlines if h.metric == "mrr"), [])
                      if v is not None]
    for period, value, n, lo, hi, _ in history.get("nps", []):
        b.nps_by_month.append((period.strftime("%Y-%m"), value, n, lo, hi))
