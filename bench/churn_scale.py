"""The churn run at scale: snapshot features, training and scoring, against a hand-written pandas script.

A demo company of N customers is generated (24 months of billing, tickets, surveys and feedback;
`--usage-days` of daily usage), loaded (`patron ingest`), resolved (`patron identity resolve`:
the features join every system's rows through the master customer) and its tickets' and
feedback's sentiment scored (`listen enrich` of those two tables: two features read it). The
tables the features read are exported to Parquet for pandas. None of this is timed with the runs;
its times are printed apart.

Then, each in a process of its own, one after the other, on the same data:

- patron: `churn.backtest` (learn on 12 month ends, test on the latest labelled one) then
  `churn.score` (refit on the 12 latest labelled month ends, score today), sharing one
  `churn.Snapshots` as `patron predict` does (the save aside). Its parts are timed from inside:
  features (every `features.snapshot` query: one for the month ends learned from, for the
  training sample of customers; one for the test month end and one for today, every customer),
  training (`gbm.fit`: boosting and the three out-of-fold boosters of the calibration), the
  backtest's test (probabilities, contributions and the bootstrap evaluation of the test month
  end) and scoring today (probabilities, contributions, reasons). Beyond `training_rows`
  customer-snapshots (300,000 by default), both learn from the same random sample of customers
  (`churn.choose` on the same counts);
- pandas by hand (bench/churn_pandas.py): the tables read from Parquet (timed apart), every month
  end's features computed once with masks, group-bys and merges as features.py defines them, then
  the same training and scoring calls on them, in the same order.

Peak memory is each part's high-water mark of the process's RSS (reset between parts where the
kernel allows it, else the process's high-water mark so far), and the whole process's. patron's
features are compared with pandas' on the backtest's test month end and today (all of them with
`--check-all`): same customers, same values within 1e-9, missing where patron's are NULL. The
probabilities scored today are compared too (the same calls on the same features give the same
model).

A usage feature needs 90 days of usage before its month end: with fewer than 91 days of usage no
month end has one (patron leaves them empty and reads only usage's first and last day; so does
the pandas script).

The timed runs set OMP_WAIT_POLICY=PASSIVE (both alike; `--omp-active` leaves OpenMP's default):
LightGBM's OpenMP threads otherwise spin while they wait, and on cores busy with other work a fit
then takes several times longer and varies from run to run by as much. The probabilities do not
change with it.

    python bench/churn_scale.py --customers 1000000 --usage-days 35
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from contextlib import contextmanager
from datetime import date
from pathlib import Path

HERE = Path(__file__).parent
OUT = HERE / "out"
AS_OF = date(2026, 6, 30)
SEED = 13
HORIZON, SNAPSHOTS = 3, 12  # patron's defaults (ChurnSettings)
SIZES = ("subscriptions", "tickets", "responses", "feedback", "usage", "enrichment", "contacts", "orders")


# -- time and peak memory by part ------------------------------------------------------------------

def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets the RSS high-water mark (VmHWM)
        return True
    except OSError:
        return False


def _peak_mb() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


class Parts:
    """Wall time and peak RSS of each part of a run, where parts interleave (a snapshot's features,
    then training, then features again...): time between parts goes to the enclosing one."""

    def __init__(self, outer: str = "other"):
        self.seconds: dict[str, float] = defaultdict(float)
        self.peak: dict[str, int] = defaultdict(int)
        self.calls: dict[str, int] = defaultdict(int)
        self.stack = [outer]
        self.before = _peak_mb()  # imports and setup
        self.load = [os.getloadavg()[0]]
        self.per_part = _reset_peak()  # else the peaks are the process's high-water mark so far
        self.t = time.perf_counter()

    def _close(self) -> None:
        now = time.perf_counter()
        part = self.stack[-1]
        self.seconds[part] += now - self.t
        self.peak[part] = max(self.peak[part], _peak_mb())
        _reset_peak()
        self.t = now

    @contextmanager
    def part(self, name: str):
        self._close()
        self.stack.append(name)
        self.calls[name] += 1
        try:
            yield
        finally:
            self._close()
            self.stack.pop()
            if len(self.stack) == 1:
                print(f"  {name}: {self.seconds[name]:.1f} s", file=sys.stderr, flush=True)

    def wrap(self, fn, name: str):
        def timed(*args, **kwargs):
            with self.part(name):
                return fn(*args, **kwargs)
        return timed

    def to_dict(self) -> dict:
        self._close()
        self.load.append(os.getloadavg()[0])
        return {"seconds": dict(self.seconds), "peak_mb": dict(self.peak), "calls": dict(self.calls),
                "peak_per_part": self.per_part, "process_peak_mb": max(self.before, *self.peak.values()),
                "load": self.load}


# -- the children ----------------------------------------------------------------------------------

def child_prepare(folder: Path, customers: int, usage_days: int) -> dict:
    """Generate, load, resolve, score the texts, export to Parquet; each step's time."""
    sys.path.insert(0, str(HERE))
    from churn_pandas import COLUMNS
    from patron.demo import generate
    from patron.project import Project

    steps = {}
    t0 = time.perf_counter()
    generate(customers, seed=SEED, out=folder, as_of=AS_OF, usage_days=usage_days)
    steps["generate"] = time.perf_counter() - t0
    print(f"  generated in {steps['generate']:.0f} s", file=sys.stderr, flush=True)
    with Project.open(folder / "patron.yml", require_config=True) as p:
        for step, fn in (("ingest", p.ingest), ("identity", p.identity.resolve),
                         ("enrich", lambda: p.listen.enrich(tables=("tickets", "feedback")))):
            t0 = time.perf_counter()
            fn()
            steps[step] = time.perf_counter() - t0
            print(f"  {step} in {steps[step]:.0f} s", file=sys.stderr, flush=True)
        wh = p.warehouse
        rows = {t: wh.scalar(f"SELECT COUNT(*) FROM {t}") for t in SIZES}
        rows["master customers"] = wh.scalar("SELECT COUNT(DISTINCT customer_id) FROM identity_map")
        usage_from = wh.scalar("SELECT MIN(day) FROM usage")
        t0 = time.perf_counter()
        (folder / "parquet").mkdir(exist_ok=True)
        for t, cols in COLUMNS.items():
            where = " WHERE source_table IN ('tickets', 'feedback')" if t == "enrichment" else ""
            wh.execute(f"COPY (SELECT {', '.join(cols)} FROM {t}{where}) TO '{folder}/parquet/{t}.parquet' "
                       "(FORMAT parquet)")
        steps["export"] = time.perf_counter() - t0
    shutil.rmtree(folder / "exports", ignore_errors=True)
    return {"steps": steps, "rows": rows, "usage_from": str(usage_from),
            "warehouse_mb": round((folder / "patron.duckdb").stat().st_size / 2**20)}


KEEP = ["customer", "churned"]  # beside the features, in the frames written for the comparison


def _write(frame, names, path: Path) -> None:
    frame[[c for c in KEEP if c in frame.columns] + list(names)].reset_index(drop=True).to_parquet(path)


def child_patron(folder: Path, check_all: bool) -> dict:
    from patron.config import ChurnSettings
    from patron.predict import churn, gbm
    from patron.predict import features as F
    from patron.warehouse import open_warehouse

    settings = ChurnSettings(horizon_months=HORIZON, snapshots=SNAPSHOTS)
    wh = open_warehouse(folder / "patron.duckdb")
    parts = Parts()
    days: list[date] = []
    queries = []
    snapshot, fit = F.snapshot, gbm.fit

    def counted(wh_, day, *args, **kwargs):
        queries.append(day)
        days.extend(day if isinstance(day, list) else [day])
        return snapshot(wh_, day, *args, **kwargs)

    F.snapshot = parts.wrap(counted, "features")
    sample_of = churn._sample
    churn._sample = parts.wrap(sample_of, "features")  # who pays at each month end: the training sample's counts
    gbm.fit = parts.wrap(fit, "training")
    t0 = time.perf_counter()
    with parts.part("backtest test"):
        snaps = churn.Snapshots(wh, settings)  # as `patron predict` runs them: one set of snapshots for both
        bt = churn.backtest(wh, settings, snaps=snaps)
    with parts.part("scoring today"):
        sc = churn.score(wh, settings, snaps=snaps)
    total = time.perf_counter() - t0
    F.snapshot, gbm.fit, churn._sample = snapshot, fit, sample_of
    sampled = snaps.sample()

    _write(bt.test, F.NAMES, folder / f"patron-{bt.tested_on}.parquet")
    _write(sc.frame, [*F.NAMES, "probability"], folder / f"patron-{sc.as_of}.parquet")
    if check_all:
        for d in sorted(set(days) - {bt.tested_on, sc.as_of}):
            _write(F.snapshot(wh, d, HORIZON), F.NAMES, folder / f"patron-{d}.parquet")
    wh.close()
    return {"total": total, **parts.to_dict(), "snapshot_queries": len(queries), "distinct": len(set(days)),
            "sampled_customers": None if sampled is None else len(sampled), "training_rows": settings.training_rows,
            "trained_on": [str(d) for d in sc.trained_on], "tested_on": str(bt.tested_on), "as_of": str(sc.as_of),
            "n_train_backtest": bt.n_train, "n_today": len(sc.frame), "auc": bt.evaluation.auc.value,
            "features_used": json.loads(sc.model)["features"]}


def _month_end(d: date) -> date:
    import calendar

    return d.replace(day=calendar.monthrange(d.year, d.month)[1])


def _month(d: date, months: int = 0) -> date:
    k = d.year * 12 + d.month - 1 + months
    return date(k // 12, k % 12 + 1, 1)


def child_pandas(folder: Path, check_all: bool) -> dict:
    """The same run by hand: read, features of each month end once, then the same training and
    scoring calls as churn.backtest and churn.score make, in the same order."""
    sys.path.insert(0, str(HERE))
    import numpy as np
    import pandas as pd

    import churn_pandas as H
    from patron.config import ChurnSettings
    from patron.predict import churn, gbm
    from patron.predict.evaluation import evaluate
    from patron.predict.features import RISK
    from patron.predict.reasons import top_reasons

    def usable(frame: pd.DataFrame) -> list[str]:
        return [n for n in H.NAMES if frame[n].notna().any() and frame[n].nunique(dropna=True) > 1]

    settings = ChurnSettings(horizon_months=HORIZON, snapshots=SNAPSHOTS)
    parts = Parts()
    boost = parts.wrap(gbm.fit, "training")

    def fit(frames: list[pd.DataFrame]) -> tuple[gbm.Model, pd.DataFrame]:
        train = pd.concat(frames, ignore_index=True)
        model = boost(train, train["churned"].to_numpy(), usable(train), train["customer"].to_numpy(), RISK)
        return model, train

    t0 = time.perf_counter()
    with parts.part("reading"):
        tables = H.read(folder / "parquet")
    t1 = time.perf_counter()
    with parts.part("features"):
        t = H.Tables(tables)
        del tables
        # month ends whose outcome the data holds (churn.labelled_snapshots)
        as_of = t.as_of
        last = _month(_month(as_of, 0 if as_of == _month_end(as_of) else -1), -HORIZON)
        days, m = [], _month(t.first_start)
        while m <= last:
            days.append(_month_end(m))
            m = _month(m, 1)
        tested_on = days[-1]
        known = [d for d in days if _month(d, HORIZON) <= _month(tested_on)][-SNAPSHOTS:]
        score_days = [d for d in days if _month(d, HORIZON) <= _month(as_of)][-SNAPSHOTS:]
        # the training customers: patron's rule (churn.choose) on the same counts
        sample = churn.choose(t.payers(), t.paying_rows(sorted({*known, *score_days})), settings.training_rows)
        only = None if sample is None else t.customers.get_indexer(sample["customer"])
        test = t.snapshot(tested_on, HORIZON)
        frames = {d: t.snapshot(d, HORIZON, only) for d in sorted({*known, *score_days} - {tested_on})}
        frames[tested_on] = test if only is None else test[test["customer"].isin(sample["customer"])]
        now = t.snapshot(as_of)
    with parts.part("backtest test"):
        model, train = fit([frames[d] for d in known])
        p = model.probability(test)
        ev = evaluate(test["churned"].to_numpy(), p)
        few = test.sample(n=churn.IMPORTANCE_ROWS, random_state=0) if len(test) > churn.IMPORTANCE_ROWS else test
        model.contributions(few).abs().mean()  # importance, from as many accounts as patron's
        n_train = len(train)
        del train
    with parts.part("scoring today"):
        model, _ = fit([frames[d] for d in score_days])
        p = model.probability(now)
        reasons = top_reasons(model.contributions(now), now, typical=model.typical)
        scored = now.assign(probability=np.round(p, 4), arr=12 * now["mrr"], reasons=reasons)
        scored["at_stake"] = np.round(scored["arr"] * scored["probability"], 2)
    total = time.perf_counter() - t1
    read = t1 - t0

    _write(test, H.NAMES, folder / f"pandas-{tested_on}.parquet")
    _write(scored, [*H.NAMES, "probability"], folder / f"pandas-{as_of}.parquet")
    if check_all:
        for d in frames:
            if d != tested_on:  # every customer's, as patron's are written (the timed run kept a sample)
                _write(t.snapshot(d, HORIZON), H.NAMES, folder / f"pandas-{d}.parquet")
    return {"total": total, "read": read, **parts.to_dict(), "snapshots": len(frames) + 1,
            "tested_on": str(tested_on), "as_of": str(as_of), "n_train_backtest": n_train, "n_today": len(now),
            "auc": ev.auc.value, "features_used": model.features}


# -- the parent ------------------------------------------------------------------------------------

def spawn(kind: str, *args: str, env: dict | None = None) -> dict:
    proc = subprocess.Popen([sys.executable, __file__, "--child", kind, *args], stdout=subprocess.PIPE, text=True,
                            env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    out = proc.stdout.read()
    if status != 0:
        raise SystemExit(f"{kind} failed")
    # a child that resets its RSS high-water mark reports its own peak; wait4's is the last part's
    return {"process_peak_mb": round(usage.ru_maxrss / 1024), **json.loads(out.strip().splitlines()[-1]),
            "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1)}


def compare(folder: Path, day: str) -> tuple[int, list[str]]:
    """patron's and pandas' features of one month end: customers, then each column."""
    import numpy as np
    import pandas as pd

    a = pd.read_parquet(folder / f"patron-{day}.parquet")
    b = pd.read_parquet(folder / f"pandas-{day}.parquet")
    problems = []
    only_a, only_b = set(a["customer"]) - set(b["customer"]), set(b["customer"]) - set(a["customer"])
    if only_a or only_b:
        problems.append(f"{day}: {len(only_a):,} customers only in patron's (e.g. {sorted(only_a)[:3]}), "
                        f"{len(only_b):,} only in pandas' (e.g. {sorted(only_b)[:3]})")
    j = a.merge(b, on="customer", suffixes=("", "_pd"))
    for col in [c for c in a.columns if c != "customer"]:
        x, y = j[col].to_numpy(dtype=float), j[f"{col}_pd"].to_numpy(dtype=float)
        tol = 1e-4 if col == "probability" else 1e-9  # scored today: rounded to 4 places
        same = np.isclose(x, y, rtol=tol, atol=tol, equal_nan=True)
        if not same.all():
            k = int(np.argmax(~same))
            problems.append(f"{day} {col}: {int((~same).sum()):,} of {len(j):,} differ, e.g. {j['customer'].iloc[k]}: "
                            f"patron {x[k]!r}, pandas {y[k]!r}")
    return len(j), problems


def machine() -> str:
    with open("/proc/meminfo") as f:
        mem = next((int(line.split()[1]) for line in f if line.startswith("MemTotal:")), 0)
    import duckdb
    import lightgbm
    import pandas

    return (f"{platform.machine()}, {os.cpu_count()} cores, {mem / 2**20:.0f} GiB; Python {platform.python_version()}, "
            f"DuckDB {duckdb.__version__}, pandas {pandas.__version__}, LightGBM {lightgbm.__version__}")


def report(customers: int, usage_days: int, prep: dict, pat: dict, pdx: dict, checks: list[tuple[str, int, list]]):
    rows = prep["rows"]
    print(f"data: {customers:,} customers generated ({rows['master customers']:,} master customers after identity "
          f"resolution), as of {AS_OF}: " + ", ".join(f"{t} {rows[t]:,}" for t in SIZES)
          + f"; warehouse {prep['warehouse_mb']:,} MB")
    first = date.fromisoformat(prep["usage_from"])
    covered = _month_end(date.fromordinal(first.toordinal() + 90))
    print(f"usage: {usage_days} days of daily usage, from {first}; a usage feature needs 90 days of it before its "
          "month end, so " + (f"only the month ends from {covered} on (today's included) have usage features"
                              if covered <= AS_OF else "no month end has one (patron reads only usage's first "
                              "and last day, and so does the pandas script)"))
    s = prep["steps"]
    print("preparation (not timed with the runs): " + ", ".join(f"{k} {v:.0f} s" for k, v in s.items())
          + (f"; peak {prep['process_peak_mb']:,} MB" if prep.get("process_peak_mb") else ""))
    sample = (f"a sample of {pat['sampled_customers']:,} customers (training_rows {pat['training_rows']:,})"
              if pat.get("sampled_customers") else "every customer")
    print(f"training on {sample}; every customer tested and scored")
    print(f"patron: {pat['snapshot_queries']} snapshot queries ({pat['distinct']} month ends), trained on "
          f"{pat['n_train_backtest']:,} rows (backtest; tested on {pat['tested_on']}, AUC {pat['auc']}), "
          f"{pat['n_today']:,} scored today; features used: {len(pat['features_used'])}")
    print(f"pandas: {pdx['snapshots']} month ends computed once each, trained on {pdx['n_train_backtest']:,} rows, "
          f"AUC {pdx['auc']}, {pdx['n_today']:,} scored today; features used: {len(pdx['features_used'])}")
    for day, n, problems in checks:
        print(f"features of {day}: {n:,} customers compared, " + ("all equal" if not problems else
                                                                  f"{len(problems)} problems"))
        for p in problems[:30]:
            print("   ", p)
    names = ("features", "training", "backtest test", "scoring today")
    print("features: every month end's features (patron: the features.snapshot queries of the run, each for "
          "several days; pandas: what "
          "the month ends share, computed once, and each month end); training: the two gbm.fit calls (boosting, "
          "three out-of-fold boosters, calibration); backtest test: the rest of the backtest (the test month end's "
          "probabilities and contributions, the bootstrap evaluation); scoring today: the rest of the scoring "
          "(today's probabilities, contributions and reasons). Each: seconds, then the part's peak RSS.")
    print(f"{'':14}" + "".join(f"{n:>22}" for n in (*names, "total", "reading")) + f"{'process peak':>16}")
    for label, r in (("patron", pat), ("pandas", pdx)):
        cells = [f"{r['seconds'].get(n, 0):8.1f} s {r['peak_mb'].get(n, 0):>7,} MB" for n in names]
        cells.append(f"{r['total']:8.1f} s {'':>10}")
        cells.append(f"{r['seconds']['reading']:8.1f} s {r['peak_mb']['reading']:>7,} MB" if "reading" in r['seconds']
                     else f"{'':>22}")
        print(f"{label:14}" + "".join(f"{c:>22}" for c in cells) + f"{r['process_peak_mb']:>13,} MB")
    for label, r in (("patron", pat), ("pandas", pdx)):
        print(f"{label}: {r['cpu_seconds']:,.0f} CPU seconds; load average (1 min) {r['load'][0]:.1f} at the start, "
              f"{r['load'][1]:.1f} at the end")
    if not pat["peak_per_part"]:
        print("(peaks are the process's high-water mark so far: this kernel does not let a process reset it)")
    whole = (pdx["total"] + pdx["read"]) / pat["total"]
    print(f"pandas / patron, features + training + scoring: {whole:.2f}x with pandas' reading, "
          f"{pdx['total'] / pat['total']:.2f}x without (target >= 3); features alone "
          f"{(pdx['seconds']['features'] + pdx['read']) / pat['seconds']['features']:.2f}x with reading, "
          f"{pdx['seconds']['features'] / pat['seconds']['features']:.2f}x without")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--usage-days", type=int, default=35,
                    help="days of daily usage in the demo (a usage feature needs 90 before its month end)")
    ap.add_argument("--check-all", action="store_true", help="compare the features of every month end, not two")
    ap.add_argument("--keep", action="store_true", help="keep the generated company in bench/out")
    ap.add_argument("--omp-active", action="store_true",
                    help="leave OpenMP's default (threads spin while they wait) in the timed runs")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, folder, *rest = args.child
        fn = {"prepare": lambda: child_prepare(Path(folder), int(rest[0]), int(rest[1])),
              "patron": lambda: child_patron(Path(folder), rest == ["all"]),
              "pandas": lambda: child_pandas(Path(folder), rest == ["all"])}[kind]
        print(json.dumps(fn(), default=str))
        return

    OUT.mkdir(exist_ok=True)
    print(f"machine: {machine()}", flush=True)
    folder = OUT / f"churn-{args.customers}-{args.usage_days}d"
    done = folder / "prepared.json"
    if done.exists():
        prep = json.loads(done.read_text())
    else:
        shutil.rmtree(folder, ignore_errors=True)
        print(f"preparing {args.customers:,} customers, {args.usage_days} days of usage...", flush=True)
        prep = spawn("prepare", str(folder), str(args.customers), str(args.usage_days))
        done.write_text(json.dumps(prep))
    for f in folder.glob("p*-*.parquet"):
        f.unlink()
    check = ["all"] if args.check_all else []
    env = None if args.omp_active else {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    print("OpenMP threads " + ("spin while they wait (its default)" if args.omp_active else
                               "sleep while they wait (OMP_WAIT_POLICY=PASSIVE, both runs alike)"), flush=True)
    print("patron...", flush=True)
    pat = spawn("patron", str(folder), *check, env=env)
    print("pandas...", flush=True)
    pdx = spawn("pandas", str(folder), *check, env=env)
    days = sorted(p.name[len("patron-"):-len(".parquet")] for p in folder.glob("patron-*.parquet"))
    checks = [(d, *compare(folder, d)) for d in days]
    report(args.customers, args.usage_days, prep, pat, pdx, checks)
    (OUT / f"churn_scale-{args.customers}-{args.usage_days}d.json").write_text(json.dumps(
        {"customers": args.customers, "usage_days": args.usage_days, "omp_active": args.omp_active, "prepare": prep,
         "patron": pat, "pandas": pdx, "checks": checks}, indent=2, default=str))
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
