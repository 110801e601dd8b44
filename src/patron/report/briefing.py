"""The briefing as data: what is loaded, what was rejected, and the first headline numbers."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta

from patron import stats
from patron.metrics import MetricSpec
from patron.model import TABLES
from patron.warehouse import Warehouse


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
    metric: str | None = None  # its name in the metric catalog, where it has one
    owner: str | None = None
    target: float | None = None
    better: str = "higher"

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


@dataclass
class Briefing:
    as_of: date | None
    generated_at: str
    headlines: list[Headline] = field(default_factory=list)
    mrr_by_month: list[tuple[str, float]] = field(default_factory=list)
    nps_by_month: list[tuple[str, float | None, int, float | None, float | None]] = field(default_factory=list)
    sources: list[SourceLoad] = field(default_factory=list)
    tables: list[tuple[str, int]] = field(default_factory=list)
    # source, field, reason, rows, first example
    quarantine: list[tuple[str, str, str, int, str]] = field(default_factory=list)
    feedback_by_channel: list[tuple[str, int]] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["as_of"] = self.as_of.isoformat() if self.as_of else None
        return d


def _as_of(wh: Warehouse) -> date | None:
    return wh.scalar(
        "SELECT CAST(max(d) AS DATE) FROM (SELECT max(submitted_at) AS d FROM responses UNION ALL "
        "SELECT max(opened_at) FROM tickets UNION ALL SELECT max(received_at) FROM feedback UNION ALL "
        "SELECT max(day) FROM usage UNION ALL SELECT max(start_date) FROM subscriptions)"
    )


def _nps_counts(wh: Warehouse, start: date, end: date) -> tuple[int, int, int]:
    return wh.rows(
        "SELECT count(*) FILTER (WHERE score >= 9), count(*) FILTER (WHERE score BETWEEN 7 AND 8), "
        "count(*) FILTER (WHERE score <= 6) FROM responses WHERE survey = 'nps' "
        "AND submitted_at > ? AND submitted_at <= ?",
        [start, end + timedelta(days=1)],
    )[0]


def _mrr_at(wh: Warehouse, day: date) -> tuple[float, int]:
    mrr, accounts = wh.rows(
        "SELECT coalesce(sum(mrr), 0), count(DISTINCT coalesce(customer_id, customer_ref)) FROM subscriptions "
        "WHERE start_date <= ? AND (end_date IS NULL OR end_date > ?)",
        [day, day],
    )[0]
    return float(mrr), int(accounts)


def build(wh: Warehouse, catalog: dict[str, MetricSpec] | None = None) -> Briefing:
    """Everything the briefing shows, computed from the warehouse; owners and targets from the
    metric catalog (patron.yml's `metrics:`)."""
    as_of = _as_of(wh)
    b = Briefing(as_of, datetime.now().strftime("%Y-%m-%d %H:%M"))
    b.tables = [(t, wh.scalar(f"SELECT count(*) FROM {t}")) for t in TABLES]
    b.sources = [SourceLoad(*r) for r in wh.rows(
        "SELECT source, any_value(table_name), count(DISTINCT file), sum(rows_read), sum(rows_loaded), "
        "sum(rows_quarantined), strftime(max(finished_at), '%Y-%m-%d %H:%M') FROM loads "
        "WHERE load_id IN (SELECT max(load_id) FROM loads GROUP BY source, file) GROUP BY source ORDER BY source"
    )]
    b.quarantine = [tuple(r) for r in wh.rows(
        "SELECT source, coalesce(field, '(line)'), reason, count(DISTINCT (file, row_number)), "
        "arg_min(file || ' row ' || row_number, row_number) FROM quarantine GROUP BY ALL ORDER BY 4 DESC LIMIT 10"
    )]
    if as_of is None:
        return b
    _headlines(wh, b, as_of)
    for h in b.headlines:
        spec = (catalog or {}).get(h.metric or "")
        if spec is not None:
            h.owner, h.target, h.better = spec.owner, spec.target, spec.better
    return b


def _headlines(wh: Warehouse, b: Briefing, as_of: date) -> None:
    mrr_now, accounts = _mrr_at(wh, as_of)
    year_ago = as_of - timedelta(days=365)
    mrr_then, accounts_then = _mrr_at(wh, year_ago)
    if wh.scalar("SELECT count(*) FROM subscriptions"):
        b.headlines.append(Headline("Active customers", accounts, "count", previous=accounts_then,
                                    note="customers with an active subscription today (master customers "
                                         "once identity is resolved, else billing accounts)"))
        b.headlines.append(Headline("MRR", mrr_now, "currency", previous=mrr_then, metric="mrr",
                                    note="sum of active subscriptions' monthly recurring revenue today"))
        kept, base = wh.rows(
            "WITH earlier AS (SELECT DISTINCT coalesce(customer_id, customer_ref) AS c FROM subscriptions "
            "WHERE start_date <= ? AND (end_date IS NULL OR end_date > ?)), current_ AS (SELECT DISTINCT "
            "coalesce(customer_id, customer_ref) AS c FROM subscriptions WHERE start_date <= ? "
            "AND (end_date IS NULL OR end_date > ?)) "
            "SELECT count(*) FILTER (WHERE c IN (SELECT c FROM current_)), count(*) FROM earlier",
            [year_ago, year_ago, as_of, as_of],
        )[0]
        churn = stats.proportion(base - kept, base)
        b.headlines.append(Headline("Logo churn, 12 months", churn.value, "share", churn.n, churn.ci_low,
                                    churn.ci_high, note="accounts active a year ago that are not active now"))
    cur = _nps_counts(wh, as_of - timedelta(days=90), as_of)
    prev = _nps_counts(wh, as_of - timedelta(days=180), as_of - timedelta(days=90))
    if sum(cur):
        e, p = stats.nps(*cur), stats.nps(*prev)
        b.headlines.append(Headline("NPS, last 90 days", e.value, "points", e.n, e.ci_low, e.ci_high,
                                    previous=p.value, p_value=stats.nps_change_p_value(cur, prev), metric="nps",
                                    note="promoters (9-10) minus detractors (0-6); change: two-sample z test"))
    good, n = wh.rows(
        "SELECT count(*) FILTER (WHERE score >= 4), count(*) FROM responses WHERE survey = 'csat' "
        "AND submitted_at > ?", [as_of - timedelta(days=90)])[0]
    if n:
        e = stats.proportion(good, n)
        b.headlines.append(Headline("CSAT, last 90 days", e.value, "share", e.n, e.ci_low, e.ci_high, metric="csat",
                                    note="share of 4-5 ratings on 1-5; Wilson interval"))
    ces = [r[0] for r in wh.rows(
        "SELECT score FROM responses WHERE survey = 'ces' AND submitted_at > ?", [as_of - timedelta(days=90)])]
    if ces:
        e = stats.mean(ces)
        b.headlines.append(Headline("CES, last 90 days", e.value, "score", e.n, e.ci_low, e.ci_high, metric="ces",
                                    note="mean of 1-7, higher is easier; t interval"))
    tickets, median_h = wh.rows(
        "SELECT count(*), median(date_diff('minute', opened_at, first_response_at)) / 60.0 FROM tickets "
        "WHERE opened_at > ?", [as_of - timedelta(days=30)])[0]
    if tickets:
        b.headlines.append(Headline("Tickets, last 30 days", tickets, "count", tickets))
        b.headlines.append(Headline("Median first response", median_h, "hours", tickets,
                                    note="tickets opened in the last 30 days"))
    b.mrr_by_month = [(str(m), float(v)) for m, v in wh.rows(
        "WITH months AS (SELECT CAST(unnest(generate_series(date_trunc('month', ?::DATE) - INTERVAL 23 MONTH, "
        "date_trunc('month', ?::DATE), INTERVAL 1 MONTH)) AS DATE) AS m) "
        "SELECT strftime(m, '%Y-%m'), (SELECT coalesce(sum(mrr), 0) FROM subscriptions s "
        "WHERE s.start_date <= least(last_day(m), ?) AND (s.end_date IS NULL OR s.end_date > least(last_day(m), ?))) "
        "FROM months ORDER BY m",
        [as_of, as_of, as_of, as_of],
    )] if wh.scalar("SELECT count(*) FROM subscriptions") else []
    for month, pro, pas, det in wh.rows(
        "SELECT strftime(date_trunc('month', submitted_at), '%Y-%m') m, count(*) FILTER (WHERE score >= 9), "
        "count(*) FILTER (WHERE score BETWEEN 7 AND 8), count(*) FILTER (WHERE score <= 6) FROM responses "
        "WHERE survey = 'nps' AND submitted_at > ?::DATE - INTERVAL 24 MONTH GROUP BY m ORDER BY m", [as_of]
    ):
        e = stats.nps(pro, pas, det)
        b.nps_by_month.append((month, e.value, e.n, e.ci_low, e.ci_high))
    b.feedback_by_channel = [tuple(r) for r in wh.rows(
        "SELECT channel, count(*) FROM feedback WHERE received_at > ? GROUP BY channel ORDER BY 2 DESC",
        [as_of - timedelta(days=30)])]
