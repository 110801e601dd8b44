"""File-level problems: one clear message naming the file, and the warehouse left as it was."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import write
from patron.config import parse_project
from patron.errors import ConfigError, SourceError
from patron.ingest import ingest_file, ingest_sources
from patron.warehouse import open_warehouse


@pytest.fixture
def wh(tmp_path: Path):
    w = open_warehouse(tmp_path / "w.duckdb")
    yield w
    w.close()


def counts(wh) -> tuple[int, int, int]:
    return (wh.scalar("SELECT count(*) FROM customers"), wh.scalar("SELECT count(*) FROM quarantine"),
            wh.scalar("SELECT count(*) FROM loads"))


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "the file is empty"),
        ("latin.csv", "customer_ref,name\nA,Caf\xe9 Ltd\n".encode("latin-1"), "is not valid utf-8 text; set encoding"),
        ("fake.parquet", b"this is not parquet at all", "not a Parquet file"),
        ("broken.jsonl", b'{"customer_ref": "A", "name": "x"}\n{"customer_ref": "B", \n', "not valid JSON"),
        ("cols.csv", b"id,company\nA,Acme\n", "no column for required fields customer_ref, name"),
        ("data.xlsx", b"PK\x03\x04", "cannot tell the file format"),
    ],
)
def test_bad_files_get_one_clear_error_and_change_nothing(wh, tmp_path, name, content, message):
    f = tmp_path / name
    f.write_bytes(content)
    before = counts(wh)
    with pytest.raises(SourceError) as e:
        ingest_file(wh, f, "customers")
    assert message in str(e.value)
    assert str(f) in str(e.value) or name in str(e.value)
    assert "\n" not in str(e.value)
    assert counts(wh) == before


def test_missing_file_glob_and_folder(wh, tmp_path):
    for path, message in (("nope.csv", "file not found"), ("in/*.csv", "no file matches"), (".", "is a folder")):
        cfg = parse_project({"sources": {"s": {"path": path, "table": "customers"}}}, root=tmp_path)
        with pytest.raises(SourceError, match=message):
            ingest_sources(wh, cfg)


def test_mapped_column_missing_from_the_file_is_named(wh, tmp_path):
    write(tmp_path / "a.csv", "Account,Name\nA,Acme\n")
    cfg = parse_project({"sources": {"crm": {"path": "a.csv", "table": "customers", "customer_ref": "Account ID",
                                             "columns": {"name": "Name"}}}}, root=tmp_path)
    with pytest.raises(SourceError) as e:
        ingest_sources(wh, cfg)
    assert "'Account ID' (for customer_ref) not in the file; its columns are: Account, Name" in str(e.value)


def test_unknown_source_name_is_refused(wh, tmp_path):
    cfg = parse_project({"sources": {"crm": {"path": "a.csv", "table": "customers"}}}, root=tmp_path)
    with pytest.raises(ConfigError, match="no source named 'billing'; sources are: crm"):
        ingest_sources(wh, cfg, ["billing"])


def test_an_error_in_a_later_file_rolls_back_the_earlier_ones(wh, tmp_path):
    write(tmp_path / "a.csv", "customer_ref,name\nA,Acme\n")
    write(tmp_path / "b.csv", "customer_ref,name\nB,Beta\n")
    write(tmp_path / "c.csv", "wrong,header\n1,2\n")
    cfg = parse_project({"sources": {
        "one": {"path": "a.csv", "table": "customers"},
        "two": {"path": "b.csv", "table": "customers"},
        "three": {"path": "c.csv", "table": "customers"},
    }}, root=tmp_path)
    with pytest.raises(SourceError, match="c.csv"):
        ingest_sources(wh, cfg)
    assert counts(wh) == (0, 0, 0)


def test_a_crash_in_the_middle_of_a_load_leaves_the_warehouse_as_it_was(tmp_path):
    """Kill the process (no cleanup at all) after the rows are written but before commit."""
    write(tmp_path / "a.csv", "customer_ref,name\nA,Acme\n")
    db = tmp_path / "w.duckdb"
    with open_warehouse(db) as w:
        ingest_file(w, tmp_path / "a.csv", "customers", source="first")
    write(tmp_path / "b.csv", "customer_ref,name\n" + "".join(f"B{i},Beta {i}\n" for i in range(1000)))
    script = textwrap.dedent(f"""
        import os
        from pathlib import Path
        import patron.ingest.load as load
        from patron.warehouse import Warehouse, open_warehouse
        original = Warehouse.execute
        def execute(self, sql, params=None):
            result = original(self, sql, params)
            if sql.startswith("INSERT INTO customers"):
                os._exit(9)  # the rows are inserted, the transaction is open: die now
            return result
        Warehouse.execute = execute
        wh = open_warehouse({str(db)!r})
        load.ingest_file(wh, Path({str(tmp_path / "b.csv")!r}), "customers", source="second")
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 9, proc.stderr
    with open_warehouse(db) as w:
        assert w.rows("SELECT source, count(*) FROM customers GROUP BY source") == [("first", 1)]
        assert w.scalar("SELECT count(*) FROM loads") == 1
        again = ingest_file(w, tmp_path / "b.csv", "customers", source="second").files[0]
        assert again.loaded == 1000


def test_parquet_json_and_jsonl_load_like_csv(wh, tmp_path):
    pq.write_table(pa.table({"customer_ref": ["P1", "P2"], "name": ["Parq", None]}), tmp_path / "c.parquet")
    (tmp_path / "c.json").write_text(json.dumps([{"customer_ref": "J1", "name": "Json", "created_at": "2024-02-30"}]))
    (tmp_path / "c.jsonl").write_text('{"customer_ref": "L1", "name": "Lines", "created_at": "2024-02-03"}\n')
    loads = [ingest_file(wh, tmp_path / n, "customers").files[0] for n in ("c.parquet", "c.json", "c.jsonl")]
    assert [(x.loaded, x.quarantined) for x in loads] == [(1, 1), (0, 1), (1, 0)]
    assert wh.rows("SELECT field, reason FROM quarantine ORDER BY load_id") == [
        ("name", "required value is missing"),
        ("created_at", "not a date (ISO 8601 expected, e.g. 2024-03-31)"),
    ]


@pytest.mark.parametrize("delimiter", [None, ","])
@pytest.mark.parametrize("gz", [False, True])
def test_a_csv_mixing_crlf_and_lf_line_endings_loads_every_row(wh, tmp_path, delimiter, gz):
    """Some lines end CRLF, some LF alone (files pasted together): the reader takes one kind for the
    whole file, so patron reads a copy with one kind; no row is lost, no value keeps a stray \\r."""
    import gzip

    from patron.ingest.stage import mixes_line_endings

    text = b"customer_ref,name\r\nc1,A\nc2,B\r\nc3,\"two\r\nlines\"\n" + b"".join(
        b"k%d,K%d%s" % (i, i, b"\r\n" if i % 3 else b"\n") for i in range(3000))
    name = "mixed.csv.gz" if gz else "mixed.csv"
    (tmp_path / name).write_bytes(gzip.compress(text) if gz else text)
    assert mixes_line_endings(tmp_path / name)
    write(tmp_path / "lf.csv", "a,b\n1,2\n")
    write(tmp_path / "crlf.csv", "a,b\r\n1,2\r\n")
    assert not mixes_line_endings(tmp_path / "lf.csv") and not mixes_line_endings(tmp_path / "crlf.csv")
    cfg = parse_project({"sources": {"s": {"path": name, "table": "customers", "delimiter": delimiter}}},
                        root=tmp_path)
    result = ingest_sources(wh, cfg)
    assert [(f.read, f.loaded, f.quarantined) for f in result.files] == [(3003, 3003, 0)]
    names = dict(wh.rows("SELECT customer_ref, name FROM customers"))
    assert names["c1"] == "A" and names["c2"] == "B" and names["c3"] == "two\nlines" and names["k2999"] == "K2999"
    assert not any("\r" in v for v in names.values())
