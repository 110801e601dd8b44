"""Ingestion with validation against DuckDB's own read_csv of the same file (the practical limit).

For each export of a generated company: the best of --repeat runs of
  baseline: CREATE TABLE t AS SELECT * FROM read_csv(file)          (types sniffed, nothing checked)
  patron:   the configured source through mapping, validation, dedupe, quarantine and lineage
each into a fresh warehouse file. Prints rows/s for both and patron's share of the baseline.

    python bench/ingest_throughput.py --customers 300000
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb

from patron.config import load_project
from patron.demo import generate
from patron.ingest import ingest_sources
from patron.warehouse import open_warehouse

SOURCES = ("survey_responses", "crm_contacts", "billing_subscriptions", "helpdesk_tickets")
OUT = Path(__file__).parent / "out"


def company(customers: int) -> Path:
    folder = OUT / f"ingest-{customers}"
    if not (folder / "patron.yml").exists():
        generate(customers, seed=11, out=folder, as_of=date(2026, 6, 30), usage_days=1)
    return folder


def baseline(file: Path, fmt: str) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        con = duckdb.connect(str(Path(tmp) / "b.duckdb"))
        reader = "read_csv" if fmt == "csv" else "read_json"
        t0 = time.perf_counter()
        con.execute(f"CREATE TABLE t AS SELECT * FROM {reader}('{file}')")
        elapsed = time.perf_counter() - t0
        con.close()
    return elapsed


def patron(cfg, source: str) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp, open_warehouse(Path(tmp) / "p.duckdb") as wh:
        t0 = time.perf_counter()
        result = ingest_sources(wh, cfg, [source])
        elapsed = time.perf_counter() - t0
    return elapsed, result.files[0].read


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=300_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    folder = company(args.customers)
    cfg = load_project(folder / "patron.yml")
    rows = []
    print(f"machine: {platform.processor() or platform.machine()}, {platform.python_version()}, "
          f"duckdb {duckdb.__version__}, {args.customers:,} customers")
    for source in SOURCES:
        file = folder / cfg.sources[source].path
        fmt = "json" if file.suffix == ".jsonl" else "csv"
        base = min(baseline(file, fmt) for _ in range(args.repeat))
        runs = [patron(cfg, source) for _ in range(args.repeat)]
        best, n = min(r[0] for r in runs), runs[0][1]
        row = {"source": source, "file": file.name, "rows": n, "mb": round(file.stat().st_size / 2**20, 1),
               "baseline_rows_per_s": round(n / base), "patron_rows_per_s": round(n / best),
               "ratio": round(base / best, 3)}
        rows.append(row)
        print(f"{source:24} {n:>10,} rows {row['mb']:>7} MB   read_{fmt} {row['baseline_rows_per_s']:>10,}/s   "
              f"patron {row['patron_rows_per_s']:>10,}/s   patron/baseline = {row['ratio']:.2f}")
    (OUT / "ingest_throughput.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
