"""Every message is about the user's data: a file that is not what it claims, a field longer than
the reader allows, markup-like text, too few texts for a stage. Each gets one clear line (or a
note) through the command line a user runs, never a traceback."""

from __future__ import annotations

import gzip
import io
import json
import os
import random
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import write
from patron.config import parse_project
from patron.ingest import ingest_sources
from patron.listen.themes import discover
from patron.warehouse import open_warehouse

PATRON = [sys.executable, "-c", "from patron.cli.main import run; run()"]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
FEEDBACK = "feedback_id,customer_ref,channel,received_at,text\n"
LIMIT = 2_000_000  # DuckDB's default max_line_size


def patron(*args: str, cwd: Path, terminal: bool = False) -> subprocess.CompletedProcess:
    """Run the CLI as a user does; `terminal`: as at a terminal (progress bars on, colours in the output)."""
    env = os.environ | {"COLUMNS": "1000"} | ({"FORCE_COLOR": "1"} if terminal else {})
    return subprocess.run([*PATRON, *args], cwd=cwd, capture_output=True, text=True, timeout=300, env=env)


def shown(r: subprocess.CompletedProcess) -> str:
    """What the user read, without colour codes; never a traceback."""
    text = ANSI.sub("", r.stdout + r.stderr)
    assert "Traceback" not in text, text
    return text


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
    return buf.getvalue()


_NOISE = random.Random(0).randbytes(4096)
_TEXT = (FEEDBACK + "1,A,web,2024-01-01,fine\n").encode()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("export.csv", gzip.compress(_TEXT), "is a gzip-compressed file; name it export.csv.gz to read it as it is"),
        ("export.csv", _zip(), "is a ZIP archive (an .xlsx workbook?) — export it as CSV"),
        ("export.xlsx", _zip(), "is a ZIP archive (an .xlsx workbook?) — export it as CSV"),
        ("export.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + _NOISE, "is binary, not text (a PNG image)"),
        ("export.csv", _NOISE, "is binary, not text"),
        ("export.csv", _TEXT.decode().encode("utf-16-le"), "is UTF-16 text; set encoding: utf-16"),
    ],
    ids=["gzip", "zip", "xlsx", "png", "binary", "utf16"],
)
def test_a_file_that_is_not_csv_text_is_named_for_what_it_is(tmp_path, name, content, message):
    (tmp_path / name).write_bytes(content)
    write(tmp_path / "patron.yml", f"sources:\n  fb: {{path: {name}, table: feedback, format: csv}}\n")
    for command in (["check"], ["ingest"], ["ingest", name, "--into", "feedback"]):
        r = patron(*command, cwd=tmp_path)
        text = shown(r)
        assert r.returncode == 1 and message in r.stderr, text
        assert "latin-1" not in text and name in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
    status = patron("status", "--format", "json", cwd=tmp_path)
    assert status.returncode == 0, shown(status)
    assert not any(t["rows"] for t in json.loads(status.stdout)["tables"])  # nothing half-loaded


def test_a_gzip_file_named_csv_gz_loads_as_it_is(tmp_path):
    (tmp_path / "export.csv.gz").write_bytes(gzip.compress(_TEXT))
    r = patron("ingest", "export.csv.gz", "--into", "feedback", "--format", "json", cwd=tmp_path)
    shown(r)
    assert r.returncode == 0 and json.loads(r.stdout)["totals"]["loaded"] == 1


def _long(tmp_path: Path, name: str, before: int, size: int) -> Path:
    """A feedback file whose row after `before` short ones has a text field of `size` characters."""
    rows = "".join(f"{i},A,web,2024-01-01,fine\n" for i in range(1, before + 1))
    long_row = f"{before + 1},A,web,2024-01-02," + "x" * size
    return write(tmp_path / name, FEEDBACK + rows + long_row + "\nlast,A,web,2024-01-03,fine\n")


def test_a_field_over_the_line_limit_names_its_line_the_limit_and_the_setting(tmp_path):
    _long(tmp_path, "long.csv", 1, LIMIT + 100_000)  # header, one row, then the long one: line 3
    write(tmp_path / "patron.yml", "sources:\n  fb: {path: long.csv, table: feedback}\n")
    size = len("2,A,web,2024-01-02,") + LIMIT + 100_000 + 1  # with its line break, as the reader counts
    for command in ("check", "ingest"):
        r = patron(command, cwd=tmp_path)
        assert r.returncode == 1
        assert (f"long.csv: line 3 is {size:,} bytes, over the CSV reader's limit of 2,000,000 "
                "bytes a line; if a field is meant to be that long, set max_line_size: 3000000 for this source"
                ) in shown(r)
        assert "Line: 1" not in r.stderr


def test_max_line_size_on_a_source_reads_the_long_field(tmp_path):
    _long(tmp_path, "long.csv", 1, LIMIT + 100_000)
    cfg = parse_project({"sources": {"fb": {"path": "long.csv", "table": "feedback", "max_line_size": 3_000_000}}},
                        root=tmp_path)
    with open_warehouse(tmp_path / "w.duckdb") as wh:
        result = ingest_sources(wh, cfg)
        assert result.to_dict()["totals"]["loaded"] == 3
        assert wh.scalar("SELECT max(length(text)) FROM feedback") == LIMIT + 100_000


def test_a_long_line_past_the_sample_is_quarantined_with_the_limit(tmp_path):
    _long(tmp_path, "late.csv", 21_000, LIMIT + 10)  # past the rows DuckDB samples: set aside, not fatal
    r = patron("ingest", "late.csv", "--into", "feedback", "--format", "json", cwd=tmp_path)
    shown(r)
    totals = json.loads(r.stdout)["totals"]
    assert (totals["loaded"], totals["quarantined"]) == (21_001, 1)
    q = json.loads(patron("quarantine", "--rows", "--format", "json", cwd=tmp_path).stdout)
    assert q[0]["row"] == 21_002
    assert "longer than the CSV reader's limit of 2,000,000 bytes a line (max_line_size:" in q[0]["reason"]


@pytest.mark.parametrize("row", ['"1,A,web,2024-01-01,fine', '1,A,web,2024-01-01,"fine'])
def test_a_quote_never_closed_names_its_line(tmp_path, row):
    """The engine either gives up sniffing (and its hints name encodings) or guesses one column."""
    write(tmp_path / "open.csv", FEEDBACK + row + "\n2,A,web,2024-01-02,ok\n")
    r = patron("ingest", "open.csv", "--into", "feedback", cwd=tmp_path)
    assert r.returncode == 1
    assert "open.csv: cannot be read as CSV: line 2 opens a quote that is never closed" in shown(r)


MARKUP = ["[/]", "[bold red]x[/]", "[link=http://x]"]


def test_markup_in_headers_values_and_file_names_is_printed_as_written(tmp_path):
    write(tmp_path / "cust.csv", "Id,Company,[/],[bold red]x[/],[link=http://x]\n"
                                 "A,Acme [bold],2024-01-01,1,2\nB,Bolt,[bold red]x[/],1,2\n")
    write(tmp_path / "patron.yml", (
        "sources:\n"
        "  crm: {path: cust.csv, table: customers, customer_ref: Id, columns: {name: Company, created_at: '[/]'}}\n"
        "  bad: {path: cust.csv, table: customers, customer_ref: Id, columns: {name: '[bold]'}}\n"))
    check = patron("check", cwd=tmp_path, terminal=True)
    assert check.returncode == 1
    assert "its columns are: Id, Company, [/], [bold red]x[/], [link=http://x]" in shown(check)
    assert "'[bold]' (for name)" in shown(check)

    ingest = patron("ingest", "--source", "crm", cwd=tmp_path, terminal=True)
    assert ingest.returncode == 0, shown(ingest)
    assert "Columns not mapped to the model (kept in the files, not loaded): [bold red]x[/], [link=http://x]" \
        in shown(ingest)
    rows = patron("quarantine", "--rows", cwd=tmp_path, terminal=True)
    assert "[bold red]x[/]" in shown(rows)

    # a folder "d[" holding "]a.csv": the path reads d[/]a.csv, a closing tag to a markup parser
    (tmp_path / "d[").mkdir()
    write(tmp_path / "d[" / "]a.csv", "customer_ref,name\nC,Cora\n")
    one_off = patron("ingest", "d[/]a.csv", "--into", "customers", cwd=tmp_path, terminal=True)
    assert one_off.returncode == 0, shown(one_off)
    (tmp_path / "d[" / "]b.csv").write_bytes(_zip())
    bad = patron("ingest", "d[/]b.csv", "--into", "customers", cwd=tmp_path, terminal=True)
    assert bad.returncode == 1 and "d[/]b.csv: is a ZIP archive" in shown(bad)


def test_markup_in_theme_names_and_taxonomy_keywords_is_printed_as_written(tmp_path):
    texts = ["The [invoice] was wrong again", "App crashes on login [/]", "Great support [bold red]x[/] team",
             "Love the new dashboard", "Billing page is slow"]
    write(tmp_path / "fb.csv", FEEDBACK + "".join(f'{i},A,web,2024-01-0{i + 1},"{t}"\n' for i, t in enumerate(texts)))
    write(tmp_path / "patron.yml", ("sources:\n  fb: {path: fb.csv, table: feedback}\n"
                                    "listen:\n  taxonomy:\n    'Billing [bold]': ['[invoice]']\n"
                                    "    '[link=http://x] Login': ['[/]']\n"))
    assert patron("ingest", cwd=tmp_path).returncode == 0
    r = patron("listen", "themes", cwd=tmp_path, terminal=True)
    text = shown(r)
    assert r.returncode == 0
    for literal in ("Billing [bold]", "[link=http://x] Login", "The [invoice] was wrong again",
                    "App crashes on login [/]"):
        assert literal in text
    trends = patron("listen", "trends", cwd=tmp_path, terminal=True)
    assert "none scored yet" in shown(trends)

    write(tmp_path / "single.yml", "sources: {}\nlisten:\n  taxonomy:\n    Billing: invoice\n")
    for command in (["check"], ["listen", "themes"]):
        r = patron(*command, "-c", "single.yml", cwd=tmp_path, terminal=True)
        assert r.returncode == 1 and "give a list of keywords ([invoice])" in shown(r)


@pytest.mark.parametrize("n", [0, 5])
def test_listening_on_too_few_texts_says_what_it_needs(tmp_path, n):
    write(tmp_path / "fb.csv", FEEDBACK + "".join(f"{i},A,web,2024-01-0{i + 1},the invoice was wrong {i}\n"
                                                  for i in range(n)))
    write(tmp_path / "c.csv", "customer_ref,name\nA,Acme\n")
    write(tmp_path / "patron.yml", "sources:\n  c: {path: c.csv, table: customers}\n"
                                   "  fb: {path: fb.csv, table: feedback}\n")
    assert patron("ingest", cwd=tmp_path).returncode == 0
    none = "No texts yet: patron listens to survey comments, ticket subjects and bodies, and feedback"
    expected = {
        "themes": f"{n} texts; themes need at least 20 (survey comments, tickets, feedback): load more with "
                  "`patron ingest`",
        "enrich": none if n == 0 else "Texts scored so far",
        "trends": none if n == 0 else "(no theme)",
        "spikes": none if n == 0 else "5 scored texts over 5 days; spikes need texts on more than 28 days",
        "touchpoints": "No survey responses with a touchpoint or journey stage yet",
    }
    for command, message in expected.items():
        r = patron("listen", command, cwd=tmp_path)
        assert r.returncode == 0 and message in shown(r), (command, shown(r))
    j = patron("listen", "themes", "--format", "json", cwd=tmp_path)
    assert j.returncode == 0 and json.loads(j.stdout)["too_few"].startswith(f"{n} texts; themes need at least 20")


def test_texts_that_share_no_words_get_a_note_not_a_traceback(tmp_path):
    words = random.Random(1)
    texts = [" ".join("".join(words.choices("abcdefghijklmnopqrstuvwxyz", k=7)) for _ in range(5)) for _ in range(25)]
    write(tmp_path / "fb.csv", FEEDBACK + "".join(f"{i},A,web,2024-01-01,{t}\n" for i, t in enumerate(texts)))
    cfg = parse_project({"sources": {"fb": {"path": "fb.csv", "table": "feedback"}}}, root=tmp_path)
    with open_warehouse(tmp_path / "w.duckdb") as wh:
        ingest_sources(wh, cfg)
        result = discover(wh)
    assert result.themes == [] and result.unthemed == 25
    assert result.too_few and result.too_few.startswith("the 25 texts share too few words to find themes in")
