"""DuckDB, the default engine: an embedded file, nothing to run beside patron.

The one place that knows DuckDB's connection settings, its file readers and their reject tables,
its sequences, `rowid`, `hash`, structs and lists, and Splink's DuckDB backend.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from patron.errors import QueryFailed, WarehouseError
from patron.warehouse.engines.base import WarehouseBusy

if TYPE_CHECKING:
    import pandas as pd

_REJECTS, _REJECT_SCANS = "_patron_rejects", "_patron_reject_scans"


class DuckDBEngine:
    """A DuckDB connection behind the engine interface. Open one with `DuckDBEngine.open`."""

    dialect = "duckdb"
    distributed = False
    transactional = True

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con

    @classmethod
    def open(cls, path: Path | None, memory_share: float = 0.45, wait_s: float = 0.0) -> DuckDBEngine:
        """The warehouse file at `path` (None: in memory); waits up to `wait_s` for another writer."""
        return cls(_connect(path, memory_share, wait_s))

    def execute(self, sql: str, params: Sequence[Any] | dict | None = None) -> duckdb.DuckDBPyConnection:
        try:
            return self.con.execute(sql, params) if params is not None else self.con.execute(sql)
        except duckdb.Error as e:
            raise QueryFailed(str(e).strip()) from e

    def _rows(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
        return self.execute(sql, params).fetchall()

    @contextmanager
    def frame(self, name: str, df: pd.DataFrame) -> Iterator[str]:
        self.con.register(name, df)  # a replacement scan: the frame is read where it lies
        try:
            yield name
        finally:
            self.con.unregister(name)

    def progress(self) -> float:
        return self.con.query_progress()

    def forbid_file_access(self) -> None:
        # one-way for the whole process
        self.execute("SET enable_external_access = false")

    def cursor(self) -> DuckDBEngine:
        return DuckDBEngine(self.con.cursor())

    def close(self) -> None:
        self.con.close()

    def has_table(self, name: str) -> bool:
        return bool(self._rows(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' "
            "AND table_name = ? AND table_type = 'BASE TABLE'", [name])[0][0])

    def columns(self, name: str) -> list[str]:
        return [r[0] for r in self._rows(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'main' "
            "AND table_name = ? ORDER BY ordinal_position", [name])]

    def columns_of(self, sql: str) -> list[str]:
        return [r[0] for r in self._rows(f"DESCRIBE {sql}")]

    def read_file(self, file: Path, fmt: str, *, encoding: str = "utf-8", delimiter: str | None = None,
                  max_line_size: int | None = None, keep_rejects: bool = False) -> str:
        path = _literal(str(file))
        if fmt == "csv":
            opts = ["all_varchar = true", "header = true", "quote = '\"'", "escape = '\"'",
                    f"encoding = {_literal(encoding.lower())}"]
            if keep_rejects:
                opts += ["store_rejects = true", f"rejects_table = '{_REJECTS}'", f"rejects_scan = '{_REJECT_SCANS}'"]
            if max_line_size:  # for fields longer than DuckDB's default of 2,000,000 bytes a line
                opts.append(f"max_line_size = {int(max_line_size)}")
            if delimiter:
                opts.append(f"delim = {_literal(delimiter)}")
            elif file.suffix.lower() == ".tsv":
                opts.append("delim = '\\t'")
            return f"SELECT * FROM read_csv({path}, {', '.join(opts)})"
        if fmt == "parquet":
            return f"SELECT * FROM read_parquet({path})"
        layout = "newline_delimited" if fmt == "jsonl" else "auto"
        return f"SELECT * FROM read_json({path}, format = '{layout}')"

    def rejected_lines(self) -> list[tuple[int, str, str | None, str | None]]:
        if not self._rows("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [_REJECTS])[0][0]:
            return []
        return self._rows(
            f"SELECT line, any_value(error_type), any_value(csv_line), any_value(error_message) FROM {_REJECTS} "
            "GROUP BY line ORDER BY line")

    def drop_rejected(self) -> None:
        for t in (_REJECTS, _REJECT_SCANS):
            self.execute(f"DROP TABLE IF EXISTS {t}")

    def new_load_ids(self, n: int) -> list[int]:
        return sorted(int(r[0]) for r in self._rows(f"SELECT nextval('load_ids') FROM range({int(n)})"))

    def row_hash(self, values: Sequence[str]) -> str:
        return f"hash({', '.join(values)})"

    def text_hash(self, value: str) -> str:
        return f"CAST(('0x' || substr(md5(CAST({value} AS VARCHAR)), 1, 16)) AS UBIGINT)"

    def row_number(self, table: str) -> str:
        # rowid counts from where the table's first row went in: from 0 in a new temp table
        first = self._rows(f"SELECT coalesce(min(rowid), 0) FROM {table}")[0][0]
        return f"(rowid - {int(first)} + 1)"

    def row_record(self, alias: str, columns: Sequence[str] | None = None) -> str:
        return alias  # a relation's name, used as a value, is its row as a struct

    def record(self, fields: Mapping[str, str]) -> str:
        return f"struct_pack({', '.join(f'{name} := {value}' for name, value in fields.items())})"

    def json_text(self, value: str) -> str:
        return f"to_json({value})::VARCHAR"

    def non_null(self, items: Sequence[str]) -> str:
        return f"list_filter([{', '.join(items)}], lambda x: x IS NOT NULL)"

    @contextmanager
    def map_rows(self, sql: str, fn: Callable[[pd.DataFrame], pd.DataFrame],
                 types: Mapping[str, str]) -> Iterator[str]:
        import pandas as pd

        frame = self.execute(sql).df()
        parts = [fn(frame.iloc[i:i + 100_000]) for i in range(0, len(frame), 100_000)]
        out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(types))
        name = "_patron_mapped"
        with self.frame(name, out):
            yield name

    def temp_table(self, name: str, types: Mapping[str, str], values: Mapping[str, Sequence[Any]]) -> None:
        self.execute(f"CREATE OR REPLACE TEMP TABLE {name} ({', '.join(f'{c} {t}' for c, t in types.items())})")
        if any(len(v) for v in values.values()):
            # each column a list parameter, unnested side by side
            self.execute(f"INSERT INTO {name} ({', '.join(values)}) SELECT {', '.join('unnest(?)' for _ in values)}",
                         [list(v) for v in values.values()])

    def linkage(self, memory_share: float) -> AbstractContextManager[Any]:
        return splink_api(memory_share)


@contextmanager
def splink_api(memory_share: float, threads: int | None = None) -> Iterator[Any]:
    """Splink's DuckDB backend on an in-memory engine of its own, capped and spilling to a
    temporary folder, so none of its working tables lands in the warehouse. `threads=1` makes its
    seeded samples and summed floats the same at every run (several threads may sum in another
    order, as DuckDB's documentation on non-deterministic behaviour says)."""
    from splink import DuckDBAPI

    spill = tempfile.TemporaryDirectory(prefix="patron-linkage-")
    con = _connect(None, memory_share)
    con.execute(f"SET temp_directory = '{_quoted(spill.name)}'")
    if threads is not None:
        con.execute(f"SET threads = {int(threads)}")
    try:
        yield DuckDBAPI(connection=con)
    finally:
        con.close()
        spill.cleanup()


def _memory_mb(share: float) -> int:
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 4096
    return max(256, int(total * share / 2**20))


def _connect(path: Path | None, memory_share: float = 0.45, wait_s: float = 0.0) -> duckdb.DuckDBPyConnection:
    target = str(path) if path is not None else ":memory:"
    deadline, pause, told = time.monotonic() + wait_s, 0.05, False
    while True:
        try:
            # offline: never fetch or load an extension, not even to read a file that is not ours
            con = duckdb.connect(target, config={"autoinstall_known_extensions": False,
                                                 "autoload_known_extensions": False})
            break
        except duckdb.IOException as e:
            msg = str(e)
            if "lock" not in msg.lower():
                raise WarehouseError(f"{path}: not a DuckDB warehouse file ({msg.splitlines()[0]})") from e
            if time.monotonic() + pause > deadline:
                waited = f" (waited {wait_s:.0f} s)" if wait_s >= 1 else ""
                raise WarehouseBusy(f"{path}: the warehouse is in use by another patron process{waited}; "
                                    "try again when it has finished") from e
            if not told and wait_s >= 1:
                # the other process is usually a command finishing or the API loading its intake:
                # a moment, not a failure
                print(f"waiting for {path}: another patron process is using it", file=sys.stderr)
                told = True
            time.sleep(pause)
            pause = min(pause * 2, 0.5)
        except duckdb.Error as e:
            raise WarehouseError(f"{path}: cannot open the warehouse ({str(e).splitlines()[0]})") from e
    con.execute("SET autoinstall_known_extensions = false")  # offline: never fetch an extension
    # spill next to the warehouse file, or in the system temp folder: never the current directory
    # (DuckDB's default for an in-memory engine), where spill files end up in people's projects
    spill = f"{target}.tmp" if path is not None else tempfile.gettempdir()
    con.execute(f"SET temp_directory = '{_quoted(spill)}'")
    # a share of the machine, not DuckDB's default 80%: linkage runs a second engine beside this one
    con.execute(f"SET memory_limit = '{_memory_mb(memory_share)}MB'")
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = true")
    con.execute("SET enable_progress_bar_print = false")
    return con


def _quoted(text: str) -> str:
    return text.replace("'", "''")


def _literal(text: str) -> str:
    return "'" + _quoted(text) + "'"
