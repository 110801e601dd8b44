"""`patron predict` and `patron risk`: who is likely to leave, why, and what is at stake."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from patron.cli.formats import clip, counted, shown_of
from patron.cli.options import ConfigOpt, DbOpt, FormatOpt, StakeOpt, parse_day, progress
from patron.cli.render import Format, emit_json, say, table
from patron.cli.scores import calibration, est, money, read_currency, reasons, records, renews, stake_line
from patron.errors import PredictError
from patron.project import Project

if TYPE_CHECKING:
    import pandas as pd


def _accounts(frame: pd.DataFrame, title: str, limit: int) -> None:
    shown = frame if limit == 0 else frame.head(limit)
    known = frame["value"].notna().any()  # a customer list with no billing: no money columns at all

    def cash(v: float | None) -> str:
        return money(v) if known else ""

    table(title, ["customer", "name", "owner", "risk", "ARR", "at stake", "renews", "why"],
          [[r.customer_id, r.name, r.owner, f"{r.band} {r.score:.0%}", cash(r.value), cash(r.at_stake),
            renews(r.months_to_renewal, r.term), clip(reasons(r.reasons), 160)] for r in shown.itertuples()],
          {"risk", "ARR", "at stake"}, drop=["owner", "name"],
          notes=[shown_of(len(shown), len(frame)),
                 "renews: when the contract next renews (the model's months to renewal)"
                 if frame["months_to_renewal"].notna().any() else None])


def _warnings(protected: dict[str, str], run: dict | None) -> list[str]:
    from patron.predict.risk import protected_warning

    line = protected_warning(protected, ((run or {}).get("settings") or {}).get("mode") == "one snapshot")
    return [line] if line else []


def predict(
    config: ConfigOpt = Path("patron.yml"), db: DbOpt = None, fmt: FormatOpt = Format.table,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Score as of this day (YYYY-MM-DD; default: the "
                                                               "data's last day).")] = None,
    limit: StakeOpt = 10,
) -> None:
    """Train the churn model on earlier snapshots, test it on a later one it never saw, score every
    paying customer and keep the run."""
    from patron.predict.risk import BANDS, stake

    day = parse_day(as_of, "--as-of")
    with Project.open(config, db) as project, progress() as bar:
        bar.add_task("learning from snapshots", total=None)
        run = project.predict.churn(day)
        read_currency(project)
        every = project.predict.risk(BANDS, run.run_id)  # this run's, even --as-of an earlier day
        info = project.predict.last_run(run_id=run.run_id)
        protected = project.predict.protected_features(info)
        settings = project.predict.settings()
    risky = every[every["band"].isin(("high", "medium"))]
    bt, sc, money_at = run.backtest, run.scores, stake(every)
    warnings = _warnings(protected, info)
    if fmt is Format.json:
        emit_json({"run_id": run.run_id, "as_of": sc.as_of, "backtest": bt.to_dict(), "scored": len(sc.frame),
                   "accounts": records(risky), "stake": money_at, "protected_features": protected,
                   "warnings": warnings})
        return
    ev = bt.evaluation
    if bt.mode == "holdout":
        say(f"One snapshot: {settings.outcome!r} says who left, and there is no history to test on a later day, so "
            f"the model learned from {counted(bt.n_train, 'customer')} and was tested on {ev.n:,} others it never "
            f"saw ({ev.positives:,} of whom left).", "yellow")
        where = f"the holdout of {counted(ev.n, 'customer')}"
    else:
        h = settings.horizon_months
        say(f"Churn within {counted(h, 'month')}: trained on {counted(len(bt.trained_on), 'month-end snapshot')} "
            f"({bt.trained_on[0]:%Y-%m} to {bt.trained_on[-1]:%Y-%m}, {counted(bt.n_train, 'customer-month')}, "
            f"{bt.positives_train:,} churned), tested on {bt.tested_on} ({counted(ev.n, 'customer')}, "
            f"{ev.positives:,} churned).")
        where = f"the test snapshot of {bt.tested_on}"
    for w in warnings:
        say(w, "yellow")
    if ev.note:
        say(f"No figures on the test snapshot: {ev.note}.", "yellow")
    else:
        table("How well it ranked who left (95% intervals)", ["figure", "value", "means"], [
            ["AUC", est(ev.auc), "chance a churner ranks above a stayer (0.5 is a coin)"],
            ["PR-AUC", est(ev.pr_auc), f"precision over recall; the base rate is {ev.base_rate:.1%}"],
            ["top-decile lift", est(ev.top_decile_lift, ".1f"), "churn among the riskiest tenth, against all"],
            ["Brier score", est(ev.brier, ".3f"), "mean squared error of the probabilities (lower is better)"],
        ], {"value"})
        calibration(ev.calibration, where)
    high, medium = (int((every["band"] == b).sum()) for b in ("high", "medium"))
    who = "paying customer" if bt.mode == "time" else "current customer"
    say(f"Scored {counted(len(sc.frame), who)} on {sc.as_of} (run {run.run_id}): {high:,} high risk, {medium:,} "
        f"medium; {stake_line(money_at)}.")
    if len(risky):
        _accounts(risky, "Accounts at risk, most at stake first", limit)


def _by(groups: pd.DataFrame, by: str, day: str) -> None:
    known = groups["arr"].notna().any()

    def cash(v: float | None) -> str:
        return money(v) if known else ""

    table(f"ARR at risk by {by} ({day})", [by, "accounts", "high", "medium", "ARR", "at stake", "all bands"],
          [[getattr(r, by), f"{r.accounts:,}", f"{r.high:,}", f"{r.medium:,}", cash(r.arr), cash(r.at_stake_at_risk),
            cash(r.at_stake)] for r in groups.itertuples()],
          {"accounts", "high", "medium", "ARR", "at stake", "all bands"}, drop=["medium", "high"],
          notes=["at stake: ARR times the probability of leaving, in the high and medium risk accounts; all bands: "
                 f"the same over every account, low risk included. --bands splits each {by} by band."])


def risk(
    config: ConfigOpt = Path("patron.yml"), db: DbOpt = None, fmt: FormatOpt = Format.table,
    by: Annotated[str | None, typer.Option("--by", help="Sum ARR at risk by owner or segment.")] = None,
    bands: Annotated[bool, typer.Option("--bands", help="With --by: a row per band (high, medium, low) of each "
                                                        "owner or segment.")] = False,
    every: Annotated[bool, typer.Option("--all", help="Every scored account, low risk too.")] = False,
    limit: StakeOpt = 20,
) -> None:
    """Accounts at risk from the latest `patron predict`: probability, ARR at stake and the reasons."""
    from patron.predict.risk import BANDS, stake

    if by not in (None, "owner", "segment"):
        raise typer.BadParameter(f"{by!r}: sum by owner or segment", param_hint="--by")
    with Project.open(config, db) as project:
        info = project.predict.last_run()
        if info is None:
            raise PredictError("no churn scores yet: run `patron predict` first", "risk")
        scored = project.predict.risk(BANDS)
        groups = project.predict.risk_by(by) if by else None
        totals = project.predict.risk_totals(by) if by else None
        protected = project.predict.protected_features(info)
        read_currency(project)
    frame = scored if every else scored[scored["band"].isin(("high", "medium"))]
    money_at, day = stake(scored), f"{info['as_of']:%Y-%m-%d}"
    if fmt is Format.json:
        emit_json({"run_id": info["run_id"], "as_of": info["as_of"], "evaluation": info["evaluation"],
                   "accounts": records(frame), "by": None if groups is None else records(groups, list(groups.columns)),
                   "totals": None if totals is None else records(totals, list(totals.columns)), "stake": money_at,
                   "protected_features": protected, "warnings": _warnings(protected, info)})
        return
    if groups is not None and bands:
        table(f"ARR at risk by {by} and band ({day})", [by, "risk", "accounts", "ARR", "at stake"],
              [[getattr(r, by), r.band, f"{r.accounts:,}", money(r.arr), money(r.at_stake)]
               for r in groups.itertuples()], {"accounts", "ARR", "at stake"})
        return
    for w in _warnings(protected, info):
        say(w, "yellow")
    if totals is not None:
        _by(totals, by, day)
        say(f"{counted(len(scored), 'account')} scored on {day}: {stake_line(money_at)}.")
        return
    if frame.empty:
        say(f"No account at {'any' if every else 'high or medium'} risk on {day}.")
        return
    say(f"{counted(len(scored), 'account')} scored on {day}: {stake_line(money_at)}.")
    _accounts(frame, f"Accounts at risk on {day}, most at stake first", limit)
