"""Real exports through their worked examples (docs/examples), against DuckDB doing the same
work by hand, and the quarantine summary against the grouping it replaced.

1. Online Retail (541,909 invoice lines) as customers and orders: filter, computed amount and
   roll-up per key, with validation, quarantine and lineage, against a plain DuckDB
   CREATE TABLE ... AS SELECT ... GROUP BY of the same file (the practical floor).
2. The quarantine of 537,537 duplicate-key lines (the same file loaded as customers without a
   roll-up): the summary by source, field and kind of reason, against the former grouping by
   reason text (one group per key value).

    python bench/real_exports.py            # PATRON_DATASETS defaults to ../shared/datasets
"""

from __future__ import annotations

import os
import platform
import tempfile
import time
from pathlib import Path

import duckdb
import yaml

from patron.config import parse_project
from patron.ingest import ingest_sources, quarantine
from patron.warehouse import open_warehouse

REPO = Path(__file__).resolve().parents[1]
DATASETS = Path(os.environ.get("PATRON_DATASETS", REPO.parent / "shared" / "datasets"))
RETAIL = DATASETS / "online_retail"
HAND = """
CREATE TABLE customers AS SELECT CustomerID AS customer_ref, 'Customer ' || CustomerID AS name,
    arg_min(Country, line) AS region, min(InvoiceDate)::DATE AS created_at
FROM (SELECT row_number() OVER () AS line, * FROM read_csv('{f}', all_varchar = true))
WHERE CustomerID IS NOT NULL GROUP BY CustomerID;
CREATE TABLE orders AS SELECT InvoiceNo AS order_id, any_value(CustomerID) AS customer_ref,
    min(InvoiceDate)::TIMESTAMP AS ordered_at, sum(Quantity::DOUBLE * UnitPrice::DOUBLE) AS amount
FROM read_csv('{f}', all_varchar = true) WHERE CustomerID IS NOT NULL
GROUP BY InvoiceNo;
"""
OLD_SUMMARY = ("SELECT source, table_name, field, reason, count(DISTINCT (file, row_number)), "
               "arg_min(file, row_number), min(row_number), arg_min(value, row_number) FROM quarantine "
               "GROUP BY ALL ORDER BY 5 DESC, 1, 3")


def show(rows: list) -> None:
    from rich.console import Console

    from patron.cli.render import table

    with open(os.devnull, "w") as sink:
        table("Quarantine", ["source", "table", "field", "reason", "rows"], rows, {"rows"},
              console=Console(file=sink, width=120))


def best(f, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times)


def patron_load(cfg) -> None:
    with tempfile.TemporaryDirectory() as tmp, open_warehouse(Path(tmp) / "w.duckdb") as wh:
        result = ingest_sources(wh, cfg)
        assert not result.refused and result.total("loaded") == 4_372 + 22_190


def hand_load() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        con = duckdb.connect(str(Path(tmp) / "w.duckdb"))
        con.execute(HAND.format(f=RETAIL / "online_retail.csv.gz"))
        assert con.execute("SELECT count(*) FROM orders").fetchone()[0] == 22_190
        con.close()


def main() -> None:
    if not RETAIL.exists():
        raise SystemExit(f"needs the Online Retail dataset under {DATASETS} (set PATRON_DATASETS)")
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"DuckDB {duckdb.__version__}")
    example = yaml.safe_load((REPO / "docs" / "examples" / "online_retail.yml").read_text())
    cfg = parse_project(example, root=RETAIL)
    hand, ours = best(hand_load), best(lambda: patron_load(cfg))
    lines = 541_909 * 2  # each source reads the file
    print(f"Online Retail example, 2 sources over {lines:,} lines: DuckDB by hand {hand:.2f} s, "
          f"patron {ours:.2f} s ({lines / ours:,.0f} lines/s), {ours / hand:.1f}x the hand-written SQL")

    dup = {"ingest": {"max_reject_share": 1}, "sources": {"retail_customers": {
        "path": "online_retail.csv.gz", "table": "customers", "customer_ref": "CustomerID",
        "columns": {"region": "Country"}, "expressions": {"name": "'Customer ' || CustomerID"}}}}
    with tempfile.TemporaryDirectory() as tmp, open_warehouse(Path(tmp) / "w.duckdb") as wh:
        ingest_sources(wh, parse_project(dup, root=RETAIL))
        rows = wh.scalar("SELECT count(*) FROM quarantine")
        old_rows = wh.rows(OLD_SUMMARY)
        old_query = best(lambda: wh.rows(OLD_SUMMARY))
        new_query = best(lambda: quarantine.summary(wh))
        summary = quarantine.summary(wh)
        # what a person waits for: the query and the table printed at 120 columns
        old_shown = best(lambda: show([r[:5] for r in old_rows]))
        new_shown = best(lambda: show([[s.source, s.table, s.field, s.reason, s.rows] for s in summary]))
        print(f"Quarantine summary over {rows:,} problems: {len(summary)} lines, query {new_query:.2f} s + table "
              f"{new_shown:.2f} s; was {len(old_rows):,} lines, query {old_query:.2f} s + table {old_shown:.2f} s "
              f"({(old_query + old_shown) / (new_query + new_shown):.1f}x faster in all)")


if __name__ == "__main__":
    main()
