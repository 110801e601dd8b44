"""Shared fixtures: one seeded demo company per session (the demo is the fixture)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from patron.demo import generate
from patron.project import Project

REPO = Path(__file__).resolve().parents[1]
DEMO_AS_OF = date(2026, 6, 30)
PATRON = [sys.executable, "-c", "from patron.cli.main import run; run()"]


@pytest.fixture(scope="session")
def datasets() -> Path:
    path = Path(os.environ.get("PATRON_DATASETS", REPO.parent / "shared" / "datasets"))
    if not path.is_dir():
        pytest.skip(f"real datasets not found at {path} (set PATRON_DATASETS to run these tests)")
    return path


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "company"
    generate(1500, seed=3, out=out, as_of=DEMO_AS_OF, usage_days=30)
    return out


@pytest.fixture(scope="session")
def demo_loaded(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """(project path, db path, first ingest result) of the demo company, loaded once."""
    db = tmp_path_factory.mktemp("wh") / "demo.duckdb"
    with Project.open(demo_dir / "patron.yml", db, require_config=True) as project:
        result = project.ingest()
    return demo_dir / "patron.yml", db, result


@pytest.fixture(scope="session")
def demo_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding `patron-demo/`, made by `patron demo` itself (every stage run), 1,500 customers;
    tests use it through `demo_copy`."""
    root = tmp_path_factory.mktemp("demo-project")
    r = subprocess.run([*PATRON, "demo", "--customers", "1500", "--dir", "patron-demo"], cwd=root,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    return root


@pytest.fixture
def demo_copy(demo_project: Path, tmp_path: Path) -> Path:
    """A copy of `demo_project` for one test to change as it likes."""
    shutil.copytree(demo_project / "patron-demo", tmp_path / "patron-demo")
    return tmp_path


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_text(text, encoding=encoding)
    return path


@pytest.fixture(scope="session")
def year_of_usage(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(company folder, warehouse) of a 2,000-customer demo with a year of product usage, loaded,
    resolved and its texts scored: what the predictive stage learns from."""
    out = tmp_path_factory.mktemp("predict") / "company"
    generate(2000, seed=3, out=out, as_of=DEMO_AS_OF, usage_days=365)
    db = out / "w.duckdb"
    with Project.open(out / "patron.yml", db, require_config=True) as project:
        project.run(stages=("ingest", "identity", "enrich"))
    return out, db


def true_customers(company_dir: Path, db: Path) -> pd.Series:
    """master customer id -> the planted customer it is (the most common among its records)."""
    from patron.warehouse import open_warehouse

    ids = pd.read_csv(company_dir / "truth" / "identities.csv", dtype=str)
    with open_warehouse(db) as wh:
        cust = wh.df("SELECT source, customer_ref, customer_id FROM customers")
    both = cust.merge(ids, on=["source", "customer_ref"])
    return both.groupby("customer_id")["true_customer"].agg(lambda s: s.mode()[0])


@pytest.fixture(scope="session")
def year_predicted(year_of_usage: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of `year_of_usage`'s warehouse with a churn run kept (as `patron predict` keeps it);
    tests copy it again before they write."""
    from patron.config import ChurnSettings
    from patron.predict.churn import run
    from patron.warehouse import open_warehouse

    db = tmp_path_factory.mktemp("predicted") / "w.duckdb"
    shutil.copy(year_of_usage[1], db)
    with open_warehouse(db) as wh:
        run(wh, ChurnSettings())
    return db


@pytest.fixture(scope="session")
def layout(demo_project: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The demo warehouse and its Spark layout, written by `patron export --engine spark`."""
    root = tmp_path_factory.mktemp("spark")
    folder = demo_project / "patron-demo"
    r = subprocess.run([*PATRON, "export", "--engine", "spark", "--to", str(root / "layout"), "--format", "json"],
                       cwd=folder, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    copied = json.loads(r.stdout)
    assert copied["tables"]["subscriptions"] > 0 and copied["rows"] == sum(copied["tables"].values())
    return folder / "patron.duckdb", root / "layout"
