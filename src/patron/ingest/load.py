"""Load staged files into the canonical tables: idempotent, all or nothing, nothing lost.

Every row read ends up in exactly one of: loaded (new or changed), already loaded (the same
key with the same values is in the warehouse), or quarantined (with every reason). The counts
are checked to add up before the transaction commits.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from patron.config import ProjectConfig, SourceConfig
from patron.errors import PatronError, SourceError
from patron.ingest.rules import Plan, literal, plan_load
from patron.ingest.stage import (
    RAW,
    Reader,
    Rejected,
    drop_staging,
    find_files,
    open_reader,
    read_as,
    rejected_lines,
    sha256,
)
from patron.model import LINEAGE, TABLES
from patron.warehouse import Warehouse

Progress = Callable[[str, str, float], None]  # (file, step, percent)


@dataclass
class FileLoad:
    source: str
    table: str
    file: str
    read: int = 0
    loaded: int = 0
    updated: int = 0
    already_loaded: int = 0
    quarantined: int = 0
    new_in_quarantine: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    load_id: int | None = None

    def adds_up(self) -> bool:
        return self.read == self.loaded + self.quarantined + self.already_loaded


@dataclass
class IngestResult:
    files: list[FileLoad]

    def total(self, name: str) -> int:
        return sum(getattr(f, name) for f in self.files)

    def to_dict(self) -> dict:
        totals = {k: self.total(k) for k in ("read", "loaded", "updated", "already_loaded", "quarantined")}
        return {"files": [asdict(f) for f in self.files], "totals": totals}


def _display(file: Path, root: Path) -> str:
    try:
        return str(file.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(file.resolve())


def _bad_sql(plan: Plan) -> str:
    return " OR ".join(f"COALESCE(({r.condition}), false)" for r in plan.rules) or "false"


def _errors_sql(plan: Plan) -> str:
    items = ", ".join(
        f"CASE WHEN COALESCE(({r.condition}), false) THEN "
        f"{{'field': '{r.field}', 'value': CAST(m_{r.field} AS VARCHAR), 'reason': {literal(r.reason)}}} END"
        for r in plan.rules
    )
    return f"list_filter([{items}], lambda x: x IS NOT NULL)"


def load_file(
    wh: Warehouse, name: str, src: SourceConfig, file: Path, root: Path, tolerance_days: int,
    progress: Progress | None = None,
) -> FileLoad:
    """Check and load one file inside the caller's transaction.

    The file is read, mapped, typed and checked in one pass into one temp table (in file order,
    so its rowid gives the row number); the file is read a second time only when some rows are
    bad, to keep their raw records in quarantine.
    """
    shown = _display(file, root)
    report = FileLoad(name, src.table, shown)
    reader = open_reader(wh, src, file)
    plan = plan_load(TABLES[src.table], src, reader.columns, shown, tolerance_days)
    report.ignored_columns = plan.ignored
    load_id = wh.scalar("SELECT nextval('load_ids')")
    report.load_id = load_id
    with ThreadPoolExecutor(1) as pool:  # hash the file while the engine reads it
        digest = pool.submit(sha256, file)
        cols = list(plan.typed)
        typed = ", ".join(f"t_{c}" for c in cols)
        key_expr = " || '|' || ".join(f"CAST(t_{c} AS VARCHAR)" for c in plan.key)
        # bad rows keep their text values and raw record here, so a file is read once
        mcols = ", ".join(f"m_{c} := m_{c}" for c in plan.text)
        read_as(
            wh, reader, "_patron_checked_t",
            f"SELECT {typed}, _key, _hash, _bad, CASE WHEN _bad THEN struct_pack({mcols}) END AS _m, "
            "CASE WHEN _bad THEN to_json(_raw)::VARCHAR END AS _rec FROM ("
            f"SELECT *, {key_expr} AS _key, hash({typed}) AS _hash, ({_bad_sql(plan)}) AS _bad "
            f"FROM ({plan.checked_sql(reader.sql(), keep_raw=True)}))",
            plan.params.values, (lambda p: progress(shown, "read", p)) if progress else None,
        )
        rejected = rejected_lines(wh, reader)
        file_hash = digest.result()
    if progress:
        progress(shown, "check", 0)
    first = wh.scalar("SELECT coalesce(min(rowid), 0) FROM _patron_checked_t")
    wh.execute(f"CREATE OR REPLACE TEMP VIEW _patron_checked AS SELECT rowid - {int(first)} + 1 AS _row, * "
               "FROM _patron_checked_t")
    target = src.table
    wh.execute(
        "INSERT INTO loads (load_id, source, table_name, file, file_sha256, started_at) "
        "VALUES (?, ?, ?, ?, ?, now()::TIMESTAMP)",
        [load_id, name, target, shown, file_hash],
    )
    # duplicate keys inside the file: the first good row wins, later ones are quarantined
    # (grouping 64-bit hashes of the keys first is much cheaper than grouping the key strings;
    # only rows whose hash repeats are then compared by their real key)
    wh.execute(
        "CREATE OR REPLACE TEMP TABLE _patron_dups AS "
        "WITH repeated AS (SELECT hash(_key) AS h FROM _patron_checked_t WHERE NOT _bad "
        "GROUP BY h HAVING count(*) > 1), "
        "suspects AS (SELECT _row, _key FROM _patron_checked WHERE NOT _bad "
        "AND hash(_key) IN (SELECT h FROM repeated)), "
        "firsts AS (SELECT _key, min(_row) AS first_row FROM suspects GROUP BY _key HAVING count(*) > 1) "
        "SELECT s._row, f.first_row, s._key FROM suspects s JOIN firsts f USING (_key) WHERE s._row <> f.first_row"
    )
    good = "NOT _bad AND _row NOT IN (SELECT _row FROM _patron_dups)"
    # rows of this source already in the warehouse under the same key: same values or changed
    wh.execute(
        "CREATE OR REPLACE TEMP TABLE _patron_old AS SELECT c._row, c._key, "
        f"hash({', '.join(f'e.{c}' for c in cols)}) = c._hash AS same "
        f"FROM _patron_checked c JOIN {target} e ON e.source = ? AND e.source_key = c._key WHERE {good}",
        [name],
    )
    good_n, bad_n, dup_n = wh.rows(
        f"SELECT count(*) FILTER (WHERE {good}), count(*) FILTER (WHERE _bad), "
        "(SELECT count(*) FROM _patron_dups) FROM _patron_checked"
    )[0]
    same, changed = wh.rows("SELECT count(*) FILTER (WHERE same), count(*) FILTER (WHERE NOT same) FROM _patron_old")[0]
    if progress:
        progress(shown, "load", 0)
    if changed:
        wh.execute(
            f"DELETE FROM {target} WHERE source = ? AND source_key IN (SELECT _key FROM _patron_old WHERE NOT same)",
            [name],
        )
    lineage = [c.name for c in LINEAGE]
    # straight from the temp table, with the anti-joins only when there is something to skip
    row = f"(rowid - {int(first)} + 1)"
    skip = ["NOT _bad"]
    if dup_n:
        skip.append(f"{row} NOT IN (SELECT _row FROM _patron_dups)")
    if same:
        skip.append(f"{row} NOT IN (SELECT _row FROM _patron_old WHERE same)")
    wh.execute(
        f"INSERT INTO {target} ({', '.join(cols + lineage)}) "
        f"SELECT {typed}, ?, _key, {row}, ?, now()::TIMESTAMP FROM _patron_checked_t "
        f"WHERE {' AND '.join(skip)}",
        [name, load_id],
    )
    rows_read = wh.scalar("SELECT count(*) FROM _patron_checked_t")
    new_q = 0
    if bad_n + dup_n + len(rejected):
        new_q = _quarantine(wh, plan, reader, rejected, name, target, shown, load_id)
    report.read = rows_read + len(rejected)
    report.loaded = good_n - same
    report.updated = changed
    report.already_loaded = same
    report.quarantined = bad_n + dup_n + len(rejected)
    report.new_in_quarantine = new_q
    if not report.adds_up():  # an internal invariant; refuse to commit if it ever breaks
        raise PatronError(
            f"{shown}: counts do not add up (read {report.read} != loaded {report.loaded} + "
            f"quarantined {report.quarantined} + already loaded {report.already_loaded}); nothing was loaded"
        )
    wh.execute(
        "UPDATE loads SET finished_at = now()::TIMESTAMP, rows_read = ?, rows_loaded = ?, rows_updated = ?, "
        "rows_quarantined = ?, rows_already_loaded = ? WHERE load_id = ?",
        [report.read, report.loaded, report.updated, report.quarantined, report.already_loaded, load_id],
    )
    wh.execute("DROP VIEW IF EXISTS _patron_checked")
    for t in ("_patron_checked_t", "_patron_dups", "_patron_old"):
        wh.execute(f"DROP TABLE IF EXISTS {t}")
    drop_staging(wh)
    if progress:
        progress(shown, "done", 100)
    return report


def _quarantine(
    wh: Warehouse, plan: Plan, reader: Reader, rejected: list[Rejected], name: str, table: str, shown: str,
    load_id: int,
) -> int:
    """Write every problem of every bad row, with its raw record; a problem already on file is not
    written twice. Duplicates' records come from a second read, needed only when there are some."""
    wh.execute(
        "CREATE OR REPLACE TEMP TABLE _patron_problems (row_number BIGINT, field VARCHAR, value VARCHAR, "
        "reason VARCHAR, record VARCHAR)"
    )
    if plan.rules:
        fields = ", ".join(f"_m.m_{c} AS m_{c}" for c in plan.text)
        typed = ", ".join(f"t_{c}" for c in plan.typed)
        wh.execute(
            "INSERT INTO _patron_problems SELECT _row, err.field, err.value, err.reason, _rec "
            f"FROM (SELECT _row, _rec, unnest({_errors_sql(plan)}) AS err "
            f"FROM (SELECT _row, _rec, {fields}, {typed} FROM _patron_checked WHERE _bad))",
        )
    if wh.scalar("SELECT count(*) FROM _patron_dups"):
        read_as(wh, reader, RAW, reader.sql(keep_rejects=True), [])
        first = wh.scalar(f"SELECT coalesce(min(rowid), 0) FROM {RAW}")
        raw = f"SELECT rowid - {int(first)} + 1 AS _row, to_json({RAW})::VARCHAR AS _rec FROM {RAW}"
        key_cols = ", ".join(plan.key)
        wh.execute(
            "INSERT INTO _patron_problems SELECT d._row, ?, d._key, "
            "'duplicate key (' || ? || ' = ' || d._key || ') already on row ' || d.first_row, "
            f"r._rec FROM _patron_dups d JOIN ({raw}) r ON r._row = d._row",
            [key_cols, key_cols],
        )
    for rej in rejected:
        wh.execute(
            "INSERT INTO _patron_problems VALUES (?, NULL, NULL, ?, ?)",
            [rej.line, f"line {rej.line}: {rej.reason}", rej.text],
        )
    before = wh.scalar("SELECT count(*) FROM quarantine")
    wh.execute(
        "INSERT INTO quarantine SELECT ?, ?, ?, ?, p.row_number, p.field, p.value, p.reason, p.record, "
        "hash(p.record), now()::TIMESTAMP FROM _patron_problems p WHERE NOT EXISTS ("
        "SELECT 1 FROM quarantine q WHERE q.source = ? AND q.record_hash = hash(p.record) "
        "AND q.field IS NOT DISTINCT FROM p.field AND q.reason = p.reason)",
        [load_id, name, table, shown, name],
    )
    after = wh.scalar("SELECT count(*) FROM quarantine")
    wh.execute("DROP TABLE _patron_problems")
    return after - before


def ingest_sources(
    wh: Warehouse, cfg: ProjectConfig, only: list[str] | None = None, progress: Progress | None = None,
) -> IngestResult:
    """Load every configured source (or those named) in one transaction."""
    names = only or list(cfg.sources)
    unknown = [n for n in names if n not in cfg.sources]
    if unknown:
        from patron.errors import ConfigError

        raise ConfigError(
            f"no source named {', '.join(map(repr, unknown))}; sources are: {', '.join(cfg.sources) or '(none)'}",
            "patron.yml", "sources",
        )
    plan = [(n, f) for n in names for f in find_files(cfg.sources[n], cfg.root, n)]
    loads: list[FileLoad] = []
    with wh.transaction():
        for name, file in plan:
            loads.append(load_file(
                wh, name, cfg.sources[name], file, cfg.root, cfg.ingest.future_tolerance_days, progress
            ))
    return IngestResult(loads)


def ingest_file(
    wh: Warehouse, file: Path, table: str, source: str | None = None, tolerance_days: int = 1,
    fmt: str | None = None, progress: Progress | None = None, root: Path | None = None,
) -> IngestResult:
    """Load a one-off file whose columns already carry canonical names."""
    if not file.exists():
        raise SourceError("file not found", str(file))
    if file.is_dir():
        raise SourceError("is a folder; load its files one at a time or configure a glob in patron.yml", str(file))
    src = SourceConfig(path=str(file), table=table, format=fmt)
    name = source or f"file:{file.name}"
    with wh.transaction():
        result = load_file(wh, name, src, file, root or Path.cwd(), tolerance_days, progress)
    return IngestResult([result])


def check_sources(wh: Warehouse, cfg: ProjectConfig) -> list[str]:
    """Every file and mapping problem of every source, without loading a row."""
    problems: list[str] = []
    for name, src in cfg.sources.items():
        try:
            files = find_files(src, cfg.root, name)
        except SourceError as e:
            problems.append(f"sources.{name}: {e}")
            continue
        for file in files:
            try:
                reader = open_reader(wh, src, file)
                plan_load(TABLES[src.table], src, reader.columns, _display(file, cfg.root),
                          cfg.ingest.future_tolerance_days)
            except SourceError as e:
                problems.append(f"sources.{name}: {e}")
    return problems
