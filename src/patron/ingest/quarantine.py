"""The quarantine as it stands now: the rows still rejected, grouped by what is wrong.

Every problem ever found stays in the `quarantine` table (the history). A problem is current
until a later load of the same file no longer finds it: fixing a mapping and loading again
empties the view, while the history still says what was wrong and when.
"""

from __future__ import annotations

from dataclasses import dataclass

from patron.ingest.dates import date_format_hint, is_date_problem
from patron.model import TABLES
from patron.warehouse import Warehouse

# a problem is current unless a later load of its file (a whole file load: it has a checksum)
# did not find it again; a load that finds it again moves last_seen_load on
CURRENT = """(SELECT * FROM quarantine AS q WHERE NOT EXISTS (
    SELECT 1 FROM loads AS l WHERE l.source = q.source AND l.file = q.file AND l.file_sha256 IS NOT NULL
    AND l.finished_at IS NOT NULL AND l.load_id > coalesce(q.last_seen_load, q.load_id)))"""
# the kind of a reason: its text without the values that differ from row to row
KIND = """CASE WHEN starts_with(reason, 'duplicate key (') THEN 'duplicate key'
    WHEN regexp_matches(reason, '^line [0-9]+: ') THEN regexp_replace(reason, '^line [0-9]+: ', '')
    WHEN starts_with(reason, 'a line of the intake log cannot be read') THEN 'a line of the intake log cannot be read'
    ELSE reason END"""


@dataclass
class QuarantineSummary:
    source: str
    table: str
    field: str | None
    reason: str
    rows: int
    example_file: str
    example_row: int | None
    example_value: str | None
    hint: str | None = None  # what to change in patron.yml, where patron can tell


def _relation(history: bool) -> str:
    return "quarantine" if history else CURRENT


def summary(wh: Warehouse, source: str | None = None, history: bool = False,
            limit: int | None = None) -> list[QuarantineSummary]:
    """One line per source, field and kind of reason: how many rows, and the first example."""
    rows = wh.rows(
        f"SELECT source, any_value(table_name), field, {KIND} AS kind, count(DISTINCT (file, row_number)), "
        "arg_min(file, (file, row_number)), arg_min(row_number, (file, row_number)), "
        f"arg_min(value, (file, row_number)) FROM {_relation(history)} WHERE ? IS NULL OR source = ? "
        f"GROUP BY source, field, kind ORDER BY 5 DESC, 1, 3 {'LIMIT ' + str(int(limit)) if limit else ''}",
        [source, source],
    )
    out = [QuarantineSummary(*r) for r in rows]
    for s in out:
        s.hint = _hint(wh, s, history)
    return out


def _hint(wh: Warehouse, s: QuarantineSummary, history: bool) -> str | None:
    """For a date that did not parse: the date_format its values look like."""
    table = TABLES.get(s.table)
    if table is None or s.field not in table.names or table.column(s.field).type not in ("date", "timestamp"):
        return None
    if not is_date_problem(s.reason):
        return None
    values = [v for (v,) in wh.rows(
        f"SELECT DISTINCT value FROM {_relation(history)} WHERE source = ? AND field = ? AND value IS NOT NULL "
        "AND (starts_with(reason, 'not a date') OR starts_with(reason, 'implausible date')) LIMIT 200",
        [s.source, s.field])]
    # a reason naming formats means the source has some: the advice is then to add one
    return date_format_hint(values, [s.reason] if " in format " in s.reason else None)


def rows(wh: Warehouse, source: str | None = None, limit: int = 50, history: bool = False) -> list[dict]:
    df = wh.df(
        "SELECT source, table_name AS table, file, row_number AS row, field, value, reason, record "
        f"FROM {_relation(history)} WHERE ? IS NULL OR source = ? ORDER BY source, file, row_number, field LIMIT ?",
        [source, source, limit],
    )
    return df.astype(object).where(df.notna(), None).to_dict(orient="records")


def count(wh: Warehouse, source: str | None = None, history: bool = False) -> int:
    """Rejected (row, field) entries, as many as `rows` lists without a limit."""
    return wh.scalar(f"SELECT count(*) FROM {_relation(history)} WHERE ? IS NULL OR source = ?", [source, source])


def rejected_rows(wh: Warehouse) -> int:
    """Rows still rejected, counted once however many problems each has."""
    return wh.scalar(f"SELECT count(DISTINCT (source, file, row_number)) FROM {CURRENT}")
