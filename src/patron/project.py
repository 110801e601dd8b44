"""The facade: open a project (patron.yml + warehouse) and run its stages in order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from patron.errors import ConfigError, WarehouseError
from patron.model import TABLES

if TYPE_CHECKING:  # the rest loads when a method needs it: a command pays only for what it runs
    import pandas as pd

    from patron.config import ProjectConfig
    from patron.identity import ResolveResult
    from patron.ingest import IngestResult, SampleReport
    from patron.ingest.load import Progress
    from patron.ingest.quarantine import QuarantineSummary
    from patron.listen.enrich import EnrichResult
    from patron.listen.themes import ThemeResult
    from patron.metrics import MetricSpec
    from patron.pipeline import RunResult
    from patron.report.customer360 import Customer360, CustomerMatches
    from patron.warehouse import Warehouse


@dataclass
class TableStatus:
    table: str
    rows: int
    sources: int
    last_loaded_at: str | None


@dataclass
class CheckResult:
    config: ProjectConfig | None  # None when patron.yml itself has problems
    problems: list[str]
    samples: list[SampleReport] = field(default_factory=list)


class Project:
    """A patron.yml (optional: one-off loads need none) and the warehouse it points to."""

    def __init__(self, config: ProjectConfig | None, db: Path):
        self.config = config
        self.db = db
        self._wh: Warehouse | None = None

    @classmethod
    def open(cls, config: str | Path | None = "patron.yml", db: str | Path | None = None,
             require_config: bool = False) -> Project:
        from patron.config import load_project

        cfg = None
        if config is not None and (Path(config).exists() or require_config):
            cfg = load_project(config)
        if db is None:
            db = (cfg.root / cfg.warehouse) if cfg else Path("patron.duckdb")
        return cls(cfg, Path(db))

    @property
    def warehouse(self) -> Warehouse:
        if self._wh is None:
            from patron.warehouse import open_warehouse

            self._wh = open_warehouse(self.db)
        return self._wh

    def existing_warehouse(self) -> Warehouse:
        """For commands that only read: a missing file is a mistake, not a cue to create one."""
        if self._wh is None and not self.db.exists():
            raise WarehouseError(f"{self.db}: no warehouse here yet; load data with `patron ingest` "
                                 "(or point --db at an existing file)")
        return self.warehouse

    def close(self) -> None:
        if self._wh is not None:
            self._wh.close()
            self._wh = None

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # stages -------------------------------------------------------------------------------
    def ingest(self, sources: list[str] | None = None, progress: Progress | None = None) -> IngestResult:
        from patron.ingest import ingest_sources

        if self.config is None:
            raise ConfigError("not found; run `patron init`, or load one file with --into TABLE", "patron.yml")
        return ingest_sources(self.warehouse, self.config, sources, progress)

    def ingest_file(self, file: str | Path, table: str, source: str | None = None,
                    progress: Progress | None = None) -> IngestResult:
        from patron.ingest import ingest_file

        if table not in TABLES:
            raise ConfigError(f"unknown table {table!r}; tables are: {', '.join(TABLES)}", key="--into")
        settings = self.config.ingest if self.config else None
        return ingest_file(self.warehouse, Path(file), table, source,
                           settings.future_tolerance_days if settings else 1, progress=progress,
                           root=self.config.root if self.config else Path.cwd(),
                           max_reject_share=settings.max_reject_share if settings else 0.5)

    def resolve_identities(self) -> ResolveResult:
        from patron.identity import resolve

        if self.config is None:
            raise ConfigError("not found; identity resolution needs the sources' systems from it", "patron.yml")
        return resolve(self.existing_warehouse(), self.config)

    def identity_review(self, limit: int = 50) -> list[dict]:
        from patron.identity.review import pairs_to_review

        return pairs_to_review(self.existing_warehouse(), limit)

    def identity_review_count(self) -> int:
        """How many pairs await a person's decision, whatever the limit shown."""
        from patron.identity.review import count_to_review

        return count_to_review(self.existing_warehouse())

    def identity_decide(self, record_l: str, record_r: str, decision: str, note: str | None = None) -> None:
        from patron.identity.review import decide

        decide(self.existing_warehouse(), record_l, record_r, decision, note)

    def customer(self, query: str) -> Customer360 | CustomerMatches:
        """The 360 view of the customer `query` names (master id, any source id, email or name);
        the candidates when it fits several."""
        from patron.report.customer360 import CustomerMatches, find
        from patron.report.customer360 import build as build_360

        wh = self.existing_warehouse()
        found = find(wh, query)
        return found if isinstance(found, CustomerMatches) else build_360(wh, found)

    def catalog(self) -> dict[str, MetricSpec]:
        """The built-in metrics with patron.yml's owners, targets and definitions laid over them."""
        from patron.metrics.spec import builtin_catalog, with_overrides

        return with_overrides(builtin_catalog(), self.config.metrics if self.config else {})

    def metric(self, name: str, by: list[str] | None = None, period: str | None = None) -> pd.DataFrame:
        """Evaluate one metric by slice and period (stored in metric_values); a pandas table."""
        from patron.metrics import evaluate

        specs = self.catalog()
        if name not in specs:
            raise ConfigError(f"no metric {name!r}; metrics are: {', '.join(sorted(specs))}", key="metrics")
        return evaluate(self.existing_warehouse(), specs[name], by, period, catalog=specs)

    def metrics(self, names: list[str] | None = None, by: list[str] | None = None,
                period: str | None = "month") -> pd.DataFrame:
        """Evaluate many metrics (default: the whole catalog) in as few queries as they allow."""
        from patron.metrics import evaluate_catalog

        specs = self.catalog()
        if names is None:  # the whole catalog, less the metrics that cannot be sliced that way
            names = [n for n, s in specs.items() if set(by or []) <= set(s.dimensions)]
        return evaluate_catalog(self.existing_warehouse(), specs, by, period, only=names)

    def enrich(self, progress: Callable[[int, int], None] | None = None) -> EnrichResult:
        """Sentiment and complaint flag for every survey comment, ticket and feedback item not yet seen."""
        from patron.listen.enrich import enrich

        return enrich(self.existing_warehouse(), progress)

    def themes(self, k: int | None = None) -> tuple[ThemeResult, pd.DataFrame]:
        """Discover themes in every text (stored ids kept where a theme is found again) and sum them up."""
        from patron.listen.themes import discover
        from patron.listen.themes import summary as theme_summary

        wh = self.existing_warehouse()
        taxonomy = self.config.listen.taxonomy if self.config else {}
        return discover(wh, k, taxonomy=taxonomy), theme_summary(wh)

    def run(self, ingest_progress: Progress | None = None,
            enrich_progress: Callable[[int, int], None] | None = None, seal: bool = False) -> RunResult:
        """Every stage that has work, in order: ingest, identity, listening, metrics (see pipeline.py)."""
        from patron.pipeline import run

        if self.config is None:
            raise ConfigError("not found; `patron run` runs the sources patron.yml configures", "patron.yml")
        return run(self, ingest_progress, enrich_progress, seal)

    @staticmethod
    def check(config: str | Path = "patron.yml") -> CheckResult:
        """Every problem in patron.yml and in the files its sources point to, all at once, and
        what ingest would make of the first rows of each file."""
        from patron.config import ConfigProblems, load_project
        from patron.ingest import check_sources
        from patron.warehouse import open_warehouse

        try:
            cfg = load_project(config)
        except ConfigProblems as e:
            return CheckResult(None, e.problems)
        from patron.metrics.spec import config_problems

        problems = config_problems(cfg.metrics)  # the catalog's section: names, fields, expressions
        with open_warehouse(None) as scratch:
            source_problems, samples = check_sources(scratch, cfg)
        return CheckResult(cfg, problems + source_problems, samples)

    # reading ------------------------------------------------------------------------------
    def status(self) -> list[TableStatus]:
        wh = self.existing_warehouse()
        out = []
        for name in TABLES:
            rows, sources, last = wh.rows(
                f"SELECT count(*), count(DISTINCT source), strftime(max(loaded_at), '%Y-%m-%d %H:%M:%S') FROM {name}"
            )[0]
            out.append(TableStatus(name, rows, sources, last))
        return out

    def quarantine_summary(self, source: str | None = None, history: bool = False) -> list[QuarantineSummary]:
        """The rows still rejected (or, with history, every problem ever found), by kind of problem."""
        from patron.ingest import quarantine

        return quarantine.summary(self.existing_warehouse(), source, history)

    def quarantine_rows(self, source: str | None = None, limit: int = 50, history: bool = False) -> list[dict]:
        from patron.ingest import quarantine

        return quarantine.rows(self.existing_warehouse(), source, limit, history)

    def quarantine_count(self, source: str | None = None, history: bool = False) -> int:
        """Rejected (row, field) entries, as many as `quarantine_rows` lists without a limit."""
        from patron.ingest import quarantine

        return quarantine.count(self.existing_warehouse(), source, history)

    def as_of(self) -> date | None:
        """The last day the data covers (its latest event); a period after it began is partial."""
        from patron.warehouse.as_of import data_as_of

        return data_as_of(self.existing_warehouse())


def as_dicts(items: list) -> list[dict]:
    return [asdict(i) for i in items]
