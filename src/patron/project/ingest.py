"""`project.ingest`: getting data in, and seeing what is there and what was turned away."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from patron.errors import ConfigError, WarehouseError
from patron.model import TABLES

if TYPE_CHECKING:
    from patron.ingest import IngestResult
    from patron.ingest.load import Progress
    from patron.ingest.quarantine import QuarantineSummary
    from patron.project import Project
    from patron.warehouse import Warehouse


# the tables a load writes besides the canonical ones
LOADING = ("loads", "quarantine", "customer_attributes", "identity_map")


@dataclass
class TableStatus:
    table: str
    rows: int
    sources: int
    last_loaded_at: str | None


class Ingest:
    """`project.ingest()` loads the configured sources; `.file` loads one file whose columns carry
    canonical names; `.status` and `.quarantine*` read what the loads left."""

    def __init__(self, project: Project) -> None:
        self._project = project

    def __call__(self, sources: list[str] | None = None, progress: Progress | None = None) -> IngestResult:
        """The configured sources (or those named), each file all or nothing; bad rows quarantined."""
        from patron.ingest import ingest_sources

        p = self._project
        if p.config is None:
            raise ConfigError("not found; run `patron init`, or load one file with --into TABLE", "patron.yml")
        return ingest_sources(self._loadable(), p.config, sources, progress)

    def file(self, file: str | Path, table: str, source: str | None = None,
             progress: Progress | None = None) -> IngestResult:
        """A one-off file into `table`, under the project's ingest settings when there is a patron.yml."""
        from patron.ingest import ingest_file

        if table not in TABLES:
            raise ConfigError(f"unknown table {table!r}; tables are: {', '.join(TABLES)}", key="--into")
        p = self._project
        settings = p.config.ingest if p.config else None
        return ingest_file(self._loadable(), Path(file), table, source,
                           settings.future_tolerance_days if settings else 1, progress=progress,
                           root=p.config.root if p.config else Path.cwd(),
                           max_reject_share=settings.max_reject_share if settings else 0.5)

    def _loadable(self) -> Warehouse:
        """The warehouse to load into: on Spark, a layout that already holds patron's tables (nothing
        makes them there but `patron export --engine spark`)."""
        p = self._project
        wh = p.writable_warehouse()
        if p.spark is not None:
            missing = [t for t in (*LOADING, *TABLES) if not wh.has_table(t)]
            if missing:
                raise WarehouseError(
                    f"{p.spark.path}: not a patron warehouse on Spark (no table {', '.join(missing[:3])}"
                    f"{', ...' if len(missing) > 3 else ''}); make one with `patron export --engine spark --to "
                    "FOLDER` from a DuckDB warehouse (a new one is empty), then load into it")
        return wh

    def status(self) -> list[TableStatus]:
        """Rows in each canonical table, from how many sources, and when last loaded."""
        wh = self._project.existing_warehouse()
        out = []
        for name in TABLES:
            rows, sources, last = wh.rows(
                f"SELECT count(*), count(DISTINCT source), strftime(max(loaded_at), '%Y-%m-%d %H:%M:%S') FROM {name}"
            )[0]
            out.append(TableStatus(name, rows, sources, last))
        return out

    def quarantine(self, source: str | None = None, history: bool = False) -> list[QuarantineSummary]:
        """The rows still rejected (or, with history, every problem ever found), by kind of problem."""
        from patron.ingest import quarantine

        return quarantine.summary(self._project.existing_warehouse(), source, history)

    def quarantine_rows(self, source: str | None = None, limit: int = 50, history: bool = False) -> list[dict]:
        """The rejected (row, field) entries themselves, by source, file and row, at most `limit`."""
        from patron.ingest import quarantine

        return quarantine.rows(self._project.existing_warehouse(), source, limit, history)

    def quarantine_count(self, source: str | None = None, history: bool = False) -> int:
        """Rejected (row, field) entries, as many as `quarantine_rows` lists without a limit."""
        from patron.ingest import quarantine

        return quarantine.count(self._project.existing_warehouse(), source, history)
