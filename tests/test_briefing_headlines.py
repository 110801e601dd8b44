"""Briefing headlines say true things: a metric with no data anywhere gets no card, only a line
with the catalog's reason; one with data but none in the reported month keeps its card and says
when its latest value was; n shows only beside a value; money reads in the data's currency."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from patron.project import Project
from patron.report import build, render_html
from patron.report.briefing import Briefing, Headline

CONFIG = """warehouse: w.duckdb
sources:
  shop_orders:
    path: orders.csv
    table: orders
    customer_ref: customer
    columns:
      order_id: invoice
      ordered_at: day
      amount: amount
      currency: currency
  notes:
    path: notes.csv
    table: feedback
    customer_ref: customer
    columns:
      feedback_id: id
      received_at: day
      text: text
    constants:
      channel: email
"""


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Briefing:
    """Orders in pounds through October 2011 only; feedback runs to 2011-12-09, so the briefing
    reports November 2011, a month without orders; no responses or tickets at all."""
    root = tmp_path_factory.mktemp("shop")
    (root / "patron.yml").write_text(CONFIG)
    orders = ["invoice,customer,day,amount,currency"]
    orders += [f"{m}{c},c{c},2011-{m:02d}-1{c},{10 * c + m},GBP" for m in range(1, 11) for c in range(1, 6)]
    orders.append("x1,c1,2011-03-03,5,EUR")  # a stray one in another currency: pounds are still most common
    (root / "orders.csv").write_text("\n".join(orders) + "\n")
    (root / "notes.csv").write_text("id,customer,day,text\n" + "\n".join(
        f"n{i},c{i % 5 + 1},2011-12-0{i + 1},fine thanks" for i in range(9)) + "\n")
    with Project.open(root / "patron.yml", require_config=True) as project:
        project.ingest()
        project.identity.resolve()
        return build(project.warehouse, project.metrics.catalog())


def test_metrics_with_no_data_anywhere_get_no_card_but_a_line_with_the_reason(shop):
    assert shop.as_of == date(2011, 12, 9)
    cards = {h.metric for h in shop.cards}
    assert "nps" not in cards and "csat" not in cards and "first_response_hours_median" not in cards
    reasons = dict(shop.not_shown)
    nps = next(label for label in reasons if "Net Promoter" in label)
    assert reasons[nps] == "no responses are loaded"
    listed = next(h for h in shop.headlines if h.metric == "nps")  # the data (to_dict) still names it
    assert listed.no_data and listed.value is None and listed.note == "no responses are loaded"
    html = render_html(shop)
    assert "Not shown, for want of data:" in html and f"{nps} (no responses are loaded)" in html
    assert "no data for November 2011" not in html.split("Not shown")[1]


def test_a_metric_with_data_but_none_in_the_month_keeps_its_card_with_its_latest_value(shop):
    revenue = next(h for h in shop.headlines if h.metric == "order_revenue")
    assert revenue.value is None and revenue.period == "Nov 2011"
    october = sum(10 * c + 10 for c in range(1, 6))
    assert revenue.note == f"no data for November 2011; the latest is October 2011: £{october:,}"
    assert "not available: no data for" not in render_html(shop)


def test_money_reads_in_the_data_currency(shop):
    assert shop.currency == "GBP"  # the most common code of orders (50 GBP, 1 EUR)
    body = render_html(shop).split("<body>", 1)[1]
    assert "£" in body and not re.search(r"\$[0-9]", body)


def test_n_shows_only_beside_a_value():
    b = Briefing(date(2011, 12, 9), "2011-12-10 09:00",
                 headlines=[Headline("Tickets per customer", None, "ratio", n=7963, note="no data for November 2011"),
                            Headline("Order revenue", 1234.0, "currency", n=12)])
    html = render_html(b)
    assert "7,963" not in html and "n = 12" in html
    assert "$1,234" in html  # USD when the briefing names no currency


@pytest.mark.parametrize("currency, shown", [("GBP", "£1,234"), ("EUR", "€1,234"), ("USD", "$1,234"),
                                             ("CHF", "CHF 1,234"), (None, "$1,234")])
def test_currency_symbols(currency: str | None, shown: str):
    from patron.units import in_unit

    assert in_unit(1234.4, "currency", currency) == shown
    assert in_unit(-1234.4, "currency", currency) == "-" + shown


def test_the_default_currency_when_no_money_is_loaded(tmp_path: Path):
    from patron.report.money import data_currency

    with Project.open(None, tmp_path / "empty.duckdb") as project:
        assert data_currency(project.warehouse) == "USD"
