"""`patron predict` and `patron risk`: who is likely to leave, why, and what is at stake."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from patron.cli.formats import clip, counted, number, shown_of
from patron.cli.options import ConfigOpt, DbOpt, FormatOpt, NewestOpt, parse_day, progress
from patron.cli.render import Format, emit_json, say, table
from patron.errors import PredictError
from patron.project import Project

if TYPE_CHECKING:
    import pandas as pd

    from patron.predict.evaluation import Estimate


def _est(e: Estimate | dict, spec: str = ".2f") -> str:
    d = e if isinstance(e, dict) else e.__dict__
    if d["value"] is None:
        return "–"
    return f"{format(d['value'], spec)} ({format(d['ci_low'], spec)}–{format(d['ci_high'], spec)})"


def _money(v: float | None) -> str:
    return "–" if v is None or v != v else number(v, "currency")


def _reasons(reasons: list[dict] | None) -> str:
    return "; ".join(r["says"] for r in reasons or []) or "–"


ACCOUNT = ["customer_id", "name", "owner", "segment", "band", "score", "value", "at_stake", "reasons", "details"]


def _records(frame: pd.DataFrame, keep: list[str] = ACCOUNT) -> list[dict]:
    return [{k: (None if v != v else v) if not isinstance(v, list | dict) else v for k, v in r.items()}
            for r in frame[[c for c in keep if c in frame]].to_dict("records")]


def _accounts(frame: pd.DataFrame, title: str, limit: int) -> None:
    shown = frame if limit == 0 else frame.head(limit)
    table(title, ["customer", "name", "owner", "risk", "ARR", "at stake", "why"],
          [[r.customer_id, r.name, r.owner, f"{r.band} {r.score:.0%}", _money(r.value),
            _money(r.at_stake), clip(_reasons(r.reasons), 160)] for r in shown.itertuples()],
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
    settings = project.predict.settings()
    if bt.mode == "holdout":
        say(f"One snapshot: {settings.outcome!r} says who left, and there is no history to test on a later day, so "
            f"the model learned from {bt.n_train:,} customers and was tested on {ev.n:,} others it never saw "
            f"({ev.positives:,} of whom left).", "yellow")
    else:
        h = settings.horizon_months
        say(f"Churn within {counted(h, 'month')}: trained on {counted(len(bt.trained_on), 'month-end snapshot')} "
            f"({bt.trained_on[0]:%Y-%m} to {bt.trained_on[-1]:%Y-%m}, {bt.n_train:,} customer-months, "
            f"{bt.positives_train:,} churned), tested on {bt.tested_on} ({ev.n:,} customers, {ev.positives:,} "
            "churned).")
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
    stake = sc.frame["at_stake"].sum(min_count=1) if "at_stake" in sc.frame else None
    money = f"ARR at stake {number(float(stake), 'currency')}" if stake == stake and stake is not None else \
        "no revenue loaded, so nothing in money"
    who = "paying customer" if bt.mode == "time" else "current customer"
    say(f"Scored {counted(len(sc.frame), who)} on {sc.as_of}: {high:,} high risk, {medium:,} medium; "
        f"{money} (run {run.run_id}).")
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
            raise PredictError("no churn scores yet: run `patron predict` first", "risk")
        frame = project.predict.risk(("high", "medium", "low") if every else ("high", "medium"))
        groups = project.predict.risk_by(by) if by else None
    if fmt is Format.json:
        emit_json({"run_id": info["run_id"], "as_of": info["as_of"], "evaluation": info["evaluation"],
                   "accounts": _records(frame), "by": None if groups is None else groups.to_dict("records")})
        return
    if groups is not None:
        table(f"ARR at risk by {by} ({info['as_of']:%Y-%m-%d})", [by, "risk", "accounts", "ARR", "at stake"],
              [[getattr(r, by), r.band, f"{r.accounts:,}", _money(r.arr), _money(r.at_stake)]
               for r in groups.itertuples()], {"accounts", "ARR", "at stake"})
        return
    if frame.empty:
        say(f"No account at {'any' if every else 'high or medium'} risk on {info['as_of']:%Y-%m-%d}.")
        return
    _accounts(frame, f"Accounts at risk on {info['as_of']:%Y-%m-%d}, most at stake first", limit)


def _check_line(check: dict | None, note: str = "") -> str:
    if not check:
        return f"Not checked: {note}" if note else "Not checked."
    ev = check["evaluation"]
    bands = ", ".join(f"{b} {v['share']:.1%} of {v['accounts']:,}" for b, v in check["churn_by_band"].items()
                      if v["accounts"])
    auc = _est(ev["auc"]) if ev["auc"]["value"] is not None else f"not measurable ({ev['note']})"
    return (f"Checked against who left: the scores of {check['scored_on']} ranked the {ev['positives']:,} accounts "
            f"that left in the next 3 months with AUC {auc}; left by band: {bands}.")


def health(
    config: ConfigOpt = Path("patron.yml"), db: DbOpt = None, fmt: FormatOpt = Format.table,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Score as of this day (YYYY-MM-DD; default: the "
                                                               "data's last day).")] = None,
    learn: Annotated[bool, typer.Option("--learn", help="Also propose weights fitted on the data, with the same "
                                                        "check, for you to accept into patron.yml.")] = False,
    limit: NewestOpt = 10,
) -> None:
    """Health 0-100 per account and month from the scorecard in patron.yml, checked against who left."""
    day = parse_day(as_of, "--as-of")
    with Project.open(config, db) as project, progress() as bar:
        bar.add_task("scoring health", total=None)
        run = project.predict.health(day)
        proposal = project.predict.learn_health(day) if learn else None
        settings = project.predict.all_settings().health
    now = run.scores[run.scores["month"] == run.as_of].sort_values(["score", "customer"])
    check = run.check.to_dict() if run.check else None
    if fmt is Format.json:
        emit_json({"run_id": run.run_id, "as_of": run.as_of, "weights": settings.weights,
                   "bands": {"red": settings.red, "green": settings.green}, "check": check, "note": run.note,
                   "accounts": [{"customer_id": r.customer, "score": r.score, "band": r.band,
                                 "components": r.details["components"], "weakest": r.reasons}
                                for r in now.itertuples()],
                   "proposal": None if proposal is None else {
                       "weights": proposal.weights, "learned_on": proposal.learned_on,
                       "check": proposal.check.to_dict()}})
        return
    counts = now["band"].value_counts()
    say(f"Health on {run.as_of}: {counted(len(now), 'paying account')}, {counts.get('red', 0):,} red "
        f"(below {settings.red:g}), {counts.get('amber', 0):,} amber, {counts.get('green', 0):,} green "
        f"({settings.green:g} and up). Weights: " + ", ".join(f"{k} {v:g}" for k, v in settings.weights.items()) + ".")
    say(_check_line(check, run.note))
    shown = now.head(limit) if limit else now
    table("Least healthy accounts", ["customer", "score", "band", "weakest"],
          [[r.customer, f"{r.score:.0f}", r.band, "; ".join(x["says"] for x in r.reasons) or "–"]
           for r in shown.itertuples()], {"score"}, notes=[shown_of(len(shown), len(now))])
    if proposal is not None:
        say("Proposed weights, fitted on " + f"{proposal.learned_on[0]:%Y-%m} to {proposal.learned_on[-1]:%Y-%m}: "
            + ", ".join(f"{k} {v:g}" for k, v in proposal.weights.items()) + ".")
        say(_check_line(proposal.check.to_dict()))
        say("To accept them, put under predict.health.weights in patron.yml: "
            + "{" + ", ".join(f"{k}: {v:g}" for k, v in proposal.weights.items()) + "}", "dim")


def renewals(
    config: ConfigOpt = Path("patron.yml"), db: DbOpt = None, fmt: FormatOpt = Format.table,
    days: Annotated[int, typer.Option("--days", min=1, help="Renewals due within this many days.")] = 90,
    by: Annotated[str | None, typer.Option("--by", help="Sum by owner or segment.")] = None,
    limit: NewestOpt = 20,
) -> None:
    """Contracts renewing soon (longer than monthly): the probability each renews, ARR expected and at risk."""
    if by not in (None, "owner", "segment"):
        raise typer.BadParameter(f"{by!r}: sum by owner or segment", param_hint="--by")
    with Project.open(config, db) as project:
        frame = project.predict.renewals(days)
        info = project.predict.last_run()
    groups = project.predict.renewals_by(frame, by) if by else None
    if fmt is Format.json:
        emit_json({"as_of": info["as_of"], "days": days,
                   "renewals": _records(frame.rename(columns={"arr": "value"}), list(frame.columns.str.replace(
                       "^arr$", "value", regex=True))),
                   "by": None if groups is None else groups.to_dict("records")})
        return
    total, expected = float(frame["arr"].sum()), float(frame["expected_arr"].sum())
    say(f"{counted(len(frame), 'renewal')} due in the {days} days after {info['as_of']:%Y-%m-%d}: "
        f"{number(total, 'currency')} ARR due, {number(expected, 'currency')} expected to renew, "
        f"{number(total - expected, 'currency')} at risk (from the churn run of that day).")
    if groups is not None:
        table(f"Renewals by {by}", [by, "renewals", "ARR due", "expected", "at risk"],
              [[getattr(r, by), f"{r.renewals:,}", number(r.arr_due, "currency"), number(r.expected_arr, "currency"),
                number(r.at_stake, "currency")] for r in groups.itertuples()], {"renewals", "ARR due", "expected",
                                                                              "at risk"})
        return
    shown = frame if limit == 0 else frame.head(limit)
    table("Renewals, soonest first", ["renews", "customer", "owner", "ARR", "p(renew)", "why at risk"],
          [[str(r.renewal_date), r.customer_id, r.owner, number(r.arr, "currency"), f"{r.p_renew:.0%}",
            clip(_reasons(r.reasons), 120) if r.band != "low" else "–"] for r in shown.itertuples()],
          {"ARR", "p(renew)"}, drop=["owner"], notes=[shown_of(len(shown), len(frame))])


def _label(name: object) -> str:
    """A behaviour by what it measures; a touchpoint or theme by its own name."""
    from patron.predict.features import FEATURES

    return next((f.description for f in FEATURES if f.name == name), str(name))


def _driver_rows(imp, rated: dict[str, int]) -> list[list[str]]:
    return [[_label(d.predictor), f"{d.percent:.0f}%", f"{max(d.percent_low, 0):.0f}–{d.percent_high:.0f}%",
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
                   "skipped": [{"segment": s, "n": n, "reason": r} for s, n, r in result.skipped]})
        return
    imp = result.overall
    what = "the NPS answer" if of == "nps" else "leaving"
    say(f"What moves {what} among {among}, {result.since:%Y-%m} to {result.as_of:%Y-%m}: "
        f"{imp.n:,} customers; together they explain {imp.r2:.1%} of its variance (R²).")
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
        say(f"{top.predictor} ranks first" + (", clear of the others (its interval above theirs)."
                                              if top.clear_of_next else ", but its interval overlaps the next one's."))
    for seg, part in result.segments.items():
        table(f"{by} {seg} ({part.n:,} customers)", cols, _driver_rows(part, result.rated),
              {"share", "95% interval", cols[3]})
    for seg, n, why in result.skipped:
        say(f"{by} {seg}: not analysed ({n:,} customers): {why}", "dim")


def _fit_line(name: str, fit: dict, params: tuple[str, ...]) -> str:
    shown = ", ".join(f"{p} = {fit[p]:.4g}" for p in params)
    return (f"{name}: {shown}; log-likelihood {fit['log_likelihood']:,.1f} over {fit['n']:,} customers"
            + ("" if fit.get("converged", True) else " (DID NOT CONVERGE)"))


def clv(
    config: ConfigOpt = Path("patron.yml"), db: DbOpt = None, fmt: FormatOpt = Format.table,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Fit on what was known that day (YYYY-MM-DD; "
                                                               "default: the data's last day).")] = None,
    holdout_end: Annotated[str | None, typer.Option("--holdout-end", help="Also compare the purchases the fit "
                                                    "expects after --as-of with those made up to this day.")] = None,
    limit: NewestOpt = 10,
) -> None:
    """What each customer is worth: subscribers over the lifetime their churn risk leaves them, buyers
    by BG/NBD and Gamma-Gamma over their orders; every run kept."""
    day, end = parse_day(as_of, "--as-of"), parse_day(holdout_end, "--holdout-end")
    if end is not None and (day is None or end <= day):
        raise typer.BadParameter("give --as-of too, and a later day", param_hint="--holdout-end")
    with Project.open(config, db) as project, progress() as bar:
        bar.add_task("fitting", total=None)
        run = project.predict.value(day)
        check = project.predict.clv_holdout(day, end) if end else None
    t = run.transactional
    if fmt is Format.json:
        emit_json({"run_id": run.run_id, "as_of": run.as_of, "notes": run.notes,
                   "bgnbd": t.purchases.to_dict() if t else None, "gamma_gamma": t.spend.to_dict() if t else None,
                   "holdout": None if check is None else {
                       "calibration_end": check.calibration_end, "holdout_end": check.holdout_end,
                       "weeks": check.weeks, "predicted": check.predicted_total, "actual": check.actual_total,
                       "mean_absolute_error": check.mean_absolute_error,
                       "by_frequency": check.by_frequency.to_dict("records")},
                   "customers": _records(run.customers, list(run.customers.columns))})
        return
    say(f"Lifetime value on {run.as_of} of {counted(len(run.customers), 'customer')}: "
        f"{number(float(run.customers['value'].sum()), 'currency')} in all (run {run.run_id}).")
    if t is not None:
        say(_fit_line("Purchases (BG/NBD)", t.purchases.to_dict(), ("r", "alpha", "a", "b")))
        say(_fit_line("Spend (Gamma-Gamma)", t.spend.to_dict(), ("p", "q", "gamma")))
    for note in run.notes:
        say(note, "yellow")
    shown = run.customers.head(limit) if limit else run.customers
    cols = [c for c in ("subscription_value", "expected_months", "orders_value", "expected_purchases",
                        "probability_alive") if c in shown]
    table("Most valuable customers", ["customer", "value", *cols],
          [[r["customer"], _money(r["value"]), *[_money(r[c]) if c.endswith("value") else
                                                   "–" if r[c] != r[c] else f"{r[c]:,.2f}" for c in cols]]
           for r in shown.to_dict("records")], {"value", *cols}, notes=[shown_of(len(shown), len(run.customers))])
    if check is not None:
        say(f"Holdout {check.calibration_end} to {check.holdout_end} ({check.weeks:.0f} weeks): "
            f"{check.predicted_total:,.0f} purchases expected, {check.actual_total:,} made; "
            f"mean absolute error per customer {check.mean_absolute_error:.2f}.")
        table("Mean purchases in the holdout, by purchases before it", ["repeat purchases", "customers",
                                                                         "expected", "made"],
              [[r.frequency, f"{r.customers:,}", f"{r.predicted:.2f}", f"{r.actual:.2f}"]
               for r in check.by_frequency.itertuples()], {"customers", "expected", "made"})
