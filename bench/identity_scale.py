"""Identity resolution at scale: time, peak memory and pairwise F1 against the planted truth.

For each size a demo company is generated (one day of usage, so loading stays quick), loaded,
then resolved in a process of its own, so the peak memory is resolution's alone. The baseline is
the same resolution at a tenth of the size in the same run: the time ratio shows how it scales.

    python bench/identity_scale.py --customers 1000000
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
RESOLVE = """
import json, sys, time
import pandas as pd
from patron.project import Project
from patron.identity.clusters import pair_quality
folder = sys.argv[1]
t0 = time.perf_counter()
with Project.open(folder + "/patron.yml", require_config=True) as p:
    r = p.identity.resolve()
    seconds = time.perf_counter() - t0
    m = p.warehouse.df("SELECT system, ref, customer_id FROM identity_map")
    systems = p.config.systems()
truth = pd.read_csv(folder + "/truth/identities.csv", dtype=str)
truth["system"] = truth["source"].map(systems)
j = truth.merge(m, left_on=["system", "customer_ref"], right_on=["system", "ref"], how="left")
print(json.dumps({"seconds": seconds, "result": r.to_dict(), "quality": pair_quality(j.customer_id, j.true_customer)}))
"""


def run(customers: int) -> dict:
    from patron.demo import generate
    from patron.project import Project

    folder = OUT / f"identity-{customers}"
    if not (folder / "patron.duckdb").exists() or not (folder / "truth" / "planted.json").exists():
        shutil.rmtree(folder, ignore_errors=True)
        generate(customers, seed=5, out=folder, as_of=date(2026, 6, 30), usage_days=1)
        with Project.open(folder / "patron.yml", require_config=True) as p:
            p.ingest()
    proc = subprocess.Popen([sys.executable, "-c", RESOLVE, str(folder)], stdout=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"resolution failed at {customers} customers")
    out = json.loads(proc.stdout.read().strip().splitlines()[-1])
    shutil.rmtree(folder, ignore_errors=True)
    q = out["quality"]
    return {"customers": customers, "records": out["result"]["records"], "seconds": round(out["seconds"], 1),
            "peak_rss_mb": round(usage.ru_maxrss / 1024), "precision": round(q["precision"], 4),
            "recall": round(q["recall"], 4), "f1": round(q["f1"], 4)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=1_000_000)
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    rows = [run(args.customers // 10), run(args.customers)]
    for r in rows:
        print(f"{r['customers']:>10,} customers, {r['records']:>10,} records: {r['seconds']:>7.1f} s, "
              f"peak {r['peak_rss_mb']:>6,} MB, precision {r['precision']:.4f}, recall {r['recall']:.4f}, "
              f"F1 {r['f1']:.4f}")
    print(f"time ratio {rows[1]['seconds'] / rows[0]['seconds']:.2f} (10 = linear)")
    (OUT / "identity_scale.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
