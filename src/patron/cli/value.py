"""`patron drivers` and `patron clv`: what moves NPS or churn most, and what each customer is worth."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from patron.cli.formats import counted, shown_of
from patron.cli.options import ConfigOpt, DbOpt, FormatOpt, limit_opt, parse_day, progress
from patron.cli.render import Format, emit_json, say, table
from patron.cli.scores import money, read_currency, records
from patron.project import Project

if TYPE_CHECKING:
    from patron.config import ClvSettings

ValuableOpt = limit_opt("most valuable")


def _label(name: object) -> str:
    """A behaviour by what it measures; a touchpoint or theme by its own name."""
    from patron.predict.features import FEATURES

    return next((f.description for f in FEATURES if f.name == name), str(name))


def _low(percent: float) -> str:
    """An interval's low end: a positive share under 1% reads "<1", not a 0 that looks like none."""
    return "<1" if 0 < percent < 0.5 else f"{max(percent, 0):.0f}"


def _driver_rows(imp, rated: dict[str, int]) -> list[list[str]]:
    return [[_label(d.predictor), f"{d.percent:.0f}%", f"{_low(d.percent_low)}–{d.percent_high:.0f}%",
             f"{rated.get(d.predictor, imp.n):,}", "yes" if d.is_driver else "no"] for d in imp.drivers]


def drivers(
    config: ConfigOpt = Path("patron.yml"), db: DbOpt = None, fmt: FormatOpt = Format.table,
    of: Annotated[str, typer.Option("--of", help="The outcome: nps or churn.")] = "nps",
    among: Annotated[str, typer.Option("--among", help="touchpoints (their CSAT), themes (what customers write "
                                       "about) or behaviours (usage, tickets, billing).")] = "touchpoints",
    by: Annotated[str | None, typer.Option("--by", help="Also per segment, region, industry, plan or owner.")] = None,
    months: Annotated[int, typer.Option("--months", min=1, max=36, help="Months of answers and texts to read.")] = 12,
) -> None:
    """What drives NPS or churn most: each one's share of what is explained, with 95% bootstrap intervals."""
    with Project.open(config, db) as project, progress() as bar:
        bar.add_task("weighing drivers", total=None)
        result = project.predict.drivers(of, among, by=by, months=months)
    if fmt is Format.json:
        def one(imp) -> dict:
            return imp.to_dict() if hasattr(imp, "to_dict") else imp.__dict__

        emit_json({"outcome": result.outcome, "among": result.kind, "since": result.since, "as_of": result.as_of,
                   "rated": result.rated, "overall": one(result.overall),
                   "segments": {k: one(v) for k, v in result.segments.items()},
                   "segment_rated": result.segment_rated,
                   "skipped": [{"segment": s, "n": n, "reason": r} for s, n, r in result.skipped]})
        return
    imp = result.overall
    what = "the NPS answer" if of == "nps" else "leaving"
    say(f"What moves {what} among {among}, {result.since:%Y-%m} to {result.as_of:%Y-%m}: "
        f"{counted(imp.n, 'customer')}; together they explain {imp.r2:.1%} of its variance (R²).")
    if imp.r2 < 0.01:
        say(f"They explain almost none of it: nothing here tells who {'answers higher' if of == 'nps' else 'leaves'}; "
            "the shares below split that little.", "yellow")
    rated = "customers rating it" if among == "touchpoints" else "customers"
    cols = ["driver", "share", "95% interval", rated, "driver?"]
    table("Shares of what is explained, largest first", cols, _driver_rows(imp, result.rated),
          {"share", "95% interval", cols[3]},
          notes=["A driver is one whose share is above what pure noise would take (97.5% of the time)."]
          + list(imp.notes))
    top = imp.drivers[0] if imp.drivers else None
    if top is not None and top.is_driver:
        say(f"{_label(top.predictor)} ranks first" + (", clear of the others (its interval above theirs)."
                                              if top.clear_of_next else ", but its interval overlaps the next one's."))
    for seg, part in result.segments.items():
        table(f"{by} {seg} ({counted(part.n, 'customer')})", cols,
              _driver_rows(part, result.segment_rated.get(seg, result.rated)),
              {"share", "95% interval", cols[3]})
    for seg, n, why in result.skipped:
        say(f"{by} {seg}: not analysed ({counted(n, 'customer')}): {why}", "dim")


def _fit_line(name: str, fit: dict, params: tuple[str, ...]) -> str:
    shown = ", ".join(f"{p} = {fit[p]:.4g}" for p in params)
    return (f"{name}: {shown}; log-likelihood {fit['log_likelihood']:,.1f} over "
            f"{counted(fit['n'], 'customer')}"
            + ("" if fit.get("converged", True) else " (DID NOT CONVERGE)"))


# each value column as a person names it (--format json keeps the column names scripts read)
COLUMNS = {"subscription_value": "subscription value", "expected_months": "expected months",
           "orders_value": "orders value", "expected_purchases": "expected purchases",
           "probability_alive": "still buying"}


def _cell(column: str, v: object) -> str:
    if v is None or v != v:
        return "–"
    if column.endswith("value"):
        return money(v)
    if column == "probability_alive":
        return f"{v:.0%}"
    return f"{v:,.1f}" if column == "expected_months" else f"{v:,.2f}"


def _settings_line(s: ClvSettings) -> str:
    """The settings the values rest on (predict.clv in patron.yml), said as what they do."""
    return (f"Settings (predict.clv in patron.yml): margin {100 * s.margin:g}% of revenue; future money discounted "
            f"{100 * s.annual_discount:g}% a year; buyers valued over the next {counted(s.horizon_months, 'month')}; "
            f"a subscriber's lifetime capped at {counted(s.lifetime_cap_months, 'month')}.")


def clv(
    config: ConfigOpt = Path("patron.yml"), db: DbOpt = None, fmt: FormatOpt = Format.table,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Fit on what was known that day (YYYY-MM-DD; "
                                                               "default: the data's last day).")] = None,
    holdout_end: Annotated[str | None, typer.Option("--holdout-end", help="Also compare the purchases the fit "
                                                    "expects after --as-of with those made up to this day.")] = None,
    limit: ValuableOpt = 10,
) -> None:
    """What each customer is worth: subscribers over the lifetime their churn risk leaves them, buyers
    by BG/NBD and Gamma-Gamma over their orders; every run kept."""
    day, end = parse_day(as_of, "--as-of"), parse_day(holdout_end, "--holdout-end")
    if end is not None and (day is None or end <= day):
        raise typer.BadParameter("give --as-of too, and a later day", param_hint="--holdout-end")
    with Project.open(config, db) as project, progress() as bar:
        bar.add_task("fitting", total=None)
        run = project.predict.value(day)
        read_currency(project)
        settings = project.predict.all_settings().clv
        check = project.predict.clv_holdout(day, end) if end else None
    t = run.transactional
    if fmt is Format.json:
        emit_json({"run_id": run.run_id, "as_of": run.as_of, "notes": run.notes, "settings": settings.model_dump(),
                   "bgnbd": t.purchases.to_dict() if t else None, "gamma_gamma": t.spend.to_dict() if t else None,
                   "holdout": None if check is None else {
                       "calibration_end": check.calibration_end, "holdout_end": check.holdout_end,
                       "weeks": check.weeks, "predicted": check.predicted_total, "actual": check.actual_total,
                       "mean_absolute_error": check.mean_absolute_error,
                       "by_frequency": check.by_frequency.to_dict("records")},
                   "customers": records(run.customers, list(run.customers.columns))})
        return
    say(f"Lifetime value on {run.as_of} of {counted(len(run.customers), 'customer')}: "
        f"{money(float(run.customers['value'].sum()))} in all (run {run.run_id}).")
    say(_settings_line(settings), "dim")
    if t is not None:
        say(_fit_line("Purchases (BG/NBD)", t.purchases.to_dict(), ("r", "alpha", "a", "b")))
        say(_fit_line("Spend (Gamma-Gamma)", t.spend.to_dict(), ("p", "q", "gamma")))
    for note in run.notes:
        say(note, "yellow")
    shown = run.customers.head(limit) if limit else run.customers
    cols = [c for c in COLUMNS if c in shown]
    table("Most valuable customers", ["customer", "value", *(COLUMNS[c] for c in cols)],
          [[r["customer"], money(r["value"]), *[_cell(c, r[c]) for c in cols]] for r in shown.to_dict("records")],
          {"value", *(COLUMNS[c] for c in cols)}, notes=[shown_of(len(shown), len(run.customers))])
    if check is not None:
        say(f"Holdout {check.calibration_end} to {check.holdout_end} ({counted(round(check.weeks), 'week')}): "
            f"{check.predicted_total:,.0f} purchases expected, {check.actual_total:,} made; "
            f"mean absolute error per customer {check.mean_absolute_error:.2f}.")
        table("Mean purchases in the holdout, by purchases before it", ["repeat purchases", "customers",
                                                                         "expected", "made"],
              [[r.frequency, f"{r.customers:,}", f"{r.predicted:.2f}", f"{r.actual:.2f}"]
               for r in check.by_frequency.itertuples()], {"customers", "expected", "made"})
