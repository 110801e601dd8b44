"""`patron generate` and `patron demo`: a realistic company to try every stage on."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from patron.cli.formats import counted, interval, number
from patron.cli.options import FormatOpt, IngestBar, parse_day, progress
from patron.cli.render import Format, emit_json, escape, out, table
from patron.errors import PatronError
from patron.project import Project

if TYPE_CHECKING:
    from patron.demo import GenerateResult


def _generate(customers: int, seed: int, out_dir: Path, day: date | None, usage_days: int,
              on_progress: Callable[[int, int], None]) -> GenerateResult:
    from patron.demo import generate as run

    try:
        return run(customers, seed, out_dir, as_of=day, usage_days=usage_days, progress=on_progress)
    except FileExistsError as e:
        raise PatronError(str(e)) from None


def generate(
    customers: Annotated[int, typer.Option(min=1, help="How many customers.")] = 5000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same company.")] = 42,
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder for exports/, truth/ and patron.yml.")
    ] = Path("patron-demo"),
    as_of: Annotated[str | None, typer.Option(help="Last day of the data, YYYY-MM-DD (default: today).")] = None,
    usage_days: Annotated[int, typer.Option(min=1, help="Days of daily product usage (a year lets churn models learn "
                                                         "from usage).")] = 365,
    fmt: FormatOpt = Format.table,
) -> None:
    """Write a realistic demo company's exports, a patron.yml that maps them, and the planted truth."""
    day = parse_day(as_of, "--as-of")
    t0 = time.perf_counter()
    with progress() as bar:
        task = bar.add_task("generating customers", total=customers)
        result = _generate(customers, seed, out_dir, day, usage_days,
                           lambda done, total: bar.update(task, completed=done))
    if fmt is Format.json:
        emit_json(result.to_dict() | {"seconds": round(time.perf_counter() - t0, 2)})
        return
    table(f"Demo company: {counted(customers, 'customer')}, seed {seed}, data through {result.as_of}",
          ["file", "rows"], [[k, v] for k, v in result.files.items()], {"rows"})
    out.print(f"Next: [bold]cd {escape(str(out_dir))} && patron ingest[/]")


def demo(
    customers: Annotated[int, typer.Option(min=1, help="How many customers.")] = 5000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 42,
    directory: Annotated[Path, typer.Option("--dir", help="Folder for the demo project.")] = Path("patron-demo"),
    fmt: FormatOpt = Format.table,
) -> None:
    """Generate a company, load it, run every stage, and write briefing.html."""
    from patron.demo.plays import EXPORT as PLAYS_EXPORT
    from patron.pipeline import STAGES
    from patron.report import build, render_html

    if directory.exists() and any(directory.iterdir()):
        raise PatronError(f"{directory}: is not empty; choose another --dir or remove it")
    t0 = time.perf_counter()
    with progress() as bar:
        task = bar.add_task("generating the demo company", total=customers)
        _generate(customers, seed, directory, None, 365, lambda d, t: bar.update(task, completed=d))
    with Project.open(directory / "patron.yml", require_config=True) as project:
        with progress() as bar:
            task = bar.add_task("scoring texts", total=None, visible=False)
            # every stage but the plays; then the success team's earlier plays, then the plays, which
            # keep the customers those held out
            stages = [s for s in STAGES if s != "plays"]
            ran = project.run(IngestBar(bar), lambda done, total: bar.update(task, completed=done, total=total,
                                                                              visible=True), seal=True, stages=stages)
        project.act.import_plays(directory / "exports" / PLAYS_EXPORT, "crm", "demo")
        ran.stages += project.run(stages=["plays"]).stages
        result, identities, scored, themes = ran.ingest, ran.identity, ran.enrich, ran.themes
        b = build(project.warehouse, project.metrics.catalog())
        db = project.db
    path = directory / "briefing.html"
    path.write_text(render_html(b), encoding="utf-8")
    seconds = time.perf_counter() - t0
    found = len([t for t in themes.themes if t.items])
    if fmt is Format.json:
        emit_json({"dir": str(directory), "warehouse": str(db), "briefing": str(path),
                   "ingest": result.to_dict()["totals"], "identity": identities.to_dict(),
                   "texts": scored.items, "themes": found,
                   "unthemed_share": themes.unthemed_share, "spikes": len(b.spikes), "seconds": round(seconds, 1),
                   "headlines": [h.__dict__ for h in b.headlines],
                   "churn": None if ran.churn is None else {"run_id": ran.churn.run_id,
                                                            **ran.churn.backtest.to_dict()}})
        return
    t = result.to_dict()["totals"]
    out.print(f"[bold]patron demo[/]: {counted(customers, 'customer')}, {len(result.files)} files, "
              f"{t['read']:,} rows read, {t['loaded']:,} loaded, {t['quarantined']:,} quarantined "
              f"({seconds:.0f} s)")
    out.print(f"Identity: {counted(identities.records, 'source record')} resolved to "
              f"{counted(identities.customers, 'customer')}")
    out.print(f"Listening: {scored.items:,} texts scored, {found} themes "
              f"({themes.unthemed_share:.1%} without one), {len(b.spikes)} spikes in the last 30 days")
    risk = next((r.did for r in ran.stages if r.stage == "predict"), None)
    if risk:
        out.print(f"Prediction: {escape(risk)}")
    month = next((h.period for h in b.headlines if h.period), "")
    table(f"Headline numbers, {month} (patron metrics show METRIC for more)", ["metric", "value", "95% interval", "n"],
          [[h.metric, number(h.value, h.unit, b.currency), interval(h.ci_low, h.ci_high, h.unit, b.currency), h.n]
           for h in b.cards],
          {"value", "n"}, drop=["95% interval"])
    out.print(f"Briefing: [bold]{escape(str(path.resolve()))}[/]")
    out.print(f"Explore: [bold]cd {escape(str(directory))}[/] then [bold]patron status[/], "
              "[bold]patron quarantine[/]")
