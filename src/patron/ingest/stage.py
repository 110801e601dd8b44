"""Find a source's files, and read them with every value as text.

Reading everything as text lets validation say exactly which value in which row was wrong,
instead of the reader guessing a type and failing the whole file. CSV lines the parser cannot
split are set aside by the engine (its reject tables) and quarantined with their line number.
"""

from __future__ import annotations

import glob as globlib
import gzip
import hashlib
import re
import zlib
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from patron.config import SourceConfig
from patron.errors import SourceError
from patron.warehouse import FILE_ROW, Engine, QueryFailed, Warehouse

RAW = "_patron_raw"
_REJECT_REASONS = {
    "TOO MANY COLUMNS": "more fields than the header",
    "MISSING COLUMNS": "fewer fields than the header",
    "UNQUOTED VALUE": "a quote in the middle of an unquoted field",
    "LINE SIZE OVER MAXIMUM": "line too long",
}
LINE_LIMIT = 2_000_000  # the CSV reader's default max_line_size, in bytes
_LINE_SIZE = re.compile(r"maximum line size of (\d+) bytes exceeded", re.IGNORECASE)
HEAD = 8000  # bytes read to tell a text file from a binary one (as git does)
_GZIP = b"\x1f\x8b"
# first bytes of files people export by mistake -> what to say they are
_MAGIC = {
    b"PK\x03\x04": "is a ZIP archive (an .xlsx workbook?) — export it as CSV",
    b"PK\x05\x06": "is a ZIP archive (an .xlsx workbook?) — export it as CSV",
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1": "is an Office file (an .xls workbook?) — export it as CSV",
    b"PAR1": "is a Parquet file; name it .parquet or set format: parquet for this source",
}
_KINDS = {b"\x89PNG": "a PNG image", b"%PDF-": "a PDF document", b"\xff\xd8\xff": "a JPEG image",
          b"GIF8": "a GIF image", b"SQLite format 3\x00": "a SQLite database"}
_CONTROL = bytes(b for b in range(32) if b not in b"\t\n\x0c\r\x1b")
_NOT_CONTROL = bytes(b for b in range(256) if b not in _CONTROL)


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
    engine: Engine
    # what the engine reads in place of `file`: a copy with one kind of line ending, where the file
    # mixes CRLF and LF (line numbers are the same; messages name `file`)
    read_from: Path | None = None
    # whether the engine's read numbers the file's rows (FILE_ROW), which the load then keeps
    numbered: bool = False

    def sql(self, keep_rejects: bool = True) -> str:
        # max_line_size: patron.yml's, for fields longer than the reader's default
        return self.engine.read_file(self.read_from or self.file, self.format, encoding=self.src.encoding,
                                     delimiter=self.src.delimiter, max_line_size=self.src.max_line_size,
                                     keep_rejects=keep_rejects)


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


def _explain(message: str, fmt: str, src: SourceConfig, file: Path) -> str:
    """The engine's error as what is wrong with the user's file: the engine's own wording names
    its internals (and "Line: 1" for any line too long while it samples the file)."""
    first = message.splitlines()[0] if message else "unreadable"
    low = message.lower()
    too_long = _LINE_SIZE.search(message)
    if fmt == "csv" and too_long:
        return _too_long(file, src, int(too_long.group(1)))
    if fmt == "csv" and ("sniff" in first.lower() or "dialect" in first.lower()):  # its hints name encodings
        opened = _open_quote(file, src.encoding)
        if opened:
            return f"cannot be read as CSV: line {opened:,} opens a quote that is never closed"
        return "cannot be read as CSV (unbalanced quotes or an unknown delimiter); set delimiter: in patron.yml"
    if "unicode" in low or "utf-8" in low or "encoding" in low:
        return f"not valid {src.encoding} text; set encoding: latin-1 or utf-16 for this source"
    if fmt == "parquet" and ("magic" in low or "parquet" in low):
        return "not a Parquet file"
    if fmt in ("json", "jsonl") and ("json" in low):
        return f"not valid JSON ({first.split('Error: ', 1)[-1]})"
    return f"cannot be read ({first.split('Error: ', 1)[-1]})"


def _too_long(file: Path, src: SourceConfig, limit: int) -> str:
    """Which line is over the reader's line limit, counted as the user counts (the header is line 1)."""
    found = _longest_record(file, src.encoding, limit)
    where = f"line {found[0]:,} is {found[1]:,} bytes, over" if found else "a line is over"
    wanted = f"{-(-found[1] // 1_000_000) * 1_000_000}" if found else "BYTES"
    return (f"{where} the CSV reader's limit of {limit:,} bytes a line; if a field is meant to be that long, "
            f"set max_line_size: {wanted} for this source in patron.yml, else fix the line "
            "(a quote left open joins the lines after it into one)")


def _records(file: Path, encoding: str) -> Iterator[tuple[int, int, bool]]:
    """(the line it starts on, its size in UTF-8 bytes, whether its quotes close) of each CSV record:
    a quoted field's line breaks join lines into one record, as the reader does."""
    opener = gzip.open if file.suffix.lower() == ".gz" else open
    start, size, quoted = 1, 0, False
    with opener(file, "rt", encoding=encoding, errors="replace", newline="") as f:
        for number, line in enumerate(f, 1):
            if not quoted:
                start, size = number, 0
            size += len(line.encode("utf-8"))
            quoted ^= line.count('"') % 2 == 1
            if not quoted:
                yield start, size, True
    if quoted:
        yield start, size, False


_SCAN_FAILED = (OSError, EOFError, zlib.error, LookupError)


def _longest_record(file: Path, encoding: str, limit: int) -> tuple[int, int] | None:
    """(first line, bytes) of the first record longer than `limit`, else of the longest."""
    best: tuple[int, int] | None = None
    try:
        for start, size, _ in _records(file, encoding):
            if best is None or size > best[1]:
                best = (start, size)
                if size > limit:
                    break
    except _SCAN_FAILED:
        pass
    return best


def _open_quote(file: Path, encoding: str) -> int | None:
    """The line whose quote is still open at the end of the file, if one is."""
    try:
        last = deque(_records(file, encoding), maxlen=1)
    except _SCAN_FAILED:
        return None
    return last[0][0] if last and not last[0][2] else None


def _not_readable(file: Path, fmt: str | None, src: SourceConfig) -> str | None:
    """What the file is, by its first bytes, when that is not what its format reads (a workbook, an
    archive, an image): the engine would call it badly encoded text or guess a one-column CSV."""
    with open(file, "rb") as f:
        head = f.read(HEAD)
    named_gz = file.suffix.lower() == ".gz"
    if head.startswith(_GZIP):
        if not named_gz or fmt in (None, "parquet"):
            hint = f"name it {file.name}.gz to read it as it is, or " if fmt not in (None, "parquet") else ""
            return f"is a gzip-compressed file; {hint}decompress it (gunzip)"
        try:  # a .csv.gz is read as it is; what matters is what it holds
            with gzip.open(file, "rb") as f:
                head = f.read(HEAD)
        except (OSError, EOFError, zlib.error):
            return "is not a valid gzip file (it may be cut short); compress it again"
    elif named_gz:
        return f"is named .gz but is not gzip-compressed; name it {file.name[:-3]}"
    for magic, what in _MAGIC.items():
        if head.startswith(magic) and not (fmt == "parquet" and magic == b"PAR1"):
            return what
    if fmt == "parquet" or src.encoding.lower() == "utf-16":
        return None
    even, odd = head[0::2].count(0), head[1::2].count(0)
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or (min(even, odd) == 0 and max(even, odd) > len(head) // 4):
        return "is UTF-16 text; set encoding: utf-16 for this source"  # read as UTF-8, its NULs join the names
    control = len(head.translate(None, _NOT_CONTROL))
    if control >= 8 and control * 20 >= len(head):  # 5% control bytes: no text file has that; a stray NUL may
        kind = next((k for m, k in _KINDS.items() if head.startswith(m)), None)
        return "is binary, not text" + (f" ({kind})" if kind else "")
    return None


_BLOCK = 1 << 20


def _opener(file: Path):  # noqa: ANN202 - open or gzip.open
    return gzip.open if file.suffix.lower() == ".gz" else open


def mixes_line_endings(file: Path) -> bool:
    """Whether a text file ends some lines with CRLF and others with LF alone: the CSV reader
    takes one kind for the whole file and cannot read the other."""
    crlf = lf = 0
    last = b""
    try:
        with _opener(file)(file, "rb") as f:
            for block in iter(lambda: f.read(_BLOCK), b""):
                lf += block.count(b"\n")
                crlf += block.count(b"\r\n") + (last == b"\r" and block[:1] == b"\n")
                last = block[-1:]
                if crlf and crlf < lf:
                    return True
    except _SCAN_FAILED:
        return False
    return False


def _one_line_ending(file: Path) -> Path:
    """A copy of the file (uncompressed) with every CRLF read as LF, in a folder of its own that is
    removed when the process ends."""
    import atexit
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="patron-lines-"))
    atexit.register(shutil.rmtree, folder, True)
    copy = folder / (file.stem if file.suffix.lower() == ".gz" else file.name)
    with _opener(file)(file, "rb") as f, open(copy, "wb") as out:
        held = b""
        for block in iter(lambda: f.read(_BLOCK), b""):
            block = held + block
            held = block[-1:] if block.endswith(b"\r") else b""  # a CRLF split between blocks
            out.write(block[: len(block) - len(held)].replace(b"\r\n", b"\n"))
        out.write(held)
    return copy


def open_reader(wh: Warehouse, src: SourceConfig, file: Path) -> Reader:
    """Check the file can be read and learn its columns; file-level problems raise SourceError."""
    fmt = src.file_format(file)
    try:
        if file.stat().st_size == 0:
            raise SourceError("the file is empty (no header, no rows)", str(file))
        wrong = _not_readable(file, fmt, src)  # before the engine, whose guesses mislead
    except OSError as e:
        raise SourceError(f"cannot be opened ({e.strerror})", str(file)) from None
    if fmt is None:
        raise SourceError(f"cannot tell the file format: it {wrong}" if wrong else
                          "cannot tell the file format; set format: csv|parquet|json|jsonl", str(file))
    if wrong:
        raise SourceError(wrong, str(file))
    reader = Reader(file, fmt, [], src, wh.engine)
    if fmt == "csv" and src.encoding.lower() != "utf-16" and mixes_line_endings(file):
        try:
            reader.read_from = _one_line_ending(file)
        except _SCAN_FAILED as e:
            raise SourceError(f"mixes CRLF and LF line endings, and a copy with one kind cannot be written ({e})",
                              str(file)) from None
    try:
        read = wh.engine.columns_of(reader.sql(keep_rejects=True))
    except QueryFailed as e:
        raise SourceError(_explain(str(e), fmt, src, file), str(file)) from None
    reader.numbered = FILE_ROW in read
    reader.columns = columns = [c for c in read if c != FILE_ROW]
    if fmt == "csv" and len(columns) == 1 and not src.delimiter and any(d in columns[0] for d in ",;\t|"):
        opened = _open_quote(file, src.encoding)  # the engine's guess when a quote never closes: one column
        if opened:
            raise SourceError(f"cannot be read as CSV: line {opened:,} opens a quote that is never closed", str(file))
    return reader


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
        raise SourceError(_explain(str(e), reader.format, reader.src, reader.file), str(reader.file)) from None


def rejected_lines(wh: Warehouse, reader: Reader) -> list[Rejected]:
    """The lines the last CSV read set aside; a wrong encoding fails the whole file instead."""
    if reader.format != "csv":
        return []
    found = wh.engine.rejected_lines()
    bad_text = [line for line, kind, _, _ in found if kind == "INVALID ENCODING"]
    if bad_text:
        raise SourceError(
            f"line {bad_text[0]} is not valid {reader.src.encoding} text; set encoding: latin-1 or utf-16 "
            "for this source", str(reader.file))
    return [Rejected(int(line), _reject_reason(kind, message, reader), text) for line, kind, text, message in found]


def _reject_reason(kind: str, message: str | None, reader: Reader) -> str:
    """Why a line was set aside, with what to do where there is something to set."""
    if kind == "LINE SIZE OVER MAXIMUM":
        limit = _LINE_SIZE.search(message or "")
        return (f"unreadable line: longer than the CSV reader's limit of "
                f"{int(limit.group(1)) if limit else LINE_LIMIT:,} bytes a line (max_line_size: in patron.yml "
                "raises it)")
    return f"unreadable line: {_REJECT_REASONS.get(kind, kind.lower())} (the header has {len(reader.columns)})"


def drop_staging(wh: Warehouse) -> None:
    wh.execute(f"DROP TABLE IF EXISTS {RAW}")
    wh.engine.drop_rejected()
