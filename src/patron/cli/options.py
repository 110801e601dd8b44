"""What many commands share: their options, progress bars and date arguments."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from patron.cli.render import Format, err, plain
from patron.errors import PatronError

DbOpt = Annotated[
    Path | None, typer.Option("--db", help="Warehouse file (default: patron.yml's, else ./patron.duckdb).")
]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="table (readable) or json (for scripts).")]
ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="Project file.")]
NewestOpt = Annotated[int, typer.Option("--limit", min=0,
                                        help="Table rows to show, newest first (0: all; JSON has all).")]


def limit_opt(order: str) -> object:
    """--limit for a table in another order than newest first: `order` says which rows come first."""
    return Annotated[int, typer.Option("--limit", min=0, help=f"Table rows to show, {order} first (0: all; JSON "
                                                              "has all).")]


StakeOpt = limit_opt("most ARR at stake")  # accounts at risk


def progress() -> Progress:
    """A bar on stderr while a long step runs, gone when it ends; none when stderr is not a terminal.
    Its lines are text, never markup: they name files (`exports[/]a.csv` is a file name)."""
    return Progress(TextColumn("{task.description}", markup=False), BarColumn(), TaskProgressColumn(),
                    TimeElapsedColumn(), console=err, transient=True, disable=not err.is_terminal)


class IngestBar:
    """One bar per file: read (the engine's own %), then check and load."""

    def __init__(self, bar: Progress):
        self.bar, self.tasks = bar, {}

    def __call__(self, file: str, step: str, pct: float) -> None:
        if file not in self.tasks:
            self.tasks[file] = self.bar.add_task(file, total=100)
        shown = {"read": 0.8 * pct, "check": 85, "load": 92, "done": 100}[step]
        # a file name is shown as text: no markup, no control sequence
        self.bar.update(self.tasks[file], completed=shown, description=f"{step:>5} {plain(file).plain}")


def parse_day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise PatronError(f"{option}: {text!r} is not a date (YYYY-MM-DD)") from None
