"""The engine seam: everything the warehouse and the stages need from a SQL engine.

Stages write SQL in DuckDB's dialect (strftime, `::` casts, date_trunc, now() and the like); an
engine that speaks another dialect transpiles it with SQLGlot from `dialect`. What no
transpiler can carry over (how a connection is made, how a file is read, a sequence, a row's
position in its table, a hash, a row as one value, a Python list or frame as a table, Splink's
backend) is asked of the engine instead, through the methods below. DuckDB is the first engine
(engines/duckdb.py); a second one implements this protocol and the stages stay as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from patron.errors import WarehouseError

if TYPE_CHECKING:
    import pandas as pd

# a read that numbers the file's rows itself gives each row's place among them (from 1) in this
# column, after the file's own: it is not one of the file's columns
FILE_ROW = "_patron_file_row"


class WarehouseBusy(WarehouseError):
    """Another process is writing the warehouse (an embedded engine has one writing process at a time)."""


class Result(Protocol):
    """What a statement gives back: its rows, as tuples or as a frame."""

    def fetchall(self) -> list[tuple]: ...

    def df(self) -> pd.DataFrame: ...


class Engine(Protocol):
    """One connection to one engine. Operations raise QueryFailed when the engine refuses them."""

    dialect: str  # SQLGlot's name for the dialect this engine runs
    # whether the rows live on many machines: work done in Python then goes to the rows (map_rows)
    # rather than the rows to this process
    distributed: bool
    # whether a transaction undoes what its statements did when it fails (else each statement's
    # change stands as soon as it is made, and a stage keeps a failure from leaving half its work)
    transactional: bool

    # the connection
    def execute(self, sql: str, params: Sequence[Any] | dict | None = None) -> Result:
        """Run one statement (parameters bound, never spliced in)."""
        ...

    def frame(self, name: str, df: pd.DataFrame) -> AbstractContextManager[str]:
        """Make a DataFrame readable as `name` in SQL for the duration of the block."""
        ...

    def progress(self) -> float:
        """Percent done of the statement running now, or -1 when the engine cannot tell."""
        ...

    def forbid_file_access(self) -> None:
        """From here on, read and write no file but the warehouse's own."""
        ...

    def cursor(self) -> Engine:
        """A connection of its own to the same database, for another thread."""
        ...

    def close(self) -> None: ...

    # the catalog
    def has_table(self, name: str) -> bool: ...

    def columns(self, name: str) -> list[str]:
        """A table's columns, in order."""
        ...

    def columns_of(self, sql: str) -> list[str]:
        """The columns a query gives, without running it (a file it reads may be sampled)."""
        ...

    # reading files
    def read_file(self, file: Path, fmt: str, *, encoding: str = "utf-8", delimiter: str | None = None,
                  max_line_size: int | None = None, keep_rejects: bool = False) -> str:
        """A SELECT of the file's rows in file order (csv, parquet, json or jsonl; CSV values as
        text), and, where the engine numbers them as it reads, FILE_ROW. With keep_rejects, CSV
        lines that do not split into the header's columns are set aside for `rejected_lines`
        instead of failing the read."""
        ...

    def rejected_lines(self) -> list[tuple[int, str, str | None, str | None]]:
        """(line, kind, text, message) of each line the last read set aside, by line; kind is one of
        TOO MANY COLUMNS, MISSING COLUMNS, UNQUOTED VALUE, LINE SIZE OVER MAXIMUM, INVALID ENCODING."""
        ...

    def drop_rejected(self) -> None:
        """Forget the lines set aside."""
        ...

    # values the stages compute in SQL
    def new_load_ids(self, n: int) -> list[int]:
        """The next `n` ids of the load_ids sequence, ascending."""
        ...

    def row_hash(self, values: Sequence[str]) -> str:
        """SQL: a 64-bit hash of the values of these expressions (the same values, the same hash,
        from one run to the next: quarantine stores it)."""
        ...

    def text_hash(self, value: str) -> str:
        """SQL: a 64-bit hash of a text, the same on every engine (the first 16 hex digits of its
        MD5, as a number from 0): quarantine keeps it, and a warehouse moves between engines."""
        ...

    def row_number(self, table: str) -> str:
        """SQL over `table`'s rows: each row's position in it from 1, in the order the rows were
        written (a table made by one read of a file holds the file's rows in order; one that keeps
        FILE_ROW, the file's numbers)."""
        ...

    def row_record(self, alias: str, columns: Sequence[str] | None = None) -> str:
        """SQL: the whole row of the relation `alias` as one value (of `columns` only, where given:
        a file's columns without FILE_ROW)."""
        ...

    def record(self, fields: Mapping[str, str]) -> str:
        """SQL: one value holding each expression under its name, read back as value.name."""
        ...

    def json_text(self, value: str) -> str:
        """SQL: a value (a record included) as JSON text."""
        ...

    def non_null(self, items: Sequence[str]) -> str:
        """SQL: a list of those of the expressions that are not NULL, in order."""
        ...

    # data from Python
    def map_rows(self, sql: str, fn: Callable[[pd.DataFrame], pd.DataFrame],
                 types: Mapping[str, str]) -> AbstractContextManager[str]:
        """The rows of `sql` passed through `fn` a frame at a time (`fn` gives the columns `types`
        names, with those SQL types), readable as a table for the block; where the engine is
        distributed, `fn` runs beside the rows."""
        ...

    def temp_table(self, name: str, types: Mapping[str, str], values: Mapping[str, Sequence[Any]]) -> None:
        """(Re)create temp table `name` with columns `types` (name -> SQL type) holding `values`
        (column -> its values, all of one length)."""
        ...

    def linkage(self, memory_share: float) -> AbstractContextManager[Any]:
        """Splink's database API for one linkage job, on working space of its own (at most
        `memory_share` of the machine's memory, spilling to a temporary folder), closed after."""
        ...
