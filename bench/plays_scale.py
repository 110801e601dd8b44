"""The plays at scale: every rule evaluated and its items written, then the same run again.

A demo company of N customers (by default the one bench/churn_scale.py prepared, reused when
there: loaded, identity resolved, texts scored) gets the demo's patron.yml plays, a churn run and a
health run (not timed; printed apart). Then, each in a process of its own, one after the other:

- first: the plays' tables emptied, `patron actions run` as a person would run it: every play
  checked, every customer's signals computed once, every condition evaluated, then the items, the
  holdout draws and the history written in one transaction;
- again: the same run on the unchanged warehouse (what `patron run` does every time nothing new
  was loaded): it sees nothing the plays read has changed and reads nothing more;
- forced: `--force`, every condition evaluated afresh on the unchanged warehouse: it finds every
  item already there and writes nothing but the run's own rows.

The ratios are against the first run in the same invocation. Peak memory is each process's RSS
high-water mark. Usage: python bench/plays_scale.py [--customers 1000000] [--usage-days 7]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import yaml

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out"


def _child(db: str, yml: str, mode: str) -> None:
    """One timed run in this process; prints a JSON line."""
    from patron.project import Project

    with Project.open(yml, db, require_config=True) as project:
        wh = project.warehouse
        if mode == "first":
            for table in ("action_history", "action_items", "play_assignments", "play_runs"):
                wh.execute(f"DELETE FROM {table}")
            wh.execute("CHECKPOINT")
        t0 = time.perf_counter()
        r = project.act.run_plays(force=mode == "forced")
        seconds = time.perf_counter() - t0
        items = wh.scalar("SELECT COUNT(*) FROM action_items")
        assigned = wh.scalar("SELECT COUNT(*) FROM play_assignments")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2
    print(json.dumps({"mode": mode, "seconds": seconds, "peak_gb": peak, "items": items, "assigned": assigned,
                      "skipped": r.skipped, "plays": [x.__dict__ for x in r.results]}))


def _run(db: Path, yml: Path, mode: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", mode, "--db", str(db), "--yml", str(yml)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def prepare(customers: int, usage_days: int) -> tuple[Path, Path]:
    from patron.demo.project_file import project_yaml
    from patron.project import Project

    folder = OUT / f"plays-{customers}-{usage_days}d"
    db, yml = folder / "patron.duckdb", folder / "patron.yml"
    if (folder / "prepared").exists():
        return db, yml
    folder.mkdir(parents=True, exist_ok=True)
    source = OUT / f"churn-{customers}-{usage_days}d" / "patron.duckdb"
    t0 = time.perf_counter()
    config = yaml.safe_load(project_yaml())
    if source.exists():
        shutil.copy(source, db)
    else:  # as churn_scale.py prepares it: generated, loaded, resolved, tickets' and feedback's texts scored
        from patron.demo import generate

        generate(customers, seed=7, out=folder / "company", as_of=date(2026, 6, 30), usage_days=usage_days)
        with Project.open(folder / "company" / "patron.yml", db, require_config=True) as p:
            p.ingest()
            p.identity.resolve()
            p.listen.enrich(tables=("tickets", "feedback"))
        shutil.rmtree(folder / "company")
    yml.write_text(yaml.safe_dump({"plays": config["plays"]}))
    with Project.open(yml, db, require_config=True) as project:
        project.predict.churn()
        project.predict.health()
    (folder / "prepared").write_text(f"{time.perf_counter() - t0:.0f} s\n")
    print(f"prepared {db} in {time.perf_counter() - t0:.0f} s (copy, churn and health runs; not timed below)")
    return db, yml


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--usage-days", type=int, default=7)
    ap.add_argument("--child")
    ap.add_argument("--db")
    ap.add_argument("--yml")
    args = ap.parse_args()
    if args.child:
        _child(args.db, args.yml, args.child)
        return
    db, yml = prepare(args.customers, args.usage_days)
    first = _run(db, yml, "first")
    again = _run(db, yml, "again")
    forced = _run(db, yml, "forced")
    assert again["skipped"] and again["items"] == first["items"] == forced["items"], "a re-run changed the items"
    for name, r in (("first", first), ("again", again), ("forced", forced)):
        made = sum(p["created"] for p in r["plays"])
        print(f"{name:>6}: {r['seconds']:7.2f} s, peak {r['peak_gb']:.2f} GB, {made:,} items created, "
              f"{r['items']:,} items, {r['assigned']:,} assignments" + (f" ({r['skipped']})" if r["skipped"] else ""))
    for p in first["plays"]:
        print(f"  {p['play']}: {p['matched']:,} signals, {p['created']:,} items, {p['held_out']:,} held out"
              + (f" ({p['note']})" if p["note"] else ""))
    print(f"re-run unchanged / first: {again['seconds'] / first['seconds']:.4f}; "
          f"forced / first: {forced['seconds'] / first['seconds']:.3f}")
    result = {"date": date.today().isoformat(), "machine": platform.platform(), "customers": args.customers,
              "first": first, "again": again, "forced": forced}
    (OUT / f"plays_scale-{args.customers}.json").write_text(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
