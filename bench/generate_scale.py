"""Generating the demo company at scale: time, peak memory and rows, against a 10x smaller run.

Each size runs in its own process (peak memory is that process's high-water mark). The baseline
is the same generator at a tenth of the size, in the same run: time should grow about linearly
(ratio near 10) and peak memory should stay flat (ratio near 1), because customers are generated
in fixed-size blocks.

    python bench/generate_scale.py --customers 1000000
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
from pathlib import Path

OUT = Path(__file__).parent / "out"
CHILD = """
import sys
from datetime import date
from patron.demo import generate
r = generate(int(sys.argv[1]), seed=1, out=sys.argv[2], as_of=date(2026, 6, 30), usage_days=int(sys.argv[3]))
import json; print(json.dumps(r.files))
"""


def run(customers: int, usage_days: int, keep: bool) -> dict:
    folder = OUT / f"generate-{customers}"
    shutil.rmtree(folder, ignore_errors=True)
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(customers), str(folder), str(usage_days)],
                            stdout=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    if status != 0:
        raise SystemExit(f"generator failed for {customers} customers")
    files = json.loads(proc.stdout.read())
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    if not keep:
        shutil.rmtree(folder, ignore_errors=True)
    return {"customers": customers, "seconds": round(seconds, 1), "peak_rss_mb": round(usage.ru_maxrss / 1024),
            "rows": sum(v for k, v in files.items() if k.startswith("exports/")),
            "usage_rows": sum(v for k, v in files.items() if "usage" in k), "disk_mb": round(size / 2**20)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--usage-days", type=int, default=90)
    ap.add_argument("--keep", action="store_true", help="keep the generated files in bench/out")
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"usage days {args.usage_days}")
    small = run(args.customers // 10, args.usage_days, keep=False)
    big = run(args.customers, args.usage_days, keep=args.keep)
    for r in (small, big):
        print(f"{r['customers']:>10,} customers: {r['seconds']:>7.1f} s, peak {r['peak_rss_mb']:>6,} MB, "
              f"{r['rows']:>12,} export rows ({r['usage_rows']:,} usage), {r['disk_mb']:,} MB on disk")
    print(f"time ratio {big['seconds'] / small['seconds']:.2f} (10 = linear), "
          f"memory ratio {big['peak_rss_mb'] / small['peak_rss_mb']:.2f} (1 = flat)")
    (OUT / "generate_scale.json").write_text(json.dumps([small, big], indent=2))


if __name__ == "__main__":
    main()
