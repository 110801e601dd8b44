"""The warehouse file: created, upgraded, or refused with a reason."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest

from patron.errors import WarehouseError
from patron.model import TABLES
from patron.warehouse import SCHEMA_VERSION, QueryFailed, open_warehouse


def test_a_new_file_gets_every_canonical_table_with_lineage(tmp_path):
    with open_warehouse(tmp_path / "w.duckdb") as wh:
        for name, t in TABLES.items():
            cols = wh.columns(name)
            assert [c for c in cols if c in t.names] == list(t.names)
            assert {"source", "source_key", "loaded_at", "source_row", "load_id"} <= set(cols)
        assert wh.scalar("SELECT max(version) FROM patron_schema") == SCHEMA_VERSION


def test_an_old_file_is_upgraded_without_losing_rows(tmp_path):
    db = tmp_path / "old.duckdb"
    with open_warehouse(db) as wh:
        wh.execute("INSERT INTO customers (customer_ref, name, source) VALUES ('A', 'Acme', 'crm')")
        wh.execute("ALTER TABLE customers DROP COLUMN phone")  # as a file from before that column
        wh.execute("DROP TABLE costs")
        wh.execute("UPDATE patron_schema SET version = 0")
    with open_warehouse(db) as wh:
        assert "phone" in wh.columns("customers") and wh.has_table("costs")
        assert wh.rows("SELECT customer_ref, name FROM customers") == [("A", "Acme")]
        assert wh.scalar("SELECT max(version) FROM patron_schema") == SCHEMA_VERSION


def test_quarantine_hashes_from_before_are_made_the_ones_every_engine_computes(tmp_path):
    db = tmp_path / "v2.duckdb"
    with open_warehouse(db) as wh:
        wh.execute("INSERT INTO quarantine (load_id, source, table_name, file, row_number, reason, record, "
                   "record_hash, quarantined_at) VALUES (1, 's', 'customers', 'f.csv', 2, 'bad', '{\"a\": 1}', "
                   "hash('{\"a\": 1}'), now()::TIMESTAMP)")
        wh.execute("UPDATE patron_schema SET version = 2")
    with open_warehouse(db) as wh:
        # the first 16 hex digits of the record's MD5, as Spark's conv(substr(md5(..)), 16, 10) gives it
        expected = int(hashlib.md5(b'{"a": 1}').hexdigest()[:16], 16)
        assert wh.rows("SELECT record_hash FROM quarantine") == [(expected,)]
        assert wh.scalar("SELECT max(version) FROM patron_schema") == SCHEMA_VERSION


def test_a_file_from_a_newer_patron_is_refused(tmp_path):
    db = tmp_path / "new.duckdb"
    with open_warehouse(db) as wh:
        wh.execute("INSERT INTO patron_schema VALUES (?, '99.0', now()::TIMESTAMP)", [SCHEMA_VERSION + 1])
    with pytest.raises(WarehouseError, match="written by a newer patron"):
        open_warehouse(db)


def test_foreign_and_broken_files_are_refused(tmp_path):
    other = tmp_path / "other.duckdb"
    con = duckdb.connect(str(other))
    con.execute("CREATE TABLE sales (x INT)")
    con.close()
    with pytest.raises(WarehouseError, match="was not created by patron"):
        open_warehouse(other)
    junk = tmp_path / "junk.duckdb"
    junk.write_text("hello, this is not a database\n" * 100)
    with pytest.raises(WarehouseError, match="junk.duckdb"):
        open_warehouse(junk)
    with pytest.raises(WarehouseError, match="is a folder"):
        open_warehouse(tmp_path)
    with pytest.raises(WarehouseError, match="does not exist"):
        open_warehouse(tmp_path / "missing" / "w.duckdb")


def test_spill_files_never_land_in_the_current_folder(tmp_path, monkeypatch):
    work = tmp_path / "project"
    work.mkdir()
    monkeypatch.chdir(work)
    with open_warehouse(None) as wh:
        in_memory = Path(wh.scalar("SELECT current_setting('temp_directory')")).resolve()
    (tmp_path / "data").mkdir()
    with open_warehouse(tmp_path / "data" / "w.duckdb") as wh:
        beside = Path(wh.scalar("SELECT current_setting('temp_directory')")).resolve()
    assert not in_memory.is_relative_to(work)
    assert beside == (tmp_path / "data" / "w.duckdb.tmp").resolve()
    assert list(work.iterdir()) == []


def test_a_new_warehouse_is_readable_by_its_owner_only(tmp_path):
    with open_warehouse(tmp_path / "w.duckdb"):
        pass
    assert (tmp_path / "w.duckdb").stat().st_mode & 0o077 == 0


def test_a_sqlite_file_is_refused_without_fetching_a_reader_for_it(tmp_path):
    import sqlite3

    con = sqlite3.connect(tmp_path / "other.db")
    con.execute("CREATE TABLE t (a)")
    con.commit()
    con.close()
    with pytest.raises(WarehouseError, match="other.db") as refused:
        open_warehouse(tmp_path / "other.db")
    assert "download" not in str(refused.value) and "http" not in str(refused.value)  # nothing was fetched


def test_after_forbid_file_access_the_warehouse_still_writes_but_no_other_file_is_read(tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("key=1\n")
    with open_warehouse(tmp_path / "w.duckdb") as wh:
        wh.forbid_file_access()
        wh.execute("CREATE TABLE t AS SELECT range AS i FROM range(1000)")
        wh.execute("CHECKPOINT")
        assert wh.scalar("SELECT count(*) FROM t") == 1000
        for sql in (f"SELECT * FROM read_text('{outside}')", f"SELECT * FROM read_csv('{outside}')",
                    f"SELECT * FROM glob('{tmp_path}/*')"):
            with pytest.raises(QueryFailed, match="disabled by configuration"):
                wh.rows(sql)
    with open_warehouse(tmp_path / "w.duckdb") as wh:  # the next process, or the next open, reads files again
        assert wh.scalar(f"SELECT count(*) FROM read_text('{outside}')") == 1


def test_a_warehouse_readable_by_others_is_made_the_owners_alone_when_opened(tmp_path):
    import os

    path = tmp_path / "w.duckdb"
    with open_warehouse(path):
        pass
    os.chmod(path, 0o644)  # as an older patron left it
    with open_warehouse(path):
        pass
    assert path.stat().st_mode & 0o777 == 0o600
