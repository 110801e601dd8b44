"""The house's rules hold for every part, including parts added later: a new package under
patron must be placed in the import contracts, and importing one stage never loads another."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "patron"
CONTRACTS = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]


def _contract(words: str) -> dict:
    return next(c for c in CONTRACTS if words in c["name"])


def _parts() -> set[str]:
    """Every module and package directly under patron, as import-linter names them."""
    out = {f"patron.{p.name}" for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    out |= {f"patron.{p.stem}" for p in PACKAGE.glob("*.py") if not p.stem.startswith("_")}
    return out


def _layers() -> list[set[str]]:
    return [{m.strip() for m in layer.split("|")} for layer in _contract("flow one way")["layers"]]


STAGES = set().union(*_layers()[1:-1])  # between the report on top and the shared relations below
SHELLS = {"patron.cli", "patron.api"}


def test_every_stage_in_the_layers_is_independent_of_the_others():
    independent = set(_contract("stages are independent")["modules"])
    assert independent == STAGES - {"patron.demo"}, "a stage in the layers but not in the independence contract"


def test_every_package_is_placed_in_the_layers_or_is_a_shell_or_a_shared_base():
    placed = set().union(*_layers()) | SHELLS
    base = {"patron.warehouse", "patron.model", "patron.config", "patron.errors", "patron.expressions",
            "patron.stats", "patron.units", "patron.project", "patron.pipeline", "patron.architecture"}
    unplaced = _parts() - placed - base
    assert not unplaced, f"place these in pyproject.toml's import contracts: {sorted(unplaced)}"


def test_nothing_but_the_warehouse_may_import_the_engine():
    sources = set(_contract("only the warehouse imports the engine")["source_modules"])
    assert _parts() - {"patron.warehouse"} <= sources


def test_nothing_imports_the_shells():
    sources = set(_contract("the shells (cli, api) sit on top")["source_modules"])
    assert _parts() - SHELLS <= sources


@pytest.mark.parametrize("stage", sorted(STAGES - {"patron.demo"}))
def test_importing_one_stage_never_loads_another(stage):
    code = (f"import sys, {stage}; "
            "print(' '.join(sorted({'.'.join(m.split('.')[:2]) for m in sys.modules if m.startswith('patron.')})))")
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                cwd=REPO).stdout.split())
    others = (STAGES | SHELLS | {"patron.report"}) - {stage}
    assert not loaded & others, f"importing {stage} loads {sorted(loaded & others)}"


def test_the_architecture_page_is_generated_from_the_code_as_it_is():
    from patron.architecture import render

    assert (REPO / "docs" / "architecture.md").read_text(encoding="utf-8") == render(), (
        "docs/architecture.md is stale: run `python -m patron.architecture > docs/architecture.md`")


def test_the_architecture_page_names_every_stage_the_pipeline_runs_and_every_reader_of_a_shared_term():
    from patron.architecture import STEP_PACKAGE, _readers
    from patron.pipeline import STAGES as STEPS

    assert set(STEPS) == set(STEP_PACKAGE)
    readers = _readers()
    assert all(readers.values()), f"a shared term nobody reads: {[n for n, r in readers.items() if not r]}"
    assert "patron.report.customer360" in readers["CUSTOMER_MONTHS"]
