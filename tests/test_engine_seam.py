"""The engine seam: outside the warehouse package no SQL is DuckDB's alone, and the DuckDB engine
does what the stages ask of it."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pandas as pd
import pytest
import sqlglot

from patron.warehouse import Engine, QueryFailed, linkage_api, open_warehouse

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "patron"

# what only DuckDB understands, asked of the engine instead (see patron/warehouse/engines/base.py)
ENGINE_ONLY = {
    "rowid": r"\browid\b",
    "struct_pack": r"\bstruct_pack\s*\(",
    "to_json": r"\bto_json\s*\(",
    "file readers": r"\bread_(csv|csv_auto|json|json_auto|ndjson|parquet|text|blob)\s*\(",
    "sequences": r"\bnextval\s*\(",
    "list lambdas": r"\blist_(filter|transform|apply|reduce)\s*\(|\blambda\s+\w+\s*:",
    "a Python list as a parameter": r"\b(unnest|list_contains|list_has_any|array_contains)\s*\(\s*(\?|\$\d)",
    "hash": r"\bhash\s*\(",
    "describing a query": r"\bDESCRIBE\b",
    "DuckDB's catalog": r"\bduckdb_\w+\s*\(",
    "Splink's DuckDB backend": r"\bDuckDBAPI\b",
    "unions by name": r"\bUNION\s+(ALL\s+)?BY\s+NAME\b",
}
PATTERN = re.compile("|".join(f"(?P<g{i}>{p})" for i, p in enumerate(ENGINE_ONLY.values())), re.IGNORECASE)

# modules allowed a construct, with the reason (none today)
KNOWN: dict[str, set[str]] = {}


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the docstring constants: prose, not SQL."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


def _strings(path: Path) -> list[tuple[int, str]]:
    """Every string literal in a module (f-strings' literal parts included), docstrings left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _docstrings(tree)
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip]


def _found(path: Path) -> list[tuple[int, str, str]]:
    names = list(ENGINE_ONLY)
    return [(line, names[int(m.lastgroup.removeprefix("g"))], m.group(0))
            for line, text in _strings(path) for m in PATTERN.finditer(text)]


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "warehouse" not in p.relative_to(PACKAGE).parts)


def test_the_scan_finds_what_it_looks_for(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text('"""rowid in a docstring is prose."""\n'
                      'SQL = "SELECT rowid, hash(a) FROM read_csv(\'x\')"\n'
                      'n = 2\nother = f"SELECT nextval(\'load_ids\') FROM t{n} WHERE x IN (SELECT unnest(?))"\n')
    kinds = {kind for _, kind, _ in _found(sample)}
    assert kinds == {"rowid", "hash", "file readers", "sequences", "a Python list as a parameter"}


@pytest.mark.parametrize("module", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_outside_the_warehouse_writes_duckdb_only_sql(module):
    rel = module.relative_to(PACKAGE).as_posix()
    found = [(line, kind, text) for line, kind, text in _found(module) if kind not in KNOWN.get(rel, set())]
    assert not found, f"{rel}: ask the engine (wh.engine) for these instead: {found}"


@pytest.fixture
def wh():
    with open_warehouse(None) as w:
        yield w


def test_the_warehouse_exposes_its_engine_and_its_dialect(wh):
    members = {n for n in dir(Engine) if not n.startswith("_")} | set(Engine.__annotations__)
    assert members <= set(dir(wh.engine))
    assert wh.engine.dialect in sqlglot.Dialect.classes
    with pytest.raises(QueryFailed):
        wh.engine.execute("SELECT * FROM no_such_table")


def test_load_ids_come_new_and_ascending(wh):
    first = wh.engine.new_load_ids(3)
    assert first == sorted(first) and len(set(first)) == 3
    (after,) = wh.engine.new_load_ids(1)
    assert after > max(first)


def test_a_file_is_read_as_text_with_its_unsplittable_lines_set_aside(wh, tmp_path):
    (tmp_path / "a.csv").write_text("id,name\n1,Acme\n2,Beta,extra\n03,Ce\n")
    sql = wh.engine.read_file(tmp_path / "a.csv", "csv", keep_rejects=True)
    assert wh.engine.columns_of(sql) == ["id", "name"]
    assert wh.rows(sql) == [("1", "Acme"), ("03", "Ce")]  # every value as text: 03 stays 03
    (line, kind, text, _), = wh.engine.rejected_lines()
    assert (line, kind, text) == (3, "TOO MANY COLUMNS", "2,Beta,extra")
    wh.engine.drop_rejected()
    assert wh.engine.rejected_lines() == []
    (tmp_path / "b.tsv").write_text("id\tname\n1\tAcme\n")
    assert wh.rows(wh.engine.read_file(tmp_path / "b.tsv", "csv")) == [("1", "Acme")]
    (tmp_path / "c.jsonl").write_text('{"id": 1, "name": "Acme"}\n{"id": 2, "name": null}\n')
    assert wh.rows(wh.engine.read_file(tmp_path / "c.jsonl", "jsonl")) == [(1, "Acme"), (2, None)]


def test_row_numbers_hashes_records_and_lists(wh):
    e = wh.engine
    wh.execute("CREATE TEMP TABLE t AS SELECT * FROM (VALUES ('a', 1), ('b', NULL), ('c', 3)) AS v(k, x)")
    wh.execute("DELETE FROM t WHERE k = 'a'")
    wh.execute("INSERT INTO t VALUES ('d', 4)")
    assert wh.rows(f"SELECT k, {e.row_number('t')} FROM t ORDER BY 2") == [("b", 1), ("c", 2), ("d", 3)]
    one, again, two = e.row_hash(["1", "'x'"]), e.row_hash(["1", "'x'"]), e.row_hash(["2", "'x'"])
    same, differ = wh.rows(f"SELECT {one} = {again}, {one} = {two}")[0]
    assert same and not differ
    rec = wh.scalar(f"SELECT {e.json_text(e.row_record('t'))} FROM t WHERE k = 'b'")
    assert json.loads(rec) == {"k": "b", "x": None}
    packed = e.record({"one": "1", "two": "'2'"})
    assert wh.scalar(f"SELECT ({packed}).two") == "2"
    assert wh.scalar(f"SELECT {e.non_null(['1', 'NULL', '3'])}") == [1, 3]


def test_python_lists_and_frames_become_tables(wh):
    wh.engine.temp_table("_t", {"source": "VARCHAR", "rank": "INTEGER"}, {"source": ["crm", "billing"], "rank": [0, 1]})
    assert wh.rows("SELECT source, rank FROM _t ORDER BY rank") == [("crm", 0), ("billing", 1)]
    wh.engine.temp_table("_t", {"source": "VARCHAR"}, {"source": []})  # replaced, empty
    assert wh.columns("_t") == ["source"] and wh.rows("SELECT * FROM _t") == []
    with wh.frame("_f", pd.DataFrame({"a": [1, 2]})) as f:
        assert wh.scalar(f"SELECT sum(a) FROM {f}") == 3


def test_splinks_backend_works_apart_from_the_warehouse(wh):
    for engine in (wh.engine, None):
        with linkage_api(engine, 0.1) as db:
            assert type(db).__name__ == "DuckDBAPI"
            frame = db.register(pd.DataFrame({"unique_id": ["a", "b"], "name": ["x", "y"]}))
            assert frame.as_pandas_dataframe()["name"].tolist() == ["x", "y"]
    assert not wh.has_table("__splink__input_table_0")
