"""The warehouse schema, derived from the canonical model, and its migrations.

Additions to the model (a new table, a new column) are applied to old files automatically;
anything else needs a numbered step in MIGRATIONS. The version table records where a file is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from patron._version import __version__
from patron.errors import WarehouseError
from patron.model import LINEAGE, TABLES, Column

if TYPE_CHECKING:
    from patron.warehouse.engine import Warehouse

SCHEMA_VERSION = 2

SYSTEM_DDL = {
    "patron_schema": """
        CREATE TABLE patron_schema (
            version INTEGER NOT NULL,
            patron_version VARCHAR NOT NULL,
            migrated_at TIMESTAMP NOT NULL
        )""",
    "loads": """
        CREATE TABLE loads (
            load_id BIGINT NOT NULL,
            source VARCHAR NOT NULL,
            table_name VARCHAR NOT NULL,
            file VARCHAR NOT NULL,
            file_sha256 VARCHAR,
            started_at TIMESTAMP NOT NULL,
            finished_at TIMESTAMP,
            rows_read BIGINT,
            rows_loaded BIGINT,
            rows_updated BIGINT,
            rows_quarantined BIGINT,
            rows_already_loaded BIGINT
        )""",
    "quarantine": """
        CREATE TABLE quarantine (
            load_id BIGINT NOT NULL,
            source VARCHAR NOT NULL,
            table_name VARCHAR NOT NULL,
            file VARCHAR NOT NULL,
            row_number BIGINT,
            field VARCHAR,
            value VARCHAR,
            reason VARCHAR NOT NULL,
            record VARCHAR,
            record_hash UBIGINT,
            quarantined_at TIMESTAMP NOT NULL
        )""",
    "identity_map": """
        CREATE TABLE identity_map (
            system VARCHAR NOT NULL,
            ref VARCHAR NOT NULL,
            customer_id VARCHAR NOT NULL,
            method VARCHAR NOT NULL,
            resolved_at TIMESTAMP NOT NULL
        )""",
    "identity_links": """
        CREATE TABLE identity_links (
            record_l VARCHAR NOT NULL,
            record_r VARCHAR NOT NULL,
            method VARCHAR NOT NULL,
            match_probability DOUBLE NOT NULL,
            linked BOOLEAN NOT NULL
        )""",
    "customer_golden": """
        CREATE TABLE customer_golden (
            customer_id VARCHAR NOT NULL,
            name VARCHAR, domain VARCHAR, segment VARCHAR, region VARCHAR, industry VARCHAR, plan VARCHAR,
            owner VARCHAR, created_at DATE, email VARCHAR, phone VARCHAR,
            records BIGINT NOT NULL,
            sources VARCHAR[] NOT NULL,
            built_at TIMESTAMP NOT NULL
        )""",
    "identity_decisions": """
        CREATE TABLE identity_decisions (
            record_l VARCHAR NOT NULL,
            record_r VARCHAR NOT NULL,
            decision VARCHAR NOT NULL,
            note VARCHAR,
            decided_at TIMESTAMP NOT NULL
        )""",
    "metric_values": """
        CREATE TABLE metric_values (
            run_id VARCHAR NOT NULL,
            evaluated_at TIMESTAMP NOT NULL,
            metric VARCHAR NOT NULL,
            slice VARCHAR NOT NULL,
            grain VARCHAR NOT NULL,
            period DATE,
            value DOUBLE,
            n BIGINT NOT NULL,
            ci_low DOUBLE,
            ci_high DOUBLE,
            p_value DOUBLE
        )""",
    "api_keys": """
        CREATE TABLE api_keys (
            name VARCHAR NOT NULL,
            key_hash VARCHAR NOT NULL,
            prefix VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL,
            revoked_at TIMESTAMP
        )""",
    "enrichment": """
        CREATE TABLE enrichment (
            source_table VARCHAR NOT NULL,
            item_id VARCHAR NOT NULL,
            customer_id VARCHAR,
            channel VARCHAR,
            touchpoint VARCHAR,
            occurred_at TIMESTAMP,
            sentiment_score DOUBLE,
            sentiment_label VARCHAR,
            complaint BOOLEAN NOT NULL,
            model VARCHAR NOT NULL,
            enriched_at TIMESTAMP NOT NULL,
            unscored VARCHAR
        )""",
    "themes": """
        CREATE TABLE themes (
            theme_id VARCHAR NOT NULL,
            name VARCHAR NOT NULL,
            terms VARCHAR NOT NULL,
            examples VARCHAR NOT NULL,
            items BIGINT NOT NULL,
            first_seen_at TIMESTAMP NOT NULL,
            last_seen_at TIMESTAMP NOT NULL,
            keywords VARCHAR,
            top_words VARCHAR
        )""",
    "text_themes": """
        CREATE TABLE text_themes (
            source_table VARCHAR NOT NULL,
            item_id VARCHAR NOT NULL,
            theme_id VARCHAR NOT NULL,
            weight DOUBLE NOT NULL
        )""",
    "alerts": """
        CREATE TABLE alerts (
            series VARCHAR NOT NULL,
            name VARCHAR NOT NULL,
            first_day DATE NOT NULL,
            last_day DATE NOT NULL,
            observed BIGINT NOT NULL,
            expected DOUBLE NOT NULL,
            p_value DOUBLE NOT NULL,
            channels VARCHAR NOT NULL,
            examples VARCHAR NOT NULL,
            raised_at TIMESTAMP NOT NULL
        )""",
    "intake_progress": """
        CREATE TABLE intake_progress (
            log VARCHAR NOT NULL,
            segment VARCHAR NOT NULL,
            loaded_bytes BIGINT NOT NULL,
            loaded_at TIMESTAMP NOT NULL
        )""",
    "identity_model": """
        CREATE TABLE identity_model (
            fitted_at TIMESTAMP NOT NULL,
            model VARCHAR NOT NULL
        )""",
}

# Columns added to system tables after they first shipped: files made before get them on open.
SYSTEM_ADDITIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "themes": (("keywords", "VARCHAR"), ("top_words", "VARCHAR")),  # top words: the line under a theme's name
    "enrichment": (("unscored", "VARCHAR"),),  # why a text has no sentiment (its language), else NULL
    "quarantine": (("last_seen_load", "BIGINT"),),  # the last load that found the problem again
    "loads": (("rows_filtered", "BIGINT"), ("rows_rolled_up", "BIGINT")),  # a source's filter and roll-up
}


def _unscored_texts_have_no_sentiment(wh: Warehouse) -> None:
    """A text the model cannot read gets a NULL score and label, so that means and shares skip it."""
    if wh.has_table("enrichment"):
        for column in ("sentiment_score", "sentiment_label"):
            wh.execute(f"ALTER TABLE enrichment ALTER COLUMN {column} DROP NOT NULL")


# Numbered steps for changes that are not plain additions: version -> step that reaches it.
MIGRATIONS: dict[int, Callable[[Warehouse], None]] = {2: _unscored_texts_have_no_sentiment}


def canonical_columns(name: str) -> tuple[Column, ...]:
    return TABLES[name].columns + LINEAGE


def create_table_sql(name: str) -> str:
    cols = ",\n  ".join(f"{c.name} {c.sql_type}" for c in canonical_columns(name))
    return f"CREATE TABLE {name} (\n  {cols}\n)"


def _sync_additions(wh: Warehouse) -> None:
    """Create missing tables and add missing columns: the additive part of every upgrade."""
    for name, ddl in SYSTEM_DDL.items():
        if not wh.has_table(name):
            wh.execute(ddl)
    for name, columns in SYSTEM_ADDITIONS.items():
        present = set(wh.columns(name))
        for column, sql_type in columns:
            if column not in present:
                wh.execute(f"ALTER TABLE {name} ADD COLUMN {column} {sql_type}")
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
    have = {
        (t, c)
        for t, c in wh.rows(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'main'"
        )
    }
    need = {(t, c.name) for t in TABLES for c in canonical_columns(t)}
    need |= {(t, c) for t, c in (("loads", "load_id"), ("quarantine", "load_id"), ("identity_map", "customer_id"),
                                  ("identity_links", "linked"), ("identity_model", "model"),
                                  ("customer_golden", "built_at"), ("identity_decisions", "decision"),
                                  ("metric_values", "p_value"), ("api_keys", "key_hash"),
                                  ("enrichment", "complaint"), ("themes", "last_seen_at"),
                                  ("text_themes", "weight"), ("alerts", "raised_at"),
                                  ("intake_progress", "loaded_bytes"))}
    need |= {(t, c) for t, columns in SYSTEM_ADDITIONS.items() for c, _ in columns}
    return need <= have
