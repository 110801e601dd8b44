"""Files read for loading on Spark: parsed by DuckDB's own reader, handed to Spark numbered.

A CSV's dialect is where engines disagree most (quotes, empty fields, a delimiter guessed, a quote
inside an unquoted field, a bad byte), and a load must give the same rows, rejected lines and line
numbers whichever engine holds the warehouse. So the file is parsed once, where patron runs (a
source's path is on this machine), by the reader the DuckDB engine uses, with the same options;
its rows are written as Parquet with each row's place among the file's rows (FILE_ROW, from 1)
and copied into the Spark warehouse's scratch folder (any file system Hadoop knows), where Spark
reads them. The place is a column, not an order: Spark keeps no order a stage could rely on.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from patron.warehouse.engines.base import FILE_ROW

_PARSED = "_patron_file"


@dataclass
class _Read:
    key: tuple
    view: str
    path: str
    rejected: list[tuple[int, str, str | None, str | None]] = field(default_factory=list)


class Files:
    """The file last read, as a Spark view; one at a time (a load reads one file, at most twice)."""

    def __init__(self, spark: Any, tables: Any):
        self.spark = spark
        self.tables = tables  # the scratch folder and its file system (spark_tables.Tables)
        self.current: _Read | None = None
        self.read = False  # a statement read the current file since the rejected lines were dropped

    def view(self, file: Path, fmt: str, encoding: str, delimiter: str | None, max_line_size: int | None) -> str:
        """The view holding the file's rows and FILE_ROW, parsed now unless it is the file last parsed,
        unchanged. A file the reader refuses raises QueryFailed with the reader's own message."""
        stat = file.stat()
        key = (str(file.resolve()), stat.st_size, stat.st_mtime_ns, fmt, encoding, delimiter, max_line_size)
        if self.current is not None and self.current.key == key:
            return self.current.view
        self.forget()
        local = Path(tempfile.mkdtemp(prefix="patron-read-"))
        try:
            rejected = _parse(file, fmt, encoding, delimiter, max_line_size, local / "rows.parquet")
            name = f"{_PARSED}_{uuid.uuid4().hex[:8]}"
            where = f"{self.tables.scratch}/files/{name}"
            self.tables.put(str(local / "rows.parquet"), f"{where}/rows.parquet")
        finally:
            shutil.rmtree(local, ignore_errors=True)
        self.spark.read.parquet(where).createOrReplaceTempView(name)
        self.current = _Read(key, name, where, rejected)
        return name

    def saw(self, sql: str) -> None:
        """Note a statement about to run: whether it reads the current file."""
        if self.current is not None and self.current.view in sql:
            self.read = True

    def rejected_lines(self) -> list[tuple[int, str, str | None, str | None]]:
        return list(self.current.rejected) if self.current is not None and self.read else []

    def forget(self) -> None:
        """Drop the current file's view and Parquet."""
        if self.current is not None:
            self.spark.catalog.dropTempView(self.current.view)
            self.tables.remove(self.current.path)
        self.current, self.read = None, False


def _parse(file: Path, fmt: str, encoding: str, delimiter: str | None, max_line_size: int | None,
           out: Path) -> list[tuple[int, str, str | None, str | None]]:
    """Write the file's rows, numbered as the DuckDB engine numbers them, to `out`; the lines its
    CSV reader set aside."""
    from patron.warehouse.engines.duckdb import DuckDBEngine, _literal

    duck = DuckDBEngine.open(None, memory_share=0.25)
    try:
        sql = duck.read_file(file, fmt, encoding=encoding, delimiter=delimiter, max_line_size=max_line_size,
                             keep_rejects=fmt == "csv")
        duck.execute(f"CREATE TEMP TABLE {_PARSED} AS {sql}")
        rejected = duck.rejected_lines() if fmt == "csv" else []
        duck.execute(f"COPY (SELECT *, {duck.row_number(_PARSED)} AS {FILE_ROW} FROM {_PARSED}) "
                     f"TO {_literal(str(out))} (FORMAT parquet)")
        return rejected
    finally:
        duck.close()
