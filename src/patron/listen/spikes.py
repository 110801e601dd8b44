"""Spikes: a theme's (or a whole channel's) daily volume far above what its own history and the
day of the week predict.

Method. For each theme and day, the expected count is the theme's mean daily count over the
previous BASELINE_DAYS days, times the weekday factor of all texts over that window (Mondays
are busier than Sundays for every theme). Counts are overdispersed, so the observed count is
tested against a negative binomial with that mean and the dispersion the theme showed in the
window (method of moments; Poisson when it shows none). A day is a spike when the upper-tail
probability is below ALPHA and the count is at least MIN_COUNT; spike days with at most one
quiet day between them make one alert. With ALPHA = 0.0001 a theme with well-fitting history
raises a false alert about once in 2,000 days: 0.05 per quarter, so at most one per theme per
quarter even where the fit is loose.

Data problems. A backfill, an export loaded twice or days missing from a load move every series
at once, which no real issue does. A day when the busy series' total is that far off (same test,
their expectations and spreads summed) and three quarters of them moved the same way (at least
1.5x up, or to half or less) is reported once, as a data problem (kind "data"), instead of a
spike per series, and is kept out of every later baseline. A series that still stands out on
such a day (twice the day's common rise or more, p < INSIDE_ALPHA against it) is a spike all the
same: lifting every channel at once cannot hide a real one.

History. A day is judged only when texts arrived on at least MIN_HISTORY_DAYS of the window's
days, and a series only once it has a full window of its own: where an export begins, a channel is
connected or a theme first appears, there is nothing to be above yet.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
from scipy import stats

from patron.relations import TEXTS
from patron.warehouse import Warehouse

BASELINE_DAYS = 28
ALPHA = 0.0001
MIN_COUNT = 5
MIN_HISTORY_DAYS = 21  # of the window's days that must hold texts at all before any day is judged
BROAD_MIN_MEAN = 5.0  # texts a day a series needs before its moves count as evidence of a data problem
BROAD_MIN_SERIES = 3  # with fewer busy series, a data problem cannot be told from a real event
BROAD_SHARE = 0.75  # share of the busy series that must move together
INSIDE_ALPHA = 0.001  # a series standing out on such a day, against the day's common rise


@dataclass
class Alert:
    theme_id: str
    name: str
    first_day: date
    last_day: date
    observed: int  # texts on the spike's days
    expected: float  # what the baseline predicted for those days
    p_value: float  # of the first day
    examples: list[str] = field(default_factory=list)
    channels: dict[str, int] = field(default_factory=dict)  # for a channel's spike: its themes
    kind: str = "spike"  # or "data": every series moved at once, a problem of the data, not a spike


CHANNEL = "channel:"  # series ids of whole channels, beside theme ids


def daily(wh: Warehouse) -> pd.DataFrame:
    """Texts per day for each theme and each channel (days without texts are zeros)."""
    df = wh.df("SELECT tt.theme_id AS series, CAST(e.occurred_at AS DATE) AS day, count(*) AS n "
               "FROM text_themes AS tt JOIN enrichment AS e "
               "ON e.source_table = tt.source_table AND e.item_id = tt.item_id "
               "WHERE e.occurred_at IS NOT NULL GROUP BY ALL UNION ALL "
               f"SELECT '{CHANNEL}' || channel, CAST(occurred_at AS DATE), count(*) FROM enrichment "
               "WHERE occurred_at IS NOT NULL AND channel IS NOT NULL GROUP BY ALL")
    if df.empty:
        return df
    table = df.pivot_table(index="day", columns="series", values="n", fill_value=0)
    days = pd.date_range(table.index.min(), table.index.max(), freq="D")
    return table.reindex(days, fill_value=0)


def _tails(observed: np.ndarray, mean: np.ndarray, var: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """P(X >= observed) and P(X <= observed): negative binomial with this mean and variance,
    Poisson where var <= mean."""
    upper, lower = np.ones_like(mean, dtype=float), np.ones_like(mean, dtype=float)
    ok = mean > 0
    over = ok & (var > mean * 1.05)
    if over.any():
        r = mean[over] ** 2 / (var[over] - mean[over])
        upper[over] = stats.nbinom.sf(observed[over] - 1, r, r / (r + mean[over]))
        lower[over] = stats.nbinom.cdf(observed[over], r, r / (r + mean[over]))
    plain = ok & ~over
    upper[plain] = stats.poisson.sf(observed[plain] - 1, mean[plain])
    lower[plain] = stats.poisson.cdf(observed[plain], mean[plain])
    return upper, lower


def detect(wh: Warehouse, since: date | None = None) -> list[Alert]:
    """Every theme's spikes after the first full baseline window (or after `since`), oldest first,
    each with its evidence: channels and the comments that express the theme most. Days when
    every series moved at once come first as data problems (kind "data"), not as spikes."""
    names = dict(wh.rows("SELECT theme_id, name FROM themes"))
    counts = daily(wh)
    names |= {c: f"{c.removeprefix(CHANNEL)} (whole channel)" for c in counts.columns if str(c).startswith(CHANNEL)}
    alerts = find_spikes(counts, names, since)
    for a in alerts:
        if a.kind == "spike":
            _evidence(wh, a)
    return alerts


def find_spikes(counts: pd.DataFrame, names: dict[str, str] | None = None, since: date | None = None) -> list[Alert]:
    """Spikes in daily counts (a row per day, a column per series), and the days when the data
    itself moved (see `_broad`): those are reported once and kept out of every baseline."""
    if len(counts) <= BASELINE_DAYS:
        return []
    names = names or {}
    raw = counts.to_numpy(dtype=float)
    y = raw.copy()  # the baselines' view: a spike is replaced by its expectation, a data problem by NaN
    weekday = counts.index.dayofweek.to_numpy()
    # a series is judged only against a full window of its own history: where an export begins,
    # a channel is connected or a theme first appears, there is no baseline to be above
    started = np.where((raw > 0).any(axis=0), (raw > 0).argmax(axis=0), len(raw)) + BASELINE_DAYS
    has_texts = raw.sum(axis=1) > 0
    alerts: list[Alert] = []
    open_alerts: dict[int, Alert] = {}
    issue: Alert | None = None
    for d in range(BASELINE_DAYS, len(y)):
        if has_texts[d - BASELINE_DAYS:d].sum() < MIN_HISTORY_DAYS:
            continue  # the data's own start, or a long gap: too little history to judge a day by
        expected = _expected(y[d - BASELINE_DAYS:d], weekday[d - BASELINE_DAYS:d], weekday[d])
        if expected is None:
            continue
        mean, var = expected
        upper, _ = _tails(raw[d], mean, var)
        day = counts.index[d].date()
        shown = since is None or day >= since
        broad = _broad(raw[d], mean, var)
        if broad:
            kind, factor, moved, busy = broad
            y[d] = np.nan
            if issue and issue.theme_id == f"data:{kind}" and (day - issue.last_day).days == 1:
                issue.last_day, issue.observed, issue.expected = day, issue.observed + int(raw[d].sum()), \
                    issue.expected + float(mean.sum())
            elif shown:
                issue = Alert(f"data:{kind}", "", day, day, int(raw[d].sum()), float(mean.sum()), 0.0, kind="data")
                issue.channels = {str(c).removeprefix(CHANNEL): int(v) for c, v in zip(counts.columns, raw[d],
                                                                                       strict=True)
                                  if str(c).startswith(CHANNEL)}
                alerts.append(issue)
            if issue and issue.last_day == day:
                issue.name = _data_message(kind, issue.observed / max(issue.expected, 1e-9), moved, busy)
            if kind == "gap":
                continue
            # a series at twice the day's common rise or more, and clearly above it, is a spike
            # inside the data problem: lifting every channel at once cannot hide a real one
            mean, var = mean * factor, var * factor ** 2
            upper, _ = _tails(raw[d], mean, var)
        stands_out = (upper < INSIDE_ALPHA) & (raw[d] >= 2 * mean) if broad else upper < ALPHA
        for j in np.flatnonzero(stands_out & (raw[d] >= MIN_COUNT) & (d >= started)):
            if not broad:
                y[d, j] = mean[j]  # a spike must not teach the baseline that it is normal
            if not shown:
                continue
            current = open_alerts.get(j)
            if current and (day - current.last_day).days <= 2:  # one quiet day does not end an event
                current.last_day, current.observed = day, current.observed + int(raw[d, j])
                current.expected += float(mean[j])
            else:
                series = counts.columns[j]
                open_alerts[j] = Alert(str(series), names.get(series, str(series)), day, day, int(raw[d, j]),
                                       float(mean[j]), float(upper[j]))
                alerts.append(open_alerts[j])
    return sorted(alerts, key=lambda a: (a.first_day, a.kind != "data", a.theme_id))


def _expected(window: np.ndarray, days: np.ndarray, today: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Each series' expected count today and its variance: its mean level over the window times
    the weekday factor of all texts (the same for every series), the variance its own spread
    around that pattern, at least Poisson. None when the window holds too few usable days."""
    usable = ~np.isnan(window).any(axis=1)
    if usable.sum() < 7:
        return None
    w, wd = window[usable], days[usable]
    seen = np.bincount(wd, minlength=7)
    by_day = np.divide(np.bincount(wd, w.sum(axis=1), minlength=7), seen, out=np.zeros(7), where=seen > 0)
    base = by_day[seen > 0].mean()
    pattern = by_day / base if base else np.ones(7)
    level = w.mean(axis=0)
    mean = level * (pattern[today] if seen[today] else 1.0)
    var = np.maximum(((w - level[None, :] * pattern[wd][:, None]) ** 2).mean(axis=0), mean)
    return mean, var


def _broad(observed: np.ndarray, mean: np.ndarray, var: np.ndarray) -> tuple[str, float, int, int] | None:
    """("surge" or "gap", the common factor, series that moved, busy series) when the busy series
    together are far off their expectation and nearly all of them moved the same way: a backfill,
    a file loaded twice or days missing from an export touch every channel and theme alike, which
    no real issue does. Quiet series are left out (a zero proves nothing where one is usual)."""
    busy = mean >= BROAD_MIN_MEAN
    if busy.sum() < BROAD_MIN_SERIES:
        return None
    # the busy series' total against the sum of their expectations (spreads add)
    upper, lower = _tails(observed[busy].sum(keepdims=True), mean[busy].sum(keepdims=True),
                          var[busy].sum(keepdims=True))
    need = BROAD_SHARE * busy.sum()
    factor = float(np.median(observed[busy] / mean[busy]))
    up, down = int((observed[busy] >= 1.5 * mean[busy]).sum()), int((observed[busy] <= 0.5 * mean[busy]).sum())
    if upper[0] < ALPHA and up >= need:
        return "surge", factor, up, int(busy.sum())
    if lower[0] < ALPHA and down >= need:
        return "gap", factor, down, int(busy.sum())
    return None


def _data_message(kind: str, ratio: float, moved: int, busy: int) -> str:
    check = ("check the load (a backfill, or an export loaded twice?)" if kind == "surge"
             else "check the export (days missing from a load?)")
    return (f"Data problem: {moved} of {busy} busy channels and themes at {ratio:.1f}x their usual volume at "
            f"once; {check}")


def _evidence(wh: Warehouse, a: Alert) -> None:
    """Where the texts came from and the ones that say it most (the theme's strongest, the most
    negative first; for a channel: the most negative)."""
    if a.theme_id.startswith(CHANNEL):
        rows = wh.rows(
            "SELECT coalesce(t.name, '(no theme)'), e.item_id, e.source_table FROM enrichment AS e "
            "LEFT JOIN text_themes AS tt ON tt.source_table = e.source_table AND tt.item_id = e.item_id "
            "LEFT JOIN themes AS t ON t.theme_id = tt.theme_id WHERE e.channel = ? "
            "AND CAST(e.occurred_at AS DATE) BETWEEN ? AND ? ORDER BY e.sentiment_score, e.item_id",
            [a.theme_id.removeprefix(CHANNEL), a.first_day, a.last_day])
    else:
        rows = wh.rows(
            "SELECT coalesce(e.channel, '(none)'), e.item_id, e.source_table FROM text_themes AS tt "
            "JOIN enrichment AS e ON e.source_table = tt.source_table AND e.item_id = tt.item_id WHERE tt.theme_id = ? "
            "AND CAST(e.occurred_at AS DATE) BETWEEN ? AND ? ORDER BY tt.weight DESC, e.sentiment_score, e.item_id",
            [a.theme_id, a.first_day, a.last_day])
    counts: dict[str, int] = {}
    for key, _, _ in rows:
        counts[key] = counts.get(key, 0) + 1
    a.channels = dict(sorted(counts.items(), key=lambda kv: -kv[1]))  # for a channel: its themes
    for _, item, table in rows[:3]:
        a.examples.append(wh.scalar(f"SELECT text FROM ({TEXTS[table]}) AS x WHERE item_id = ?", [item]))


def store(wh: Warehouse, alerts: list[Alert]) -> int:
    """Keep each alert once (by series and first day), updated as a spike goes on; returns how
    many are new."""
    if not alerts:
        return 0
    frame = pd.DataFrame({
        "series": [a.theme_id for a in alerts], "name": [a.name for a in alerts],
        "first_day": [a.first_day for a in alerts], "last_day": [a.last_day for a in alerts],
        "observed": [a.observed for a in alerts], "expected": [a.expected for a in alerts],
        "p_value": [a.p_value for a in alerts], "channels": [json.dumps(a.channels) for a in alerts],
        "examples": [json.dumps(a.examples) for a in alerts]})
    with wh.transaction(), wh.frame("_patron_alerts", frame) as f:
        new = wh.scalar(f"SELECT count(*) FROM {f} AS n WHERE NOT EXISTS (SELECT 1 FROM alerts AS a "
                        "WHERE a.series = n.series AND a.first_day = CAST(n.first_day AS DATE))")
        wh.execute(f"DELETE FROM alerts WHERE EXISTS (SELECT 1 FROM {f} AS n WHERE n.series = alerts.series "
                   "AND CAST(n.first_day AS DATE) = alerts.first_day)")
        wh.execute(f"INSERT INTO alerts SELECT series, name, CAST(first_day AS DATE), CAST(last_day AS DATE), "
                   f"observed, expected, p_value, channels, examples, now()::TIMESTAMP FROM {f}")
    return int(new)
