"""Run compiled metrics, attach n and 95% intervals, and test each change from the last period.

Tests, stated: NPS, a two-sample z test on the difference of (promoters - detractors) shares
with multinomial variances; shares and rates of customers (churn), a two-proportion z test
(pooled); means, Welch's t test. Counts, sums, percentiles, money and formulas are not sample
estimates here: they get no interval and no test.
"""

from __future__ import annotations

import json
import math
import uuid
from collections import defaultdict
from collections.abc import Callable
from contextlib import ExitStack

import pandas as pd
from scipy import stats as st

from patron import stats
from patron.errors import MetricError
from patron.metrics.compile import (
    compile_group,
    compile_metric,
    effective_period,
    formula_select,
    group_key,
    inputs,
    render,
    stat_columns,
)
from patron.metrics.reasons import absent, empty_slice
from patron.metrics.spec import FACTS, MetricSpec
from patron.warehouse import QueryFailed, Warehouse

STEPS = {"day": pd.DateOffset(days=1), "week": pd.DateOffset(weeks=1), "month": pd.DateOffset(months=1),
         "quarter": pd.DateOffset(months=3), "year": pd.DateOffset(years=1)}
OUTPUT = ["metric", "value", "n", "ci_low", "ci_high", "previous", "p_value", "significant", "note"]


def _estimate(spec: MetricSpec, row: pd.Series) -> stats.Estimate:
    n = 0 if pd.isna(row["n"]) else int(row["n"])
    if n == 0:  # no data: not available, never 0
        return stats.Estimate(None, 0)
    if spec.kind == "nps":
        return stats.nps(int(row["pro"]), n - int(row["pro"]) - int(row["det"]), int(row["det"]))
    if spec.kind == "share" or (spec.kind in FACTS and spec.successes):
        return stats.proportion(int(row["good"]), n)
    if spec.kind == "mean":
        if n < 2 or pd.isna(row["sd"]):
            return stats.Estimate(float(row["mean"]), n)
        half = st.t.ppf(0.975, n - 1) * float(row["sd"]) / math.sqrt(n)
        return stats.Estimate(float(row["mean"]), n, float(row["mean"]) - half, float(row["mean"]) + half)
    return stats.Estimate(None if pd.isna(row["value"]) else float(row["value"]), n)


def _p_value(spec: MetricSpec, now: pd.Series, before: pd.Series) -> float | None:
    if min(now["n"], before["n"]) < 2:
        return None
    if spec.kind == "nps":
        a = (int(now["pro"]), int(now["n"] - now["pro"] - now["det"]), int(now["det"]))
        b = (int(before["pro"]), int(before["n"] - before["pro"] - before["det"]), int(before["det"]))
        return stats.nps_change_p_value(a, b)
    if spec.kind == "share" or (spec.kind in FACTS and spec.successes):
        n1, n2 = int(now["n"]), int(before["n"])
        pooled = (now["good"] + before["good"]) / (n1 + n2)
        se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        return None if se == 0 else float(2 * st.norm.sf(abs(now["good"] / n1 - before["good"] / n2) / se))
    if spec.kind == "mean":
        if pd.isna(now["sd"]) or pd.isna(before["sd"]):
            return None
        res = st.ttest_ind_from_stats(now["mean"], now["sd"], now["n"], before["mean"], before["sd"], before["n"],
                                      equal_var=False)
        return None if pd.isna(res.pvalue) else float(res.pvalue)
    return None


def _label(v: object) -> object:
    return v.date() if isinstance(v, pd.Timestamp) else v


def finish(spec: MetricSpec, raw: pd.DataFrame, by: list[str], period: str | None,
           unavailable: Callable[[], str], absent_inputs: dict[str, str] | None = None) -> pd.DataFrame:
    """Raw aggregates -> one row per slice (and period): value, n, 95% interval, the change from
    the period before and its significance, and why a value is not available (`unavailable`: the
    reason when the metric has no data anywhere, asked only then; `absent_inputs`: a formula's
    inputs with no data anywhere, and why)."""
    rows = []
    seen: dict[tuple, pd.Series] = {}
    step = STEPS.get(period or "")
    empty = empty_slice(spec)
    formula_inputs, absent_inputs = (inputs(spec) if spec.kind == "formula" else []), absent_inputs or {}
    for _, r in raw.iterrows():
        e = _estimate(spec, r)
        key = tuple(r[d] for d in by)
        # the change is measured against the period just before, only when that one has data
        before = seen.get((*key, pd.Timestamp(r["period"]) - step)) if period else None
        p = _p_value(spec, r, before) if before is not None else None
        prev_value = _estimate(spec, before).value if before is not None else None
        note = ""
        if e.value is None and spec.kind == "formula":
            # the inputs without a value here, each with why: nowhere (its own reason) or not here
            missing = [n for n in formula_inputs if n in r.index and pd.isna(r[n])]
            note = "; ".join(f"{n} has no data ({absent_inputs[n]})" if n in absent_inputs
                             else f"{n} has no data in this slice and period" for n in missing)
            note = note or spec.undefined or "undefined for this data"
        elif e.value is None:
            note = empty if e.n == 0 else (spec.undefined or "undefined for this data")
        when = {"period": pd.Timestamp(r["period"]).date()} if period else {}
        rows.append({**{d: _label(r[d]) for d in by}, **when,
                     "metric": spec.name, "value": e.value, "n": e.n, "ci_low": e.ci_low, "ci_high": e.ci_high,
                     "previous": prev_value, "p_value": p, "significant": None if p is None else p < 0.05,
                     "note": note})
        if period:
            seen[(*key, pd.Timestamp(r["period"]))] = r
    if rows and all(r["n"] == 0 for r in rows):
        reason = unavailable()
        for r in rows:
            r["note"] = reason
    if not rows:  # the metric's data is absent altogether: say so, never 0
        rows.append({**dict.fromkeys(by), **({"period": None} if period else {}), "metric": spec.name,
                     "value": None, "n": 0, "ci_low": None, "ci_high": None, "previous": None, "p_value": None,
                     "significant": None, "note": unavailable()})
    out = pd.DataFrame(rows, columns=[*by, *(["period"] if period else []), *OUTPUT])
    return _numeric(out)


def _numeric(out: pd.DataFrame) -> pd.DataFrame:
    for c in ("value", "ci_low", "ci_high", "previous", "p_value"):
        out[c] = pd.to_numeric(out[c]).astype(float)
    return out


def evaluate(wh: Warehouse, spec: MetricSpec, by: list[str] | None = None, period: str | None = None,
             store: bool = True, catalog: dict[str, MetricSpec] | None = None) -> pd.DataFrame:
    """One metric by slice and period, stored in metric_values."""
    by = by or []
    if spec.kind == "formula":
        return evaluate_catalog(wh, {**(catalog or {}), spec.name: spec}, by, period, store, only=[spec.name])
    period = effective_period(spec, period, catalog)
    raw = _run(wh, render(compile_metric(spec, by, period, catalog), wh.engine.dialect), [spec])
    out = finish(spec, raw, by, period, lambda: absent(wh, spec, period))
    if store:
        store_values(wh, [(spec, out, by, period)])
    return out


def evaluate_catalog(wh: Warehouse, catalog: dict[str, MetricSpec], by: list[str] | None = None,
                     period: str | None = None, store: bool = True, only: list[str] | None = None) -> pd.DataFrame:
    """Many metrics at once, one query per table they read (and one for all of revenue); formulas
    from their inputs' results. One long table: a `metric` column, then each metric's rows."""
    by = by or []
    names = list(dict.fromkeys(catalog if only is None else only))  # each once, in the order asked
    missing = [n for n in names if n not in catalog]
    if missing:
        raise MetricError(f"not in the catalog; metrics are: {', '.join(sorted(catalog))}", ", ".join(missing))
    formulas = [n for n in names if catalog[n].kind == "formula"]
    wanted = {(n, effective_period(catalog[n], period, catalog)) for n in names if n not in formulas}
    for f in formulas:
        fp = effective_period(catalog[f], period, catalog)
        wanted |= {(n, effective_period(catalog[n], fp, catalog)) for n in inputs(catalog[f])}
    groups: dict[tuple[str, str | None], list[MetricSpec]] = defaultdict(list)
    for n, p in sorted(wanted, key=lambda x: (x[0], x[1] or "")):
        groups[(group_key(catalog[n]), p)].append(catalog[n])
    results: dict[tuple[str, str | None], pd.DataFrame] = {}
    for (_, p), specs in groups.items():
        raw = _run_group(wh, specs, by, p)
        keys = [*by, "period"] if p else list(by)
        for s in specs:
            cols = stat_columns(s)
            part = raw[keys + [f"{s.name}__{c}" for c in cols]] if len(specs) > 1 else raw[keys + cols]
            results[(s.name, p)] = finish(s, part.set_axis(keys + cols, axis=1), by, p,
                                          lambda s=s, p=p: absent(wh, s, p))
            results[(s.name, p)].attrs["raw"] = part.set_axis(keys + cols, axis=1)
    for f in formulas:
        spec = catalog[f]
        fp = effective_period(spec, period, catalog)
        keys = [*by, "period"] if fp else list(by)
        frames = []
        for n in inputs(spec):
            raw = results[(n, effective_period(catalog[n], fp, catalog))].attrs["raw"]
            frames.append((f"m_{n}", raw[[*keys, "value", "n"]]))
        raw = _run_over(wh, frames, render(formula_select(spec, by, fp), wh.engine.dialect), spec)
        nowhere = {n: out["note"].iloc[0].removeprefix("not available: ") for n in inputs(spec)
                   for out in [results[(n, effective_period(catalog[n], fp, catalog))]] if (out["n"] == 0).all()}
        results[(f, fp)] = finish(spec, raw, by, fp, lambda spec=spec, why=nowhere: _formula_absent(spec, why),
                                  nowhere)
    chosen = [(catalog[n], results[(n, p)], by, p) for n in names
              for p in [effective_period(catalog[n], period, catalog)]]
    if store:
        store_values(wh, chosen)
    columns = [*by, *(["period"] if any(p for *_, p in chosen) else []), *OUTPUT]
    out = pd.DataFrame([row for _, r, _, _ in chosen for row in r.to_dict("records")], columns=columns)
    return _numeric(out)[[*by, *(["period"] if "period" in out.columns else []), *OUTPUT]]


def _formula_absent(spec: MetricSpec, nowhere: dict[str, str]) -> str:
    """A formula with no value anywhere: which of its inputs has no data, and why."""
    if nowhere:
        return "not available: " + "; ".join(f"{n} has no data ({why})" for n, why in nowhere.items())
    return f"not available: {inputs(spec)[0]}, the metric its n comes from, has no data in any slice and period"


def engine_problems(wh: Warehouse, catalog: dict[str, MetricSpec], names: list[str]) -> list[str]:
    """What the engine refuses in the metrics `names`, bound against the warehouse's tables and
    never run: a definition that parses and is allowed can still not run (a text averaged, say),
    and `patron check` should say so before `patron run` does."""
    out = []
    for name in names:
        spec = catalog[name]
        try:
            tree = compile_metric(spec, [], effective_period(spec, "month", catalog), catalog)
            wh.engine.columns_of(render(tree, wh.engine.dialect))
        except QueryFailed as e:
            out.append(f"metrics.{name}: the warehouse cannot evaluate it: {str(e).splitlines()[0]}")
        except MetricError as e:
            out.append(f"metrics.{name}: {e}")
    return out


def _run_group(wh: Warehouse, specs: list[MetricSpec], by: list[str], period: str | None) -> pd.DataFrame:
    """Metrics that share a query; when the engine refuses it, the error names the metrics at
    fault, not every metric of the table (one bad definition in patron.yml, say)."""
    try:
        return _run(wh, render(compile_group(specs, by, period), wh.engine.dialect), specs)
    except MetricError:
        if len(specs) == 1:
            raise
        for spec in specs:  # the first that fails alone raises, naming itself
            _run(wh, render(compile_group([spec], by, period), wh.engine.dialect), [spec])
        raise


def _run(wh: Warehouse, sql: str, specs: list[MetricSpec]) -> pd.DataFrame:
    """A metric query; the engine's refusal names the metrics, never a traceback."""
    try:
        return wh.df(sql)
    except QueryFailed as e:
        raise MetricError(f"the warehouse cannot evaluate it: {str(e).splitlines()[0]}",
                          ", ".join(s.name for s in specs)) from None


def _run_over(wh: Warehouse, frames: list[tuple[str, pd.DataFrame]], sql: str, spec: MetricSpec) -> pd.DataFrame:
    """Run a formula's `sql` with each frame visible as a table of its name."""
    with ExitStack() as stack:
        for name, df in frames:
            stack.enter_context(wh.frame(name, df))
        return _run(wh, sql, [spec])


def store_values(wh: Warehouse, evaluated: list[tuple[MetricSpec, pd.DataFrame, list[str], str | None]]) -> None:
    """metric_values keeps every evaluation, so trends and the briefing read history."""
    run = uuid.uuid4().hex[:12]
    parts = []
    for spec, out, by, period in evaluated:
        if period and out["period"].isna().all():
            continue
        parts.append(pd.DataFrame({
            "run_id": run, "metric": spec.name,
            "slice": [json.dumps({d: (None if pd.isna(r[d]) else str(r[d])) for d in by}, sort_keys=True)
                      for _, r in out.iterrows()],
            "grain": period or "all",
            "period": out["period"] if period else None,
            "value": out["value"].astype(float), "n": out["n"], "ci_low": out["ci_low"].astype(float),
            "ci_high": out["ci_high"].astype(float), "p_value": out["p_value"].astype(float),
        }))
    if not parts:
        return
    frame = pd.concat(parts, ignore_index=True)
    with wh.frame("_patron_metric_values", frame) as f:
        wh.execute(f"INSERT INTO metric_values SELECT run_id, now()::TIMESTAMP, metric, slice, grain, "
                   f"CAST(period AS DATE), value, n, ci_low, ci_high, p_value FROM {f}")
