"""Run a compiled metric, attach n and 95% intervals, and test each change from the last period.

Tests, stated: NPS, a two-sample z test on the difference of (promoters - detractors) shares
with multinomial variances; shares, a two-proportion z test (pooled); means, Welch's t test.
Counts, sums and percentiles are not sample estimates here: they get no interval and no test.
"""

from __future__ import annotations

import json
import math
import uuid

import pandas as pd
from scipy import stats as st

from patron import stats
from patron.metrics.compile import compile_metric, render
from patron.metrics.spec import MetricSpec
from patron.warehouse import Warehouse

STEPS = {"day": pd.DateOffset(days=1), "week": pd.DateOffset(weeks=1), "month": pd.DateOffset(months=1),
         "quarter": pd.DateOffset(months=3), "year": pd.DateOffset(years=1)}


def _estimate(spec: MetricSpec, row: pd.Series) -> stats.Estimate:
    n = int(row["n"])
    if n == 0:  # no data: not available, never 0
        return stats.Estimate(None, 0)
    if spec.kind == "revenue":
        if spec.successes:
            return stats.proportion(int(row["good"]), n)
        return stats.Estimate(None if pd.isna(row["value"]) else float(row["value"]), n)
    if spec.kind == "nps":
        return stats.nps(int(row["pro"]), n - int(row["pro"]) - int(row["det"]), int(row["det"]))
    if spec.kind == "share":
        return stats.proportion(int(row["good"]), n)
    if spec.kind == "mean":
        if n == 0:
            return stats.Estimate(None, 0)
        if n < 2 or pd.isna(row["sd"]):
            return stats.Estimate(float(row["mean"]), n)
        half = st.t.ppf(0.975, n - 1) * float(row["sd"]) / math.sqrt(n)
        return stats.Estimate(float(row["mean"]), n, float(row["mean"]) - half, float(row["mean"]) + half)
    if spec.kind == "count":
        return stats.Estimate(float(n), n)
    if spec.kind == "sum":
        return stats.Estimate(None if n == 0 else float(row["total"]), n)
    return stats.Estimate(None if n == 0 or pd.isna(row["q"]) else float(row["q"]), n)


def _p_value(spec: MetricSpec, now: pd.Series, before: pd.Series) -> float | None:
    if spec.kind == "nps":
        a = (int(now["pro"]), int(now["n"] - now["pro"] - now["det"]), int(now["det"]))
        b = (int(before["pro"]), int(before["n"] - before["pro"] - before["det"]), int(before["det"]))
        return stats.nps_change_p_value(a, b)
    if spec.kind == "share" or (spec.kind == "revenue" and spec.successes):
        n1, n2 = int(now["n"]), int(before["n"])
        if min(n1, n2) < 2:
            return None
        pooled = (now["good"] + before["good"]) / (n1 + n2)
        se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        return None if se == 0 else float(2 * st.norm.sf(abs(now["good"] / n1 - before["good"] / n2) / se))
    if spec.kind == "mean":
        if min(now["n"], before["n"]) < 2 or pd.isna(now["sd"]) or pd.isna(before["sd"]):
            return None
        res = st.ttest_ind_from_stats(now["mean"], now["sd"], now["n"], before["mean"], before["sd"], before["n"],
                                      equal_var=False)
        return None if pd.isna(res.pvalue) else float(res.pvalue)
    return None


def evaluate(wh: Warehouse, spec: MetricSpec, by: list[str] | None = None, period: str | None = None,
             store: bool = True) -> pd.DataFrame:
    """One row per slice (and period): value, n, ci_low, ci_high, previous, p_value, significant."""
    by = by or []
    if spec.kind == "revenue":
        period = period or "month"
    raw = wh.df(render(compile_metric(spec, by, period)))
    rows = []
    seen: dict[tuple, pd.Series] = {}
    step = STEPS.get(period or "")
    for _, r in raw.iterrows():
        e = _estimate(spec, r)
        key = tuple(r[d] for d in by)
        # the change is measured against the period just before, only when that one has data
        before = seen.get((*key, pd.Timestamp(r["period"]) - step)) if period else None
        p = _p_value(spec, r, before) if before is not None else None
        prev_value = _estimate(spec, before).value if before is not None else None
        rows.append({**{d: r[d] for d in by}, **({"period": pd.Timestamp(r["period"]).date()} if period else {}),
                     "metric": spec.name, "value": e.value, "n": e.n, "ci_low": e.ci_low, "ci_high": e.ci_high,
                     "previous": prev_value, "p_value": p, "significant": None if p is None else p < 0.05})
        if period:
            seen[(*key, pd.Timestamp(r["period"]))] = r
    out = pd.DataFrame(rows, columns=[*by, *(["period"] if period else []), "metric", "value", "n", "ci_low",
                                      "ci_high", "previous", "p_value", "significant"])
    if store and len(out):
        _store(wh, spec, out, by, period)
    return out


def _store(wh: Warehouse, spec: MetricSpec, out: pd.DataFrame, by: list[str], period: str | None) -> None:
    """metric_values keeps every evaluation, so trends and the briefing read history."""
    run = uuid.uuid4().hex[:12]
    frame = pd.DataFrame({
        "run_id": run, "metric": spec.name,
        "slice": [json.dumps({d: (None if pd.isna(r[d]) else str(r[d])) for d in by}, sort_keys=True)
                  for _, r in out.iterrows()],
        "grain": period or "all",
        "period": out["period"] if period else None,
        "value": out["value"], "n": out["n"], "ci_low": out["ci_low"], "ci_high": out["ci_high"],
        "p_value": out["p_value"],
    })
    with wh.frame("_patron_metric_values", frame) as f:
        wh.execute(f"INSERT INTO metric_values SELECT run_id, now()::TIMESTAMP, metric, slice, grain, "
                   f"CAST(period AS DATE), value, n, ci_low, ci_high, p_value FROM {f}")
