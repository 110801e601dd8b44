"""`patron run`: every stage that has work, in order."""

from __future__ import annotations

from pathlib import Path

import typer

from patron.cli.options import ConfigOpt, DbOpt, FormatOpt, IngestBar, progress
from patron.cli.render import Format, emit_json, problem, table
from patron.project import Project


def run(config: ConfigOpt = Path("patron.yml"), db: DbOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Load the sources, resolve identities, score and theme new texts, find spikes and store the
    metric catalog: each stage only when it has work (exit code 1 if ingest refused a source)."""
    with Project.open(config, db, require_config=True) as project, progress() as bar:
        task = None

        def scored(done: int, total: int) -> None:
            nonlocal task
            if task is None:
                task = bar.add_task("scoring texts", total=total)
            bar.update(task, completed=done, total=total)

        result = project.run(IngestBar(bar), scored, seal=True)
    refused = result.ingest.refused if result.ingest else []
    if fmt is Format.json:
        emit_json(result.to_dict())
    else:
        table("patron run", ["stage", "what it did", "seconds"],
              [[s.stage, s.did, f"{s.seconds:.1f}"] for s in result.stages], {"seconds"})
        for r in refused:
            problem(r.message())
    if refused:
        raise typer.Exit(1)
