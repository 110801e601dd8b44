"""Spike detection: finds a burst on its first day, and almost never cries wolf."""

from __future__ import annotations

import numpy as np
import pandas as pd

from patron.listen.spikes import find_spikes

WEEKDAY = np.array([1.3, 1.2, 1.1, 1.1, 1.0, 0.6, 0.5])  # busy Mondays, quiet weekends


def _series(days: int, themes: int, seed: int, base: np.ndarray | None = None) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    index = pd.date_range("2025-01-01", periods=days, freq="D")
    base = rng.uniform(1, 30, themes) if base is None else base
    mean = base[None, :] * WEEKDAY[index.dayofweek][:, None]
    # overdispersed like real counts: a gamma-Poisson mixture
    counts = rng.poisson(rng.gamma(8.0, mean / 8.0))
    return pd.DataFrame(counts, index=index, columns=[f"t{i}" for i in range(themes)])


def test_a_burst_is_found_on_its_first_day_with_its_evidence():
    counts = _series(200, 5, seed=1)
    counts.iloc[150:155, 2] += 40  # five days of an emerging issue
    alerts = [a for a in find_spikes(counts, {"t2": "sign-in"}) if a.theme_id == "t2"]
    burst = [a for a in alerts if str(a.first_day) == "2025-05-31"]  # day 150
    assert len(burst) == 1 and str(burst[0].last_day) >= "2025-06-02"
    first = burst[0]
    assert first.name == "sign-in" and first.observed > 2 * first.expected and first.p_value < 0.0001


def test_false_alerts_stay_under_one_per_series_per_quarter():
    counts = _series(365 * 2, 20, seed=2)  # two years, twenty themes, no planted burst
    alerts = find_spikes(counts)
    quarters = len(counts) / 91
    per_series_quarter = len(alerts) / (counts.shape[1] * quarters)
    assert per_series_quarter < 0.3  # the target is at most 1
    assert all(len([a for a in alerts if a.theme_id == c]) <= quarters for c in counts.columns)


def test_a_backfill_that_lifts_every_series_is_one_data_problem_not_a_spike_each():
    counts = _series(200, 8, seed=3)
    counts.iloc[153] *= 3  # a Tuesday's texts loaded three times over
    alerts = [a for a in find_spikes(counts) if a.first_day >= counts.index[153].date()]
    data = [a for a in alerts if a.kind == "data"]
    assert len(data) == 1 and data[0].theme_id == "data:surge" and str(data[0].first_day) == "2025-06-03"
    assert "check the load" in data[0].name and 2.5 < data[0].observed / data[0].expected < 3.5
    assert [a for a in alerts if a.kind == "spike"] == []  # nor does the day teach later baselines


def test_days_missing_from_an_export_are_one_data_problem_and_raise_nothing_after():
    counts = _series(200, 8, seed=4)
    before = {(a.theme_id, a.first_day) for a in find_spikes(counts)}
    counts.iloc[153:156] = 0  # three weekdays never exported
    alerts = find_spikes(counts)
    data = [(a.theme_id, str(a.first_day), str(a.last_day)) for a in alerts if a.kind == "data"]
    assert data == [("data:gap", "2025-06-03", "2025-06-05")]
    assert "check the export" in next(a.name for a in alerts if a.kind == "data")
    assert {(a.theme_id, a.first_day) for a in alerts if a.kind == "spike"} == before  # no spike from the gap


def test_one_series_bursting_among_many_is_a_spike_and_few_series_cannot_show_a_data_problem():
    counts = _series(200, 8, seed=5)
    counts.iloc[153, 3] += 60
    alerts = [a for a in find_spikes(counts) if a.first_day == counts.index[153].date()]
    assert [(a.kind, a.theme_id) for a in alerts] == [("spike", "t3")]
    two = _series(200, 2, seed=6, base=np.array([20.0, 25.0]))
    two.iloc[153] *= 4  # with two series a real event and a bad load look the same: both are reported
    alerts = [a for a in find_spikes(two) if a.first_day == two.index[153].date()]
    assert sorted(a.theme_id for a in alerts) == ["t0", "t1"] and all(a.kind == "spike" for a in alerts)


def test_the_briefing_shows_a_data_problem_as_one_warning_beside_the_spikes():
    from datetime import date

    from patron.report import render_html
    from patron.report.briefing import Briefing

    counts = _series(200, 8, seed=3)
    counts.iloc[153] *= 3
    problem = next(a for a in find_spikes(counts) if a.kind == "data")
    b = Briefing(date(2025, 7, 19), "now", themes=[("Billing", "invoice / wrong", 10, 0.1, -0.2, 3, 1000.0, False,
                                                      ["invoice wrong"])],
                 data_problems=[(problem.name, str(problem.first_day), str(problem.last_day))])
    html = render_html(b)
    assert html.count("check the load") == 1 and "2025-06-03" in html


def test_where_the_data_or_a_series_begins_nothing_is_a_spike():
    counts = _series(120, 6, seed=8)
    counts.iloc[:40] = 0
    counts.iloc[5, 0] = 1  # a stray old text before the export really begins
    counts.iloc[:90, 5] = 0  # a channel connected on day 90, busy from its first day
    alerts = find_spikes(counts)
    assert all(a.first_day >= counts.index[40 + 28].date() for a in alerts), [(a.theme_id, a.first_day) for a in alerts]
    assert not [a for a in alerts if a.theme_id == "t5" and a.first_day < counts.index[90 + 28].date()]


def test_flooding_every_channel_cannot_hide_a_real_spike_inside_it():
    counts = _series(200, 8, seed=9, base=np.full(8, 20.0))
    counts.iloc[153, :7] *= 3  # someone lifts every channel at once
    counts.iloc[153, 7] += 200  # while one really spikes
    alerts = [a for a in find_spikes(counts) if a.first_day == counts.index[153].date()]
    assert [a.kind for a in alerts] == ["data", "spike"] and alerts[1].theme_id == "t7"
    assert "7 of 8 busy" in alerts[0].name or "8 of 8 busy" in alerts[0].name


def test_a_stray_text_dated_1900_changes_no_alert():
    counts = _series(200, 5, seed=1)
    counts.iloc[150:155, 2] += 40
    stray = pd.DataFrame([[1, 0, 0, 0, 0]], index=pd.DatetimeIndex(["1900-01-01"]), columns=counts.columns)
    with_stray = pd.concat([stray, counts]).reindex(pd.date_range("1900-01-01", counts.index[-1]), fill_value=0)
    assert len(with_stray) > 45_000
    seen = [(a.theme_id, a.first_day, a.last_day) for a in find_spikes(with_stray)]
    assert seen == [(a.theme_id, a.first_day, a.last_day) for a in find_spikes(counts)] and seen
