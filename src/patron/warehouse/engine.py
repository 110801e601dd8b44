"""The warehouse: one database behind an engine, with transactions and progress.

Stages talk to a `Warehouse`; what differs from one engine to the next sits behind `wh.engine`
(see engines/base.py). DuckDB, an embedded file, is the default engine.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from patron.errors import QueryFailed, WarehouseError
from patron.warehouse.engines.base import Engine, Result, WarehouseBusy
from patron.warehouse.engines.duckdb import DuckDBEngine

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["QueryFailed", "Warehouse", "WarehouseBusy", "open_spark_warehouse", "open_warehouse"]


class Warehouse:
    """A connection to one warehouse. Open it with `open_warehouse`."""

    def __init__(self, engine: Engine, path: Path | None):
        self.engine = engine
        self.path = path
        self._in_tx = False

    def execute(self, sql: str, params: Sequence[Any] | dict | None = None) -> Result:
        return self.engine.execute(sql, params)

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
        with self.engine.frame(name, df) as readable:
            yield readable

    def has_table(self, name: str) -> bool:
        return self.engine.has_table(name)

    def columns(self, name: str) -> list[str]:
        return self.engine.columns(name)

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
            self.engine.execute("ROLLBACK")
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
                pct = self.engine.progress()
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
        self.engine.forbid_file_access()

    def cursor(self) -> Warehouse:
        """A connection of its own to the same database, for another thread."""
        return Warehouse(self.engine.cursor(), self.path)

    def close(self) -> None:
        self.engine.close()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_spark_warehouse(path: str, master: str = "local[2]") -> Warehouse:
    """The Spark layout at `path` (see layout.py) through a session at `master`; a layout an older
    patron wrote gains the tables and columns this one declares."""
    from patron.warehouse.engines.spark import SparkEngine
    from patron.warehouse.schema import upgrade_layout

    wh = Warehouse(SparkEngine.open(path, master), None)
    upgrade_layout(wh, path)
    return wh


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
    wh = Warehouse(DuckDBEngine.open(p, wait_s=wait_s), p)
    try:
        migrate(wh)
    except BaseException:
        wh.close()
        raise
    if p is not None and (new or p.stat().st_mode & 0o077):
        # customers' data and key hashes: the owner's alone, also for a file an older patron made
        os.chmod(p, 0o600)
    return wh
