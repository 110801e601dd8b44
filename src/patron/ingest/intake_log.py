"""An append-only log of what the API acknowledged, beside the warehouse, and its loader.

DuckDB lets one process write a warehouse file at a time. A service that held the file while
it waited for clients would lock every other command out, so the API never holds it: an item is
acknowledged once its request is written and fsynced to this log, and the loader moves the log
into the warehouse in short transactions, recording in the same transaction how far it got. A
crash at any point therefore loads every acknowledged line exactly once.

The log is a folder of segment files named so that they sort in the order they were started
and are never reused; each line is one request (its origin and rows). A process writes only to
the segment it started, so a finished segment that is not the newest one can be deleted once it
is loaded. One writer per folder, held by a lock on the folder.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import queue
import re
import threading
import time
import uuid
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

from patron.errors import PatronError
from patron.ingest.intake import IntakeResult, Request, store_requests
from patron.model import TABLES
from patron.warehouse import Warehouse

SEGMENT_BYTES = 64 * 2**20  # a segment this large is closed and a new one started
LOAD_BYTES = 16 * 2**20  # at most this much of the log goes into one transaction
MAX_ROWS_PER_WRITE = 50_000
REMEMBERED_IDS = 1_000_000  # ids a writer recalls to answer "already stored" (the loader dedupes anyway)
LIVE = "live"  # the file naming the segment the writer has open
_SEGMENT = re.compile(r"\d{20}-[0-9a-f]{8}\.jsonl")


def log_folder(db: Path) -> Path:
    """Beside the warehouse file itself (a link to it shares its log and its lock)."""
    db = db.resolve()
    return db.with_name(db.name + ".intake")


@dataclass
class Accepted:
    """A request's answer: written to the log (durable), or already accepted before."""

    stored: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)


@dataclass
class _Pending:
    request: Request
    future: Future = field(default_factory=Future)


class FolderLock:
    """One writer per log folder: held for the service's life, taken before it starts serving."""

    def __init__(self, folder: Path) -> None:
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(folder, 0o700)  # a folder made earlier, or by someone else, is made private too
            self._file = open(folder / "writer.lock", "a+b")  # noqa: SIM115 (held until release)
        except OSError as e:
            raise PatronError(f"{folder}: cannot keep the API's intake log here ({e.strerror}); the folder "
                              "beside the warehouse must be writable by the user running `patron serve`") from None
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._file.close()
            raise PatronError(f"{folder}: another `patron serve` is taking feedback for this warehouse; "
                              "stop it or serve another --db") from None

    def release(self) -> None:
        self._file.close()


class LogWriter:
    """Group commit to the log: requests that arrive while one fsync runs share the next one."""

    def __init__(self, folder: Path, table: str, lock: FolderLock | None = None) -> None:
        self.folder, self.table = folder, table
        (self._key,) = TABLES[table].key
        self._lock = lock or FolderLock(folder)
        self._file = _new_segment(folder)
        self._seen: dict[bytes, None] = {}  # digests of ids, insertion-ordered: the oldest are forgotten first
        self._queue: queue.Queue[_Pending | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="patron-intake-log", daemon=True)
        self._thread.start()

    def submit(self, rows: list[dict], origin: str) -> Future[Accepted]:
        """Resolves once the rows are on disk (or fails with the reason). Rows must be JSON-ready."""
        pending = _Pending(Request(rows, origin))
        self._queue.put(pending)
        return pending.future

    def close(self) -> None:
        """Write what is queued, then stop."""
        self._queue.put(None)
        self._thread.join()
        self._file.close()
        self._lock.release()

    def _run(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            if first is None:
                return
            group, rows = [first], len(first.request.rows)
            while rows < MAX_ROWS_PER_WRITE:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                group.append(nxt)
                rows += len(nxt.request.rows)
            try:
                self._write(group)
            except Exception as e:  # every waiting request learns why; none was acknowledged
                for p in group:
                    p.future.set_exception(e)

    def _write(self, group: list[_Pending]) -> None:
        lines, answers = [], []
        seen: dict[bytes, None] = {}
        for p in group:
            answer = Accepted()
            for row in p.request.rows:
                key = str(row[self._key])
                digest = _digest(key)
                (answer.duplicates if digest in self._seen or digest in seen else answer.stored).append(key)
                seen[digest] = None
            lines.append(json.dumps({"origin": p.request.origin, "rows": p.request.rows}, ensure_ascii=False,
                                    separators=(",", ":")))
            answers.append(answer)
        start = self._file.tell()
        try:
            self._file.write(("\n".join(lines) + "\n").encode("utf-8"))
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError:
            self._undo(start)  # a half-written line must not join the next write into one unreadable line
            raise
        self._seen.update(seen)  # remembered only once on disk: a failed request may be sent again
        for p, answer in zip(group, answers, strict=True):
            p.future.set_result(answer)
        while len(self._seen) > REMEMBERED_IDS:
            del self._seen[next(iter(self._seen))]
        if self._file.tell() >= SEGMENT_BYTES:
            self._file.close()
            self._file = _new_segment(self.folder)

    def _undo(self, start: int) -> None:
        try:
            self._file.truncate(start)
            self._file.seek(start)
        except OSError:  # cannot even cut it back: leave that segment and start a new one
            self._file.close()
            self._file = _new_segment(self.folder)


def _digest(key: str) -> bytes:
    return hashlib.blake2b(key.encode("utf-8"), digest_size=16).digest()


def _new_segment(folder: Path):  # noqa: ANN202 (a binary file object)
    """A new segment, named so it sorts after those before it, recorded as the live one: the
    loader never deletes the live segment, whatever the names of the others."""
    name = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.jsonl"
    fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    live = folder / "live.tmp"
    live.write_text(name, encoding="utf-8")
    os.replace(live, folder / LIVE)
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the new names survive a crash
    finally:
        os.close(dir_fd)
    return os.fdopen(fd, "ab")


def segments(folder: Path) -> list[Path]:
    """The log's segments, oldest first; other files in the folder are not the log's."""
    return sorted(p for p in folder.glob("*.jsonl") if _SEGMENT.fullmatch(p.name)) if folder.is_dir() else []


def _live(folder: Path) -> str | None:
    try:
        return (folder / LIVE).read_text(encoding="utf-8").strip()
    except OSError:
        return None


def has_unloaded(wh: Warehouse, folder: Path, table: str) -> bool:
    done = _progress(wh, table)
    return any(s.stat().st_size > done.get(s.name, 0) for s in segments(folder))


def load_log(wh: Warehouse, folder: Path, table: str, source: str,
             max_bytes: int | None = None) -> list[IntakeResult]:
    """Move complete lines of the log not yet loaded into `table` (about `max_bytes` of them at
    most, so that other commands are not kept waiting behind a backlog), a transaction per chunk,
    each recording how far it got; then delete the segments that are finished and not live. A
    line that cannot be read is quarantined with the reason and its raw text, never skipped."""
    results: list[IntakeResult] = []
    live, budget = _live(folder), max_bytes
    for seg in segments(folder):
        finished = True
        while budget is None or budget > 0:
            done = _progress(wh, table).get(seg.name, 0)
            chunk, used = _read_lines(seg, done)
            if not chunk:
                break
            with wh.transaction():
                good = _requests(wh, chunk, seg, done, table, source)
                if good:
                    results += store_requests(wh, table, good, source)
                wh.execute("DELETE FROM intake_progress WHERE log = ? AND segment = ?", [table, seg.name])
                wh.execute("INSERT INTO intake_progress VALUES (?, ?, ?, now()::TIMESTAMP)",
                           [table, seg.name, done + used])
            budget = None if budget is None else budget - used
        else:
            finished = False  # the budget ran out inside this segment
        if finished and seg.name != live:
            # no writer appends here any more; an unfinished last line is a write that crashed
            # before it was acknowledged
            seg.unlink()
            wh.execute("DELETE FROM intake_progress WHERE log = ? AND segment = ?", [table, seg.name])
        if not finished:
            break
    return results


def _requests(wh: Warehouse, lines: list[bytes], seg: Path, start: int, table: str, source: str) -> list[Request]:
    good, bad = [], []
    for i, line in enumerate(lines):
        try:
            d = json.loads(line)
            good.append(Request(list(d["rows"]), str(d["origin"])))
        except (ValueError, KeyError, TypeError) as e:
            bad.append((i, f"a line of the intake log cannot be read ({e})", line.decode("utf-8", "replace")))
    if bad:
        (load_id,) = wh.engine.new_load_ids(1)
        for i, reason, raw in bad:
            wh.execute("INSERT INTO quarantine (load_id, source, table_name, file, row_number, field, value, reason, "
                       "record, quarantined_at) VALUES (?, ?, ?, ?, ?, NULL, NULL, ?, ?, now()::TIMESTAMP)",
                       [load_id, source, table, f"{seg} (from byte {start})", i + 1, reason, raw])
    return good


def _progress(wh: Warehouse, table: str) -> dict[str, int]:
    return {s: int(n) for s, n in wh.rows("SELECT segment, loaded_bytes FROM intake_progress WHERE log = ?",
                                          [table])}


def _read_lines(seg: Path, start: int) -> tuple[list[bytes], int]:
    """Complete lines from byte `start`: about LOAD_BYTES of them (a longer line whole), and the
    bytes they take. A last line still being written is left for the next time."""
    with open(seg, "rb") as f:
        f.seek(start)
        data = f.read(LOAD_BYTES)
        while b"\n" not in data and len(data) % LOAD_BYTES == 0 and data:
            more = f.read(LOAD_BYTES)
            if not more:
                break
            data += more
    end = data.rfind(b"\n") + 1
    return data[:end].splitlines(), end
