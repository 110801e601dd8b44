"""`patron predict` and `patron risk`: who is likely to leave, why, and what is at stake."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from patron.cli.formats import clip, counted, number, shown_of
from patron.cli.options import ConfigOpt, DbOpt, FormatOpt, NewestOpt, parse_day, progress
from patron.cli.render import Format, emit_json, say, table
from patron.project import Project

if TYPE_CHECKING:
    import pandas as pd

    from patron.predict.evaluation import Estimate


def _est(e: Estimate | dict, spec: str = ".2f") -> str:
    d = e if isinstance(e, dict) else e.__dict__
    if d["value"] is None:
        return "–"
    return f"{format(d['value'], spec)} ({format(d['ci_low'], spec)}–{format(d['ci_high'], spec)})"


def _reasons(reasons: list[dict] | None) -> str:
    return "; ".join(r["says"] for r in reasons or []) or "–"


def _records(frame: pd.DataFrame) -> list[dict]:
    keep = ["customer_id", "name", "owner", "segment", "band", "score", "value", "at_stake", "reasons", "details"]
    return [{k: (None if v != v else v) if not isinstance(v, list | dict) else v for k, v in r.items()}
            for r in frame[[c for c in keep if c in frame]].to_dict("records")]


def _accounts(frame: pd.DataFrame, title: str, limit: int) -> None:
    shown = frame if limit == 0 else frame.head(limit)
    table(title, ["customer", "name", "owner", "risk", "ARR", "at stake", "why"],
          [[r.customer_id, r.name, r.owner, f"{r.band} {r.score:.0%}", number(r.value, "currency"),
            number(r.at_stake, "currency"), clip(_reasons(r.reasons), 160)] for r in shown.itertuples()],
          {"risk", "ARR", "at stake"}, drop=["owner", "name"], notes=[shown_of(len(shown), len(frame))])


def predict(
    config: ConfigOpt = Path("patron.yml"), db: DbOpt = None, fmt: FormatOpt = Format.table,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Score as of this day (YYYY-MM-DD; default: the "
                                                               "data's last day).")] = None,
    limit: NewestOpt = 10,
) -> None:
    """Train the churn model on earlier snapshots, test it on a later one it never saw, score every
    paying customer and keep the run."""
    day = parse_day(as_of, "--as-of")
    with Project.open(config, db) as project, progress() as bar:
        bar.add_task("learning from snapshots", total=None)
        run = project.predict.churn(day)
        risky = project.predict.risk()
    bt, sc = run.backtest, run.scores
    if fmt is Format.json:
        emit_json({"run_id": run.run_id, "as_of": sc.as_of, "backtest": bt.to_dict(),
                   "scored": len(sc.frame), "accounts": _records(risky)})
        return
    ev = bt.evaluation
    h = project.predict.settings().horizon_months
    say(f"Churn within {counted(h, 'month')}: trained on {counted(len(bt.trained_on), 'month-end snapshot')} "
        f"({bt.trained_on[0]:%Y-%m} to {bt.trained_on[-1]:%Y-%m}, {bt.n_train:,} customer-months, "
        f"{bt.positives_train:,} churned), tested on {bt.tested_on} ({ev.n:,} customers, {ev.positives:,} churned).")
    if ev.note:
        say(f"No figures on the test snapshot: {ev.note}.", "yellow")
    else:
        table("How well it ranked who left (95% intervals)", ["figure", "value", "means"], [
            ["AUC", _est(ev.auc), "chance a churner ranks above a stayer (0.5 is a coin)"],
            ["PR-AUC", _est(ev.pr_auc), f"precision over recall; the base rate is {ev.base_rate:.1%}"],
            ["top-decile lift", _est(ev.top_decile_lift, ".1f"), "churn among the riskiest tenth, against all"],
            ["Brier score", _est(ev.brier, ".3f"), "mean squared error of the probabilities (lower is better)"],
        ], {"value"})
    bands = sc.frame.assign(band=risky.set_index("customer_id")["band"].reindex(sc.frame["customer"]).to_numpy())
    high, medium = (int((bands["band"] == b).sum()) for b in ("high", "medium"))
    say(f"Scored {counted(len(sc.frame), 'paying customer')} on {sc.as_of}: {high:,} high risk, {medium:,} medium; "
        f"ARR at stake {number(float(sc.frame['at_stake'].sum()), 'currency')} (run {run.run_id}).")
    if len(risky):
        _accounts(risky, "Accounts at risk, most at stake first", limit)


def risk(
    config: ConfigOpt = Path("patron.yml"), db: DbOpt = None, fmt: FormatOpt = Format.table,
    by: Annotated[str | None, typer.Option("--by", help="Sum ARR at risk by owner or segment.")] = None,
    every: Annotated[bool, typer.Option("--all", help="Every scored account, low risk too.")] = False,
    limit: NewestOpt = 20,
) -> None:
    """Accounts at risk from the latest `patron predict`: probability, ARR at stake and the reasons."""
    if by not in (None, "owner", "segment"):
        raise typer.BadParameter(f"{by!r}: sum by owner or segment", param_hint="--by")
    with Project.open(config, db) as project:
        info = project.predict.last_run()
        if info is None:
            say("No churn scores yet: run `patron predict` first.", "yellow")
            raise typer.Exit(0 if fmt is Format.table else 1)
        frame = project.predict.risk(("high", "medium", "low") if every else ("high", "medium"))
        groups = project.predict.risk_by(by) if by else None
    if fmt is Format.json:
        emit_json({"run_id": info["run_id"], "as_of": info["as_of"], "evaluation": info["evaluation"],
                   "accounts": _records(frame), "by": None if groups is None else groups.to_dict("records")})
        return
    if groups is not None:
        table(f"ARR at risk by {by} ({info['as_of']:%Y-%m-%d})", [by, "risk", "accounts", "ARR", "at stake"],
              [[getattr(r, by), r.band, f"{r.accounts:,}", number(r.arr, "currency"), number(r.at_stake, "currency")]
               for r in groups.itertuples()], {"accounts", "ARR", "at stake"})
        return
    if frame.empty:
        say(f"No account at {'any' if every else 'high or medium'} risk on {info['as_of']:%Y-%m-%d}.")
        return
    _accounts(frame, f"Accounts at risk on {info['as_of']:%Y-%m-%d}, most at stake first", limit)
