"""Rows that arrive one request at a time (the feedback API), written like a file load.

The caller has validated each row against the canonical model; here they are written in one
transaction with the same lineage as a file load (a loads row, source, source_key, row number),
so every stored item traces back to the request that brought it. A key already stored is not
written again: clients may retry a request whose answer they did not see.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from patron.model import TABLES
from patron.warehouse import Warehouse


@dataclass
class IntakeResult:
    load_id: int
    stored: list[str] = field(default_factory=list)  # keys written now
    duplicates: list[str] = field(default_factory=list)  # keys already stored (or repeated in the request)


def store_rows(wh: Warehouse, table: str, rows: list[dict], source: str, origin: str) -> IntakeResult:
    """Write validated canonical rows; committed before this returns."""
    spec = TABLES[table]
    (key,) = spec.key  # intake tables have a one-column key
    columns = list(spec.names)
    frame = pd.DataFrame([{c: r.get(c) for c in columns} for r in rows], columns=columns)
    frame["source_row"] = range(1, len(frame) + 1)
    repeated = frame[key].duplicated()
    with wh.transaction():
        load_id = int(wh.scalar("SELECT nextval('load_ids')"))
        with wh.frame("_patron_intake", frame[~repeated]) as f:
            existing = {r[0] for r in wh.rows(f"SELECT t.{key} FROM {table} AS t JOIN {f} AS i USING ({key})")}
            new = frame[~repeated & ~frame[key].isin(existing)]
        with wh.frame("_patron_intake", new) as f:
            cols = ", ".join(columns)
            wh.execute(
                f"INSERT INTO {table} ({cols}, source, source_key, source_row, load_id, loaded_at) "
                f"SELECT {cols}, ?, CAST({key} AS VARCHAR), source_row, ?, now()::TIMESTAMP FROM {f}",
                [source, load_id],
            )
        wh.execute(
            "INSERT INTO loads (load_id, source, table_name, file, started_at, finished_at, rows_read, rows_loaded, "
            "rows_updated, rows_quarantined, rows_already_loaded) "
            "VALUES (?, ?, ?, ?, now()::TIMESTAMP, now()::TIMESTAMP, ?, ?, 0, 0, ?)",
            [load_id, source, table, origin, len(frame), len(new), len(frame) - len(new)],
        )
    dupes = frame[repeated | frame[key].isin(existing)][key]
    return IntakeResult(load_id, [str(k) for k in new[key]], [str(k) for k in dupes])
