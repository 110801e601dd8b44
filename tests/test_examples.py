"""The worked examples in docs/examples load their real exports end to end: rows loaded and
quarantined as the data says, identity resolved, and the briefing's headlines available for what
each export supports. Skipped without the datasets."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import yaml

from conftest import REPO
from patron.config import parse_project
from patron.project import Project
from patron.report import build


def _project(datasets: Path, example: str, folder: str, tmp_path: Path) -> Project:
    data = yaml.safe_load((REPO / "docs" / "examples" / f"{example}.yml").read_text())
    return Project(parse_project(data, f"{example}.yml", datasets / folder), tmp_path / "w.duckdb")


def _headlines(project: Project) -> dict[str, float | None]:
    b = build(project.warehouse, project.metrics.catalog())
    return {h.metric: h.value for h in b.headlines}


def test_online_retail_invoice_lines_become_customers_and_orders(datasets, tmp_path):
    with _project(datasets, "online_retail", "online_retail", tmp_path) as project:
        result = project.ingest()
        by = {f.source: f for f in result.files}
        assert not result.refused and all(f.adds_up() for f in result.files)
        # the dataset's README: 541,909 lines, 135,080 without a customer, 4,372 customers
        customers, orders = by["retail_customers"], by["retail_orders"]
        assert (customers.read, customers.filtered, customers.loaded, customers.quarantined) == (
            541_909, 135_080, 4_372, 0)
        assert (orders.loaded, orders.quarantined) == (22_190, 0)  # invoices of known customers, credits included
        identity = project.identity.resolve()
        assert identity.records == 4_372 and identity.customers > 0
        assert not project.warehouse.scalar("SELECT count(*) FROM orders WHERE customer_id IS NULL")
        assert project.as_of() == date(2011, 12, 9)
        headlines = _headlines(project)
        for metric in ("order_revenue", "active_customers", "repeat_purchase_rate", "average_order_value"):
            assert headlines[metric] is not None, metric
        assert "mrr" not in headlines


def test_support_tweets_become_social_feedback(datasets, tmp_path):
    with _project(datasets, "support_tweets", "twitter_customer_support", tmp_path) as project:
        result = project.ingest()
        (load,) = result.files
        assert (load.read, load.loaded, load.quarantined, load.filtered) == (15_096, 15_096, 0, 0)
        identity = project.identity.resolve()  # the README: 8,723 distinct customers wrote them
        assert identity.records == 8_723
        assert not project.warehouse.scalar("SELECT count(*) FROM feedback WHERE customer_id IS NULL")
        assert project.as_of() == date(2017, 12, 3)
        headlines = _headlines(project)
        assert headlines["feedback_items"] is not None and headlines["nps"] is None


def test_cfpb_complaints_from_two_files_and_two_date_formats_become_tickets(datasets, tmp_path):
    with _project(datasets, "cfpb_complaints", "cfpb_complaints", tmp_path) as project:
        result = project.ingest()
        assert not result.refused and all(f.adds_up() for f in result.files)
        assert sorted((Path(f.file).name, f.loaded, f.quarantined) for f in result.files) == [
            ("cfpb_complaints_payday_loans_2023_with_narratives.csv", 2_827, 0),
            ("cfpb_complaints_sample_2015_2020.csv", 6_623, 0)]
        wh = project.warehouse
        assert wh.rows("SELECT min(opened_at)::DATE, max(opened_at)::DATE FROM tickets") == [
            (date(2015, 4, 6), date(2023, 8, 24))]
        assert wh.scalar("SELECT count(*) FROM tickets WHERE body IS NOT NULL") == 1_532 + 2_827
        project.identity.resolve()
        headlines = _headlines(project)
        assert headlines["tickets"] is not None and headlines["first_response_hours_median"] is None
