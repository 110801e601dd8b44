"""The whole metric catalog, monthly, against hand-written pandas and hand-written DuckDB.

A demo company is generated (24 months of history, one day of usage so loading stays quick) and
its billing, orders, tickets, surveys and costs are loaded. Then, each in a process of its own
so that peak memory is its alone, on the same data:

- patron: `evaluate_catalog` of every built-in metric by month, intervals and tests included,
  stored in metric_values;
- DuckDB by hand: one hand-written query per table read (bench/metrics_hand.py);
- pandas by hand: the same numbers from the tables read into pandas (read time reported apart).

The values must agree (same metric, month, value and n); the script fails if they do not.

    python bench/metrics_catalog.py --customers 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

OUT = Path(__file__).parent / "out"
SOURCES = ["billing_subscriptions", "billing_orders", "helpdesk_tickets", "survey_responses", "finance_costs"]
TABLES = ["subscriptions", "orders", "tickets", "responses", "costs"]

CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[3])
import pandas as pd
kind, folder = sys.argv[1], sys.argv[2]
read = 0.0
t0 = time.perf_counter()
if kind == "patron":
    from patron.metrics import evaluate_catalog
    from patron.project import Project
    with Project.open(folder + "/patron.yml", require_config=True) as p:
        out = evaluate_catalog(p.warehouse, p.metrics.catalog(), [], "month")
    out = out.assign(period=pd.to_datetime(out["period"]))
elif kind == "duckdb":
    import duckdb
    from metrics_hand import duckdb_hand
    con = duckdb.connect(folder + "/patron.duckdb", read_only=True)
    out = duckdb_hand(con)
else:
    from metrics_hand import pandas_hand
    tables = {t: pd.read_parquet(f"{folder}/parquet/{t}.parquet") for t in sys.argv[4].split(",")}
    read = time.perf_counter() - t0
    out = pandas_hand(tables)
seconds = time.perf_counter() - t0
out[["metric", "period", "value", "n"]].to_parquet(f"{folder}/{kind}.parquet")
print(json.dumps({"seconds": seconds, "read_seconds": read, "values": len(out)}))
"""


def prepare(customers: int) -> Path:
    from patron.demo import generate
    from patron.project import Project

    folder = OUT / f"metrics-{customers}"
    if not (folder / "parquet" / "costs.parquet").exists():
        shutil.rmtree(folder, ignore_errors=True)
        generate(customers, seed=11, out=folder, as_of=date(2026, 6, 30), usage_days=1)
        with Project.open(folder / "patron.yml", require_config=True) as p:
            p.ingest(SOURCES)
            (folder / "parquet").mkdir()
            for t in TABLES:
                p.warehouse.execute(f"COPY {t} TO '{folder}/parquet/{t}.parquet' (FORMAT parquet)")
        shutil.rmtree(folder / "exports")
    return folder


def run(kind: str, folder: Path) -> dict:
    proc = subprocess.Popen([sys.executable, "-c", CHILD, kind, str(folder), str(Path(__file__).parent),
                             ",".join(TABLES)], stdout=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"{kind} failed")
    out = json.loads(proc.stdout.read().strip().splitlines()[-1])
    return {"kind": kind, **out, "peak_rss_mb": round(usage.ru_maxrss / 1024)}


def compare(folder: Path, kind: str) -> tuple[int, list[str]]:
    """Rows of patron's output with data, each matched in the other's; mismatches named."""
    import numpy as np
    import pandas as pd

    a = pd.read_parquet(folder / "patron.parquet")
    b = pd.read_parquet(folder / f"{kind}.parquet")
    a, b = a[a["n"] > 0], b[b["n"] > 0]
    a = a[a["metric"].isin(set(b["metric"]))]  # metrics added to the catalog since are not written by hand
    j = a.merge(b, on=["metric", "period"], how="outer", suffixes=("", "_h"), indicator=True)
    bad = j[j["_merge"] != "both"]
    both = j[j["_merge"] == "both"]
    same_n = both["n"] == both["n_h"]
    close = np.isclose(both["value"].astype(float), both["value_h"].astype(float), rtol=1e-9, atol=1e-9,
                       equal_nan=True)
    wrong = both[~(same_n & close)]
    problems = [f"{r['metric']} {str(r['period'])[:7]}: only in {'patron' if r['_merge'] == 'left_only' else kind}"
                for r in bad.to_dict("records")]
    problems += [f"{r.metric} {str(r.period)[:7]}: patron {r.value} (n {r.n}), {kind} {r.value_h} (n {r.n_h})"
                 for r in wrong.itertuples()]
    return len(both), problems


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each; the best time is reported")
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    folder = prepare(args.customers)
    import duckdb

    con = duckdb.connect(str(folder / "patron.duckdb"), read_only=True)
    sizes = {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in TABLES}
    con.close()
    print(f"{args.customers:,} customers: " + ", ".join(f"{t} {n:,}" for t, n in sizes.items()))
    best = {}
    for _ in range(args.repeat):
        for kind in ("patron", "duckdb", "pandas"):
            r = run(kind, folder)
            if kind not in best or r["seconds"] < best[kind]["seconds"]:
                best[kind] = r | {"peak_rss_mb": max(r["peak_rss_mb"], best.get(kind, {}).get("peak_rss_mb", 0))}
    for kind in ("duckdb", "pandas"):
        matched, problems = compare(folder, kind)
        print(f"values compared with {kind}: {matched:,} metric-months, {len(problems)} differ")
        for p in problems[:20]:
            print("   ", p)
        if problems:
            raise SystemExit(1)
    for kind, r in best.items():
        read = f" (of which reading parquet {r['read_seconds']:.1f} s)" if r["read_seconds"] else ""
        print(f"{kind:>7}: {r['seconds']:7.2f} s{read}, peak {r['peak_rss_mb']:,} MB, {r['values']:,} values")
    p, d, pd_ = best["patron"]["seconds"], best["duckdb"]["seconds"], best["pandas"]["seconds"]
    compute = (pd_ - best["pandas"]["read_seconds"]) / p
    print(f"pandas / patron: {pd_ / p:.2f}x (target >= 3); compute only {compute:.2f}x")
    print(f"patron / hand-written DuckDB: {p / d:.2f}x (target <= 1.5)")
    (OUT / "metrics_catalog.json").write_text(json.dumps({"customers": args.customers, "rows": sizes,
                                                          "best": best}, indent=2))


if __name__ == "__main__":
    main()
