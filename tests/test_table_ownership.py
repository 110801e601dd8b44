"""Stages own their tables: the warehouse is made from the declarations, and each stage, run in
the pipeline's order on the demo company, changes only the tables (and columns) it declares."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import DEMO_AS_OF
from patron.config import ProjectConfig, load_project
from patron.demo import generate
from patron.model import STAGES, SYSTEM_TABLES, TABLES, Stage, writes
from patron.warehouse import Warehouse, open_warehouse
from patron.warehouse.schema import canonical_columns


def _tables(wh: Warehouse) -> list[str]:
    return [t for t, in wh.rows("SELECT table_name FROM duckdb_tables() WHERE NOT temporary ORDER BY table_name")]


def _fingerprint(wh: Warehouse, table: str, leave_out: frozenset[str] = frozenset()) -> tuple[int, int]:
    """Rows and a sum of their hashes (a multiset's print: order does not count, a changed value does)."""
    cols = ", ".join(f'"{c}"' for c in wh.columns(table) if c not in leave_out)
    return wh.rows(f"SELECT count(*), coalesce(sum(hash(row({cols}))), 0) FROM {table}")[0]


def _prints(wh: Warehouse, stage: Stage) -> dict[str, tuple[int, int] | None]:
    """Each table's print, leaving out what `stage` may write: None for its own tables, the
    columns it may set for a table it shares."""
    allowed = writes(stage)
    out: dict[str, tuple[int, int] | None] = {}
    for t in _tables(wh):
        cols = allowed.get(t, frozenset())
        out[t] = None if cols is None else _fingerprint(wh, t, cols)
    return out


def test_a_new_warehouse_has_exactly_the_declared_tables_and_columns():
    with open_warehouse(None) as wh:
        have = {(t, c): (ty, nullable) for t, c, ty, nullable in wh.rows(
            "SELECT table_name, column_name, data_type, is_nullable FROM duckdb_columns() WHERE NOT internal")}
    declared = {(t.name, c.name): (c.sql_type, not c.not_null) for t in SYSTEM_TABLES.values() for c in t.columns}
    declared |= {(t, c.name): (c.sql_type, True) for t in TABLES for c in canonical_columns(t)}
    assert have == declared
    assert not set(SYSTEM_TABLES) & set(TABLES)
    assert {t.owner for t in SYSTEM_TABLES.values()} <= set(STAGES)


def test_a_file_from_before_each_added_column_gets_it_when_opened(tmp_path):
    added = [(t.name, c.name) for t in SYSTEM_TABLES.values() for c in t.columns if c.added]
    with open_warehouse(tmp_path / "old.duckdb") as wh:
        for table, column in added:
            wh.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    with open_warehouse(tmp_path / "old.duckdb") as wh:
        assert all(c in wh.columns(t) for t, c in added)


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> tuple[ProjectConfig, Path]:
    out = tmp_path_factory.mktemp("ownership") / "company"
    generate(300, seed=4, out=out, as_of=DEMO_AS_OF, usage_days=10)
    # a source that keeps customer attributes: ingest writes them, identity sets their customer_id
    yml = out / "patron.yml"
    yml.write_text(yml.read_text().replace("    table: customers\n    customer_ref: Account ID\n",
                                           "    table: customers\n    customer_ref: Account ID\n"
                                           "    attributes: {sector: Industry}\n", 1))
    return load_project(yml), out / "w.duckdb"


def _steps(cfg: ProjectConfig) -> list[tuple[Stage, str, Callable[[Warehouse], object]]]:
    """Each stage's own entry points, in the pipeline's order."""
    from patron.api.keys import create_key
    from patron.identity import resolve
    from patron.ingest import ingest_sources
    from patron.listen.enrich import enrich
    from patron.listen.spikes import detect, store
    from patron.listen.themes import discover
    from patron.metrics import evaluate_catalog
    from patron.metrics.spec import builtin_catalog, with_overrides
    from patron.predict.churn import run as predict_churn

    return [
        ("ingest", "ingest", lambda wh: ingest_sources(wh, cfg)),
        ("identity", "resolve", lambda wh: resolve(wh, cfg)),
        ("listen", "enrich", enrich),
        ("listen", "themes", lambda wh: discover(wh, taxonomy=cfg.listen.taxonomy)),
        ("listen", "spikes", lambda wh: store(wh, detect(wh))),
        ("metrics", "metrics", lambda wh: evaluate_catalog(
            wh, with_overrides(builtin_catalog(), cfg.metrics), [], "month", store=True)),
        ("predict", "churn", lambda wh: predict_churn(wh, cfg.predict.churn)),
        ("api", "keys", lambda wh: create_key(wh, "web-widget")),
    ]


def test_each_stage_writes_only_its_own_tables(company):
    cfg, db = company
    with open_warehouse(db) as wh:
        for stage, step, run in _steps(cfg):
            before = _prints(wh, stage)
            whole = {t: _fingerprint(wh, t) for t in _tables(wh)}
            run(wh)
            after = _prints(wh, stage)
            assert set(after) == set(before), f"{step} made or dropped tables"
            strays = sorted(t for t in before if before[t] != after[t])
            assert not strays, f"{step} ({stage}) wrote tables or columns it does not own: {strays}"
            changed = {t for t in whole if _fingerprint(wh, t) != whole[t]}
            assert changed, f"{step} wrote nothing: the check would prove nothing"
        # identity's share of the canonical tables is real: it set the master ids ingest could not
        assert wh.scalar("SELECT count(*) FROM customers WHERE customer_id IS NULL") == 0
        # and of the attributes ingest keeps
        assert wh.scalar("SELECT count(*) FROM customer_attributes WHERE customer_id IS NULL") == 0
        assert wh.scalar("SELECT count(*) FROM customer_attributes") > 0
