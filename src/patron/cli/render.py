"""Renderers: the same result as a table a person reads at any terminal width, or as one JSON
document on stdout for scripts.

Every table goes through `table`: cells and headers are plain text (customer text is never read as
markup), numbers never collapse into scientific notation, and a table too wide for the terminal
loses its least important columns whole, with a line saying which, instead of squeezing every
column until headers and values vanish.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Collection, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any

from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from patron.cli.formats import cell
from patron.units import readable


class Format(str, Enum):
    table = "table"
    json = "json"


# no :emoji: codes: text from files and customers is printed as written
out = Console(emoji=False)
err = Console(stderr=True, emoji=False)

WRAP_MIN = 14  # the narrowest a wrapping text column gets
WORD_MAX = 24  # a longer word (an email, a path) may fold rather than widen its column further


def _default(o: Any) -> Any:
    if isinstance(o, (date, datetime)):
        return o.isoformat()
    if hasattr(o, "to_dict"):
        return o.to_dict()
    return str(o)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, default=_default, indent=2) + "\n")


def as_dicts(items: Iterable[Any]) -> list[dict]:
    """Result records (dataclasses) as the dicts their JSON document lists."""
    return [asdict(i) for i in items]


def error_json(message: str, usage: str | None = None) -> None:
    """A failed command's one line on stderr, for scripts that asked for --format json; `usage`:
    for a mistake in the arguments, the command whose `--help` tells them."""
    doc = {"error": message} if usage is None else {"error": message, "kind": "usage", "command": usage}
    sys.stderr.write(json.dumps(doc) + "\n")


def plain(text: str) -> Text:
    """Customer or file text as the terminal shows it: never markup, never a control sequence nor a
    mark that reorders or hides text (`units.readable`, which the briefing uses too)."""
    return Text(readable(text))


def problem(message: str, label: str = "error") -> None:
    """One problem on stderr: the label in red, the message (which may quote a file) as text."""
    line = Text.assemble((label, "red"), ": ", plain(message))
    err.print(line, highlight=False, soft_wrap=True)


def say(text: str, style: str | None = None, console: Console | None = None, wrap: bool = True) -> None:
    """Text that may hold customer or file text: printed as is, never as markup or a control
    sequence; wrapped at the terminal's width unless `wrap` is False (a key or a command to copy)."""
    shown = plain(text)
    shown.stylize(style or "")
    (console or out).print(shown, soft_wrap=not wrap)


@dataclass
class Layout:
    """Which columns a table shows at a width, and how wide each is."""

    shown: list[int]
    widths: list[int]
    dropped: list[str]


def _longest_word(texts: Iterable[str]) -> int:
    return max((cell_len(w) for t in texts for w in t.split()), default=0)


def layout(columns: Sequence[str], rows: Sequence[Sequence[str]], width: int, numeric: Collection[str] = (),
           drop: Sequence[str] = ()) -> Layout:
    """Fit a table to `width`: leave out columns with nothing in them, then the least important (in
    `drop` order, then from the right; never the first) until every shown column gets at least its
    readable minimum; spare room goes to the columns that wrap. Headers always fit on one line."""
    n = len(columns)
    lines = [[line for r in rows for line in r[i].split("\n")] for i in range(n)]
    natural = [max([cell_len(columns[i]), *(cell_len(t) for t in lines[i])]) for i in range(n)]
    minimum = []
    for i, name in enumerate(columns):
        if name in numeric:
            minimum.append(natural[i])
        else:
            words = min(_longest_word(lines[i]), WORD_MAX)
            minimum.append(max(cell_len(name), min(natural[i], max(WRAP_MIN, words))))
    shown = [i for i in range(n) if i == 0 or not rows or any(t.strip() for t in lines[i])]
    order = [columns.index(c) for c in drop if c in columns] + list(range(n - 1, 0, -1))
    dropped: list[str] = []

    def needed() -> int:
        return sum(minimum[i] for i in shown) + 3 * len(shown) + 1  # padding and rules

    for i in order:
        if needed() <= width:
            break
        if i in shown and i != 0:
            shown.remove(i)
            dropped.append(columns[i])
    widths = {i: minimum[i] for i in shown}
    spare = width - needed()
    while spare > 0:
        wanting = [i for i in shown if widths[i] < natural[i]]
        if not wanting:
            break
        share = max(1, spare // len(wanting))
        for i in wanting:
            give = min(share, natural[i] - widths[i], spare)
            widths[i] += give
            spare -= give
            if spare == 0:
                break
    return Layout(shown, [widths[i] for i in shown], dropped)


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]],
          numeric: Collection[str] = frozenset(), *, drop: Sequence[str] = (), notes: Iterable[str | None] = (),
          lines: bool = False, console: Console | None = None) -> None:
    """Print rows under `columns` at the console's width. `numeric` columns are right-aligned and never
    wrap; `drop` names the columns to give up first when the table is too wide; `notes` are lines
    printed under it (a None is skipped), such as what a limit left out."""
    console = console or out
    texts = [[cell(v) for v in r] for r in rows]
    fit = layout(columns, texts, console.width, numeric, drop)
    if title:  # on a line of its own: as the table's title it would wrap to a narrow table's width, mid-word
        console.print(plain(title), style="table.title")
    t = Table(header_style="bold", show_lines=lines)
    for i, w in zip(fit.shown, fit.widths, strict=True):
        num = columns[i] in numeric
        t.add_column(plain(columns[i]), justify="right" if num else "left", no_wrap=num, overflow="fold", width=w)
    for r in texts:
        t.add_row(*(plain(r[i]) for i in fit.shown))
    console.print(t)
    if fit.dropped:
        say(f"Not shown at {console.width} columns: {', '.join(fit.dropped)} "
            "(widen the terminal, or use --format json).", "dim", console)
    for note in notes:
        if note:
            say(note, "dim", console)


__all__ = ["Format", "as_dicts", "emit_json", "err", "error_json", "escape", "layout", "out", "plain", "say", "table"]
