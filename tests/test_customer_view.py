"""The customer 360 on real-shaped projects: a master customer known only from its feedback (no
`customers` source) opens without an error, an orders-only customer shows its orders and spend in
the data's currency and never an MRR of 0, and empty profile fields are left out."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from patron.cli import customer, render
from patron.cli.main import app
from patron.errors import PatronError
from patron.project import Project
from patron.report.customer360 import build, find

FEEDBACK_ONLY = """warehouse: w.duckdb
sources:
  tweets:
    path: tweets.csv
    table: feedback
    customer_ref: author_id
    columns:
      feedback_id: tweet_id
      received_at: created_at
      text: text
    constants:
      channel: social
"""

RETAIL = """warehouse: w.duckdb
sources:
  shop_customers:
    path: lines.csv
    table: customers
    customer_ref: CustomerID
    columns:
      region: Country
    expressions:
      name: "'Customer ' || CustomerID"
      created_at: InvoiceDate
    rollup:
      created_at: min
  shop_orders:
    path: lines.csv
    table: orders
    system: shop_customers
    customer_ref: CustomerID
    columns:
      order_id: InvoiceNo
      ordered_at: InvoiceDate
    expressions:
      amount: Quantity * UnitPrice
    constants:
      currency: GBP
    rollup:
      amount: sum
"""


def _project(root: Path, config: str, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "patron.yml").write_text(config)
    for name, text in files.items():
        (root / name).write_text(text)
    with Project.open(root / "patron.yml", require_config=True) as project:
        project.ingest()
        project.identity.resolve()
    return root


@pytest.fixture(scope="module")
def feedback_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rows = "\n".join(f"t{i},u{i % 3},2024-05-{i + 1:02d} 10:00:00,the app crashed again {i}" for i in range(9))
    return _project(tmp_path_factory.mktemp("fb"), FEEDBACK_ONLY,
                    {"tweets.csv": "tweet_id,author_id,created_at,text\n" + rows + "\n"})


@pytest.fixture(scope="module")
def retail(tmp_path_factory: pytest.TempPathFactory) -> Path:
    lines = ["InvoiceNo,CustomerID,Country,InvoiceDate,Quantity,UnitPrice"]
    for k in range(12):  # customer 100: twelve orders, one a month, two lines each
        lines += [f"9{k:02d},100,Iceland,2011-{k + 1:02d}-05 09:00:00,2,10.5",
                  f"9{k:02d},100,Iceland,2011-{k + 1:02d}-05 09:00:00,1,4"]
    return _project(tmp_path_factory.mktemp("shop"), RETAIL, {"lines.csv": "\n".join(lines) + "\n"})


def _shown(monkeypatch: pytest.MonkeyPatch, view: object) -> str:
    con = Console(width=100, file=io.StringIO(), record=True)
    monkeypatch.setattr(customer, "out", con)
    monkeypatch.setattr(render, "out", con)
    customer.render_360(view)
    return con.export_text()


def test_a_customer_known_only_from_feedback_opens_from_its_source_id(feedback_only, monkeypatch):
    with Project.open(feedback_only / "patron.yml") as project:
        wh = project.warehouse
        assert wh.scalar("SELECT count(*) FROM customer_golden") == 0
        cid = find(wh, "u1")
        assert cid == wh.scalar("SELECT customer_id FROM identity_map WHERE ref = 'u1'")
        assert find(wh, cid) == cid  # its master id finds it too
        view = build(wh, cid)
        with pytest.raises(PatronError, match="no customer"):
            build(wh, "C9999999")
    assert not view.has_record and view.profile["customer_record"] is False
    assert view.profile["sources"] == ["tweets"] and view.feedback_count == 3
    assert [s["ref"] for s in view.source_ids] == ["u1"]
    text = _shown(monkeypatch, view)
    assert "no customer record" in text and "the app crashed again" in text and "MRR" not in text


def test_no_master_customers_is_an_error_only_when_identity_map_is_empty_too(feedback_only, tmp_path):
    db = tmp_path / "copy.duckdb"
    db.write_bytes((feedback_only / "w.duckdb").read_bytes())
    with Project.open(feedback_only / "patron.yml", db) as project:
        project.warehouse.execute("DELETE FROM identity_map")
        with pytest.raises(PatronError, match="no master customers yet"):
            find(project.warehouse, "u1")


def test_an_orders_only_customer_shows_its_orders_and_spend_in_pounds_not_mrr(retail, monkeypatch):
    with Project.open(retail / "patron.yml") as project:
        view = project.customer("100")
    assert view.order_count == 12 and view.currency == "GBP"
    assert view.spend == [{"currency": "GBP", "amount": 300.0}]  # 12 x (2 x 10.5 + 4)
    text = _shown(monkeypatch, view)
    assert "MRR" not in text and "subscription" not in text
    assert "12 orders · total spend £300 · first 2011-01-05 · last 2011-12-05" in text
    assert "Orders, latest first" in text and "£25" in text and "$" not in text
    order_lines = [line for line in text.splitlines() if "2011-" in line and "£25" in line]
    assert len(order_lines) == 10 and "2011-12-05" in order_lines[0]  # newest first, ten of them
    assert "10 of 12 shown" in text
    assert "owner" not in text  # an empty field is left out, not "owner  ·"
    assert "1 source record" in text and "1 source records" not in text


def test_customer_show_json_lists_the_profile_sources(retail, monkeypatch):
    monkeypatch.chdir(retail)
    result = CliRunner().invoke(app, ["customer", "show", "100", "--format", "json"])
    assert result.exit_code == 0, result.output
    view = json.loads(result.output)
    assert view["profile"]["sources"] == ["shop_customers"]
    assert view["order_count"] == 12 and view["orders"][0]["order_id"] == "911"


def test_a_customer_name_holding_terminal_control_sequences_is_shown_as_text(tmp_path):
    from typer.testing import CliRunner

    from patron.cli.main import app

    name = "Acme\x1b]0;HACKED\x07\x1b[2J\u202eCorp\x9b"
    (tmp_path / "c.csv").write_text(f"id,name\nA1,{name}\n", encoding="utf-8")
    (tmp_path / "patron.yml").write_text("sources:\n  crm: {path: c.csv, table: customers, customer_ref: id}\n")
    args = ["--config", str(tmp_path / "patron.yml"), "--db", str(tmp_path / "w.duckdb")]
    runner = CliRunner()
    assert runner.invoke(app, ["run", *args]).exit_code == 0
    shown = runner.invoke(app, ["customer", "show", "A1", *args])
    assert shown.exit_code == 0 and "Acme" in shown.output
    assert not any(ch in shown.output for ch in ("\x1b", "\x07", "\u202e", "\x9b"))
