"""Rows that arrive one request at a time (the feedback API), written like a file load.

The caller has validated each row against the canonical model; here they are written with the
same lineage as a file load (a loads row per request, source, source_key, row number), so every
stored item traces back to the request that brought it. A key already stored is not written
again: clients may retry a request whose answer they did not see. Several requests can share one
transaction (group commit): each still gets its own loads row and its own answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from patron.model import TABLES
from patron.warehouse import Warehouse


@dataclass
class Request:
    rows: list[dict]  # canonical column -> value (dates as date/datetime or ISO text)
    origin: str  # what sent it, e.g. api:<key name>; the loads row's file


@dataclass
class IntakeResult:
    load_id: int
    stored: list[str] = field(default_factory=list)  # keys written now
    duplicates: list[str] = field(default_factory=list)  # keys already stored (or repeated before)


def store_requests(wh: Warehouse, table: str, requests: list[Request], source: str) -> list[IntakeResult]:
    """Write every request's validated rows in one transaction, committed before this returns."""
    spec = TABLES[table]
    (key,) = spec.key  # intake tables have a one-column key
    columns = list(spec.names)
    with wh.transaction():
        ids = wh.engine.new_load_ids(len(requests))
        frame = pd.DataFrame([{c: r.get(c) for c in columns} | {"_load": load_id, "_row": i + 1}
                              for req, load_id in zip(requests, ids, strict=True) for i, r in enumerate(req.rows)],
                             columns=[*columns, "_load", "_row"])
        repeated = frame[key].duplicated()  # an earlier row of this transaction has the key
        with wh.frame("_patron_intake", frame) as f:
            # a key is its source's, as in file loads: another source's row with the same id is
            # another item, not this one again
            existing = {r[0] for r in wh.rows(
                f"SELECT DISTINCT t.{key} FROM {table} AS t WHERE t.source = ? AND t.{key} IN (SELECT {key} FROM {f})",
                [source])}
        fresh = ~repeated & ~frame[key].isin(existing)
        with wh.frame("_patron_intake", frame[fresh]) as f:
            cols = ", ".join(columns)
            # rows may come as JSON (dates as ISO text): every column is cast to its canonical type
            typed = ", ".join(f"CAST({c.name} AS {c.sql_type})" for c in spec.columns)
            wh.execute(
                f"INSERT INTO {table} ({cols}, source, source_key, source_row, load_id, loaded_at) "
                f"SELECT {typed}, ?, CAST({key} AS VARCHAR), _row, _load, now()::TIMESTAMP FROM {f}",
                [source],
            )
        out = []
        for load_id in ids:
            mine = frame["_load"] == load_id
            out.append(IntakeResult(load_id, [str(k) for k in frame[mine & fresh][key]],
                                    [str(k) for k in frame[mine & ~fresh][key]]))
        loads = pd.DataFrame({"load_id": ids, "file": [r.origin for r in requests],
                              "read": [len(r.rows) for r in requests], "loaded": [len(o.stored) for o in out],
                              "already": [len(o.duplicates) for o in out]})
        with wh.frame("_patron_intake_loads", loads) as f:
            wh.execute(
                "INSERT INTO loads (load_id, source, table_name, file, started_at, finished_at, rows_read, "
                "rows_loaded, rows_updated, rows_quarantined, rows_already_loaded) "
                f"SELECT load_id, ?, ?, file, now()::TIMESTAMP, now()::TIMESTAMP, read, loaded, 0, 0, already FROM {f}",
                [source, table],
            )
    return out
