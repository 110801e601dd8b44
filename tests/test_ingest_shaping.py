"""Mapping that fits real exports: computed columns, row filters, roll-ups and derived dates."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from conftest import write
from patron.config import parse_project
from patron.errors import ConfigError, SourceError
from patron.ingest import ingest_sources
from patron.warehouse import open_warehouse

INVOICE_LINES = (
    "InvoiceNo,StockCode,Quantity,UnitPrice,InvoiceDate,CustomerID,Country\n"
    "536365,A,6,2.55,2010-12-01 08:26:00,17850,United Kingdom\n"
    "536365,B,8,3.39,2010-12-01 08:26:00,17850,United Kingdom\n"
    "536366,A,6,1.85,2010-12-01 08:28:00,17850,United Kingdom\n"
    "C536379,D,-1,27.50,2010-12-01 09:41:00,14527,United Kingdom\n"  # a cancellation
    "536367,E,32,1.69,2010-12-01 08:34:00,13047,France\n"
    "536368,F,3,4.25,2010-12-01 08:35:00,,France\n"  # a guest: no customer id
    "536369,G,x,1.00,2010-12-01 08:36:00,13047,France\n"  # quantity that is not a number
    "536367,H,2,10.00,2010-12-01 08:34:00,13047,Spain\n"
)

RETAIL = {
    "customers": {
        "path": "lines.csv", "table": "customers", "customer_ref": "CustomerID",
        "filter": "CustomerID IS NOT NULL", "columns": {"region": "Country"},
        "expressions": {"name": "'Customer ' || CustomerID", "created_at": "InvoiceDate"},
        "rollup": {"created_at": "min"},
    },
    "orders": {
        "path": "lines.csv", "table": "orders", "system": "customers", "customer_ref": "CustomerID",
        "filter": "CustomerID IS NOT NULL AND NOT starts_with(InvoiceNo, 'C')",
        "columns": {"order_id": "InvoiceNo", "ordered_at": "InvoiceDate"},
        "expressions": {"amount": "Quantity * UnitPrice"}, "constants": {"currency": "GBP"},
        "rollup": {"amount": "sum"},
    },
}


@pytest.fixture
def wh(tmp_path: Path):
    w = open_warehouse(tmp_path / "w.duckdb")
    yield w
    w.close()


def _project(tmp_path: Path, sources: dict) -> object:
    return parse_project({"sources": sources}, root=tmp_path)


def test_invoice_lines_become_one_order_per_invoice_and_one_customer_each(wh, tmp_path):
    write(tmp_path / "lines.csv", INVOICE_LINES)
    result = ingest_sources(wh, _project(tmp_path, RETAIL))
    customers, orders = result.files
    # 8 lines: 1 guest filtered; 7 rolled up to 3 customers (region: the first non-empty value)
    assert (customers.read, customers.filtered, customers.rolled_up, customers.loaded, customers.quarantined) \
        == (8, 1, 4, 3, 0)
    assert wh.rows("SELECT customer_ref, name, region, created_at FROM customers ORDER BY 1") == [
        ("13047", "Customer 13047", "France", date(2010, 12, 1)),
        ("14527", "Customer 14527", "United Kingdom", date(2010, 12, 1)),
        ("17850", "Customer 17850", "United Kingdom", date(2010, 12, 1)),
    ]
    # orders: the cancellation and the guest filtered out, the bad quantity quarantined on its own
    assert (orders.read, orders.filtered, orders.quarantined, orders.loaded, orders.rolled_up) == (8, 2, 1, 3, 2)
    assert wh.rows("SELECT order_id, customer_ref, amount, currency, source_row FROM orders ORDER BY 1") == [
        ("536365", "17850", pytest.approx(6 * 2.55 + 8 * 3.39), "GBP", 1),
        ("536366", "17850", pytest.approx(6 * 1.85), "GBP", 3),
        ("536367", "13047", pytest.approx(32 * 1.69 + 2 * 10.0), "GBP", 5),
    ]
    assert wh.rows("SELECT row_number, field, reason FROM quarantine WHERE source = 'orders'") == [
        (7, "amount", "required value is missing")]
    assert all(f.adds_up() for f in result.files)
    assert wh.rows("SELECT rows_read, rows_loaded, rows_filtered, rows_rolled_up, rows_quarantined FROM loads "
                   "WHERE source = 'orders'") == [(8, 3, 2, 2, 1)]  # the load's record adds up too
    assert result.unmapped_columns() == {"StockCode"}  # Quantity and UnitPrice are read by the expression


def test_the_same_rolled_up_file_loads_again_as_already_loaded(wh, tmp_path):
    write(tmp_path / "lines.csv", INVOICE_LINES)
    cfg = _project(tmp_path, RETAIL)
    ingest_sources(wh, cfg)
    again = ingest_sources(wh, cfg)
    assert [(f.loaded, f.already_loaded) for f in again.files] == [(0, 3), (0, 3)]
    write(tmp_path / "lines.csv", INVOICE_LINES + "536366,Z,1,1.00,2010-12-01 08:28:00,17850,United Kingdom\n")
    third = ingest_sources(wh, cfg)
    assert (third.files[1].updated, third.files[1].already_loaded) == (1, 2)  # invoice 536366 grew
    assert wh.scalar("SELECT amount FROM orders WHERE order_id = '536366'") == pytest.approx(6 * 1.85 + 1)


def test_rollup_rules_first_last_sum_min_max_count(wh, tmp_path):
    write(tmp_path / "subs.csv", (
        "sub,cust,price,day,plan\n"
        "s1,c1,10,2024-01-05,basic\n"
        "s1,c1,20,2024-01-01,\n"
        "s1,c1,30,2024-01-03,pro\n"
    ))
    src = {"path": "subs.csv", "table": "subscriptions", "customer_ref": "cust", "key": ["subscription_id"],
           "columns": {"subscription_id": "sub", "mrr": "price", "start_date": "day", "plan": "plan",
                       "end_date": "day"},
           "expressions": {"term_months": "1"},
           "rollup": {"mrr": "max", "start_date": "min", "end_date": "max", "plan": "last", "term_months": "count"}}
    ingest_sources(wh, _project(tmp_path, {"s": src}))
    assert wh.rows("SELECT mrr, start_date, end_date, plan, term_months FROM subscriptions") == [
        (30.0, date(2024, 1, 1), date(2024, 1, 5), "pro", 3)]


def test_a_snapshot_export_becomes_subscriptions_whose_revenue_metrics_say_what_the_file_says(tmp_path):
    """Tenure in months, a monthly charge and a churn flag, no dates: start = snapshot - tenure,
    churned customers end on the snapshot day."""
    from patron.project import Project

    rows = []
    for i in range(120):
        tenure = 1 + i % 36  # everyone paid at the start of June
        rows.append((f"C{i:04d}", tenure, 20.0 + (i % 7) * 5, "Yes" if i % 5 == 0 else "No"))
    df = pd.DataFrame(rows, columns=["customerID", "tenure", "MonthlyCharges", "Churn"])
    df.to_csv(tmp_path / "telco.csv", index=False)
    write(tmp_path / "patron.yml", (
        "sources:\n"
        "  telco:\n"
        "    path: telco.csv\n"
        "    table: subscriptions\n"
        "    customer_ref: customerID\n"
        "    snapshot_date: 2024-06-30\n"
        "    columns: {subscription_id: customerID, mrr: MonthlyCharges}\n"
        "    expressions:\n"
        "      start_date: snapshot_date - INTERVAL (tenure) MONTH\n"
        "      end_date: CASE WHEN Churn = 'Yes' THEN snapshot_date END\n"
        "      term_months: '1'\n"
    ))
    with Project.open(tmp_path / "patron.yml", tmp_path / "w.duckdb") as project:
        result = project.ingest()
        assert result.files[0].loaded == 120
        values = project.metrics(["mrr", "logo_churn_monthly", "grr_monthly"], period="month")
    june = values[values["period"].astype(str).str.startswith("2024-06")].set_index("metric")
    churned = df["Churn"] == "Yes"
    assert june.loc["mrr", "value"] == pytest.approx(df.loc[~churned, "MonthlyCharges"].sum())
    assert june.loc["logo_churn_monthly", "value"] == pytest.approx(churned.mean())
    assert june.loc["logo_churn_monthly", "n"] == 120
    start = df["MonthlyCharges"].sum()
    assert june.loc["grr_monthly", "value"] == pytest.approx((start - df.loc[churned, "MonthlyCharges"].sum()) / start)


@pytest.mark.parametrize(("change", "expected"), [
    ({"expressions": {"amount": "Quantiy * UnitPrice"}},
     "sources.orders.expressions.amount: 'Quantiy' is not a column of the file; its columns are: InvoiceNo"),
    ({"filter": "snapshot_date > InvoiceDate"}, "sources.orders.filter: 'snapshot_date' needs snapshot_date"),
])
def test_an_expression_naming_what_the_file_lacks_is_one_clear_error_that_loads_nothing(wh, tmp_path, change,
                                                                                        expected):
    write(tmp_path / "lines.csv", INVOICE_LINES)
    cfg = _project(tmp_path, {"orders": RETAIL["orders"] | change})
    with pytest.raises(SourceError, match=expected.replace("(", r"\(")) as e:
        ingest_sources(wh, cfg)
    assert "lines.csv" in str(e.value)
    assert wh.scalar("SELECT count(*) FROM orders") == 0 and wh.scalar("SELECT count(*) FROM loads") == 0


@pytest.mark.parametrize(("change", "expected"), [
    ({"expressions": {"amount": "(SELECT sum(x) FROM api_keys)"}}, "sources.orders.expressions.amount: "),
    ({"expressions": {"amount": "read_text('/etc/passwd')"}}, "function read_text() is not allowed in a source"),
    ({"filter": "true; DROP TABLE customers"}, "sources.orders.filter: "),
    ({"expressions": {"amount": "sum(Quantity)"}}, "function SUM() is not allowed in a source"),
    ({"rollup": {"currency": "sum"}}, "sources.orders.rollup.currency: sum needs a number column; currency is text"),
    ({"rollup": {"order_id": "first"}}, "sources.orders.rollup.order_id: a key column"),
    ({"rollup": {"amount": "average"}}, "sources.orders.rollup.amount"),
    ({"expressions": {"order_id": "InvoiceNo"}}, "sources.orders.expressions.order_id: also given under columns"),
    ({"expressions": {"colour": "1"}}, "sources.orders.expressions.colour: orders has no column 'colour'"),
    ({"expressions": {"amount": "*"}}, "sources.orders.expressions.amount: '*' (every column) is not one value"),
    ({"expressions": {"amount": "Quantity + *"}}, "sources.orders.expressions.amount: '*' (every column)"),
    ({"attributes": {"everything": {"expression": "*"}}}, "sources.orders.attributes.everything.expression: '*'"),
])
def test_config_that_cannot_be_a_source_expression_is_refused_naming_the_key(tmp_path, change, expected):
    with pytest.raises(ConfigError) as e:
        _project(tmp_path, {"orders": RETAIL["orders"] | change})
    assert expected in str(e.value)


def test_rollup_true_rolls_up_every_column_with_its_first_value(wh, tmp_path):
    write(tmp_path / "c.csv", "id,name,seg\n1,Acme,\n1,Acme Inc,smb\n2,Beta,mid\n")
    cfg = _project(tmp_path, {"c": {"path": "c.csv", "table": "customers", "customer_ref": "id",
                                    "columns": {"segment": "seg"}, "rollup": True}})
    load = ingest_sources(wh, cfg).files[0]
    assert (load.loaded, load.rolled_up) == (2, 1)
    assert wh.rows("SELECT customer_ref, name, segment FROM customers ORDER BY 1") == [
        ("1", "Acme", "smb"), ("2", "Beta", "mid")]


def test_quarantine_shows_rows_still_rejected_and_keeps_the_history(tmp_path):
    import json

    from typer.testing import CliRunner

    from patron.cli.main import app
    from patron.project import Project

    rows = "".join(f"t{i},c{i},12/{i + 1:02d}/10 08:26,email\n" for i in range(20))
    write(tmp_path / "tickets.csv", "id,cust,opened,channel\n" + rows + "t99,c99,yesterday,email\n")
    yml = ("ingest:\n  max_reject_share: 1\n"  # load what passes, however little
           "sources:\n  desk:\n    path: tickets.csv\n    table: tickets\n    customer_ref: cust\n"
           "    columns: {ticket_id: id, opened_at: opened}\n")
    write(tmp_path / "patron.yml", yml)
    runner = CliRunner()
    args = ["--config", str(tmp_path / "patron.yml"), "--db", str(tmp_path / "w.duckdb")]
    assert runner.invoke(app, ["ingest", *args]).exit_code == 0
    with Project.open(tmp_path / "patron.yml", tmp_path / "w.duckdb") as project:
        # one line for each kind of problem, not one per value: 12/01/10 reads as the year 10,
        # 12/13/10 not at all; both are told the date_format they look like
        kinds = {s.reason: s for s in project.ingest.quarantine()}
        assert {r: s.rows for r, s in kinds.items()} == {
            "implausible date (before 1900)": 12,
            "not a date and time (ISO 8601 expected, e.g. 2024-03-31)": 9}
        assert {s.hint for s in kinds.values()} == {
            "values look like '12/01/10 08:26': set date_format: '%m/%d/%y %H:%M' for this source"}
    write(tmp_path / "patron.yml", yml + "    date_format: '%m/%d/%y %H:%M'\n")
    assert runner.invoke(app, ["ingest", *args]).exit_code == 0
    with Project.open(tmp_path / "patron.yml", tmp_path / "w.duckdb") as project:
        assert [(s.field, s.rows, s.example_value) for s in project.ingest.quarantine()] == [
            ("opened_at", 1, "yesterday")]  # what is still wrong, and only that
        # the history keeps what was wrong before (and "yesterday" twice: its reason now names the format)
        assert project.ingest.quarantine_count(history=True) == 22
    shown = runner.invoke(app, ["quarantine", *args], env={"COLUMNS": "120"})
    assert "rows still rejected" in shown.output and "yesterday" in shown.output
    history = runner.invoke(app, ["quarantine", "--all", "--format", "json", *args])
    assert sum(s["rows"] for s in json.loads(history.output)) == 22


def test_a_us_date_without_date_format_is_told_which_format_it_looks_like(tmp_path):
    from patron.project import Project

    write(tmp_path / "t.csv", "id,cust,opened\n" + "".join(f"t{i},c{i},12/{i + 13}/2010\n" for i in range(10)))
    yml = ("sources:\n  desk:\n    path: t.csv\n    table: tickets\n    customer_ref: cust\n"
           "    columns: {ticket_id: id, opened_at: opened}\n")
    hint = "values look like '12/13/2010': set date_format: '%m/%d/%Y' for this source"
    write(tmp_path / "patron.yml", yml)
    with Project.open(tmp_path / "patron.yml", tmp_path / "w.duckdb") as project:
        (refusal,) = project.ingest().refused  # every row rejected: nothing loaded, and why
        assert refusal.reasons == [("opened_at: not a date and time (ISO 8601 expected, e.g. 2024-03-31) "
                                    f"({hint})", 10)]
    write(tmp_path / "patron.yml", "ingest: {max_reject_share: 1}\n" + yml)
    with Project.open(tmp_path / "patron.yml", tmp_path / "w.duckdb") as project:
        project.ingest()
        (summary,) = project.ingest.quarantine()
    assert summary.hint == hint


def test_ingest_fails_naming_the_top_reasons_when_a_source_rejects_too_much_and_loads_the_rest(tmp_path):
    from typer.testing import CliRunner

    from patron.cli.main import app

    write(tmp_path / "good.csv", "id,name\nA,Acme\nB,Beta\n")
    write(tmp_path / "bad.csv", "id,cust,opened\n" + "".join(f"t{i},c{i},soon\n" for i in range(6))
          + "t9,c9,2024-01-01\n")
    write(tmp_path / "patron.yml", (
        "sources:\n"
        "  crm: {path: good.csv, table: customers, customer_ref: id}\n"
        "  desk: {path: bad.csv, table: tickets, customer_ref: cust, columns: {ticket_id: id, opened_at: opened}}\n"))
    args = ["--config", str(tmp_path / "patron.yml"), "--db", str(tmp_path / "w.duckdb")]
    run = CliRunner().invoke(app, ["ingest", *args], env={"COLUMNS": "200"})
    assert run.exit_code == 1
    assert ("source 'desk' not loaded: bad.csv rejects 6 of 7 rows (86%; at most 50% may be rejected). "
            "Most common: opened_at: not a date and time") in " ".join(run.output.split())
    with open_warehouse(tmp_path / "w.duckdb") as wh:
        assert wh.scalar("SELECT count(*) FROM customers") == 2
        assert wh.scalar("SELECT count(*) FROM tickets") == 0 and wh.scalar("SELECT count(*) FROM quarantine") == 0
    as_json = CliRunner().invoke(app, ["ingest", "--format", "json", *args])
    assert as_json.exit_code == 1
    assert __import__("json").loads(as_json.output)["refused"][0]["rejected"] == 6


def test_check_reads_a_sample_and_reports_what_ingest_would_reject(tmp_path):
    import json

    from typer.testing import CliRunner

    from patron.cli.main import app

    write(tmp_path / "lines.csv", INVOICE_LINES)
    write(tmp_path / "t.csv", "id,cust,opened\n" + "".join(f"t{i},c{i},12/{i + 13}/2010\n" for i in range(10)))
    sources = ("sources:\n"
               "  orders:\n    path: lines.csv\n    table: orders\n    customer_ref: CustomerID\n"
               "    filter: CustomerID IS NOT NULL AND NOT starts_with(InvoiceNo, 'C')\n"
               "    columns: {order_id: InvoiceNo, ordered_at: InvoiceDate}\n"
               "    expressions: {amount: Quantity * UnitPrice}\n")
    write(tmp_path / "patron.yml", sources)
    runner = CliRunner()
    ok = runner.invoke(app, ["check", "--config", str(tmp_path / "patron.yml")], env={"COLUMNS": "300"})
    # without a roll-up, invoice lines repeat the order's key: check says so before any load
    # (3 of the 6 rows the filter keeps: half, the most a source may reject, so still ok)
    assert ok.exit_code == 0
    text = " ".join(ok.output.split())
    assert "patron.yml: ok" in text
    assert ("sources.orders: 50% of the first 8 rows of lines.csv would be rejected (at most 50% may be): "
            "order_id: duplicate key (roll the rows up with rollup: in patron.yml if each is one part of a record) "
            "(2 rows); amount: required value is missing (1 row)") in text
    write(tmp_path / "patron.yml", sources + "    rollup: {amount: sum}\n"
          "  desk:\n    path: t.csv\n    table: tickets\n    customer_ref: cust\n"
          "    columns: {ticket_id: id, opened_at: opened}\n")
    bad = runner.invoke(app, ["check", "--config", str(tmp_path / "patron.yml")], env={"COLUMNS": "300"})
    assert bad.exit_code == 1
    text = " ".join(bad.output.split())
    assert ("sources.desk: 100% of the first 10 rows of t.csv would be rejected (at most 50% may be): opened_at: "
            "not a date and time") in text and "set date_format: '%m/%d/%Y' for this source" in text
    report = json.loads(runner.invoke(app, ["check", "--format", "json", "--config",
                                            str(tmp_path / "patron.yml")]).output)
    orders, desk = report["samples"]
    assert (orders["rows"], orders["filtered"], orders["rejected"]) == (8, 2, 1)  # the quantity that is not a number
    assert (desk["rows"], desk["rejected"], desk["share"]) == (10, 10, 1.0)


def test_a_row_an_expression_fails_on_is_quarantined_naming_it_and_the_rest_load(tmp_path):
    """A tenure of 99,999,999 months puts the start date out of the engine's range: that row is
    quarantined (the computed column and the attribute both named), the others load; patron check
    says the same of its sample rather than failing."""
    from patron.project import Project

    write(tmp_path / "t.csv", "cid,tenure,charges\nc1,5,10\nc2,7,20\nc3,99999999,30\nc4,12,40\n")
    write(tmp_path / "patron.yml", (
        "ingest: {max_reject_share: 1}\n"
        "sources:\n"
        "  telco:\n"
        "    path: t.csv\n"
        "    table: subscriptions\n"
        "    customer_ref: cid\n"
        "    snapshot_date: 2024-06-30\n"
        "    columns: {subscription_id: cid, mrr: charges}\n"
        "    expressions: {start_date: snapshot_date - INTERVAL (tenure) MONTH}\n"
        "    attributes:\n"
        "      joined: {expression: snapshot_date - INTERVAL (tenure) MONTH, type: date}\n"
    ))
    report = Project.check(tmp_path / "patron.yml")
    assert report.problems == []
    assert {(reason.split(" (")[0], n) for reason, n in report.samples[0].reasons} == {
        ("attributes.joined: attributes.joined.expression", 1), ("start_date: expressions.start_date", 1)}
    with Project.open(tmp_path / "patron.yml", tmp_path / "w.duckdb") as project:
        result = project.ingest()
        wh = project.warehouse
        assert [(f.read, f.loaded, f.quarantined) for f in result.files] == [(4, 3, 1)]
        assert wh.rows("SELECT customer_ref, start_date FROM subscriptions ORDER BY 1") == [
            ("c1", date(2024, 1, 30)), ("c2", date(2023, 11, 30)), ("c4", date(2023, 6, 30))]
        found = wh.rows("SELECT row_number, field, reason FROM quarantine ORDER BY field")
    assert [(r, f) for r, f, _ in found] == [(3, "attributes.joined"), (3, "start_date")]
    assert "attributes.joined.expression (snapshot_date - INTERVAL (tenure) MONTH) cannot be computed" in found[0][2]
    assert "expressions.start_date (snapshot_date - INTERVAL (tenure) MONTH) cannot be computed" in found[1][2]
