"""The Spark engine: the same catalog gives the same values and n on Spark as on DuckDB, a warehouse
moves to the Spark layout and back with every count checked, and what Spark cannot run is named."""

from __future__ import annotations

import html
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import PATRON
from patron.errors import MetricError, QueryFailed, WarehouseError
from patron.metrics.compile import inputs
from patron.metrics.evaluate import evaluate_catalog
from patron.metrics.spec import builtin_catalog, with_overrides
from patron.project import Project
from patron.warehouse import open_spark_warehouse, open_warehouse

pytestmark = pytest.mark.spark
needs_spark = pytest.mark.skipif(
    shutil.which("java") is None or importlib.util.find_spec("pyspark") is None,
    reason="Spark needs Java 17 on the PATH and pyspark (pip install 'patron[spark]')")


def _by_metric(frame: pd.DataFrame, by: list[str]) -> dict[tuple, tuple]:
    """(metric, slice..., period) -> (value, n); a period as its day, whatever type the engine gave."""
    keys = ["metric", *by, *(["period"] if "period" in frame.columns else [])]
    return {tuple(str(r[k])[:10] if k == "period" else str(r[k]) for k in keys): (r["value"], int(r["n"]))
            for r in frame.to_dict("records")}


@needs_spark
@pytest.mark.parametrize("by,period", [([], None), (["segment"], "month")])
def test_every_catalog_metric_gives_the_same_value_and_n_on_spark(layout, by, period):
    db, root = layout
    catalog = builtin_catalog()
    if by:  # the metrics that can be sliced so (a formula, with its inputs)
        catalog = {n: s for n, s in catalog.items() if set(by) <= set(s.dimensions)}
        catalog = {n: s for n, s in catalog.items() if s.kind != "formula" or set(inputs(s)) <= set(catalog)}
    with open_warehouse(db) as wh:
        duck = evaluate_catalog(wh, catalog, by, period, store=False)
    spark = evaluate_catalog(open_spark_warehouse(str(root)), catalog, by, period, store=False)
    a, b = _by_metric(duck, by), _by_metric(spark, by)
    assert len(a) == len(duck) and set(a) == set(b)
    differ = [k for k in a if a[k][1] != b[k][1] or not (
        (pd.isna(a[k][0]) and pd.isna(b[k][0])) or a[k][0] == pytest.approx(b[k][0], rel=1e-9, abs=1e-9))]
    assert not differ, [(k, a[k], b[k]) for k in differ[:10]]
    assert {k[0] for k in a} == set(catalog)


@needs_spark
def test_a_construct_spark_cannot_run_is_named_with_its_metric(layout):
    _, root = layout
    odd = with_overrides(builtin_catalog(), {"plain_names": {
        "label": "Plain names", "definition": "Customers whose name has no accent.", "kind": "count",
        "table": "customers", "filter": "strip_accents(name) = name", "time": "created_at", "unit": "count",
        "better": "higher"}})["plain_names"]
    with pytest.raises(MetricError, match=r"plain_names: the warehouse cannot evaluate it: .*STRIP_ACCENTS"):
        evaluate_catalog(open_spark_warehouse(str(root)), {"plain_names": odd}, store=False)


@needs_spark
def test_a_project_on_spark_runs_the_catalog_and_keeps_its_values(layout, tmp_path):
    _, root = layout
    copy = tmp_path / "layout"
    shutil.copytree(root, copy)
    (tmp_path / "patron.yml").write_text(yaml.safe_dump({"warehouse": {"engine": "spark", "path": str(copy)}}))
    r = subprocess.run([*PATRON, "metrics", "run", "--format", "json"], cwd=tmp_path, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr
    stored = pd.read_parquet(copy / "metric_values")
    before = pd.read_parquet(root / "metric_values")
    assert len(stored) > len(before)  # this run's values appended beside the demo's


def test_a_warehouse_goes_to_the_spark_layout_and_back_with_every_count(layout, tmp_path):
    db, root = layout
    r = subprocess.run([*PATRON, "export", "--engine", "duckdb", "--from", str(root), "--to",
                        str(tmp_path / "back.duckdb"), "--format", "json"], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    with open_warehouse(db) as a, open_warehouse(tmp_path / "back.duckdb") as b:
        for name, rows in json.loads(r.stdout)["tables"].items():
            assert a.scalar(f"SELECT COUNT(*) FROM {name}") == b.scalar(f"SELECT COUNT(*) FROM {name}") == rows
        assert a.df("SELECT * FROM subscriptions ORDER BY subscription_id, load_id").equals(
            b.df("SELECT * FROM subscriptions ORDER BY subscription_id, load_id"))
        assert b.engine.new_load_ids(1)[0] > a.scalar("SELECT MAX(load_id) FROM loads")
    again = subprocess.run([*PATRON, "export", "--engine", "duckdb", "--from", str(root), "--to",
                            str(tmp_path / "back.duckdb")], capture_output=True, text=True, timeout=120)
    assert again.returncode == 1 and "already exists; the copy goes to a new file" in again.stderr


@needs_spark
def test_a_layout_changed_on_spark_comes_back_as_it_is_now_and_a_lost_table_is_named(layout, tmp_path):
    from patron.warehouse.layout import from_spark_layout

    _, root = layout
    copy = tmp_path / "layout"
    shutil.copytree(root, copy)
    spark = open_spark_warehouse(str(copy))
    before, keys = spark.scalar("SELECT COUNT(*) FROM tickets"), spark.scalar("SELECT COUNT(*) FROM api_keys")
    spark.execute("DELETE FROM tickets WHERE priority = 'low'")
    spark.execute("INSERT INTO api_keys (name, prefix, key_hash, created_at) VALUES ('widget', 'ptr_ab', 'x', "
                  "TIMESTAMP '2026-01-01 00:00:00')")
    now = spark.scalar("SELECT COUNT(*) FROM tickets")
    assert 0 < now < before
    back = from_spark_layout(copy, tmp_path / "back.duckdb")
    assert back.tables["tickets"] == now and back.tables["api_keys"] == keys + 1
    with open_warehouse(tmp_path / "back.duckdb") as b:
        assert b.scalar("SELECT COUNT(*) FROM tickets WHERE priority = 'low'") == 0
    shutil.rmtree(copy / "usage")
    with pytest.raises(WarehouseError, match="usage: listed in the manifest but not there"):
        from_spark_layout(copy, tmp_path / "again.duckdb")
    assert not (tmp_path / "again.duckdb").exists()


def _as_a_newer_patron_wrote_it(layout: Path) -> None:
    """The layout's schema history says a later version than this patron reads."""
    import duckdb

    schema = layout / "patron_schema"
    newer = duckdb.sql(f"SELECT * REPLACE (99 AS version) FROM read_parquet('{schema}/*.parquet')").df()
    for old in schema.glob("*.parquet"):
        old.unlink()
    newer.to_parquet(schema / "part-0.parquet")


@needs_spark
def test_a_layout_an_older_patron_wrote_gains_the_tables_and_columns_this_one_declares(layout, tmp_path):
    import duckdb

    _, root = layout
    copy = tmp_path / "layout"
    shutil.copytree(root, copy)
    shutil.rmtree(copy / "identity_sources")  # a table, and a column, this patron added since
    part, older = copy / "enrichment" / "part-0.parquet", tmp_path / "older.parquet"
    rows = duckdb.sql(f"SELECT count(*) FROM read_parquet('{part}')").fetchall()[0][0]
    duckdb.sql(f"COPY (SELECT * EXCLUDE (unscored) FROM read_parquet('{part}')) TO '{older}' (FORMAT parquet)")
    shutil.move(older, part)
    spark = open_spark_warehouse(str(copy))
    assert spark.has_table("identity_sources") and spark.scalar("SELECT count(*) FROM identity_sources") == 0
    assert "unscored" in spark.columns("enrichment")
    assert spark.scalar("SELECT count(*) FROM enrichment") == rows > 0
    assert spark.scalar("SELECT count(*) FROM enrichment WHERE unscored IS NOT NULL") == 0
    # and a layout a newer patron wrote is refused, not changed
    _as_a_newer_patron_wrote_it(copy)
    with pytest.raises(WarehouseError, match="written by a newer patron"):
        open_spark_warehouse(str(copy))


def test_exporting_into_a_folder_that_holds_files_or_from_a_folder_that_is_no_layout_is_refused(tmp_path, layout):
    db, root = layout
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    with Project.open(None, db) as project:
        with pytest.raises(WarehouseError, match="already holds files"):
            project.export("spark", tmp_path / "full")
        with pytest.raises(WarehouseError, match="not a patron Spark layout"):
            project.export("duckdb", tmp_path / "x.duckdb", tmp_path / "full")
        with pytest.raises(WarehouseError, match="--engine oracle: one of spark, duckdb"):
            project.export("oracle", tmp_path / "y")
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine" and not (tmp_path / "x.duckdb").exists()


def test_copying_back_refuses_a_newer_layout_a_strange_manifest_and_a_link_before_writing(tmp_path, layout):

    from patron.warehouse.layout import MANIFEST, from_spark_layout

    _, root = layout
    copy = tmp_path / "layout"
    shutil.copytree(root, copy)
    (tmp_path / "elsewhere.duckdb").unlink(missing_ok=True)
    (tmp_path / "link.duckdb").symlink_to(tmp_path / "elsewhere.duckdb")  # a link to nowhere yet
    with pytest.raises(WarehouseError, match="already exists"):
        from_spark_layout(copy, tmp_path / "link.duckdb")
    assert not (tmp_path / "elsewhere.duckdb").exists()
    manifest = json.loads((copy / MANIFEST).read_text())
    for tables, problem in (("abc", "not names with counts"), ({**manifest["tables"], "secrets": 1},
                                                               "'secrets', which is no table of patron's")):
        (copy / MANIFEST).write_text(json.dumps({**manifest, "tables": tables}))
        with pytest.raises(WarehouseError, match=problem):
            from_spark_layout(copy, tmp_path / "out.duckdb")
    (copy / MANIFEST).write_text(json.dumps(manifest))
    _as_a_newer_patron_wrote_it(copy)
    with pytest.raises(WarehouseError, match="written by a newer patron"):
        from_spark_layout(copy, tmp_path / "out.duckdb")
    assert not (tmp_path / "out.duckdb").exists()


@needs_spark
def test_a_layout_named_relative_to_patron_yml_opens_from_anywhere_and_an_unreadable_one_is_one_line(layout, tmp_path):
    _, root = layout
    (tmp_path / "company").mkdir()
    shutil.copytree(root, tmp_path / "company" / "spark-warehouse")
    (tmp_path / "company" / "patron.yml").write_text(yaml.safe_dump(
        {"warehouse": {"engine": "spark", "path": "spark-warehouse"}}))  # as the README writes it
    r = subprocess.run([*PATRON, "status", "--format", "json", "--config", "company/patron.yml"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["tables"]
    assert "Setting default log level" not in r.stderr
    (tmp_path / "patron.yml").write_text(yaml.safe_dump({"warehouse": {"engine": "spark", "path": "ftp://127.0.0.1:1/w"}}))
    r = subprocess.run([*PATRON, "status"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 1 and "cannot read a warehouse there" in r.stderr and "ftp" in r.stderr
    assert "Traceback" not in r.stderr


def test_a_name_two_withs_give_is_made_one_of_its_own_and_reads_what_it_read():
    import duckdb
    import sqlglot

    from patron.warehouse.engines.spark import _unique_ctes

    # shared relations carry their own WITH; SQLGlot lifts every WITH to the top for Spark
    sql = ("WITH a AS (SELECT 1 AS x), b AS (WITH a AS (SELECT 2 AS x) SELECT a.x FROM a) "
           "SELECT a.x, b.x AS y, (SELECT max(x) FROM (WITH a AS (SELECT 3 AS x), c AS (SELECT x FROM a) "
           "SELECT x FROM c) AS q) AS z FROM a, b")
    tree = sqlglot.parse_one(sql, read="duckdb")
    rewritten = _unique_ctes(tree)
    assert duckdb.sql(rewritten.sql(dialect="duckdb")).fetchall() == duckdb.sql(sql).fetchall() == [(1, 2, 3)]
    lifted = sqlglot.parse_one(rewritten.sql(dialect="spark"), read="spark")
    names = [cte.alias for cte in lifted.find_all(sqlglot.exp.CTE)]
    assert len(names) == len(set(names)) == 5


def test_the_service_which_works_on_a_duckdb_file_says_so_on_a_spark_warehouse(tmp_path):
    (tmp_path / "patron.yml").write_text(yaml.safe_dump({"warehouse": {"engine": "spark", "path": "hdfs://x/w"}}))
    r = subprocess.run([*PATRON, "serve"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "this warehouse is on Spark" in r.stderr and "--engine duckdb" in r.stderr, r.stderr
    assert "patron serve" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["patron.yml"]  # nothing made


def test_sparks_log_settings_are_written_to_this_users_file_never_through_a_link(monkeypatch, tmp_path):
    import os
    import tempfile

    from patron.warehouse.engines.spark import _QUIET, _quiet_log_config

    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(tmp_path))
    mine = tmp_path / f"patron-spark-log4j2-{os.getuid()}.properties"
    mine.symlink_to(tmp_path / "victim")  # put there by someone else
    written = Path(_quiet_log_config())
    assert written != mine and written.read_text() == _QUIET and not (tmp_path / "victim").exists()
    mine.unlink()
    assert Path(_quiet_log_config()) == mine and oct(mine.stat().st_mode & 0o777) == "0o600"


def test_choosing_spark_without_pyspark_says_how_to_install_it(monkeypatch):
    from patron.warehouse.engines import spark

    monkeypatch.setitem(sys.modules, "pyspark", None)
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(WarehouseError, match=r'the spark engine needs pyspark: pip install "patron\[spark\]"'):
        spark.session()


def test_a_spark_path_is_read_against_patron_yml_and_one_spark_would_misread_is_refused(tmp_path):
    from patron.config import parse_project
    from patron.errors import ConfigError

    def warehouse(path: str) -> object:
        return parse_project({"warehouse": {"engine": "spark", "path": path}}, root=tmp_path).warehouse

    assert warehouse("sw").located(tmp_path) == str((tmp_path / "sw").resolve())
    assert warehouse("../sw").located(tmp_path) == str((tmp_path.parent / "sw").resolve())
    for url in ("hdfs://nn:8020/w", "s3a://bucket/w", "file:///data/w"):
        assert warehouse(url).located(tmp_path) == url
    for bad in ("a\\b", "it's", "a\nb"):
        with pytest.raises(ConfigError, match="warehouse.SparkWarehouse.path: .* a control character, a quote"):
            warehouse(bad)


CHANGES = [  # what the stages do to tables, in DuckDB's dialect
    ("CREATE TABLE t (id INTEGER, name VARCHAR, score DOUBLE, seen TIMESTAMP)", None),
    ("INSERT INTO t VALUES (1, 'a', 1.5, TIMESTAMP '2026-01-01 00:00:00'), (2, 'b', NULL, NULL), (3, 'c', 3.0, NULL), "
     "(4, NULL, 4.0, NULL), (5, 'e', 5.0, NULL)", None),
    ("CREATE TABLE m (id INTEGER, new_name VARCHAR)", None),
    ("INSERT INTO m VALUES (1, 'A'), (3, 'C'), (3, 'C'), (9, 'Z')", None),
    ("UPDATE t AS x SET name = m.new_name, score = x.score * 2 FROM m WHERE m.id = x.id", None),
    ("UPDATE t SET seen = ? WHERE id = ?", ["2026-02-03 04:05:06", 2]),
    ("UPDATE t SET name = 'never' WHERE score > 100", None),
    ("DELETE FROM t WHERE name IS NULL OR id = ?", [3]),
    ("DELETE FROM t WHERE id IN (SELECT id + 4 FROM m WHERE new_name = 'A')", None),
    ("CREATE OR REPLACE TEMP TABLE tt AS SELECT id, name FROM t", None),
    ("INSERT INTO tt VALUES (7, 'g')", None),
    ("UPDATE tt SET name = upper(name) WHERE id > 1", None),
    ("CREATE OR REPLACE TEMP TABLE tt AS SELECT id * 10 AS id, name FROM tt", None),
    ("CREATE TABLE IF NOT EXISTS m (other INTEGER)", None),
    ("CREATE TABLE gone (id INTEGER)", None),
    ("DROP TABLE gone", None),
]


@needs_spark
def test_statements_that_change_tables_leave_the_rows_duckdb_leaves(tmp_path):
    from patron.warehouse.engines.duckdb import DuckDBEngine
    from patron.warehouse.engines.spark import SparkEngine

    spark, duck = SparkEngine.open(tmp_path / "w"), DuckDBEngine.open(None)
    for sql, args in CHANGES:
        spark.execute(sql, args)
        duck.execute(sql, args)
    for query in ("SELECT * FROM t ORDER BY id", "SELECT * FROM tt ORDER BY id", "SELECT * FROM m ORDER BY id"):
        assert spark.execute(query).fetchall() == duck.execute(query).fetchall(), query
    assert spark.execute("SELECT name FROM t ORDER BY id").fetchall() == [("A",), ("b",)]
    assert not spark.has_table("gone") and not (tmp_path / "w" / "gone").exists()
    spark.execute("DELETE FROM m")
    assert spark.execute("SELECT count(*) FROM m").fetchall() == [(0,)] and spark.columns("m") == ["id", "new_name"]
    with pytest.raises(QueryFailed, match="cannot run ALTER"):
        spark.execute("ALTER TABLE t ADD COLUMN x INTEGER")
    with pytest.raises(QueryFailed, match="t has no column nope"):
        spark.execute("UPDATE t SET nope = 1")
    assert spark.execute("SELECT count(*) FROM t").fetchall() == [(2,)]  # a refused change changed nothing


@needs_spark
def test_identity_resolves_on_spark_as_on_duckdb_and_a_persons_decision_wins_there_too(layout, tmp_path):
    db, root = layout
    copy = tmp_path / "layout"
    shutil.copytree(root, copy)
    shutil.copy(db, tmp_path / "duck.duckdb")
    config = yaml.safe_load((db.parent / "patron.yml").read_text())
    (tmp_path / "patron.yml").write_text(yaml.safe_dump({**config, "warehouse": {"engine": "spark",
                                                                                 "path": str(copy)}}))
    pair = ["crm:ACC-0000530981", "billing:cus_00s3uq6"]
    results = {}
    for engine, db_opt in (("spark", []), ("duckdb", ["--db", str(tmp_path / "duck.duckdb")])):
        decided = subprocess.run([*PATRON, "identity", "decide", *pair, "--merge", *db_opt], cwd=tmp_path,
                                 capture_output=True, text=True, timeout=300)
        assert decided.returncode == 0, decided.stderr
        r = subprocess.run([*PATRON, "identity", "resolve", "--format", "json", *db_opt], cwd=tmp_path,
                           capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stderr
        results[engine] = json.loads(r.stdout)
    assert results["spark"] == results["duckdb"]
    assert results["spark"]["records"] > 0 and results["spark"]["model_links"] > 0
    spark = open_spark_warehouse(str(copy))
    with open_warehouse(tmp_path / "duck.duckdb") as duck:
        for query in ("SELECT system, ref, customer_id, method FROM identity_map ORDER BY 1, 2",
                      "SELECT source, customer_ref, customer_id FROM subscriptions ORDER BY 1, 2, 3",
                      "SELECT customer_id, name, domain, records FROM customer_golden ORDER BY 1"):
            assert spark.rows(query) == duck.rows(query), query
        merged = spark.rows("SELECT count(DISTINCT customer_id) FROM identity_map WHERE system || ':' || ref IN (?, ?)",
                            pair)
        assert merged == [(1,)]


@needs_spark
def test_texts_are_scored_beside_the_rows_on_spark_and_give_duckdbs_sentiments(layout, tmp_path):
    _, root = layout
    copy = tmp_path / "layout"
    shutil.copytree(root, copy)
    (tmp_path / "patron.yml").write_text(yaml.safe_dump({"warehouse": {"engine": "spark", "path": str(copy)}}))
    query = ("SELECT source_table, item_id, customer_id, channel, touchpoint, occurred_at, round(sentiment_score, 9), "
             "sentiment_label, complaint, model, unscored FROM enrichment ORDER BY 1, 2")
    spark = open_spark_warehouse(str(copy))
    scored_on_duckdb = spark.rows(query)
    spark.execute("DELETE FROM enrichment WHERE source_table IN ('tickets', 'responses')")
    r = subprocess.run([*PATRON, "listen", "enrich", "--format", "json"], cwd=tmp_path, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    done = json.loads(r.stdout)
    assert done["by_table"]["tickets"] > 0 and done["by_table"]["responses"] > 0 and done["by_table"]["feedback"] == 0
    assert open_spark_warehouse(str(copy)).rows(query) == scored_on_duckdb


@needs_spark
def test_the_briefing_on_spark_says_what_it_says_on_duckdb(layout, tmp_path):
    db, root = layout
    (tmp_path / "patron.yml").write_text(yaml.safe_dump({**yaml.safe_load((db.parent / "patron.yml").read_text()),
                                                         "warehouse": {"engine": "spark", "path": str(root)}}))
    briefings = {}
    for engine, db_opt in (("spark", []), ("duckdb", ["--db", str(db)])):
        r = subprocess.run([*PATRON, "briefing", "--out", str(tmp_path / f"{engine}.html"), "--format", "json",
                            *db_opt], cwd=tmp_path, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stderr
        briefings[engine] = json.loads(r.stdout)["briefing"]
    assert briefings["spark"]["themes"] and briefings["spark"]["headlines"]
    differ = [d for d in _differences(briefings["duckdb"], briefings["spark"]) if not d.startswith(".generated_at")]
    assert not differ, differ[:10]
    page = (tmp_path / "spark.html").read_text()
    assert "<script src=\"http" not in page and html.escape(briefings["spark"]["themes"][0][0]) in page


def _differences(a: object, b: object, at: str = "") -> list[str]:
    """Where two JSON documents differ, numbers compared to 9 significant digits."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b)) for d in _differences(a.get(k), b.get(k), f"{at}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in _differences(x, y, f"{at}[{i}]")]
    if isinstance(a, float) and isinstance(b, float) and a == pytest.approx(b, rel=1e-9, abs=1e-9):
        return []
    return [] if a == b else [f"{at}: {a!r:.80} against {b!r:.80}"]
