"""Loading files into a Spark warehouse: the demo company's sources give the rows, counts and
quarantine (line numbers included) that DuckDB gives; loading them again changes nothing, and a
changed row is counted as updated."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
import yaml

from conftest import PATRON
from patron.demo import generate
from patron.errors import WarehouseError
from patron.ingest import IngestResult
from patron.model import TABLES
from patron.project import Project
from patron.warehouse import Warehouse, open_spark_warehouse, open_warehouse
from patron.warehouse.layout import to_spark_layout

pytestmark = [pytest.mark.spark, pytest.mark.skipif(
    shutil.which("java") is None or importlib.util.find_spec("pyspark") is None,
    reason="Spark needs Java 17 on the PATH and pyspark (pip install 'patron[spark]')")]

ACCOUNTS = "exports/crm/accounts.csv"
# lines put among the demo's accounts: a name that spans two lines (one row, two lines), a line with
# a field too many, one with a field too few, a date that is no date, a key already on an earlier row
ODD = ['"ACC-9000000001","Two\nLines Ltd","https://twolines.io","SMB","EMEA","retail","Ann Lee","01/02/2024",""',
       '"ACC-9000000002","Extra Co","https://extra.io","SMB","EMEA","retail","Ann Lee","01/02/2024","","surplus"',
       '"ACC-9000000003","Short Co","https://short.io"',
       '"ACC-9000000004","Late Co","https://late.io","SMB","EMEA","retail","Ann Lee","31/31/2024",""']
# the orders again, shaped: a filter, a roll-up to one row per customer, and attributes kept
SHAPED = {"path": "exports/billing/orders.csv", "table": "orders", "customer_ref": "customer", "system": "billing",
          "filter": "amount < 12000 AND category <> 'hardware'", "columns": {"order_id": "customer"},
          "rollup": {"amount": "sum", "ordered_at": "min", "product": "last"},
          "attributes": {"first_product": "product", "big": {"expression": "amount > 5000", "type": "bool"}}}
# what the loads, quarantine and tables hold apart from when and under which load id they were written
IGNORED = {"load_id", "loaded_at", "started_at", "finished_at", "quarantined_at", "last_seen_load"}


@dataclass
class Loaded:
    company: Path
    duckdb: Path
    spark: Path
    on_duckdb: IngestResult
    on_spark: IngestResult


def _counts(result: IngestResult) -> list[tuple]:
    return [(f.source, f.file, f.read, f.loaded, f.updated, f.already_loaded, f.quarantined, f.filtered,
             f.rolled_up, f.new_in_quarantine) for f in result.files]


def _rows(wh: Warehouse, table: str) -> list[tuple]:
    columns = [c for c in wh.columns(table) if c not in IGNORED]
    listed = ", ".join(columns)
    return wh.rows(f"SELECT {listed} FROM {table} ORDER BY {listed}")


def _tables() -> list[str]:
    return [*TABLES, "customer_attributes", "quarantine", "loads"]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Loaded:
    """A small demo company, with odd lines among its accounts, loaded into an empty DuckDB warehouse
    and into the same warehouse moved to Spark."""
    root = tmp_path_factory.mktemp("spark-ingest")
    company = root / "company"
    generate(120, seed=3, out=company, as_of=date(2026, 6, 30), usage_days=2)
    lines = (company / ACCOUNTS).read_text().splitlines()
    lines[3:3] = ODD[:2]
    lines[8:8] = ODD[2:] + [lines[1]]
    (company / ACCOUNTS).write_text("\n".join(lines) + "\n")
    with open_warehouse(root / "empty.duckdb") as wh:
        to_spark_layout(wh, root / "layout")
    shutil.copy(root / "empty.duckdb", root / "duck.duckdb")
    config = yaml.safe_load((company / "patron.yml").read_text())
    config["sources"]["order_lines"] = SHAPED
    (company / "patron.yml").write_text(yaml.safe_dump({**config, "warehouse": {"engine": "spark",
                                                                                "path": str(root / "layout")}}))
    with Project.open(company / "patron.yml", root / "duck.duckdb", require_config=True) as project:
        on_duckdb = project.ingest()
    with Project.open(company / "patron.yml", require_config=True) as project:
        on_spark = project.ingest()
    return Loaded(company, root / "duck.duckdb", root / "layout", on_duckdb, on_spark)


def _spark(loaded: Loaded) -> Project:
    return Project.open(loaded.company / "patron.yml", require_config=True)


def test_the_demo_sources_give_the_same_counts_tables_and_quarantine_on_spark(loaded):
    assert not loaded.on_spark.refused and len(loaded.on_spark.files) == len(loaded.on_duckdb.files) > 10
    assert _counts(loaded.on_spark) == _counts(loaded.on_duckdb)
    assert loaded.on_spark.total("loaded") > 1000
    assert loaded.on_spark.total("rolled_up") > 0 and loaded.on_spark.total("filtered") > 0
    spark = open_spark_warehouse(str(loaded.spark))
    with open_warehouse(loaded.duckdb) as duck:
        for table in _tables():
            assert _rows(spark, table) == _rows(duck, table), table
        assert len(_rows(duck, "quarantine")) > 4


def test_bad_lines_are_quarantined_with_their_line_numbers_on_both_engines(loaded):
    spark = open_spark_warehouse(str(loaded.spark))
    query = ("SELECT row_number, field, reason FROM quarantine WHERE source = 'crm_accounts' "
             "ORDER BY row_number, field")
    with open_warehouse(loaded.duckdb) as duck:
        found = duck.rows(query)
    assert spark.rows(query) == found
    # a rejected line by its record in the file, as DuckDB's reader counts (the header is 1; the name
    # on two lines is one record); a row by its place among the rows read
    assert (5, None, "line 5: unreadable line: more fields than the header (the header has 9)") in found
    assert (9, None, "line 9: unreadable line: fewer fields than the header (the header has 9)") in found
    assert any(r[:2] == (7, "created_at") for r in found)
    assert any(r[0] == 8 and "duplicate key" in r[2] and r[2].endswith("already on row 1") for r in found)


def test_loading_the_same_files_again_says_already_loaded_and_changes_nothing(loaded):
    wh = open_spark_warehouse(str(loaded.spark))
    before = {t: _rows(wh, t) for t in _tables() if t != "loads"}
    r = subprocess.run([*PATRON, "ingest", "--format", "json"], cwd=loaded.company, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr
    again = json.loads(r.stdout)
    assert not again["refused"] and again["totals"]["loaded"] == again["totals"]["updated"] == 0
    assert [f["already_loaded"] for f in again["files"]] == [f.loaded for f in loaded.on_spark.files]
    assert [f["quarantined"] for f in again["files"]] == [f.quarantined for f in loaded.on_spark.files]
    assert sum(f["new_in_quarantine"] for f in again["files"]) == 0
    wh = open_spark_warehouse(str(loaded.spark))
    assert {t: _rows(wh, t) for t in before} == before
    assert wh.scalar("SELECT count(*) FROM loads WHERE finished_at IS NOT NULL") == 2 * len(again["files"])


def test_a_warehouse_loaded_on_duckdb_and_moved_to_spark_meets_its_quarantined_rows_again_and_comes_back(
        loaded, tmp_path):
    from patron.warehouse.layout import from_spark_layout

    moved = tmp_path / "moved"
    with open_warehouse(loaded.duckdb) as duck:
        to_spark_layout(duck, moved)
        quarantined = _rows(duck, "quarantine")
    config = yaml.safe_load((loaded.company / "patron.yml").read_text())
    (loaded.company / "moved.yml").write_text(yaml.safe_dump({**config, "warehouse": {"engine": "spark",
                                                                                      "path": str(moved)}}))
    try:
        with Project.open(loaded.company / "moved.yml", require_config=True) as project:
            (load,) = project.ingest(["crm_accounts"]).files
    finally:
        (loaded.company / "moved.yml").unlink()
    assert load.quarantined > 0 and load.new_in_quarantine == 0 and load.loaded == 0
    spark = open_spark_warehouse(str(moved))
    assert len(_rows(spark, "quarantine")) == len(quarantined)
    back = from_spark_layout(moved, tmp_path / "back.duckdb")
    assert back.tables["quarantine"] == len(quarantined)


def test_a_changed_row_is_counted_as_updated(loaded):
    file = loaded.company / ACCOUNTS
    text = file.read_text()
    file.write_text(text.replace('"Meadowseed Insurance GmbH"', '"Meadowseed Insurance AG"', 1))
    try:
        with _spark(loaded) as spark:
            (load,) = spark.ingest(["crm_accounts"]).files
    finally:
        file.write_text(text)
    names = open_spark_warehouse(str(loaded.spark)).rows(
        "SELECT name FROM customers WHERE source = 'crm_accounts' AND source_key = 'ACC-0000530981'")
    (first,) = [f for f in loaded.on_spark.files if f.source == "crm_accounts"]
    assert (load.updated, load.loaded, load.already_loaded) == (1, 1, first.loaded - 1)
    assert names == [("Meadowseed Insurance AG",)]


def test_a_source_refused_on_spark_leaves_nothing_of_its_files_as_on_duckdb(loaded, tmp_path):
    (tmp_path / "parts").mkdir()
    (tmp_path / "parts" / "1.csv").write_text("id,company\nA,Acme\nB,Brill\n")
    (tmp_path / "parts" / "2.csv").write_text("id,company\nC,\nD,\nE,Eton\n")  # 2 of 3 rows have no name
    (tmp_path / "one.csv").write_text("id,company\nX,Xeno\n")
    sources = {"parts": {"path": "parts/*.csv", "table": "customers", "customer_ref": "id",
                         "columns": {"name": "company"}},
               "one": {"path": "one.csv", "table": "customers", "customer_ref": "id", "columns": {"name": "company"}}}
    with open_warehouse(tmp_path / "empty.duckdb") as wh:
        to_spark_layout(wh, tmp_path / "layout")
    (tmp_path / "patron.yml").write_text(yaml.safe_dump({"sources": sources, "warehouse": {
        "engine": "spark", "path": str(tmp_path / "layout")}}))
    query = "SELECT source, source_key FROM customers ORDER BY 1, 2"
    with Project.open(tmp_path / "patron.yml", tmp_path / "empty.duckdb", require_config=True) as project:
        on_duckdb = project.ingest()
        rows = project.warehouse.rows(query)
    with Project.open(tmp_path / "patron.yml", require_config=True) as project:
        on_spark = project.run(stages=("ingest",)).ingest  # the ingest stage of a run, on Spark
        assert on_spark is not None
        wh = open_spark_warehouse(str(tmp_path / "layout"))
        assert wh.rows(query) == rows == [("one", "X")]
        assert wh.rows("SELECT source, rows_loaded FROM loads WHERE finished_at IS NOT NULL") == [("one", 1)]
        assert not wh.rows("SELECT * FROM loads WHERE source = 'parts'") and not wh.rows("SELECT * FROM quarantine")
    assert [r.message() for r in on_spark.refused] == [r.message() for r in on_duckdb.refused]
    assert "parts/2.csv rejects 2 of 3 rows" in on_spark.refused[0].message()


def test_loading_into_a_spark_path_that_holds_no_warehouse_says_how_to_make_one(loaded, tmp_path):
    (tmp_path / "patron.yml").write_text(yaml.safe_dump({"sources": {}, "warehouse": {
        "engine": "spark", "path": str(tmp_path / "nothing")}}))
    with Project.open(tmp_path / "patron.yml", require_config=True) as project, \
            pytest.raises(WarehouseError, match=r"not a patron warehouse on Spark .*patron export --engine spark"):
        project.ingest()
