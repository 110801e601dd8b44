"""Command start: `patron --help` (and `patron status` in a project) against importing its own libraries.

A command a person types should answer at once. The floor is what any command must load anyway:
`import duckdb, typer, rich` in a fresh interpreter. Each command runs as its own process, several
times, interleaved with the baseline so that load on a shared machine hits both alike; the median
of each is reported, and the ratio patron / baseline is the number to watch (target: within 3x).

    python bench/command_start.py --runs 9 --project patron-demo
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
BASELINE = [sys.executable, "-c", "import duckdb, typer, rich"]


def wall(cmd: list[str], cwd: Path | None = None) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--project", type=Path, default=Path("patron-demo"),
                    help="A project folder (from `patron demo`) to time `status` in; skipped if absent.")
    args = ap.parse_args()
    patron = str(BIN / "patron")
    commands = {"import duckdb, typer, rich": (BASELINE, None), "patron --help": ([patron, "--help"], None)}
    if (args.project / "patron.yml").is_file():
        commands["patron status"] = ([patron, "status"], args.project)
    for cmd, cwd in commands.values():  # warm the file cache once
        wall(cmd, cwd)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, (cmd, cwd) in commands.items():
            times[name].append(wall(cmd, cwd))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"median of {args.runs} runs")
    base = statistics.median(times["import duckdb, typer, rich"])
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:<28} {med:6.3f} s  (min {min(ts):.3f}, max {max(ts):.3f})  ratio {med / base:5.2f}")


if __name__ == "__main__":
    main()
