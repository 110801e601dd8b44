"""Spikes: a theme's (or a whole channel's) daily volume far above what its own history and the
day of the week predict.

Method. For each theme and day, the expected count is the theme's mean daily count over the
previous BASELINE_DAYS days, times the weekday factor of all texts over that window (Mondays
are busier than Sundays for every theme). Counts are overdispersed, so the observed count is
tested against a negative binomial with that mean and the dispersion the theme showed in the
window (method of moments; Poisson when it shows none). A day is a spike when the upper-tail
probability is below ALPHA and the count is at least MIN_COUNT; consecutive spike days make one
alert. With ALPHA = 0.0001 a theme with well-fitting history raises a false alert about once in
2,000 days: 0.05 per quarter, so at most one per theme per quarter even where the fit is loose.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
from scipy import stats

from patron.listen.enrich import TEXTS
from patron.warehouse import Warehouse

BASELINE_DAYS = 28
ALPHA = 0.0001
MIN_COUNT = 5


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


def _tail(observed: np.ndarray, mean: np.ndarray, var: np.ndarray) -> np.ndarray:
    """P(X >= observed): negative binomial with this mean and variance, Poisson where var <= mean."""
    p = np.ones_like(mean, dtype=float)
    ok = mean > 0
    over = ok & (var > mean * 1.05)
    if over.any():
        r = mean[over] ** 2 / (var[over] - mean[over])
        p[over] = stats.nbinom.sf(observed[over] - 1, r, r / (r + mean[over]))
    plain = ok & ~over
    p[plain] = stats.poisson.sf(observed[plain] - 1, mean[plain])
    return p


def detect(wh: Warehouse, since: date | None = None) -> list[Alert]:
    """Every theme's spikes after the first full baseline window (or after `since`), oldest first,
    each with its evidence: channels and the comments that express the theme most."""
    names = dict(wh.rows("SELECT theme_id, name FROM themes"))
    counts = daily(wh)
    names |= {c: f"{c.removeprefix(CHANNEL)} (whole channel)" for c in counts.columns if str(c).startswith(CHANNEL)}
    alerts = find_spikes(counts, names, since)
    for a in alerts:
        _evidence(wh, a)
    return alerts


def find_spikes(counts: pd.DataFrame, names: dict[str, str] | None = None, since: date | None = None) -> list[Alert]:
    """Spikes in daily counts (a row per day, a column per series)."""
    if len(counts) <= BASELINE_DAYS:
        return []
    names = names or {}
    total = counts.sum(axis=1)
    weekday = counts.index.dayofweek
    # the weekday pattern of all texts is the same for every series: computed once per day
    factor, pattern = {}, {}
    for d in range(BASELINE_DAYS, len(counts)):
        window = slice(d - BASELINE_DAYS, d)
        share = total.iloc[window].groupby(weekday[window]).mean()
        base = share.mean()
        factor[d] = share.get(weekday[d], 0) / base if base else 1.0
        pattern[d] = share.reindex(weekday[window]).to_numpy() / base if base else np.ones(BASELINE_DAYS)
    alerts: list[Alert] = []
    for series in counts.columns:
        y = counts[series].to_numpy(dtype=float)
        open_alert: Alert | None = None
        for d in range(BASELINE_DAYS, len(y)):
            window = slice(d - BASELINE_DAYS, d)
            level = y[window].mean()
            mean = level * factor[d]
            # the series' own spread around its weekday pattern, at least Poisson
            fitted = level * pattern[d]
            var = max(float(np.mean((y[window] - fitted) ** 2)), mean)
            p = _tail(np.array([y[d]]), np.array([mean]), np.array([var]))[0]
            day = counts.index[d].date()
            if p < ALPHA and y[d] >= MIN_COUNT and (since is None or day >= since):
                if open_alert and (day - open_alert.last_day).days == 1:
                    open_alert.last_day, open_alert.observed = day, open_alert.observed + int(y[d])
                    open_alert.expected += mean
                else:
                    open_alert = Alert(str(series), names.get(series, str(series)), day, day, int(y[d]), mean,
                                       float(p))
                    alerts.append(open_alert)
                y[d] = mean  # a spike must not teach the baseline that it is normal
    return sorted(alerts, key=lambda a: (a.first_day, a.theme_id))


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
        wh.execute(f"DELETE FROM alerts WHERE (series, first_day) IN (SELECT (series, CAST(first_day AS DATE)) "
                   f"FROM {f})")
        wh.execute(f"INSERT INTO alerts SELECT series, name, CAST(first_day AS DATE), CAST(last_day AS DATE), "
                   f"observed, expected, p_value, channels, examples, now()::TIMESTAMP FROM {f}")
    return int(new)
