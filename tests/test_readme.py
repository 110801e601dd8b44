"""Every command the README shows runs as written, in order, on a demo company: exit code 0, no
traceback. Two liberties, both stated: `make demo` is `patron demo` at 1,500 customers, and the
commands that make a new company make 300 customers, not 20,000 or 100,000."""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from conftest import PATRON, REPO

SMALL = "300"
ENV = os.environ | {"COLUMNS": "80"}  # README readers have ordinary terminals
EXPECT = {  # what a command's output must show, beyond running cleanly
    ("customer", "show"): "Customer 360",
    ("identity", "review"): "Pairs to review",
    ("actions", "uplift"): "save_plan",
    ("invest",): "Customers to protect",
    ("metrics", "show"): "newest first",
}


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", (REPO / "README.md").read_text(), flags=re.S)


def steps(block: str) -> list[list[str]]:
    """Each shell step of a block as words, comments dropped, `a && b` split."""
    out = []
    for line in block.replace("\\\n", " ").splitlines():
        for part in line.split("&&"):
            words = shlex.split(part, comments=True)
            if words:
                out.append(words)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_briefly(args: list[str], cwd: Path) -> None:
    """Start `patron serve`, wait for its health check to answer, stop it."""
    port = free_port()
    words = [*args[: args.index("--port")], "--port", str(port)] if "--port" in args else [*args, "--port", str(port)]
    proc = subprocess.Popen([*PATRON, *words], cwd=cwd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        deadline, up = time.time() + 60, False
        while time.time() < deadline and proc.poll() is None and not up:
            try:
                up = urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2).status == 200
            except OSError:
                time.sleep(0.3)
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=30)
    assert up, f"`patron {' '.join(args)}` never answered: {stderr}"
    assert "Traceback" not in stderr


def run_patron(args: list[str], cwd: Path) -> None:
    if args[0] in ("generate", "demo") and "--customers" in args:
        args = [*args]
        args[args.index("--customers") + 1] = SMALL
    if args[0] == "serve":
        serve_briefly(args, cwd)
        return
    r = subprocess.run([*PATRON, *args], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=600)
    shown = f"`patron {' '.join(args)}` in {cwd.name}: {r.stderr or r.stdout}"
    assert r.returncode == 0, shown
    assert "Traceback" not in r.stderr + r.stdout, shown
    want = EXPECT.get(tuple(args[:2]))
    assert want is None or want in r.stdout, shown


def test_every_readme_command_runs_on_the_demo(demo_copy):
    root = demo_copy
    ran, skipped = [], set()
    for block in blocks("bash"):
        cwd = root
        for words in steps(block):
            if words[0] == "cd":
                cwd = cwd / words[1]
            elif words[0] == "mkdir":
                (cwd / words[-1]).mkdir()
            elif words[0] == "patron":
                if words[1:3] == ["ingest", "nps.csv"]:  # the user's own file, which a reader has
                    (cwd / "nps.csv").write_text("response_id,customer_ref,survey,score,submitted_at\n"
                                                 "r1,A,nps,9,2026-01-05\nr2,B,nps,3,2026-01-06\n")
                run_patron(words[1:], cwd)
                ran.append(" ".join(words[1:3]))
            else:
                skipped.add(words[0])
    assert skipped <= {"make", "curl", "$EDITOR"}, f"README steps this test does not know: {skipped}"
    assert len(ran) >= 25 and "serve --port" in ran

    for code in blocks("python"):
        r = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stderr


def test_every_readme_patron_yml_example_loads_its_data(datasets, tmp_path):
    """The README's patron.yml snippets are valid as written; the one for the shop's invoice lines
    loads the real file it names into the orders it describes, the one for the bank's customers
    keeps their attributes."""
    import yaml

    from patron.act.rules import problems
    from patron.config import parse_project
    from patron.ingest import ingest_sources
    from patron.warehouse import open_warehouse

    snippets = blocks("yaml")
    assert len(snippets) == 4
    plays = [t for t in snippets if t.startswith("plays:")]
    assert len(plays) == 1 and not problems(parse_project(yaml.safe_load(plays[0])).plays)
    spark = [t for t in snippets if t.startswith("warehouse:")]
    assert len(spark) == 1 and parse_project(yaml.safe_load(spark[0])).warehouse.engine == "spark"
    for i, text in enumerate(t for t in snippets if t not in plays + spark):
        bank = "bank_churn_modelling.csv" in text
        cfg = parse_project(yaml.safe_load(text), root=datasets / ("bank_churn" if bank else "online_retail"))
        with open_warehouse(tmp_path / f"w{i}.duckdb") as wh:
            result = ingest_sources(wh, cfg)
            assert not result.refused and all(f.adds_up() for f in result.files)
            if bank:
                assert wh.scalar("SELECT count(*) FROM customers") == 10_000
                kept = len(cfg.sources["bank"].attributes)
                assert wh.scalar("SELECT count(*) FROM customer_attributes") == 10_000 * kept
                assert wh.scalar("SELECT count(*) FROM customer_attributes WHERE personal") == 10_000  # the surnames
                from patron.predict.churn import run as predict_churn

                wh.execute("UPDATE customer_attributes SET customer_id = customer_ref")  # as identity would
                ran = predict_churn(wh, cfg.predict.churn)  # the flag it names: one snapshot, a holdout
                # the snippet keeps five attributes (the full file, in bench/bank_churn.py, reaches 0.85)
                assert ran.backtest.mode == "holdout" and ran.backtest.evaluation.auc.value > 0.7
            else:
                assert wh.scalar("SELECT count(*) FROM orders") == 22_190  # invoices of known customers, 3,654 credits
