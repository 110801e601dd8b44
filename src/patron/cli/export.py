"""`patron export`: the warehouse copied to another engine's layout and back, every table counted."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from patron.cli.formats import counted
from patron.cli.options import ConfigOpt, DbOpt, FormatOpt
from patron.cli.render import Format, emit_json, say, table
from patron.project import Project


def export(engine: Annotated[str, typer.Option("--engine", help="spark: this DuckDB warehouse as the Spark "
                                                                 "layout; duckdb: a Spark layout as a new file.")],
           to: Annotated[Path, typer.Option("--to", help="A new folder (spark) or a new file (duckdb).")],
           source: Annotated[Path | None, typer.Option("--from", help="For duckdb: the Spark layout's folder "
                                                                      "(default: patron.yml's).")] = None,
           config: ConfigOpt = Path("patron.yml"), db: DbOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Copy the warehouse to another engine's layout (or back), with every table's rows counted on both sides."""
    with Project.open(config, db) as project:
        copied = project.export(engine, to, source)
    if fmt is Format.json:
        emit_json(copied.to_dict())
        return
    table(f"{copied.source} -> {copied.target}", ["table", "rows"],
          [[name, rows] for name, rows in copied.tables.items() if rows], {"rows"})
    say(f"{counted(len(copied.tables), 'table')} and {counted(copied.rows, 'row')} copied; every count checked.")
