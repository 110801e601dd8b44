"""Find a source's files, and read them with every value as text.

Reading everything as text lets validation say exactly which value in which row was wrong,
instead of the reader guessing a type and failing the whole file. CSV lines the parser cannot
split are set aside by the engine (its reject tables) and quarantined with their line number.
"""

from __future__ import annotations

import glob as globlib
import hashlib
from dataclasses import dataclass
from pathlib import Path

from patron.config import SourceConfig
from patron.errors import SourceError
from patron.warehouse import QueryFailed, Warehouse

RAW = "_patron_raw"
_REJECTS, _REJECT_SCANS = "_patron_rejects", "_patron_reject_scans"
_REJECT_REASONS = {
    "TOO MANY COLUMNS": "more fields than the header",
    "MISSING COLUMNS": "fewer fields than the header",
    "UNQUOTED VALUE": "a quote in the middle of an unquoted field",
    "LINE SIZE OVER MAXIMUM": "line too long",
}


@dataclass
class Rejected:
    """A line the CSV parser could not split into the header's columns."""

    line: int
    reason: str
    text: str


@dataclass
class Reader:
    """How to read one file: its format, its columns, and the SELECT that reads it."""

    file: Path
    format: str
    columns: list[str]
    src: SourceConfig

    def sql(self, keep_rejects: bool = True) -> str:
        return _reader_sql(self.src, self.file, self.format, keep_rejects)


def find_files(src: SourceConfig, root: Path, name: str) -> list[Path]:
    pattern = src.path if Path(src.path).is_absolute() else str(root / src.path)
    if any(ch in src.path for ch in "*?["):
        files = sorted(Path(p) for p in globlib.glob(pattern, recursive=True) if Path(p).is_file())
        if not files:
            raise SourceError(f"source {name!r}: no file matches {src.path!r}", pattern)
        return files
    p = Path(pattern)
    if not p.exists():
        raise SourceError(f"source {name!r}: file not found", str(p))
    if p.is_dir():
        raise SourceError(f"source {name!r}: is a folder; give a file or a glob such as dir/*.csv", str(p))
    return [p]


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _reader_sql(src: SourceConfig, file: Path, fmt: str, keep_rejects: bool) -> str:
    path = _quote(str(file))
    if fmt == "csv":
        opts = [
            "all_varchar = true", "header = true", "quote = '\"'", "escape = '\"'",
            f"encoding = {_quote(src.encoding.lower())}",
        ]
        if keep_rejects:
            opts += ["store_rejects = true", f"rejects_table = '{_REJECTS}'", f"rejects_scan = '{_REJECT_SCANS}'"]
        if src.delimiter:
            opts.append(f"delim = {_quote(src.delimiter)}")
        elif file.suffix.lower() == ".tsv":
            opts.append("delim = '\\t'")
        return f"SELECT * FROM read_csv({path}, {', '.join(opts)})"
    if fmt == "parquet":
        return f"SELECT * FROM read_parquet({path})"
    layout = "newline_delimited" if fmt == "jsonl" else "auto"
    return f"SELECT * FROM read_json({path}, format = '{layout}')"


def _explain(message: str, fmt: str, src: SourceConfig) -> str:
    first = message.splitlines()[0] if message else "unreadable"
    low = message.lower()
    if "unicode" in low or "utf-8" in low or "encoding" in low:
        return f"not valid {src.encoding} text; set encoding: latin-1 or utf-16 for this source"
    if fmt == "parquet" and ("magic" in low or "parquet" in low):
        return "not a Parquet file"
    if fmt in ("json", "jsonl") and ("json" in low):
        return f"not valid JSON ({first.split('Error: ', 1)[-1]})"
    if "sniff" in low or "dialect" in low:
        return "cannot be read as CSV (unbalanced quotes or an unknown delimiter); set delimiter: in patron.yml"
    return f"cannot be read ({first.split('Error: ', 1)[-1]})"


def open_reader(wh: Warehouse, src: SourceConfig, file: Path) -> Reader:
    """Check the file can be read and learn its columns; file-level problems raise SourceError."""
    fmt = src.file_format(file)
    if fmt is None:
        raise SourceError("cannot tell the file format; set format: csv|parquet|json|jsonl", str(file))
    try:
        if file.stat().st_size == 0:
            raise SourceError("the file is empty (no header, no rows)", str(file))
        with open(file, "rb") as f:
            f.read(1)
    except OSError as e:
        raise SourceError(f"cannot be opened ({e.strerror})", str(file)) from None
    try:
        columns = [r[0] for r in wh.rows(f"DESCRIBE {_reader_sql(src, file, fmt, keep_rejects=True)}")]
    except QueryFailed as e:
        raise SourceError(_explain(str(e), fmt, src), str(file)) from None
    return Reader(file, fmt, columns, src)


def read_as(wh: Warehouse, reader: Reader, table: str, select: str, params: list, progress=None) -> None:
    """CREATE TEMP TABLE `table` AS `select` over the file (in file order); read errors name the file."""
    drop_staging(wh)
    wh.execute(f"DROP TABLE IF EXISTS {table}")
    sql = f"CREATE TEMP TABLE {table} AS {select}"
    try:
        if progress:
            wh.run_with_progress(sql, progress, params)
        else:
            wh.execute(sql, params)
    except QueryFailed as e:
        raise SourceError(_explain(str(e), reader.format, reader.src), str(reader.file)) from None


def rejected_lines(wh: Warehouse, reader: Reader) -> list[Rejected]:
    """The lines the last CSV read set aside; a wrong encoding fails the whole file instead."""
    if reader.format != "csv" or not wh.scalar(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [_REJECTS]
    ):
        return []
    found = wh.rows(
        f"SELECT line, any_value(error_type), any_value(csv_line) FROM {_REJECTS} GROUP BY line ORDER BY line"
    )
    bad_text = [line for line, kind, _ in found if kind == "INVALID ENCODING"]
    if bad_text:
        raise SourceError(
            f"line {bad_text[0]} is not valid {reader.src.encoding} text; set encoding: latin-1 or utf-16 "
            "for this source", str(reader.file))
    return [
        Rejected(int(line), f"unreadable line: {_REJECT_REASONS.get(kind, kind.lower())} "
                 f"(the header has {len(reader.columns)})", text)
        for line, kind, text in found
    ]


def drop_staging(wh: Warehouse) -> None:
    for t in (RAW, _REJECTS, _REJECT_SCANS):
        wh.execute(f"DROP TABLE IF EXISTS {t}")
