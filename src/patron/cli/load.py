"""Getting data in and seeing what is there: init, check, ingest, quarantine, status, briefing."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from patron.cli.formats import clip, counted, shown_of
from patron.cli.options import ConfigOpt, DbOpt, FormatOpt, IngestBar, progress
from patron.cli.render import Format, as_dicts, emit_json, escape, out, problem, say, table
from patron.errors import PatronError
from patron.project import Project

if TYPE_CHECKING:
    from patron.ingest import IngestResult


def init(
    config: ConfigOpt = Path("patron.yml"),
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented patron.yml to start from."""
    if config.exists() and not force:
        raise PatronError(f"{config}: already exists; use --force to overwrite it")
    config.write_text(resources.files("patron").joinpath("project_template.yml").read_text(encoding="utf-8"),
                      encoding="utf-8")
    out.print(f"Wrote {escape(str(config))}. Add your sources under [bold]sources:[/], then run "
              "[bold]patron check[/].")


def check(config: ConfigOpt = Path("patron.yml"), fmt: FormatOpt = Format.table) -> None:
    """List every problem in patron.yml and its sources' files at once (exit code 1 if any), and
    what ingest would reject in the first rows of each file."""
    result = Project.check(config)
    cfg, problems = result.config, result.problems
    if fmt is Format.json:
        emit_json({"file": str(config), "ok": not problems, "problems": problems,
                   "sources": list(cfg.sources) if cfg else [],
                   "samples": [asdict(s) | {"share": s.share} for s in result.samples]})
    elif problems:
        for p in problems:
            problem(p, str(config))
    else:
        say(f"{config}: ok — {counted(len(cfg.sources), 'source')}, {counted(len(cfg.journey), 'journey stage')}")
        for s in result.samples:
            if s.rejected:
                say(s.line(), "yellow")
    if problems:
        raise typer.Exit(1)


def render_ingest(result: IngestResult, fmt: Format) -> None:
    if fmt is Format.json:
        emit_json(result.to_dict())
        return
    files_of = Counter(f.source for f in result.files)
    t = result.to_dict()["totals"]
    # filtered and rolled-up rows are counted only where a source filters or rolls up
    shaped = [k for k in ("filtered", "rolled_up") if t[k]]
    rows = [[f.source if files_of[f.source] == 1 else f"{f.source} {Path(f.file).name}",
             f.read, f.loaded, f.updated, f.already_loaded, *(getattr(f, k) for k in shaped), f.quarantined]
            for f in result.files]
    rows.append(["total", t["read"], t["loaded"], t["updated"], t["already_loaded"], *(t[k] for k in shaped),
                 t["quarantined"]])
    numbers = ["read", "loaded", "updated", "already", *(k.replace("_", " ") for k in shaped), "quarantined"]
    table(f"Ingest: read = {' + '.join(n for n in numbers[1:] if n != 'updated')}", ["source", *numbers], rows,
          set(numbers), drop=["updated", "rolled up", "filtered"])
    if t["quarantined"]:
        out.print(f"[yellow]{t['quarantined']:,} rows quarantined[/]: see why with `patron quarantine`.")
    ignored = result.unmapped_columns()
    if ignored:
        say(f"Columns not mapped to the model (kept in the files, not loaded): {', '.join(sorted(ignored))}", "dim")


def ingest(
    file: Annotated[Path | None, typer.Argument(help="A one-off file whose columns carry canonical names.")] = None,
    into: Annotated[str | None, typer.Option("--into", help="Canonical table for FILE.")] = None,
    source: Annotated[list[str] | None, typer.Option("--source", "-s", help="Only these configured sources.")] = None,
    config: ConfigOpt = Path("patron.yml"),
    db: DbOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Load the configured sources (or FILE --into TABLE); bad rows go to quarantine."""
    if file is not None and into is None:
        raise PatronError(f"{file}: say which table it loads into with --into (e.g. --into responses)")
    if into is not None and file is None:
        raise PatronError("--into needs a FILE to load")
    with Project.open(config, db) as project, progress() as bar:
        cb = IngestBar(bar)
        result = (project.ingest.file(file, into, progress=cb) if file is not None
                  else project.ingest(source, progress=cb))
    render_ingest(result, fmt)
    if result.refused:
        if fmt is not Format.json:
            for r in result.refused:
                problem(r.message())
        raise typer.Exit(1)


def quarantine(
    source: Annotated[str | None, typer.Option("--source", "-s", help="Only this source.")] = None,
    rows: Annotated[bool, typer.Option("--rows", help="List rejected rows instead of a summary.")] = False,
    history: Annotated[bool, typer.Option("--all", help="Every problem ever found, also those a later load "
                                                        "of the file no longer had.")] = False,
    limit: Annotated[int, typer.Option(min=1, help="With --rows: at most this many.")] = 50,
    config: ConfigOpt = Path("patron.yml"),
    db: DbOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Show the rows still rejected, and why (a row a later load took in leaves this view)."""
    with Project.open(config, db) as project:
        if rows:
            data = project.ingest.quarantine_rows(source, limit, history)
            if fmt is Format.json:
                emit_json(data)
                return
            total = project.ingest.quarantine_count(source, history)
            table("Quarantined rows" + (" (every problem ever found)" if history else ""),
                  ["source", "file", "row", "field", "value", "reason"],
                  [[d["source"], d["file"], d["row"], d["field"], d["value"], d["reason"]] for d in data], {"row"},
                  drop=["file", "source", "value"], notes=[shown_of(len(data), total)])
            return
        summary = project.ingest.quarantine(source, history)
        earlier = project.ingest.quarantine_count(source, history=True) if not summary and not history else 0
    if fmt is Format.json:
        emit_json(as_dicts(summary))
    elif not summary:
        out.print("Quarantine is empty: no row read is rejected." + (
            " (Earlier loads rejected rows that later loads took in: `patron quarantine --all` shows them.)"
            if earlier else ""))
    else:
        table("Quarantine" + (": every problem ever found" if history else ": rows still rejected"),
              ["source", "table", "field", "reason", "rows", "first example"],
              [[s.source, s.table, s.field or "(line)", s.reason, s.rows,
                f"{s.example_file} row {s.example_row}: {clip(repr(s.example_value), 80)}"] for s in summary],
              {"rows"}, drop=["table", "first example"],
              notes=[f"{s.source} {s.field}: {s.hint}" for s in summary if s.hint])


def status(config: ConfigOpt = Path("patron.yml"), db: DbOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Rows in each canonical table, and when they were last loaded."""
    with Project.open(config, db) as project:
        data = project.ingest.status()
        where = f"{project.spark.path} (spark)" if project.spark else str(project.db)
    if fmt is Format.json:
        emit_json({"warehouse": where, "tables": as_dicts(data)})
    else:
        table(f"Warehouse {where}", ["table", "rows", "sources", "last loaded"],
              [[s.table, s.rows, s.sources, s.last_loaded_at] for s in data], {"rows", "sources"})


def briefing(
    out_file: Annotated[Path, typer.Option("--out", "-o", help="Where to write the HTML.")] = Path("briefing.html"),
    config: ConfigOpt = Path("patron.yml"),
    db: DbOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Write the briefing: one self-contained HTML file that opens with no network."""
    from patron.report import build, render_html

    with Project.open(config, db) as project:
        wh = project.existing_warehouse()
        wh.forbid_file_access()
        b = build(wh, project.metrics.catalog())
    out_file.write_text(render_html(b), encoding="utf-8")
    out_file.chmod(0o600)  # customers' names and words: the owner's alone, even over an older file
    if fmt is Format.json:
        emit_json({"path": str(out_file), "briefing": b.to_dict()})
    else:
        out.print(f"Briefing written to [bold]{escape(str(out_file))}[/]")
