"""`patron renewals` and `patron health`: the contracts coming up for renewal, and how healthy each
paying account is."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from patron.cli.formats import clip, counted, number, shown_of
from patron.cli.options import ConfigOpt, DbOpt, FormatOpt, limit_opt, parse_day, progress
from patron.cli.render import Format, emit_json, say, table
from patron.cli.scores import est, read_currency, reasons, records
from patron.project import Project

SoonestOpt = limit_opt("soonest renewal")  # --by sums instead, most at risk first
LeastHealthyOpt = limit_opt("least healthy")


def renewals(
    config: ConfigOpt = Path("patron.yml"), db: DbOpt = None, fmt: FormatOpt = Format.table,
    days: Annotated[int, typer.Option("--days", min=1, help="Renewals due within this many days.")] = 90,
    by: Annotated[str | None, typer.Option("--by", help="Sum by owner or segment (most ARR at risk first).")] = None,
    limit: SoonestOpt = 20,
) -> None:
    """Contracts renewing soon (longer than monthly): the probability each renews, ARR expected and at risk."""
    if by not in (None, "owner", "segment"):
        raise typer.BadParameter(f"{by!r}: sum by owner or segment", param_hint="--by")
    with Project.open(config, db) as project:
        frame = project.predict.renewals(days)
        read_currency(project)
        info = project.predict.last_run()
        why_none = project.predict.renewals_summary(days)["note"] if frame.empty else None
    groups = project.predict.renewals_by(frame, by) if by else None
    if fmt is Format.json:
        emit_json({"as_of": info["as_of"], "days": days,
                   "renewals": records(frame.rename(columns={"arr": "value"}), list(frame.columns.str.replace(
                       "^arr$", "value", regex=True))),
                   "by": None if groups is None else groups.to_dict("records"), "note": why_none})
        return
    window = f"the {counted(days, 'day')} after {info['as_of']:%Y-%m-%d}"
    if frame.empty:
        say(f"{why_none}.")
        return
    total, expected = float(frame["arr"].sum()), float(frame["expected_arr"].sum())
    say(f"{counted(len(frame), 'renewal')} due in {window}: {number(total, 'currency')} ARR due, "
        f"{number(expected, 'currency')} expected to renew, {number(total - expected, 'currency')} at risk "
        "(from the churn run of that day).")
    if groups is not None:
        table(f"Renewals by {by}, most at risk first", [by, "renewals", "ARR due", "expected", "at risk"],
              [[getattr(r, by), f"{r.renewals:,}", number(r.arr_due, "currency"), number(r.expected_arr, "currency"),
                number(r.at_stake, "currency")] for r in groups.itertuples()],
              {"renewals", "ARR due", "expected", "at risk"})
        return
    shown = frame if limit == 0 else frame.head(limit)
    table("Renewals, soonest first", ["renews", "customer", "owner", "ARR", "p(renew)", "why at risk"],
          [[str(r.renewal_date), r.customer_id, r.owner, number(r.arr, "currency"), f"{r.p_renew:.0%}",
            clip(reasons(r.reasons), 120) if r.band != "low" else "–"] for r in shown.itertuples()],
          {"ARR", "p(renew)"}, drop=["owner"], notes=[shown_of(len(shown), len(frame))])


def _score(v: float | None) -> float | None:
    """A score as JSON can carry it: an unscored account's is null, never NaN."""
    return None if v is None or v != v else v


def _check_line(check: dict | None, note: str = "") -> str:
    from patron.predict.health import CHECK_MONTHS

    if not check:
        return f"Not checked: {note}" if note else "Not checked."
    ev = check["evaluation"]
    bands = ", ".join(f"{b} {v['share']:.1%} of {v['accounts']:,}" for b, v in check["churn_by_band"].items()
                      if v["accounts"])
    auc = est(ev["auc"]) if ev["auc"]["value"] is not None else f"not measurable ({ev['note']})"
    return (f"Checked against who left: the scores of {check['scored_on']} ranked the "
            f"{counted(ev['positives'], 'account')} that left in the next {counted(CHECK_MONTHS, 'month')} with AUC "
            f"{auc}; left by band: {bands}.")


def health(
    config: ConfigOpt = Path("patron.yml"), db: DbOpt = None, fmt: FormatOpt = Format.table,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Score as of this day (YYYY-MM-DD; default: the "
                                                               "data's last day).")] = None,
    learn: Annotated[bool, typer.Option("--learn", help="Also propose weights fitted on the data, with the same "
                                                        "check, for you to accept into patron.yml.")] = False,
    limit: LeastHealthyOpt = 10,
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
                   "accounts": [{"customer_id": r.customer, "score": _score(r.score), "band": r.band,
                                 "components": r.details["components"], "weakest": r.reasons}
                                for r in now.itertuples()],
                   "proposal": None if proposal is None else {
                       "weights": proposal.weights, "learned_on": proposal.learned_on,
                       "check": proposal.check.to_dict()}})
        return
    counts = now["band"].value_counts()
    unscored = (f", {counts.get('unscored', 0):,} unscored (no data for any weighted component)"
                if counts.get("unscored") else "")
    say(f"Health on {run.as_of}: {counted(len(now), 'paying account')}, {counts.get('red', 0):,} red "
        f"(below {settings.red:g}), {counts.get('amber', 0):,} amber, {counts.get('green', 0):,} green "
        f"({settings.green:g} and up){unscored}. Weights: "
        + ", ".join(f"{k} {v:g}" for k, v in settings.weights.items()) + ".")
    say(_check_line(check, run.note))
    shown = now.head(limit) if limit else now
    table("Least healthy accounts", ["customer", "score", "band", "weakest"],
          # a tenth shown: 39.6 is red below 40, which "40" would hide
          [[r.customer, "–" if _score(r.score) is None else f"{r.score:.1f}", r.band,
            "; ".join(x["says"] for x in r.reasons) or "–"]
           for r in shown.itertuples()], {"score"}, notes=[shown_of(len(shown), len(now))])
    if proposal is not None:
        say("Proposed weights, fitted on " + f"{proposal.learned_on[0]:%Y-%m} to {proposal.learned_on[-1]:%Y-%m}: "
            + ", ".join(f"{k} {v:g}" for k, v in proposal.weights.items()) + ".")
        say(_check_line(proposal.check.to_dict()))
        say("To accept them, put under predict.health.weights in patron.yml: "
            + "{" + ", ".join(f"{k}: {v:g}" for k, v in proposal.weights.items()) + "}", "dim")
