"""docs/architecture.md, generated from the code so the map and the house never disagree.

Run `python -m patron.architecture > docs/architecture.md`; a test fails when the file is stale.
The stages come from the pipeline's one order, the tables from the model's declarations, the
shared relations and their readers from the source itself.
"""

from __future__ import annotations

import ast
import importlib
from collections import defaultdict
from pathlib import Path

from patron.model import SYSTEM_TABLES, TABLES
from patron.model.system import CANONICAL_OWNER, CANONICAL_SHARED
from patron.pipeline import STAGES

PACKAGE = Path(__file__).parent
# each step of the pipeline and the package that does it
STEP_PACKAGE = {"ingest": "ingest", "identity": "identity", "enrich": "listen", "themes": "listen",
                "spikes": "listen", "metrics": "metrics", "predict": "predict", "plays": "act"}
STEP_DOES = {
    "ingest": "reads each configured file, maps and checks every row, loads the good ones and quarantines the rest",
    "identity": "links every source's customer ids to master customers and stamps `customer_id` on every row",
    "enrich": "scores the sentiment of each new text and flags complaints",
    "themes": "finds themes in the texts (or puts new texts in the stored ones)",
    "spikes": "raises an alert where a theme or channel rises beyond its usual volume",
    "metrics": "evaluates the whole catalog by month and stores the values",
    "predict": "tests the churn model on a snapshot it never saw, scores every paying customer and keeps the run",
    "plays": "turns signals into action items someone owns, holding out a random share where a play asks it",
}
# the shared definitions: where each lives
SHARED = {
    "REVENUE_MONTHS": ("patron.relations", "the monthly revenue facts every MRR, ARR and movement starts from"),
    "CUSTOMER_MONTHS": ("patron.relations", "customer, month, MRR: every month each customer paid"),
    "ARR_NOW": ("patron.relations", "customer, ARR: twelve times the MRR of the month of the data's last day"),
    "DATA_LAST_DAY": ("patron.relations", "the day the data runs to (its latest event), where revenue's months end"),
    "COHORTS": ("patron.relations", "each customer's first paying month (else its first purchase)"),
    "TEXTS": ("patron.relations", "every text customers wrote, one query per channel table"),
    "ALL_TEXTS": ("patron.relations", "the texts of every channel as one relation"),
    "texts_of": ("patron.relations", "one table's texts, optionally only those of later loads"),
    "LATEST_RUNS": ("patron.relations", "the run each model's scores are read from, and whether it is stale"),
    "data_as_of": ("patron.warehouse.as_of", "the day the data runs to: its latest event"),
}

INTRO = """\
# How patron is built

A five-minute map. Generated from the code by `python -m patron.architecture`; a test keeps it
current.

Data flows one way. Sources (files, the API) go through the **stages**, each of which reads what
the ones before it wrote to the warehouse and writes only its own tables; the **report** only
reads. The **shells** (the `patron` command in `patron.cli`, the HTTP service in `patron.api`) sit
on top and reach the stages through the facade, `patron.project.Project`, whose parts
(`project.ingest`, `.identity`, `.listen`, `.metrics`, `.predict`, `.act`) each front one stage. `patron.pipeline` holds
the one order of the stages; `patron run`, `patron demo` and the service's loading passes all run
them there.

```
 files, API --> ingest --> identity --> listen --> metrics --> predict --> act --> report
                   \\_______________ warehouse (canonical tables + each stage's own) _______________/
```

Underneath: `patron.model` declares every table as data (columns, rules, owner); `patron.warehouse`
is the only code that talks to the engine (DuckDB today, behind an engine interface);
`patron.relations` defines the business terms every stage shares. The import contracts in
`pyproject.toml` (checked by `lint-imports` in `make test`) keep it so: stages never import one
another, only the warehouse imports the engine, and nothing imports the shells.
"""


def _first_line(module: str) -> str:
    doc = importlib.import_module(module).__doc__ or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def _owned(stage: str) -> list[str]:
    """What a stage writes: its own tables, and the canonical tables' columns it may set."""
    out = [f"`{t.name}`" for t in SYSTEM_TABLES.values() if t.owner == stage]
    if stage == CANONICAL_OWNER:
        out.insert(0, "the canonical tables (" + ", ".join(f"`{t}`" for t in TABLES) + ")")
    for column in CANONICAL_SHARED.get(stage, ()):
        out.append(f"`{column}` of the canonical tables")
    return out


def _readers() -> dict[str, list[str]]:
    """Shared name -> the modules that import it, read from the source."""
    found: dict[str, set[str]] = defaultdict(set)
    for path in sorted(PACKAGE.rglob("*.py")):
        module = "patron." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        module = module.removesuffix(".__init__")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    where = SHARED.get(alias.name)
                    if where and where[0] == node.module and module != where[0]:
                        found[alias.name].add(module)
    return {name: sorted(found[name]) for name in SHARED}


def render() -> str:
    lines = [INTRO, "## The stages, in the order they run", "",
             "| step | package | what it does | writes |", "| --- | --- | --- | --- |"]
    seen: set[str] = set()
    for step in STAGES:
        package = STEP_PACKAGE[step]
        writes = "" if package in seen else "; ".join(_owned(package))
        seen.add(package)
        lines.append(f"| {step} | `patron.{package}` | {STEP_DOES[step]} | {writes or '(as above)'} |")
    lines += ["", "Besides the stages: " + "; ".join(
        f"`patron.{stage}` writes {', '.join(_owned(stage))}" for stage in ("api", "warehouse")) + ".", "",
        "Packages:", ""]
    for package in ("model", "warehouse", "ingest", "identity", "listen", "metrics", "predict", "act", "report",
                    "project", "cli", "api", "demo"):
        lines.append(f"- `patron.{package}`: {_first_line(f'patron.{package}')}")
    lines += ["", "## Shared relations", "",
              "Each business term is defined once; these modules read it and none derives it again.", "",
              "| relation | defined in | what it is | read by |", "| --- | --- | --- | --- |"]
    for name, readers in _readers().items():
        module, what = SHARED[name]
        lines.append(f"| `{name}` | `{module}` | {what} | {', '.join(f'`{r}`' for r in readers)} |")
    lines += ["", "A customer's current attributes (segment, region, plan, owner...) are its golden record, "
              "`customer_golden`, which identity builds and the metrics, the 360 and the briefing read.",
              "", "The tables and their columns: [data-model.md](data-model.md); the metrics: "
              "[metrics.md](metrics.md).", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(), end="")
