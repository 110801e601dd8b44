"""The facade: open a project (patron.yml + warehouse) and reach each stage through its part.

`project.ingest`, `.identity`, `.listen`, `.metrics`, `.predict` and `.act` each hold one stage's operations (a module
apiece beside this one); `run()` runs every stage in its order (pipeline.py). Parts import their
stage only when a method needs it: a command pays only for what it runs.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from patron.errors import ConfigError, WarehouseError
from patron.project.act import Act
from patron.project.identity import Identity
from patron.project.ingest import Ingest, TableStatus
from patron.project.listen import Listen
from patron.project.metrics import Metrics
from patron.project.predict import Predict

if TYPE_CHECKING:
    from patron.config import ProjectConfig, SparkWarehouse
    from patron.ingest.load import Progress
    from patron.pipeline import RunResult
    from patron.project.check import CheckResult
    from patron.report.customer360 import Customer360, CustomerMatches
    from patron.warehouse import Warehouse
    from patron.warehouse.layout import Copied

__all__ = ["Act", "Identity", "Ingest", "Listen", "Metrics", "Predict", "Project", "TableStatus"]


class Project:
    """A patron.yml (optional: one-off loads need none) and the warehouse it points to."""

    def __init__(self, config: ProjectConfig | None, db: Path, warehouse: Warehouse | None = None,
                 spark: SparkWarehouse | None = None):
        """`warehouse`: one already open on `db`, for a caller that opens it its own way (the
        service's loader waits for it, and lets it go after each pass). `spark`: patron.yml's
        Spark warehouse, used instead of `db`."""
        self.config = config
        self.db = db
        self.spark = spark
        self._wh = warehouse
        self.ingest = Ingest(self)
        self.identity = Identity(self)
        self.listen = Listen(self)
        self.metrics = Metrics(self)
        self.predict = Predict(self)
        self.act = Act(self)

    @classmethod
    def open(cls, config: str | Path | None = "patron.yml", db: str | Path | None = None,
             require_config: bool = False) -> Project:
        from patron.config import load_project

        cfg = None
        if config is not None and (Path(config).exists() or require_config):
            cfg = load_project(config)
        # a --db file is DuckDB's, whatever patron.yml chose
        spark = cfg.warehouse if cfg is not None and db is None and not isinstance(cfg.warehouse, str) else None
        if spark is not None and cfg is not None:
            spark = spark.model_copy(update={"path": spark.located(cfg.root)})
        if db is None:
            db = (cfg.root / cfg.warehouse) if cfg and isinstance(cfg.warehouse, str) else Path("patron.duckdb")
        return cls(cfg, Path(db), spark=spark)

    @property
    def warehouse(self) -> Warehouse:
        return self._open()

    def writable_warehouse(self) -> Warehouse:
        """The warehouse, a DuckDB file created where there is none yet."""
        return self._open()

    def _open(self) -> Warehouse:
        if self._wh is None:
            from patron.warehouse import open_spark_warehouse, open_warehouse

            spark = self.spark
            self._wh = open_spark_warehouse(spark.path, spark.master) if spark else open_warehouse(self.db)
        return self._wh

    def duckdb_file(self, command: str, why: str) -> Path:
        """The DuckDB file of a command that works on the file itself (`why`); on Spark, a refusal
        that says how to run it on a copy."""
        if self.spark is not None:
            raise WarehouseError(
                f"{self.spark.path}: this warehouse is on Spark, and `{command}` {why}: copy the warehouse with "
                "`patron export --engine duckdb --to FILE` and run it with --db FILE")
        self._open()  # created or upgraded now
        return self.db

    def existing_warehouse(self) -> Warehouse:
        """For commands that only read: a missing file is a mistake, not a cue to create one."""
        if self._wh is None and self.spark is None and not self.db.exists():
            raise WarehouseError(f"{self.db}: no warehouse here yet; load data with `patron ingest` "
                                 "(or point --db at an existing file)")
        return self._open()

    def export(self, engine: str, to: str | Path, source: str | Path | None = None) -> Copied:
        """Copy the warehouse to another engine's layout: `spark` writes this DuckDB warehouse as
        Parquet folders under `to`; `duckdb` reads a Spark layout (`source`, else patron.yml's
        Spark path) into a new DuckDB file `to`. Every table's rows are counted on both sides."""
        from patron.warehouse.layout import from_spark_layout, to_spark_layout

        if engine == "spark":
            if self.spark is not None:
                raise WarehouseError(f"{self.spark.path}: this warehouse is on Spark already; `--engine duckdb` "
                                     "copies it back")
            return to_spark_layout(self.existing_warehouse(), Path(to))
        if engine == "duckdb":
            where = source if source is not None else (self.spark.path if self.spark is not None else None)
            if where is None:
                raise WarehouseError("--from: the Spark layout to copy (patron.yml's warehouse is not on Spark)")
            if "://" in str(where) and not str(where).startswith("file://"):
                raise WarehouseError(f"{where}: copying back reads a local folder; copy the layout here first")
            return from_spark_layout(Path(str(where).removeprefix("file://")), Path(to))
        raise WarehouseError(f"--engine {engine[:40]}: one of spark, duckdb")

    def close(self) -> None:
        if self._wh is not None:
            self._wh.close()
            self._wh = None

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, ingest_progress: Progress | None = None,
            enrich_progress: Callable[[int, int], None] | None = None, seal: bool = False,
            stages: Collection[str] | None = None) -> RunResult:
        """Every stage that has work (or those of `stages`), in the one order pipeline.py keeps."""
        from patron.pipeline import run

        if stages is not None:  # read once: a generator is not used up before the runner sees it
            stages = (stages,) if isinstance(stages, str) else tuple(stages)
        if self.config is None and (stages is None or any(s in ("ingest", "identity") for s in stages)):
            raise ConfigError("not found; `patron run` runs the sources patron.yml configures", "patron.yml")
        return run(self, stages, ingest_progress=ingest_progress, enrich_progress=enrich_progress, seal=seal)

    def customer(self, query: str) -> Customer360 | CustomerMatches:
        """The 360 view of the customer `query` names (master id, any source id, email or name);
        the candidates when it fits several."""
        from patron.report.customer360 import CustomerMatches, find
        from patron.report.customer360 import build as build_360

        wh = self.existing_warehouse()
        found = find(wh, query)
        return found if isinstance(found, CustomerMatches) else build_360(wh, found, catalog=self.metrics.catalog())

    def as_of(self) -> date | None:
        """The last day the data covers (its latest event); a period after it began is partial."""
        from patron.warehouse.as_of import data_as_of

        return data_as_of(self.existing_warehouse())

    @staticmethod
    def check(config: str | Path = "patron.yml") -> CheckResult:
        """Every problem in patron.yml and in the files its sources point to, all at once, and
        what ingest would make of the first rows of each file."""
        from patron.project.check import check

        return check(config)
