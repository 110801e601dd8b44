"""The whole metric catalog, monthly, on DuckDB and on Spark in local mode, on the same machine.

The demo company of `bench/metrics_catalog.py` (24 months of billing, orders, tickets, surveys and
costs) is copied to the Spark layout with `patron export --engine spark`; then `evaluate_catalog`
runs on each engine in a process of its own. Peak memory is the high-water mark of the process and
every process it started (Spark's JVM included), sampled every 0.2 s from /proc. The values must
agree (same metric, month, value and n); the script fails if they do not.

    python bench/spark_catalog.py --customers 100000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from metrics_catalog import OUT, prepare  # noqa: E402  (the same company, prepared the same way)

CHILD = r"""
import json, sys, time
import pandas as pd
engine, folder = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
from patron.metrics import builtin_catalog, evaluate_catalog
from patron.warehouse import open_spark_warehouse, open_warehouse
if engine == "spark":
    wh = open_spark_warehouse(folder + "/spark")
else:
    wh = open_warehouse(folder + "/patron.duckdb")
started = time.perf_counter() - t0
out = evaluate_catalog(wh, builtin_catalog(), [], "month", store=False)
seconds = time.perf_counter() - t0
out = out.assign(period=out["period"].astype(str).str[:10])
out[["metric", "period", "value", "n"]].to_parquet(f"{folder}/{engine}.parquet")
print(json.dumps({"seconds": seconds, "start_seconds": started, "values": len(out)}))
"""


def _tree_rss_mb(root: int) -> float:
    """Resident memory of a process and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
            rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo += children.get(pid, [])
    return total / 2**20


def sampled(child: str, engine: str, folder: Path) -> dict:
    """Run a child script on one engine; its last line of JSON, with the process tree's peak memory."""
    proc = subprocess.Popen([sys.executable, "-c", child, engine, str(folder)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, _tree_rss_mb(proc.pid))
        time.sleep(0.2)
    if proc.returncode != 0:
        raise SystemExit(f"{engine} failed")
    out = json.loads(proc.stdout.read().strip().splitlines()[-1])
    return {"engine": engine, **out, "peak_mb": round(peak)}


def run(engine: str, folder: Path) -> dict:
    return sampled(CHILD, engine, folder)


def compare(folder: Path) -> tuple[int, list[str]]:
    import numpy as np
    import pandas as pd

    a = pd.read_parquet(folder / "duckdb.parquet")
    b = pd.read_parquet(folder / "spark.parquet")
    j = a.merge(b, on=["metric", "period"], how="outer", suffixes=("", "_s"), indicator=True)
    both = j[j["_merge"] == "both"]
    close = np.isclose(both["value"].astype(float), both["value_s"].astype(float), rtol=1e-9, atol=1e-9,
                       equal_nan=True)
    wrong = both[~((both["n"] == both["n_s"]) & close)]
    problems = [f"{r['metric']} {r['period']}: only on {'duckdb' if r['_merge'] == 'left_only' else 'spark'}"
                for r in j[j["_merge"] != "both"].to_dict("records")]
    problems += [f"{r.metric} {r.period}: duckdb {r.value} (n {r.n}), spark {r.value_s} (n {r.n_s})"
                 for r in wrong.itertuples()]
    return len(both), problems


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=2, help="runs of each; the best time is reported")
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    folder = prepare(args.customers)
    if not (folder / "spark").exists():
        t0 = time.perf_counter()
        subprocess.run([str(Path(sys.executable).parent / "patron"), "export", "--engine", "spark", "--to",
                        str(folder / "spark"), "--db", str(folder / "patron.duckdb"), "--format", "json"],
                       check=True, capture_output=True)
        print(f"export to the Spark layout: {time.perf_counter() - t0:.1f} s")
    size = sum(f.stat().st_size for f in (folder / "spark").rglob("*.parquet")) / 2**20
    print(f"{args.customers:,} customers; the Spark layout holds {size:,.0f} MB of Parquet")
    best: dict[str, dict] = {}
    for _ in range(args.repeat):
        for engine in ("duckdb", "spark"):
            r = run(engine, folder)
            if engine not in best or r["seconds"] < best[engine]["seconds"]:
                best[engine] = r | {"peak_mb": max(r["peak_mb"], best.get(engine, {}).get("peak_mb", 0))}
    matched, problems = compare(folder)
    print(f"values compared: {matched:,} metric-months, {len(problems)} differ")
    for p in problems[:20]:
        print("   ", p)
    for engine, r in best.items():
        print(f"{engine:>7}: {r['seconds']:7.2f} s (of which opening {r['start_seconds']:.1f} s), peak "
              f"{r['peak_mb']:,} MB, {r['values']:,} values")
    d, s = best["duckdb"]["seconds"], best["spark"]["seconds"]
    memory = best["spark"]["peak_mb"] / best["duckdb"]["peak_mb"]
    print(f"spark local[2] / duckdb: {s / d:.1f}x the time, {memory:.1f}x the memory")
    (OUT / f"spark_catalog-{args.customers}.json").write_text(json.dumps({"customers": args.customers,
                                                                          "best": best, "differ": len(problems)},
                                                                         indent=2))
    if problems:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
