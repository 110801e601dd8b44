"""An embedded DuckDB warehouse file: connection, transactions, progress."""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from patron.errors import QueryFailed, WarehouseError

if TYPE_CHECKING:
    import pandas as pd


class Warehouse:
    """A connection to one warehouse file. Open it with `open_warehouse`."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path | None):
        self.con = con
        self.path = path
        self._in_tx = False

    def execute(self, sql: str, params: Sequence[Any] | dict | None = None) -> duckdb.DuckDBPyConnection:
        try:
            return self.con.execute(sql, params) if params is not None else self.con.execute(sql)
        except duckdb.Error as e:
            raise QueryFailed(str(e).strip()) from e

    def rows(self, sql: str, params: Sequence[Any] | dict | None = None) -> list[tuple]:
        return self.execute(sql, params).fetchall()

    def scalar(self, sql: str, params: Sequence[Any] | dict | None = None) -> Any:
        rows = self.execute(sql, params).fetchall()  # read to the end: a half-read result blocks the connection
        return rows[0][0] if rows else None

    def df(self, sql: str, params: Sequence[Any] | dict | None = None) -> pd.DataFrame:
        return self.execute(sql, params).df()

    @contextmanager
    def frame(self, name: str, df: pd.DataFrame) -> Iterator[str]:
        """Make a DataFrame readable as `name` in SQL for the duration of the block."""
        self.con.register(name, df)
        try:
            yield name
        finally:
            self.con.unregister(name)

    def has_table(self, name: str) -> bool:
        return bool(
            self.scalar(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' "
                "AND table_name = ? AND table_type = 'BASE TABLE'",
                [name],
            )
        )

    def columns(self, name: str) -> list[str]:
        return [
            r[0]
            for r in self.rows(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'main' "
                "AND table_name = ? ORDER BY ordinal_position",
                [name],
            )
        ]

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing: any exception rolls every statement inside back."""
        if self._in_tx:
            yield
            return
        self.execute("BEGIN TRANSACTION")
        self._in_tx = True
        try:
            yield
        except BaseException:
            self._in_tx = False
            self.con.execute("ROLLBACK")
            raise
        self._in_tx = False
        self.execute("COMMIT")

    def run_with_progress(
        self, sql: str, on_progress: Callable[[float], None], params: Sequence[Any] | None = None
    ) -> None:
        """Run one long statement while reporting the engine's own percentage done."""
        done = threading.Event()

        def poll() -> None:
            while not done.wait(0.2):
                pct = self.con.query_progress()
                if pct >= 0:
                    on_progress(pct)

        watcher = threading.Thread(target=poll, daemon=True)
        watcher.start()
        try:
            self.execute(sql, params)
        finally:
            done.set()
            watcher.join()
        on_progress(100.0)

    def forbid_file_access(self) -> None:
        """From here on the engine touches no file but the warehouse and its spill folder.

        A second guard, behind the allow-list, for queries built from patron.yml. DuckDB's switch
        is one-way for the whole process, so only commands that have read every file they need
        call it, just before they evaluate configured metrics."""
        self.execute("SET enable_external_access = false")

    def cursor(self) -> Warehouse:
        """A connection of its own to the same database, for another thread."""
        return Warehouse(self.con.cursor(), self.path)

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _memory_mb(share: float) -> int:
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 4096
    return max(256, int(total * share / 2**20))


class WarehouseBusy(WarehouseError):
    """Another process is writing the warehouse (DuckDB has one writing process at a time)."""


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


def scratch_connection(memory_share: float, spill_to: str) -> duckdb.DuckDBPyConnection:
    """An in-memory engine for another library's working tables (linkage), capped and able to spill."""
    con = _connect(None, memory_share)
    con.execute(f"SET temp_directory = '{_quoted(spill_to)}'")
    return con


WAIT_S = 60.0  # how long a command waits for another process to let go of the warehouse


def open_warehouse(path: str | Path | None, wait_s: float = WAIT_S) -> Warehouse:
    """Open (creating or upgrading as needed) the warehouse at `path`; None is in memory. If
    another process is writing it, wait up to `wait_s` seconds for it, then raise WarehouseBusy."""
    from patron.warehouse.schema import migrate

    p = Path(path) if path is not None else None
    if p is not None:
        if p.is_dir():
            raise WarehouseError(f"{p}: is a folder, not a warehouse file")
        if not p.parent.exists():
            raise WarehouseError(f"{p}: folder {p.parent} does not exist")
    new = p is not None and not p.exists()
    wh = Warehouse(_connect(p, wait_s=wait_s), p)
    try:
        migrate(wh)
    except BaseException:
        wh.close()
        raise
    if p is not None and (new or p.stat().st_mode & 0o077):
        # customers' data and key hashes: the owner's alone, also for a file an older patron made
        os.chmod(p, 0o600)
    return wh
