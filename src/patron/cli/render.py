"""Renderers: the same result object as a Rich table or as one JSON document on stdout."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from enum import Enum
from typing import Any

from rich.console import Console
from rich.table import Table


class Format(str, Enum):
    table = "table"
    json = "json"


out = Console()
err = Console(stderr=True)


def _default(o: Any) -> Any:
    if isinstance(o, (date, datetime)):
        return o.isoformat()
    if hasattr(o, "to_dict"):
        return o.to_dict()
    return str(o)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, default=_default, indent=2) + "\n")


def table(title: str | None, columns: list[str], rows: list[list[Any]], numeric: set[str] = frozenset()) -> None:
    t = Table(title=title, title_justify="left", header_style="bold")
    for c in columns:
        t.add_column(c, justify="right" if c in numeric else "left", overflow="fold",
                     no_wrap=c in numeric or c == columns[0])
    for r in rows:
        t.add_row(*("" if v is None else f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v)
                    for v in r))
    out.print(t)
