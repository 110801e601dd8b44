"""The warehouse schema, derived from the tables the model declares, and its migrations.

Creation, the additive upgrade and the completeness check all read the declarations (the
canonical tables in patron.model.tables, each stage's own in patron.model.system), so no list
here can fall behind them. Additions (a new table, a new column) are applied to old files
automatically; anything else needs a numbered step in MIGRATIONS. The version table records
where a file is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from patron._version import __version__
from patron.errors import WarehouseError
from patron.model import LINEAGE, SYSTEM_TABLES, TABLES, Column, SystemTable

if TYPE_CHECKING:
    from patron.warehouse.engine import Warehouse

SCHEMA_VERSION = 3


def _ddl(table: SystemTable) -> str:
    cols = ",\n  ".join(f"{c.name} {c.sql_type}{' NOT NULL' if c.not_null else ''}" for c in table.columns)
    return f"CREATE TABLE {table.name} (\n  {cols}\n)"


# Derived from the declarations: the statement that creates each system table in a new file.
SYSTEM_DDL: dict[str, str] = {name: _ddl(t) for name, t in SYSTEM_TABLES.items()}


def _unscored_texts_have_no_sentiment(wh: Warehouse) -> None:
    """A text the model cannot read gets a NULL score and label, so that means and shares skip it."""
    if wh.has_table("enrichment"):
        for column in ("sentiment_score", "sentiment_label"):
            wh.execute(f"ALTER TABLE enrichment ALTER COLUMN {column} DROP NOT NULL")


def rehash_quarantine(wh: Warehouse) -> None:
    """Quarantine's record hashes as every engine computes them (they were each engine's own hash,
    so a row quarantined on one engine was quarantined again when the other met it)."""
    if wh.has_table("quarantine") and "record_hash" in wh.columns("quarantine"):
        wh.execute(f"UPDATE quarantine SET record_hash = {wh.engine.text_hash('record')} WHERE record IS NOT NULL")


# Numbered steps for changes that are not plain additions: version -> step that reaches it.
MIGRATIONS: dict[int, Callable[[Warehouse], None]] = {2: _unscored_texts_have_no_sentiment, 3: rehash_quarantine}


def canonical_columns(name: str) -> tuple[Column, ...]:
    return TABLES[name].columns + LINEAGE


def create_table_sql(name: str) -> str:
    cols = ",\n  ".join(f"{c.name} {c.sql_type}" for c in canonical_columns(name))
    return f"CREATE TABLE {name} (\n  {cols}\n)"


def _sync_additions(wh: Warehouse) -> None:
    """Create missing tables and add missing columns: the additive part of every upgrade."""
    for name, table in SYSTEM_TABLES.items():
        if not wh.has_table(name):
            wh.execute(SYSTEM_DDL[name])
            continue
        present = set(wh.columns(name))
        for col in table.columns:
            if col.added and col.name not in present:
                wh.execute(f"ALTER TABLE {name} ADD COLUMN {col.name} {col.sql_type}")
    if not wh.scalar("SELECT count(*) FROM duckdb_sequences() WHERE sequence_name = 'load_ids'"):
        wh.execute("CREATE SEQUENCE load_ids START 1")
    for name in TABLES:
        if not wh.has_table(name):
            wh.execute(create_table_sql(name))
            continue
        present = set(wh.columns(name))
        for col in canonical_columns(name):
            if col.name not in present:
                wh.execute(f"ALTER TABLE {name} ADD COLUMN {col.name} {col.sql_type}")


def file_version(wh: Warehouse) -> int | None:
    if not wh.has_table("patron_schema"):
        return None
    return wh.scalar("SELECT max(version) FROM patron_schema")


def migrate(wh: Warehouse) -> None:
    """Bring the file to SCHEMA_VERSION, or say clearly why it cannot be."""
    where = str(wh.path) if wh.path else "in-memory warehouse"
    version = file_version(wh)
    if version is None:
        foreign = wh.scalar(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main'"
        )
        if foreign:
            raise WarehouseError(
                f"{where}: this DuckDB file holds tables but was not created by patron "
                "(no patron_schema table); choose another file with --db"
            )
        version = 0
    if version > SCHEMA_VERSION:
        raise WarehouseError(
            f"{where}: written by a newer patron (schema version {version}; this patron reads up "
            f"to {SCHEMA_VERSION}); upgrade patron to open it"
        )
    if version == SCHEMA_VERSION and _is_complete(wh):
        return
    with wh.transaction():
        for step in range(version + 1, SCHEMA_VERSION + 1):
            if step in MIGRATIONS:
                MIGRATIONS[step](wh)
        _sync_additions(wh)
        wh.execute(
            "INSERT INTO patron_schema VALUES (?, ?, now()::TIMESTAMP)", [SCHEMA_VERSION, __version__]
        )


def _is_complete(wh: Warehouse) -> bool:
    """Every declared column of every table is there: a file that lacks one needs the upgrade."""
    have = set(wh.rows(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'main'"
    ))
    need = {(t, c.name) for t in TABLES for c in canonical_columns(t)}
    need |= {(t.name, c) for t in SYSTEM_TABLES.values() for c in t.names}
    return need <= have


def upgrade_layout(wh: Warehouse, where: str) -> None:
    """A Spark layout an older patron wrote, brought to this one's tables: the additive part of
    `migrate` (Spark has no ALTER over Parquet, so a table that lacks a column is written anew
    with it, empty). A folder that is no patron layout is left alone: loading says what it lacks."""
    version = file_version(wh)
    if version is None:
        return
    if version > SCHEMA_VERSION:
        raise WarehouseError(f"{where}: written by a newer patron (schema version {version}; this patron reads up "
                             f"to {SCHEMA_VERSION}); upgrade patron to open it")
    changed = False
    declared = [(name, [c.name for c in t.columns if c.added], None) for name, t in SYSTEM_TABLES.items()]
    declared += [(name, [c.name for c in canonical_columns(name)], name) for name in TABLES]
    for name, columns, canonical in declared:
        if not wh.has_table(name):
            wh.execute(create_table_sql(canonical) if canonical else SYSTEM_DDL[name])
            changed = True
            continue
        present = set(wh.columns(name))
        kept = canonical_columns(canonical) if canonical else SYSTEM_TABLES[name].columns
        types = {c.name: c.sql_type for c in kept}
        missing = [c for c in columns if c not in present]
        if missing:
            added = ", ".join(f"CAST(NULL AS {types[c]}) AS {c}" for c in missing)
            wh.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT *, {added} FROM {name}")
            changed = True
    if version < 3:  # the only step since that is not an addition (Parquet columns are nullable already)
        rehash_quarantine(wh)
    if changed or version < SCHEMA_VERSION:
        wh.execute("INSERT INTO patron_schema VALUES (?, ?, CAST(now() AS TIMESTAMP))", [SCHEMA_VERSION, __version__])
