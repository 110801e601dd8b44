"""What ingest would do, without loading anything: every mapping and file problem, and what the
rules make of the first rows of each file.

`patron check` reads a sample so that a mapping that rejects most rows is found before a long
load, with the same rules, filter and roll-up that ingest applies.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from patron.config import ProjectConfig, SourceConfig
from patron.errors import SourceError
from patron.ingest.dates import date_format_hint, is_date_problem
from patron.ingest.load import display_path
from patron.ingest.rules import plan_load
from patron.ingest.stage import Reader, drop_staging, find_files, open_reader
from patron.model import TABLES
from patron.warehouse import Warehouse

SAMPLE_ROWS = 10_000


@dataclass
class SampleReport:
    source: str
    file: str
    rows: int  # rows sampled
    filtered: int  # left out by the source's filter
    rejected: int  # rows that break a rule (or repeat a key, where there is no roll-up)
    limit: float  # the share of rows the source may reject
    reasons: list[tuple[str, int]] = field(default_factory=list)  # "field: reason", rows; most common first

    @property
    def share(self) -> float:
        offered = self.rows - self.filtered
        return self.rejected / offered if offered else 0.0

    @property
    def too_many(self) -> bool:
        return self.share > self.limit

    def line(self) -> str:
        top = "; ".join(f"{reason} ({n:,} row{'s' if n != 1 else ''})" for reason, n in self.reasons[:3])
        return (f"sources.{self.source}: {self.share:.0%} of the first {self.rows:,} rows of {self.file} would be "
                f"rejected (at most {self.limit:.0%} may be): {top}")


def sample_file(wh: Warehouse, name: str, src: SourceConfig, reader: Reader, shown: str, cfg: ProjectConfig,
                rows: int = SAMPLE_ROWS) -> SampleReport:
    plan = plan_load(TABLES[src.table], src, reader.columns, shown, cfg.ingest.future_tolerance_days, name)
    plan.check_expressions(wh, reader.sql(keep_rejects=False), shown)
    limit = src.max_reject_share if src.max_reject_share is not None else cfg.ingest.max_reject_share
    sample = f"SELECT * FROM ({reader.sql(keep_rejects=False)}) LIMIT {int(rows)}"
    checked = plan.checked_sql(sample)
    bad = " OR ".join(f"COALESCE(({r.condition}), false)" for r in plan.rules) or "false"
    skip = "_skip" if plan.keep else "false"
    key = " || '|' || ".join(f"CAST(t_{c} AS VARCHAR)" for c in plan.key)
    wh.execute(f"CREATE OR REPLACE TEMP TABLE _patron_sample AS SELECT *, ({bad}) AND NOT {skip} AS _bad, "
               f"{skip} AS _skipped, {key} AS _key FROM ({checked})", plan.params.values)
    try:
        n, filtered, bad_n = wh.rows("SELECT count(*), count(*) FILTER (WHERE _skipped), count(*) FILTER "
                                     "(WHERE _bad) FROM _patron_sample")[0]
        found: list[tuple[str, str, int]] = []
        dates: dict[str, set[str]] = {}  # field -> its values that no date rule accepts
        for r in plan.rules:
            hits, values = wh.rows(f"SELECT count(*), list(DISTINCT {r.text})[:200] FROM _patron_sample "
                                   f"WHERE NOT _skipped AND COALESCE(({r.condition}), false)")[0]
            if hits:
                found.append((r.field, r.reason, hits))
                if is_date_problem(r.reason):
                    dates.setdefault(r.field, set()).update(v for v in values if v)
        # one hint per field, from every value its date rules refused (12/01/10 is "before 1900",
        # 12/13/10 "not a date": together they say month first)
        hints = {f: date_format_hint(sorted(v), src.date_format) for f, v in dates.items()}
        reasons: dict[str, int] = {}
        for f, reason, hits in found:
            hint = hints.get(f) if is_date_problem(reason) else None
            reasons[f"{f}: {reason}" + (f" ({hint})" if hint else "")] = hits
        duplicates = 0 if plan.rollup is not None else wh.scalar(
            "SELECT count(*) - count(DISTINCT _key) FROM _patron_sample WHERE NOT _bad AND NOT _skipped")
        if duplicates:
            reasons[f"{', '.join(plan.key)}: duplicate key (roll the rows up with rollup: in patron.yml if each "
                    "is one part of a record)"] = duplicates
    finally:
        wh.execute("DROP TABLE IF EXISTS _patron_sample")
        drop_staging(wh)
    return SampleReport(name, shown, n, filtered, bad_n + duplicates, limit,
                        sorted(reasons.items(), key=lambda kv: -kv[1]))


def check_sources(wh: Warehouse, cfg: ProjectConfig, rows: int = SAMPLE_ROWS) -> tuple[list[str], list[SampleReport]]:
    """Every file and mapping problem of every source, and a sample report for each file that
    can be read; a sample that rejects more than its source may is a problem too."""
    problems: list[str] = []
    samples: list[SampleReport] = []
    for name, src in cfg.sources.items():
        try:
            files = find_files(src, cfg.root, name)
        except SourceError as e:
            problems.append(f"sources.{name}: {e}")
            continue
        for file in files:
            try:
                reader = open_reader(wh, src, file)
                report = sample_file(wh, name, src, reader, display_path(file, cfg.root), cfg, rows)
            except SourceError as e:
                problems.append(f"sources.{name}: {e}")
                continue
            samples.append(report)
            if report.too_many:
                problems.append(report.line())
    return problems, samples
