"""`patron metrics ...`: the catalog, one definition of each number, and its values."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from patron.cli.formats import DASH, cell, counted, interval, number, partial_note, period_label, shown_of
from patron.cli.options import ConfigOpt, DbOpt, FormatOpt, NewestOpt
from patron.cli.render import Format, emit_json, escape, out, say, table
from patron.errors import PatronError
from patron.project import Project

if TYPE_CHECKING:
    import pandas as pd

    from patron.metrics import MetricSpec

app = typer.Typer(help="The metric catalog: one definition of each number.", no_args_is_help=True)


def records(df: pd.DataFrame) -> list[dict]:
    """A frame as JSON records: missing values become null."""
    return df.astype(object).where(df.notna(), None).to_dict(orient="records")


@app.command("list")
def metrics_list(config: ConfigOpt = Path("patron.yml"), fmt: FormatOpt = Format.table) -> None:
    """Every metric: what it measures, its unit, owner and target."""
    specs = Project.open(config).metrics.catalog()
    if fmt is Format.json:
        emit_json([s.model_dump() for s in specs.values()])
        return
    table("Metric catalog (patron metrics explain METRIC for its definition)",
          ["metric", "label", "unit", "better", "owner", "target"],
          [[s.name, s.label, s.unit, s.better, s.owner, "" if s.target is None else number(s.target, s.unit)]
           for s in specs.values()], {"target"}, drop=["better", "unit"])


@app.command("explain")
def metrics_explain(name: str, config: ConfigOpt = Path("patron.yml"), fmt: FormatOpt = Format.table) -> None:
    """A metric's definition, its SQL and its owner."""
    from patron.metrics import compile_metric, render

    specs = Project.open(config).metrics.catalog()
    if name not in specs:
        raise PatronError(f"no metric {name!r}; metrics are: {', '.join(sorted(specs))}")
    s = specs[name]
    sql = render(compile_metric(s, [], "month", specs), pretty=True)
    if fmt is Format.json:
        emit_json(s.model_dump() | {"sql": sql})
        return
    out.print(f"[bold]{escape(s.label)}[/] ({escape(s.name)})")
    say(f"{s.definition}\n")
    target = "(none set)" if s.target is None else number(s.target, s.unit)
    say(f"unit {s.unit}, {s.better} is better; owner {s.owner or '(none set)'}; target {target}; "
        f"by: {', '.join(s.dimensions)}\n")
    out.print(sql, highlight=False, soft_wrap=True, markup=False)


def _slice(key: str, v: Any) -> str:
    if v is None or v != v:  # None or NaN
        return "(none)"
    if isinstance(v, date) and key.endswith("month"):
        return period_label(v, "month")
    return cell(v)


def _change(significant: Any) -> str:
    if significant is None or significant != significant:
        return ""
    return "significant" if significant else "not significant"


def show_values(df: pd.DataFrame, spec: MetricSpec, by: list[str], grain: str | None, as_of: date | None,
                limit: int, currency: str | None = None) -> None:
    """One metric's values, newest period first, each slice and period with its n and interval."""
    keys = [*by, *(["period"] if "period" in df.columns else [])]
    ordered = df.sort_values("period", ascending=False, kind="stable") if "period" in df.columns else df
    shown = ordered if limit == 0 else ordered.head(limit)
    rows = []
    for r in shown.to_dict(orient="records"):
        labels = [_slice(k, r[k]) for k in by]
        if "period" in df.columns:
            labels.append(period_label(r["period"], grain, as_of))
        # a partial period is not compared with the whole one before it
        change = "" if labels and labels[-1].endswith("(partial)") else _change(r["significant"])
        rows.append([*labels, number(r["value"], spec.unit, currency),
                     interval(r["ci_low"], r["ci_high"], spec.unit, currency),
                     int(r["n"]), change, r["note"].removeprefix("not available: ")])
    notes = [shown_of(len(shown), len(df), "--limit N for more (--limit 0: all)")]
    notes.append(partial_note([r[len(by)] for r in rows] if "period" in df.columns else [], grain, as_of))
    if any(r[len(keys)] == DASH for r in rows):
        notes.append(f"{DASH}: not available, for the reason in the last column.")
    for key in by:
        if len(df) and df[key].isna().all():
            rows_of = (f"{spec.table} row" if spec.table else "row") + f" behind {spec.name}" + (
                f" ({spec.filter})" if spec.filter else "")
            notes.append(f"No {rows_of} has a {key}: every value falls under (none).")
    order = "newest first" if "period" in df.columns else "by slice"
    table(f"{spec.name} ({spec.label}): {counted(len(df), 'value')}, {order}",
          [*keys, "value", "95% interval", "n", "change", "why no value"], rows, {"value", "n"},
          drop=["change", "why no value", "95% interval"], notes=notes)


@app.command("show")
def metrics_show(
    name: str,
    by: Annotated[list[str] | None, typer.Option("--by", help="Slice by this dimension (repeatable).")] = None,
    period: Annotated[str | None, typer.Option(help="day, week, month, quarter or year.")] = None,
    limit: NewestOpt = 40,
    config: ConfigOpt = Path("patron.yml"), db: DbOpt = None, fmt: FormatOpt = Format.table,
) -> None:
    """A metric's values with n and 95% intervals; a change is flagged only when significant."""
    from patron.metrics.compile import effective_period
    from patron.report.money import data_currency

    with Project.open(config, db) as project:
        project.existing_warehouse().forbid_file_access()
        df = project.metrics.evaluate(name, by or [], period)
        if fmt is Format.json:
            emit_json(records(df))
            return
        specs = project.metrics.catalog()
        grain = effective_period(specs[name], period, specs)
        currency = data_currency(project.existing_warehouse())
        as_of = project.as_of() if grain else None
    show_values(df, specs[name], by or [], grain, as_of, limit, currency)


@app.command("run")
def metrics_run(
    period: Annotated[str | None, typer.Option(help="day, week, month, quarter or year (revenue is monthly).")]
    = "month",
    config: ConfigOpt = Path("patron.yml"), db: DbOpt = None, fmt: FormatOpt = Format.table,
) -> None:
    """Evaluate the whole catalog at once and store it in metric_values (the history scripts read)."""
    from patron.metrics.compile import effective_period
    from patron.report.money import data_currency

    with Project.open(config, db) as project:
        project.existing_warehouse().forbid_file_access()
        df = project.metrics(period=period)
        specs = project.metrics.catalog()
        currency = data_currency(project.existing_warehouse())
        as_of = project.as_of() if "period" in df.columns else None
    import pandas as pd

    latest = df.dropna(subset=["value"]) if "value" in df.columns else df.iloc[0:0]
    if "period" in df.columns and len(latest):
        # the latest whole period of each metric: a partial month's churn or LTV is not its value
        partial = [period_label(p, effective_period(specs[m], period, specs), as_of).endswith("(partial)")
                   for m, p in zip(latest["metric"], latest["period"], strict=True)]
        whole = latest[pd.Series([not x for x in partial], index=latest.index, dtype=bool)]
        latest = pd.concat([whole, latest[~latest["metric"].isin(whole["metric"])]]).groupby("metric").tail(1)
    if fmt is Format.json:
        emit_json(records(latest))
        return
    rows = []
    for r in latest.to_dict(orient="records"):
        spec = specs[r["metric"]]
        rows.append([r["metric"], period_label(r.get("period"), effective_period(spec, period, specs), as_of),
                     number(r["value"], spec.unit, currency), int(r["n"])])
    if not rows:
        # no metric has a value (a warehouse of usage, costs or contacts alone): say so, and what each needs
        why = sorted({str(n).removeprefix("not available: ") for n in df.get("note", pd.Series(dtype=object))
                      if isinstance(n, str) and n}, key=lambda w: (w.endswith(" yet") or " yet (" in w, w))
        say(f"Catalog evaluated ({len(df):,} values stored): no metric has a value yet."
            + (f" Missing: {'; '.join(why[:6])}{' and more' if len(why) > 6 else ''}." if why else ""))
        return
    table(f"Catalog evaluated ({len(df):,} values stored); latest whole period of each metric",
          ["metric", "period", "value", "n"], rows, {"value", "n"},
          notes=[partial_note([r[1] for r in rows], period, as_of)])
