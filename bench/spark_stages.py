"""The stages after the catalog (themes, spikes, predictions, plays), found afresh on DuckDB and on
Spark in local mode, on the same machine and the same demo company.

`patron demo` makes the company (every stage run once); its warehouse is copied to the Spark layout
with `patron export --engine spark`. Each engine then empties what these stages write and runs
them again, in a process of its own; time is per stage, peak memory is the process tree's (Spark's
JVM included). The churn scores, the health scores, the action items and the themes' names must
agree; the script fails if they do not.

    python bench/spark_stages.py --customers 10000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from spark_catalog import sampled  # noqa: E402  (the same process-tree memory sampling)

OUT = Path(__file__).parent / "out"
DERIVED = ("themes", "text_themes", "alerts", "predictions", "prediction_runs", "action_items", "action_history",
           "play_assignments", "play_runs")
STAGES = ["themes", "spikes", "predict", "plays"]

CHILD = r"""
import json, sys, time
engine, folder = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
from patron.pipeline import run
from patron.project import Project
DERIVED = __DERIVED__
with Project.open(f"{folder}/{engine}.yml", None) as project:
    wh = project.warehouse
    for table in DERIVED:
        wh.execute(f"DELETE FROM {table}")
    started = time.perf_counter() - t0
    said = run(project, __STAGES__)
    stages = {s.stage: round(s.seconds, 2) for s in said.stages}
    rows = {
        "churn": wh.df("SELECT p.customer_id, round(p.score, 9) AS score FROM predictions AS p JOIN prediction_runs "
                       "AS r USING (run_id) WHERE r.model = 'churn' ORDER BY 1"),
        "health": wh.df("SELECT p.customer_id, p.as_of, round(p.score, 9) AS score FROM predictions AS p JOIN "
                        "prediction_runs AS r USING (run_id) WHERE r.model = 'health' ORDER BY 1, 2"),
        "items": wh.df("SELECT item_id, play, customer_id, status, priority FROM action_items ORDER BY 1"),
        "themes": wh.df("SELECT name, items FROM themes ORDER BY 1"),
    }
for name, frame in rows.items():
    frame.astype(str).to_parquet(f"{folder}/{engine}-{name}.parquet")
print(json.dumps({"seconds": time.perf_counter() - t0, "start_seconds": started, "stages": stages,
                  "rows": {k: len(v) for k, v in rows.items()}}))
""".replace("__DERIVED__", repr(DERIVED)).replace("__STAGES__", repr(STAGES))


def prepare(customers: int) -> Path:
    folder = OUT / f"spark-stages-{customers}"
    demo = folder / "patron-demo"
    if not (demo / "patron.duckdb").exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        subprocess.run([str(Path(sys.executable).parent / "patron"), "demo", "--customers", str(customers),
                        "--dir", "patron-demo"], cwd=folder, check=True, capture_output=True)
    if not (folder / "layout").exists():
        subprocess.run([str(Path(sys.executable).parent / "patron"), "export", "--engine", "spark", "--to",
                        str(folder / "layout"), "--db", str(demo / "patron.duckdb")], check=True, capture_output=True)
    import yaml

    cfg = yaml.safe_load((demo / "patron.yml").read_text())
    for src in cfg.get("sources", {}).values():
        if "path" in src:
            src["path"] = str(demo / src["path"])
    (folder / "duckdb.yml").write_text(yaml.safe_dump({**cfg, "warehouse": str(demo / "patron.duckdb")}))
    (folder / "spark.yml").write_text(yaml.safe_dump({**cfg, "warehouse": {"engine": "spark",
                                                                           "path": str(folder / "layout")}}))
    return folder


def compare(folder: Path) -> list[str]:
    import pandas as pd

    problems = []
    for name in ("churn", "health", "items", "themes"):
        a, b = (pd.read_parquet(folder / f"{e}-{name}.parquet") for e in ("duckdb", "spark"))
        if not a.equals(b):
            problems.append(f"{name}: {len(a):,} rows on duckdb, {len(b):,} on spark, not the same")
    return problems


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=10_000)
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    folder = prepare(args.customers)
    results = {engine: sampled(CHILD, engine, folder) for engine in ("duckdb", "spark")}
    problems = compare(folder)
    rows = results["spark"]["rows"]
    print(f"{args.customers:,} customers: {rows['churn']:,} churn scores, {rows['health']:,} health scores, "
          f"{rows['items']:,} action items, {rows['themes']} themes; {len(problems)} of 4 outputs differ")
    for p in problems:
        print("   ", p)
    for engine, r in results.items():
        stages = ", ".join(f"{k} {v:.1f} s" for k, v in r["stages"].items())
        print(f"{engine:>7}: {r['seconds']:7.1f} s (opening {r['start_seconds']:.1f} s; {stages}), peak "
              f"{r['peak_mb']:,} MB")
    d, s = results["duckdb"], results["spark"]
    print(f"spark local[2] / duckdb: {s['seconds'] / d['seconds']:.1f}x the time, "
          f"{s['peak_mb'] / d['peak_mb']:.1f}x the memory")
    (OUT / f"spark_stages-{args.customers}.json").write_text(json.dumps(
        {"customers": args.customers, "results": results, "differ": problems}, indent=2))
    if problems:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
