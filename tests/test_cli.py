"""The command line end to end, as a user or a script runs it (a real subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import write

PATRON = [sys.executable, "-c", "from patron.cli.main import run; run()"]


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.found += [f"<{tag} {k}={v}>" for k, v in attrs if k in ("src", "href") and v and "://" in v]


def external_references(html: str) -> list[str]:
    p = _Refs()
    p.feed(html)
    return p.found


def patron(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = os.environ | {"COLUMNS": "160"}
    return subprocess.run([*PATRON, *args], cwd=cwd, capture_output=True, text=True, timeout=300, env=env)


def test_init_check_ingest_quarantine_status(tmp_path):
    assert patron("init", cwd=tmp_path).returncode == 0
    assert patron("init", cwd=tmp_path).returncode == 1  # never overwrites silently
    cfg = (tmp_path / "patron.yml").read_text().replace("sources: {}", (
        "sources:\n"
        "  crm:\n    path: accounts.csv\n    table: customers\n    customer_ref: Id\n"
        "    columns: {name: Company}\n"
    ))
    (tmp_path / "patron.yml").write_text(cfg)
    write(tmp_path / "accounts.csv", "Id,Company\nA,Acme\nB,\n")
    check = patron("check", "--format", "json", cwd=tmp_path)
    assert check.returncode == 0 and json.loads(check.stdout)["ok"] is True

    first = patron("ingest", "--format", "json", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    totals = json.loads(first.stdout)["totals"]
    assert (totals["read"], totals["loaded"], totals["quarantined"]) == (2, 1, 1)
    second = json.loads(patron("ingest", "--format", "json", cwd=tmp_path).stdout)["totals"]
    assert (second["loaded"], second["already_loaded"], second["quarantined"]) == (0, 1, 1)

    q = json.loads(patron("quarantine", "--format", "json", cwd=tmp_path).stdout)
    assert [(x["source"], x["field"], x["reason"], x["rows"]) for x in q] == [
        ("crm", "name", "required value is missing", 1)]
    rows = json.loads(patron("quarantine", "--rows", "--format", "json", cwd=tmp_path).stdout)
    assert rows[0]["row"] == 2 and json.loads(rows[0]["record"]) == {"Id": "B", "Company": None}
    table = patron("quarantine", cwd=tmp_path)
    assert "required value is missing" in table.stdout

    status = json.loads(patron("status", "--format", "json", cwd=tmp_path).stdout)
    assert {t["table"]: t["rows"] for t in status["tables"]}["customers"] == 1
    assert (tmp_path / "patron.duckdb").exists()


def test_one_off_file_into_a_table_with_db_option(tmp_path):
    write(tmp_path / "nps.csv", "response_id,customer_ref,survey,score,submitted_at\n1,A,nps,10,2024-01-01\n")
    db = tmp_path / "elsewhere.duckdb"
    r = patron("ingest", "nps.csv", "--into", "responses", "--db", str(db), "--format", "json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["totals"]["loaded"] == 1
    assert db.exists() and not (tmp_path / "patron.duckdb").exists()


@pytest.mark.parametrize(
    ("args", "files", "message"),
    [
        (["ingest", "nope.csv", "--into", "responses"], {}, "nope.csv: file not found"),
        (["ingest", "x.csv", "--into", "respones"], {"x.csv": "a\n1\n"}, "unknown table 'respones'"),
        (["ingest", "x.csv"], {"x.csv": "a\n1\n"}, "say which table it loads into with --into"),
        (["ingest"], {}, "patron.yml: not found"),
        (["check"], {"patron.yml": "sources:\n  a: {path: a.csv, table: nope}\n"}, "unknown table 'nope'"),
        (["status", "--db", "junk.duckdb"], {"junk.duckdb": "not a database\n" * 50}, "junk.duckdb"),
        (["generate", "--as-of", "yesterday"], {}, "--as-of: 'yesterday' is not a date"),
        (["status", "--db", "nowhere.duckdb"], {}, "nowhere.duckdb: no warehouse here yet"),
        (["quarantine"], {}, "patron.duckdb: no warehouse here yet"),
        (["briefing"], {}, "patron.duckdb: no warehouse here yet"),
    ],
)
def test_errors_are_one_line_on_stderr_with_exit_code_1(tmp_path, args, files, message):
    for name, text in files.items():
        write(tmp_path / name, text)
    r = patron(*args, cwd=tmp_path)
    assert r.returncode == 1
    assert r.stdout == ""
    assert message in r.stderr
    assert "Traceback" not in r.stderr
    j = patron(*args, "--format", "json", cwd=tmp_path)
    if args[0] != "check":
        assert message in json.loads(j.stderr.strip().splitlines()[-1])["error"]


def test_demo_end_to_end(tmp_path):
    r = patron("demo", "--customers", "400", "--dir", "co", "--format", "json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    html = (tmp_path / "co" / "briefing.html").read_text()
    counts = out["ingest"]
    assert counts["read"] == counts["loaded"] + counts["quarantined"] + counts["already_loaded"]
    headlines = {h["metric"]: h for h in out["headlines"]}
    assert {"mrr", "nrr_ttm", "nps", "renewal_rate"} <= set(headlines)
    assert headlines["mrr"]["value"] > 0 and len(headlines["mrr"]["trend"]) == 12
    # every stage: the texts are scored and themed, and the planted outage shows in the briefing
    assert out["texts"] > 1000 and out["themes"] >= 5 and out["spikes"] >= 1
    # (which theme the billing texts join varies with the day's draws; the outage is planted)
    assert "What customers write about" in html and "outage" in html.lower()
    # self-contained: no tag loads anything (scripts are inline; their text is not parsed as tags)
    assert external_references(html) == [] and "Plotly" in html
    again = patron("demo", "--customers", "400", "--dir", "co", cwd=tmp_path)
    assert again.returncode == 1 and "is not empty" in again.stderr
    status = patron("status", cwd=tmp_path / "co")
    assert status.returncode == 0 and "usage" in status.stdout


def test_check_reads_the_files_and_reports_every_mapping_problem(tmp_path):
    write(tmp_path / "a.csv", "Id,Company\nA,Acme\n")
    write(tmp_path / "b.csv", "x\n1\n")
    write(tmp_path / "patron.yml", (
        "sources:\n"
        "  crm: {path: a.csv, table: customers, customer_ref: AccountId, columns: {name: Company}}\n"
        "  other: {path: b.csv, table: customers}\n"
        "  gone: {path: missing/*.csv, table: tickets}\n"
    ))
    r = patron("check", "--format", "json", cwd=tmp_path)
    assert r.returncode == 1
    problems = json.loads(r.stdout)["problems"]
    assert len(problems) == 3
    assert "sources.crm" in problems[0] and "'AccountId' (for customer_ref) not in the file" in problems[0]
    assert "sources.other" in problems[1] and "no column for required fields customer_ref, name" in problems[1]
    assert "sources.gone" in problems[2] and "no file matches" in problems[2]
    assert not (tmp_path / "patron.duckdb").exists()  # checking loads nothing


def test_metrics_commands_as_a_script_reads_them(tmp_path):
    write(tmp_path / "s.csv", "subscription_id,customer_ref,mrr,start_date,end_date\n"
                              "a,A,100,2024-01-05,\nb,B,50,2024-01-10,2024-02-20\n")
    assert patron("ingest", "s.csv", "--into", "subscriptions", "--db", "w.duckdb", cwd=tmp_path).returncode == 0
    show = patron("metrics", "show", "logo_churn_monthly", "--db", "w.duckdb", "--format", "json", cwd=tmp_path)
    rows = {r["period"]: r for r in json.loads(show.stdout)}
    assert (rows["2024-02-01"]["value"], rows["2024-02-01"]["n"]) == (0.5, 2)
    assert rows["2024-01-01"]["value"] is None and rows["2024-01-01"]["note"] == "no data in this slice and period"
    table = patron("metrics", "show", "nps", "--db", "w.duckdb", cwd=tmp_path)
    assert "not available (not available: no responses rows" not in table.stdout
    assert "no responses are loaded" in table.stdout
    run = patron("metrics", "run", "--db", "w.duckdb", "--format", "json", cwd=tmp_path)
    latest = {r["metric"]: r for r in json.loads(run.stdout)}
    # the data runs to B's cancellation (2024-02-20), so January is the latest whole month
    assert latest["mrr"]["value"] == 150 and latest["mrr"]["period"] == "2024-01-01"
    assert "nps" not in latest  # no survey data: nothing to report
    explain = patron("metrics", "explain", "tickets_per_customer", cwd=tmp_path)
    assert explain.returncode == 0 and "m_paying_customers" in explain.stdout
    bad = patron("metrics", "show", "mrr", "--period", "quarter", "--db", "w.duckdb", cwd=tmp_path)
    assert bad.returncode == 1 and "monthly metric" in bad.stderr


HEAVY = ("sklearn", "plotly", "jinja2", "splink", "sqlglot", "scipy", "pandas", "numpy")
_REPORT = "\nimport json, sys\nsys.stderr.write('\\n' + json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"


def _modules_after(code: str, cwd: Path) -> set[str]:
    r = subprocess.run([sys.executable, "-c", code + _REPORT], cwd=cwd, capture_output=True, text=True, timeout=120)
    return set(json.loads(r.stderr.strip().splitlines()[-1]))


@pytest.mark.parametrize("args", [[], ["--help"], ["status"], ["metrics", "--help"]])
def test_a_command_imports_only_what_it_needs(tmp_path, args):
    """Starting a command must not load every stage's libraries (a command answers in a blink)."""
    from patron.warehouse import open_warehouse

    open_warehouse(tmp_path / "patron.duckdb").close()
    run = (f"import sys\nsys.argv = ['patron', *{args!r}]\nfrom patron.cli.main import run\n"
           "try:\n    run()\nexcept SystemExit:\n    pass" if args else "import patron.cli.main")
    loaded = _modules_after(run, tmp_path)
    assert "patron" in loaded and not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


@pytest.mark.parametrize("args", [["briefing", "--out", "missing/folder/b.html"], ["briefing", "--out", "adir"],
                                  ["generate", "--customers", "20", "--out", "afile"],
                                  ["demo", "--customers", "20", "--dir", "afile"]])
def test_an_output_path_patron_cannot_write_is_one_line_naming_it(demo_copy, args):
    here = demo_copy / "patron-demo"
    (here / "adir").mkdir()
    (here / "afile").write_text("x")
    r = subprocess.run([*PATRON, *args], cwd=here, capture_output=True, text=True, timeout=300)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert args[-1].split("/")[0] in r.stderr


@pytest.mark.parametrize("args, message", [
    (["risk", "--by", "sgment", "-f", "json"], "Invalid value for --by: 'sgment': sum by owner or segment"),
    (["renewals", "--days", "0", "--format", "json"], "Invalid value for '--days'"),
    (["risk", "--nope", "--format=json"], "No such option: --nope"),
    (["clv", "--holdout-end", "2026-01-01", "-f", "json"], "give --as-of too, and a later day"),
])
def test_an_argument_error_with_format_json_is_a_json_object(tmp_path, args, message):
    r = patron(*args, cwd=tmp_path)
    assert r.returncode != 0 and r.stdout == ""
    doc = json.loads(r.stderr)  # one JSON document, nothing else: no box, no usage lines
    assert message in doc["error"] and doc["kind"] == "usage" and doc["command"].endswith(args[0])
    table = patron(*[a for a in args if a not in ("-f", "--format", "json", "--format=json")], cwd=tmp_path)
    assert table.returncode == r.returncode and "Usage:" in table.stderr  # a person still gets Click's help


def test_check_names_predict_attributes_no_source_keeps(tmp_path):
    write(tmp_path / "c.csv", "Id,Name,Exited,Sex,Notes,Email\nA,Acme,1,F,x,a@x.com\nB,Bolt,0,M,y,b@y.com\n")
    source = ("sources:\n  crm:\n    path: c.csv\n    table: customers\n    customer_ref: Id\n"
              "    columns: {name: Name}\n    attributes:\n      exited: {column: Exited, type: bool}\n"
              "      sex: Sex\n      notes: Notes\n      contact: {column: Email, personal: true}\n")
    write(tmp_path / "patron.yml", source + "predict:\n  churn: {outcome: churned_flag, attributes: [sex, tier, "
                                           "contact]}\n")
    r = patron("check", "-f", "json", cwd=tmp_path)
    assert r.returncode == 1
    assert json.loads(r.stdout)["problems"] == [
        "predict.churn.outcome: 'churned_flag' is not an attribute any source keeps; attributes are: contact, exited, "
        "notes, sex",
        "predict.churn.attributes.1: 'tier' is not an attribute any source keeps; attributes are: contact, exited, "
        "notes, sex",
        "predict.churn.attributes.2: 'contact' is personal data, never a feature"]
    shown = patron("check", cwd=tmp_path)
    assert shown.returncode == 1 and "predict.churn.outcome: 'churned_flag' is not an attribute" in shown.stderr
    write(tmp_path / "patron.yml", source + "predict:\n  churn: {outcome: notes}\n")
    r = patron("check", "-f", "json", cwd=tmp_path)
    assert json.loads(r.stdout)["problems"] == ["predict.churn.outcome: 'notes' is text; it must say yes or no "
                                                "(type: bool, or an int of 0 and 1)"]
    write(tmp_path / "patron.yml", source + "predict:\n  churn: {outcome: exited}\n")
    assert patron("check", cwd=tmp_path).returncode == 0


ONE_TABLE = {
    "usage": ("usage.csv", "customer,day,feature,events\nc1,2026-02-11,f1,1\nc2,2026-03-12,f2,2\n",
              "customer_ref: customer"),
    "costs": ("costs.csv", "month,cost_center,amount\n2026-01-01,support,100\n2026-02-01,sales,50\n", ""),
    "contacts": ("contacts.csv", "contact_id,customer,name,email\nk1,c1,Ann,a@x.com\n", "customer_ref: customer"),
}


@pytest.mark.parametrize("only", sorted(ONE_TABLE))
def test_a_warehouse_of_one_table_runs_the_catalog_and_the_briefing(tmp_path, only):
    """Usage, costs or contacts alone: no metric has a value, which `metrics run` says (naming what
    is missing) rather than crashing; the briefing is written and lists what it cannot show."""
    from typer.testing import CliRunner

    from patron.cli.main import app

    file, text, ref = ONE_TABLE[only]
    write(tmp_path / file, text)
    write(tmp_path / "patron.yml", f"sources:\n  s: {{path: {file}, table: {only}{', ' + ref if ref else ''}}}\n")
    cfg = ["--config", str(tmp_path / "patron.yml")]
    env = {"COLUMNS": "200"}
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", *cfg], env=env).exit_code == 0
    run = runner.invoke(app, ["metrics", "run", *cfg], env=env)
    assert run.exit_code == 0, run.output
    assert "no metric has a value yet" in run.output and "no subscriptions are loaded" in run.output
    run = runner.invoke(app, ["metrics", "run", "--format", "json", *cfg], env=env)
    assert run.exit_code == 0 and json.loads(run.stdout) == []
    run = runner.invoke(app, ["briefing", "--out", str(tmp_path / "b.html"), *cfg], env=env)
    assert run.exit_code == 0, run.output
    page = (tmp_path / "b.html").read_text()
    assert "no subscriptions" in page or "no tickets are loaded" in page
