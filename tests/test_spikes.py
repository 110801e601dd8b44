"""Spike detection: finds a burst on its first day, and almost never cries wolf."""

from __future__ import annotations

import numpy as np
import pandas as pd

from patron.listen.spikes import find_spikes

WEEKDAY = np.array([1.3, 1.2, 1.1, 1.1, 1.0, 0.6, 0.5])  # busy Mondays, quiet weekends


def _series(days: int, themes: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    index = pd.date_range("2025-01-01", periods=days, freq="D")
    base = rng.uniform(1, 30, themes)
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
