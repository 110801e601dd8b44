"""Identity resolution on DuckDB and on Spark in local mode, on the same machine and the same records.

A demo company (one day of usage) is generated and loaded into DuckDB once, then copied to the
Spark layout with `patron export --engine spark`. `identity resolve` then runs on a fresh copy of
each, in a process of its own; peak memory is that process's and its children's (Spark's JVM
included), sampled every 0.2 s. The two engines must give every record the same master customer;
the script fails if they do not. Pairwise precision and recall are against the planted truth.

    python bench/spark_identity.py --customers 100000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from spark_catalog import sampled  # noqa: E402  (the same process and memory sampling)

OUT = Path(__file__).parent / "out"
CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import pandas as pd
from patron.config import load_project
from patron.identity.clusters import pair_quality
from patron.identity.resolve import resolve
from patron.warehouse import open_spark_warehouse, open_warehouse
engine, folder = sys.argv[1], sys.argv[2]
cfg = load_project(folder + "/patron.yml")
wh = open_spark_warehouse(folder + "/spark-work") if engine == "spark" else open_warehouse(folder + "/work.duckdb")
started = time.perf_counter() - t0
r = resolve(wh, cfg)
seconds = time.perf_counter() - t0
m = wh.df("SELECT system, ref, customer_id FROM identity_map")
m.to_parquet(f"{folder}/{engine}-map.parquet")
truth = pd.read_csv(folder + "/truth/identities.csv", dtype=str)
truth["system"] = truth["source"].map(cfg.systems())
j = truth.merge(m, left_on=["system", "customer_ref"], right_on=["system", "ref"], how="left")
print(json.dumps({"seconds": seconds, "start_seconds": started, "result": r.to_dict(),
                  "quality": pair_quality(j.customer_id, j.true_customer)}))
"""


def prepare(customers: int) -> Path:
    from patron.demo import generate
    from patron.project import Project

    folder = OUT / f"spark-identity-{customers}"
    if (folder / "prepared").exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    t0 = time.perf_counter()
    generate(customers, seed=5, out=folder, as_of=date(2026, 6, 30), usage_days=1)
    with Project.open(folder / "patron.yml", require_config=True) as p:
        p.ingest()
    subprocess.run([str(Path(sys.executable).parent / "patron"), "export", "--engine", "spark", "--to",
                    str(folder / "spark-base"), "--db", str(folder / "patron.duckdb")], check=True,
                   capture_output=True)
    (folder / "prepared").write_text(f"{time.perf_counter() - t0:.0f} s\n")
    print(f"prepared {folder} in {time.perf_counter() - t0:.0f} s (generated, loaded, exported; not timed)")
    return folder


def run(engine: str, folder: Path) -> dict:
    shutil.rmtree(folder / "spark-work", ignore_errors=True)
    if engine == "spark":
        shutil.copytree(folder / "spark-base", folder / "spark-work")
    else:
        shutil.copy(folder / "patron.duckdb", folder / "work.duckdb")
    return sampled(CHILD, engine, folder)


def differ(folder: Path) -> tuple[int, int]:
    """Records compared, and those given a different master customer by the two engines."""
    import pandas as pd

    a = pd.read_parquet(folder / "duckdb-map.parquet")
    b = pd.read_parquet(folder / "spark-map.parquet")
    j = a.merge(b, on=["system", "ref"], how="outer", suffixes=("", "_s"))
    return len(j), int((j["customer_id"] != j["customer_id_s"]).sum())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=100_000)
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    folder = prepare(args.customers)
    rows = {engine: run(engine, folder) for engine in ("duckdb", "spark")}
    compared, different = differ(folder)
    for engine, r in rows.items():
        q = r["quality"]
        print(f"{engine:>7}: {r['seconds']:8.1f} s (of which opening {r['start_seconds']:.1f} s), peak "
              f"{r['peak_mb']:,} MB, {r['result']['records']:,} records, {r['result']['customers']:,} customers, "
              f"precision {q['precision']:.4f}, recall {q['recall']:.4f}")
    d, s = rows["duckdb"], rows["spark"]
    print(f"spark local[2] / duckdb: {s['seconds'] / d['seconds']:.1f}x the time, "
          f"{s['peak_mb'] / d['peak_mb']:.1f}x the memory")
    print(f"records compared: {compared:,}; given another master customer: {different:,}")
    (OUT / f"spark_identity-{args.customers}.json").write_text(json.dumps(
        {"customers": args.customers, "runs": rows, "compared": compared, "differ": different}, indent=2))
    if different:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
