"""`patron programs`: whether the loyalty, community, training and certification programs go with
better retention and NPS, against comparable customers who did not take part (or the holdout)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from patron.cli.formats import DASH, counted
from patron.cli.options import ConfigOpt, DbOpt, FormatOpt
from patron.cli.render import Format, emit_json, say, table
from patron.project import Project

if TYPE_CHECKING:
    from patron.act.programs import Outcome, ProgramResult
    from patron.stats import Estimate

MonthsOpt = Annotated[int, typer.Option("--months", min=1, max=60, help="Retention horizon: still paying this many "
                                                                        "months after the month of joining.")]
COLUMNS = ["program", "outcome", "participants", "comparison", "difference", "significant", "unmatched"]


def _level(e: Estimate | None, retention: bool) -> str:
    """A group's retention (a share) or NPS (points), with its n."""
    if e is None or e.value is None:
        return DASH
    value = f"{e.value:.1%}" if retention else f"{e.value:+.0f}"
    return f"{value} (n {e.n:,}{'' if retention else ' answers'})"


def _points(e: Estimate | None, retention: bool, interval: bool = True) -> str:
    """A difference in points: percentage points of retention, NPS points."""
    if e is None or e.value is None:
        return DASH
    scale, spec = (100, "+.1f") if retention else (1, "+.0f")
    shown = f"{scale * e.value:{spec}} pts"
    return f"{shown} ({scale * e.ci_low:{spec}} to {scale * e.ci_high:{spec}})" if interval else shown


def _row(p: ProgramResult, o: Outcome | None) -> list[str]:
    if o is None or o.note:
        return [p.program, o.outcome if o else DASH, DASH, DASH, "too few (below)", "", ""]
    retention = o.outcome == "retention"
    return [p.program, "retention" if retention else "NPS", _level(o.participants, retention),
            _level(o.comparison, retention), _points(o.difference, retention),
            "yes" if o.significant else "no", _points(o.unmatched_difference, retention, interval=False)]


def _prior(p: ProgramResult) -> str | None:
    from patron.act.programs import PRIOR_WORDS

    if p.design == "holdout" or not p.prior:
        return None
    return "Prior health read as " + "; ".join(f"{PRIOR_WORDS[k]} for {counted(n, 'participant')}"
                                               for k, n in p.prior.items()) + "."


def programs(
    config: ConfigOpt = Path("patron.yml"), db: DbOpt = None, fmt: FormatOpt = Format.table, months: MonthsOpt = 6,
) -> None:
    """Each program's participants against comparable non-participants (matched on segment, tenure, size
    and prior health) or its holdout: retention and NPS with 95% intervals, an association or an effect."""
    with Project.open(config, db) as project:
        report = project.act.programs(months)
    if fmt is Format.json:
        emit_json(report.to_dict())
        return
    say(report.method, "dim")
    table(f"Programs: participants against their comparison ({report.months}-month retention, NPS)",
          COLUMNS, [_row(p, o) for p in report.programs for o in ((p.retention, p.nps) if not p.note else (None,))],
          {"unmatched"}, drop=["unmatched", "significant"],
          notes=["difference: participants minus comparison, in points, with its 95% interval; unmatched: the same "
                 "against every non-participant paying at the same month ends"])
    for p in report.programs:
        say(f"{p.program}: {p.summary}" + ("" if p.note else f" This is {p.conclusion}."))
        prior = None if p.note else _prior(p)
        if prior:
            say(prior, "dim")
