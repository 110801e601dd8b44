"""Every place that shows MRR, ARR, NPS or the data's as-of day agrees with the catalog's value on
the demo company: each term has one definition (patron.relations, warehouse.as_of)."""

from __future__ import annotations

import shutil
from datetime import date

import pytest

from patron.listen.themes import summary
from patron.project import Project
from patron.relations import ALL_TEXTS, ARR_NOW, CUSTOMER_MONTHS
from patron.report import build
from patron.report.briefing import last_complete_month
from patron.report.customer360 import build as build_360


@pytest.fixture(scope="module")
def demo(demo_project, tmp_path_factory):
    copy = tmp_path_factory.mktemp("one-definition") / "patron-demo"
    shutil.copytree(demo_project / "patron-demo", copy)
    project = Project.open(copy / "patron.yml", require_config=True)
    yield project
    project.close()


def _catalog(project: Project, metric: str) -> dict[date, float]:
    df = project.metrics.evaluate(metric, period="month")
    return {p.date() if hasattr(p, "date") else p: v for p, v in zip(df["period"], df["value"], strict=True)}


def test_mrr_in_the_catalog_the_briefing_and_each_customers_360_is_one_number(demo):
    wh = demo.warehouse
    mrr = _catalog(demo, "mrr")
    b = build(wh, demo.metrics.catalog())
    month = last_complete_month(b.as_of)
    headline = next(h for h in b.headlines if h.metric == "mrr")
    assert headline.value == pytest.approx(mrr[month])
    by_customer = wh.df(f"SELECT customer, month, mrr FROM ({CUSTOMER_MONTHS}) WHERE month = ?", [month])
    assert by_customer["mrr"].sum() == pytest.approx(mrr[month])
    # each customer's 360 shows its share of that month's MRR
    for customer in by_customer.nlargest(5, "mrr")["customer"]:
        view = build_360(wh, customer)
        shown = {m["month"]: m["mrr"] for m in view.mrr_by_month}
        want = by_customer.loc[by_customer["customer"] == customer, "mrr"].iloc[0]
        assert shown[month.strftime("%Y-%m")] == pytest.approx(want)


def test_arr_behind_the_themes_is_twelve_times_the_catalogs_mrr_of_the_last_billing_month(demo):
    wh = demo.warehouse
    mrr = _catalog(demo, "mrr")
    last = max(mrr)
    assert wh.scalar(f"SELECT sum(arr) FROM ({ARR_NOW})") == pytest.approx(12 * mrr[last])
    top = summary(wh).iloc[0]  # the demo's themes, as `patron demo` found them
    customers = wh.df(f"SELECT DISTINCT o.customer_id FROM text_themes AS tt JOIN ({ALL_TEXTS}) AS o "
                      "USING (source_table, item_id) WHERE tt.theme_id = ?", [top["theme_id"]])
    arr = wh.df(f"SELECT customer, arr FROM ({ARR_NOW})")
    assert top["arr"] == pytest.approx(arr[arr["customer"].isin(customers["customer_id"])]["arr"].sum())


def test_nps_and_the_as_of_day_are_the_catalogs_in_the_briefing(demo):
    wh = demo.warehouse
    b = build(wh, demo.metrics.catalog())
    assert b.as_of == demo.as_of()
    nps = _catalog(demo, "nps")
    headline = next(h for h in b.headlines if h.metric == "nps")
    assert headline.value == pytest.approx(nps[last_complete_month(b.as_of)])


def test_building_the_briefing_reads_the_warehouse_and_writes_nothing(demo):
    from patron.model import TABLES
    from patron.warehouse.schema import SYSTEM_DDL

    wh = demo.warehouse
    tables = [*TABLES, *SYSTEM_DDL]
    before = {t: wh.scalar(f"SELECT count(*) FROM {t}") for t in tables}
    build(wh, demo.metrics.catalog())
    assert {t: wh.scalar(f"SELECT count(*) FROM {t}") for t in tables} == before


def test_revenue_ends_in_the_month_of_the_as_of_day_by_its_one_definition(demo):
    """Revenue's last month, ARR now's month and the as-of day read one definition (DATA_LAST_DAY)."""
    import inspect

    from patron.relations import DATA_LAST_DAY, REVENUE_MONTHS
    from patron.warehouse import as_of

    wh = demo.warehouse
    day = demo.as_of()
    assert wh.scalar(DATA_LAST_DAY) == day
    assert wh.scalar(f"WITH {REVENUE_MONTHS.strip()} SELECT last_month FROM bounds") == day.replace(day=1)
    assert max(_catalog(demo, "mrr")) == day.replace(day=1)
    assert "max(submitted_at)" not in inspect.getsource(as_of)  # no second copy of the definition
