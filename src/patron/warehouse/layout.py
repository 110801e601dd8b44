"""Moving a warehouse between engines: a DuckDB file to the Spark layout (one Parquet folder per
table under a path, and a manifest of counts) and back.

Every table is copied whole and counted on both sides; a count that differs undoes nothing that was
there before (the target is always new) and names the table. DuckDB writes and reads the Parquet
itself, so the copy needs no Spark.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from patron._version import __version__
from patron.errors import WarehouseError
from patron.model import SYSTEM_TABLES, TABLES
from patron.warehouse.engine import Warehouse, open_warehouse

MANIFEST = "_patron.json"


@dataclass
class Copied:
    source: str
    target: str
    tables: dict[str, int]  # table -> rows, the same on both sides

    @property
    def rows(self) -> int:
        return sum(self.tables.values())

    def to_dict(self) -> dict:
        return {"source": self.source, "target": self.target, "tables": self.tables, "rows": self.rows}


def _names(wh: Warehouse) -> list[str]:
    return [n for n in (*SYSTEM_TABLES, *TABLES) if wh.has_table(n)]


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _new_folder(root: Path) -> None:
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise WarehouseError(f"{root}: already holds files; the Spark layout goes in a new or empty folder")
    if not root.parent.exists():
        raise WarehouseError(f"{root}: folder {root.parent} does not exist")


def to_spark_layout(wh: Warehouse, root: Path) -> Copied:
    """Each table of `wh` as root/<table>/part-0.parquet, counted back from the files."""
    _new_folder(root)
    root.mkdir(mode=0o700, exist_ok=True)
    os.chmod(root, 0o700)  # customers' data and key hashes: the owner's alone
    counts: dict[str, int] = {}
    try:
        for name in _names(wh):
            folder = root / name
            folder.mkdir()
            target = folder / "part-0.parquet"
            wh.execute(f"COPY (SELECT * FROM {name}) TO {_literal(target)} (FORMAT parquet)")
            want = wh.scalar(f"SELECT COUNT(*) FROM {name}")
            got = wh.scalar(f"SELECT COUNT(*) FROM read_parquet({_literal(target)})")
            if want != got:
                raise WarehouseError(f"{name}: {want:,} rows in the warehouse but {got:,} in {target}")
            counts[name] = int(got)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    (root / MANIFEST).write_text(json.dumps({"patron": __version__, "tables": counts}, indent=2, sort_keys=True))
    return Copied(str(wh.path or "in-memory"), str(root), counts)


def _readable_version(root: Path) -> None:
    """Refuse, before writing anything, a layout a newer patron wrote (its tables may mean more)."""
    import duckdb

    from patron.warehouse.schema import SCHEMA_VERSION

    if not any((root / "patron_schema").glob("*.parquet")):
        return
    files = _literal(root / "patron_schema" / "*.parquet")
    with duckdb.connect() as con:
        version = con.execute(f"SELECT max(version) FROM read_parquet({files})").fetchall()[0][0]
    if version is not None and version > SCHEMA_VERSION:
        raise WarehouseError(f"{root}: written by a newer patron (schema version {version}; this patron reads up to "
                             f"{SCHEMA_VERSION}); upgrade patron to copy it")


def from_spark_layout(root: Path, target: Path) -> Copied:
    """A new DuckDB warehouse at `target` holding every table of the Spark layout at `root`, each
    count checked against the row counts the Parquet files record. The manifest names the layout's
    tables when it was written; a table the warehouse gained on Spark since is copied too, one the
    manifest lists that is gone is an error."""
    manifest = root / MANIFEST
    if not manifest.is_file():
        raise WarehouseError(f"{root}: not a patron Spark layout (no {MANIFEST}; `patron export --engine spark` "
                             "writes one)")
    if target.exists() or target.is_symlink():  # a link, even to nowhere, is not followed
        raise WarehouseError(f"{target}: already exists; the copy goes to a new file")
    try:
        listed = json.loads(manifest.read_text())["tables"]
    except (ValueError, KeyError, TypeError):
        raise WarehouseError(f"{manifest}: not a manifest patron can read") from None
    if not isinstance(listed, dict) or not all(isinstance(n, int) and not isinstance(n, bool)
                                                for n in listed.values()):
        raise WarehouseError(f"{manifest}: not a manifest patron can read (its tables are not names with counts)")
    known = set(SYSTEM_TABLES) | set(TABLES)
    strange = sorted(n for n in listed if n not in known)
    if strange:
        raise WarehouseError(f"{manifest}: lists {strange[0][:80]!r}, which is no table of patron's")
    gone = sorted(n for n in listed if not (root / n).is_dir())
    if gone:
        raise WarehouseError(f"{root / gone[0]}: listed in the manifest but not there")
    _readable_version(root)
    counts: dict[str, int] = {}
    try:
        with open_warehouse(target) as wh, wh.transaction():
            for name in _names(wh):
                folder = root / name
                if not folder.is_dir():
                    continue
                if name == "patron_schema":  # the new file has its own row; the layout's history follows
                    wh.execute("DELETE FROM patron_schema")
                if not any(folder.glob("*.parquet")):  # a table Spark left with no file has no rows
                    counts[name] = int(wh.scalar(f"SELECT COUNT(*) FROM {name}"))
                    continue
                files = _literal(folder / "*.parquet")
                # what the files' footers say they hold, counted apart from the rows read
                recorded = int(wh.scalar(
                    "SELECT COALESCE(SUM(n), 0) FROM (SELECT DISTINCT file_name, row_group_id, row_group_num_rows "
                    f"AS n FROM parquet_metadata({files}))"))
                columns = ", ".join(wh.columns(name))
                wh.execute(f"INSERT INTO {name} ({columns}) SELECT {columns} FROM read_parquet({files})")
                got = wh.scalar(f"SELECT COUNT(*) FROM {name}")
                if got != recorded:
                    raise WarehouseError(f"{name}: its Parquet files hold {recorded:,} rows but {got:,} were "
                                         "read back")
                counts[name] = int(got)
            last = wh.scalar("SELECT MAX(load_id) FROM loads") if "loads" in counts else None
            if last:  # new loads are numbered after the copied ones
                wh.execute("DROP SEQUENCE load_ids")
                wh.execute(f"CREATE SEQUENCE load_ids START {int(last) + 1}")
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return Copied(str(root), str(target), counts)
