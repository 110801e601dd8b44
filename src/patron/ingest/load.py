"""Load staged files into the canonical tables: idempotent, all or nothing, nothing lost.

Every row read ends up in exactly one of: loaded (new or changed), already loaded (the same
key with the same values is in the warehouse), or quarantined (with every reason). The counts
are checked to add up before the transaction commits.

On an engine without transactions (Spark) nothing is written before a file is known to load, and
a source's files are all checked before any is loaded, so a refused source leaves nothing behind.
A load stopped half-way (a crash, ^C) keeps what it wrote: its `loads` row without finished_at, and
possibly the file's changed rows deleted, its new rows inserted, its quarantine rows; loading the
file again loads what is missing (rows whose key and values are there count as already loaded).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from patron.config import ProjectConfig, SourceConfig
from patron.errors import PatronError, SourceError
from patron.ingest.dates import date_format_hint, is_date_problem
from patron.ingest.rules import ROW, Plan, literal, plan_load
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
from patron.warehouse import FILE_ROW, Engine, Warehouse

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
    filtered: int = 0  # rows the source's filter left out
    rolled_up: int = 0  # rows merged into another row of the same key by the source's roll-up
    new_in_quarantine: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    load_id: int | None = None

    def adds_up(self) -> bool:
        return self.read == self.loaded + self.quarantined + self.already_loaded + self.filtered + self.rolled_up


@dataclass
class Refusal:
    """A source not loaded because one of its files rejects too many of its rows."""

    source: str
    file: str
    rows: int  # rows the file offered (read, less those the source's filter leaves out)
    rejected: int
    limit: float  # the share of rows a file may reject
    reasons: list[tuple[str, int]]  # the most common problems: "field: reason", rows

    @property
    def share(self) -> float:
        return self.rejected / self.rows

    def message(self) -> str:
        top = "; ".join(f"{reason} ({n:,} row{'s' if n != 1 else ''})" for reason, n in self.reasons)
        return (f"source {self.source!r} not loaded: {self.file} rejects {self.rejected:,} of {self.rows:,} rows "
                f"({self.share:.0%}; at most {self.limit:.0%} may be rejected). Most common: {top}. "
                "Fix the mapping in patron.yml (`patron check` shows the same on a sample), or raise "
                "max_reject_share for this source")


class TooManyRejected(PatronError):
    def __init__(self, refusal: Refusal):
        self.refusal = refusal
        super().__init__(refusal.message())


@dataclass
class IngestResult:
    files: list[FileLoad]
    refused: list[Refusal] = field(default_factory=list)
    # attribute values stored before that patron.yml no longer declares (a source or an attribute
    # taken out, an attribute's type changed), gone so that they no longer count: what and why
    attributes_dropped: list[str] = field(default_factory=list)

    def total(self, name: str) -> int:
        return sum(getattr(f, name) for f in self.files)

    def unmapped_columns(self) -> set[str]:
        """Columns of the files read that no source reading that file maps."""
        by_file: dict[str, set[str]] = {}
        for f in self.files:
            ignored = set(f.ignored_columns)
            by_file[f.file] = by_file[f.file] & ignored if f.file in by_file else ignored
        return set().union(*by_file.values()) if by_file else set()

    def to_dict(self) -> dict:
        totals = {k: self.total(k) for k in ("read", "loaded", "updated", "already_loaded", "quarantined",
                                             "filtered", "rolled_up")}
        return {"files": [asdict(f) for f in self.files], "totals": totals,
                "refused": [asdict(r) | {"share": r.share, "message": r.message()} for r in self.refused],
                "attributes_dropped": list(self.attributes_dropped)}


def display_path(file: Path, root: Path) -> str:
    """How a file is named in reports: relative to patron.yml's folder where it is inside it."""
    try:
        return str(file.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(file.resolve())


def _bad_sql(plan: Plan) -> str:
    return " OR ".join(f"COALESCE(({r.condition}), false)" for r in plan.rules) or "false"


def _errors_sql(engine: Engine, plan: Plan) -> str:
    """A list of the row's problems: (field, value, reason) of each rule it breaks."""
    return engine.non_null([
        f"CASE WHEN COALESCE(({r.condition}), false) THEN "
        f"{{'field': '{r.field}', 'value': CAST({r.text} AS VARCHAR), 'reason': {literal(r.reason)}}} END"
        for r in plan.rules
    ])


def load_file(
    wh: Warehouse, name: str, src: SourceConfig, file: Path, root: Path, tolerance_days: int,
    progress: Progress | None = None, max_reject_share: float = 1.0, trust: int = 0, check_only: bool = False,
) -> FileLoad:
    """Check and load one file inside the caller's transaction (`check_only`: read and check it,
    raising TooManyRejected as the load would, and write nothing).

    The file is read, mapped, typed and checked in one pass into one temp table (in file order,
    so the engine's row number there is the file's); the file is read a second time only when
    some rows are bad, to keep their raw records in quarantine. The source's customer attributes
    ride along in the same rows (`trust`: the source's place in the trusted order).
    """
    engine = wh.engine
    shown = display_path(file, root)
    report = FileLoad(name, src.table, shown)
    reader = open_reader(wh, src, file)
    plan = plan_load(TABLES[src.table], src, reader.columns, shown, tolerance_days, name)
    plan.check_expressions(wh, reader.sql(keep_rejects=False), shown)
    report.ignored_columns = plan.ignored
    # where the engine's read numbers the file's rows, the number rides along as _line
    position = f"{ROW}.{FILE_ROW}" if reader.numbered else None
    with ThreadPoolExecutor(1) as pool:  # hash the file while the engine reads it
        digest = pool.submit(sha256, file)
        cols = list(plan.typed)
        typed = ", ".join(f"t_{c}" for c in cols)
        carried = "".join(f", t_{c}" for c in plan.attribute_typed)  # attributes: kept apart from the row
        key_expr = " || '|' || ".join(f"CAST(t_{c} AS VARCHAR)" for c in plan.key)
        # bad rows keep their text values and raw record here, so a file is read once
        texts = engine.record({f"m_{c}": f"m_{c}" for c in plan.checked})
        # a row the source's filter leaves out is neither loaded nor bad
        skip, bad = (", _skip", f"NOT _skip AND ({_bad_sql(plan)})") if plan.keep else ("", _bad_sql(plan))
        read_as(
            wh, reader, "_patron_checked_t",
            f"SELECT {'_row AS _line, ' if position else ''}{typed}{carried}, _key, _hash, _bad{skip}, "
            f"CASE WHEN _bad THEN {texts} END AS _m, "
            f"CASE WHEN _bad THEN {engine.json_text('_raw')} END AS _rec FROM ("
            f"SELECT *, {key_expr} AS _key, {engine.row_hash([f't_{c}' for c in cols])} AS _hash, ({bad}) AS _bad "
            f"FROM ({plan.checked_sql(reader.sql(), position, raw=engine.row_record(ROW, reader.columns))}))",
            plan.params.values, (lambda p: progress(shown, "read", p)) if progress else None,
        )
        rejected = rejected_lines(wh, reader)
        file_hash = digest.result()
    if progress:
        progress(shown, "check", 0)
    # the file's row number: the read's own (_line), else the table's while it holds the file's rows
    # in order; a filter or a roll-up keeps it as a column of its own (_line) instead
    row = "_line" if position else engine.row_number("_patron_checked_t")
    filtered = rolled_up = 0
    lines_read = wh.scalar("SELECT count(*) FROM _patron_checked_t")
    if plan.keep or plan.rollup is not None:
        filtered, rolled_up = _shape(wh, plan, row)
        row = "_line"
    wh.execute(f"CREATE OR REPLACE TEMP VIEW _patron_checked AS SELECT {row} AS _row, * "
               "FROM _patron_checked_t")
    target = src.table
    # duplicate keys inside the file: the first good row wins, later ones are quarantined
    # (grouping 64-bit hashes of the keys first is much cheaper than grouping the key strings;
    # only rows whose hash repeats are then compared by their real key)
    wh.execute(
        "CREATE OR REPLACE TEMP TABLE _patron_dups AS "
        f"WITH repeated AS (SELECT {engine.row_hash(['_key'])} AS h FROM _patron_checked_t WHERE NOT _bad "
        "GROUP BY h HAVING count(*) > 1), "
        "suspects AS (SELECT _row, _key FROM _patron_checked WHERE NOT _bad "
        f"AND {engine.row_hash(['_key'])} IN (SELECT h FROM repeated)), "
        "firsts AS (SELECT _key, min(_row) AS first_row FROM suspects GROUP BY _key HAVING count(*) > 1) "
        "SELECT s._row, f.first_row, s._key FROM suspects s JOIN firsts f USING (_key) WHERE s._row <> f.first_row"
    )
    good = "NOT _bad AND _row NOT IN (SELECT _row FROM _patron_dups)"
    # rows of this source already in the warehouse under the same key: same values or changed
    wh.execute(
        "CREATE OR REPLACE TEMP TABLE _patron_old AS SELECT c._row, c._key, "
        f"{engine.row_hash([f'e.{c}' for c in cols])} = c._hash AS same "
        f"FROM _patron_checked c JOIN {target} e ON e.source = ? AND e.source_key = c._key WHERE {good}",
        [name],
    )
    good_n, bad_n, dup_n = wh.rows(
        f"SELECT count(*) FILTER (WHERE {good}), count(*) FILTER (WHERE _bad), "
        "(SELECT count(*) FROM _patron_dups) FROM _patron_checked"
    )[0]
    same, changed = wh.rows("SELECT count(*) FILTER (WHERE same), count(*) FILTER (WHERE NOT same) FROM _patron_old")[0]
    offered = lines_read + len(rejected) - filtered
    if offered and bad_n + dup_n + len(rejected) > max_reject_share * offered:
        raise TooManyRejected(Refusal(name, shown, offered, bad_n + dup_n + len(rejected), max_reject_share,
                                      _top_reasons(wh, plan, dup_n, rejected, src.date_format)))
    if check_only:
        _drop_working(wh)
        return report
    # nothing is written before the file is known to be loaded (an engine without transactions
    # keeps every change it makes)
    (load_id,) = engine.new_load_ids(1)
    report.load_id = load_id
    wh.execute(
        "INSERT INTO loads (load_id, source, table_name, file, file_sha256, started_at) "
        "VALUES (?, ?, ?, ?, ?, now()::TIMESTAMP)",
        [load_id, name, target, shown, file_hash],
    )
    if progress:
        progress(shown, "load", 0)
    if changed:
        wh.execute(
            f"DELETE FROM {target} WHERE source = ? AND source_key IN (SELECT _key FROM _patron_old WHERE NOT same)",
            [name],
        )
    lineage = [c.name for c in LINEAGE]
    # straight from the temp table, with the anti-joins only when there is something to skip
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
    if "customer_ref" in plan.typed and "customer_id" in TABLES[target].names:
        # a customer identity already knows: its rows carry the master id at once, not only
        # after the next `identity resolve`
        wh.execute(f"UPDATE {target} AS t SET customer_id = m.customer_id FROM identity_map AS m "
                   "WHERE t.load_id = ? AND t.customer_id IS NULL AND m.system = ? AND m.ref = t.customer_ref",
                   [load_id, src.system or name])
    if plan.attributes:
        keep_attributes(wh, plan, name, src.system or name, load_id, trust)
    new_q = 0
    if bad_n + dup_n + len(rejected):
        new_q = _quarantine(wh, plan, reader, rejected, name, target, shown, load_id)
    report.read = lines_read + len(rejected)
    report.filtered, report.rolled_up = filtered, rolled_up
    report.loaded = good_n - same
    report.updated = changed
    report.already_loaded = same
    report.quarantined = bad_n + dup_n + len(rejected)
    report.new_in_quarantine = new_q
    if not report.adds_up():  # an internal invariant; refuse to commit if it ever breaks
        raise PatronError(
            f"{shown}: counts do not add up (read {report.read} != loaded {report.loaded} + "
            f"quarantined {report.quarantined} + already loaded {report.already_loaded} + filtered "
            f"{report.filtered} + rolled up {report.rolled_up}); nothing was loaded"
        )
    wh.execute(
        "UPDATE loads SET finished_at = now()::TIMESTAMP, rows_read = ?, rows_loaded = ?, rows_updated = ?, "
        "rows_quarantined = ?, rows_already_loaded = ?, rows_filtered = ?, rows_rolled_up = ? WHERE load_id = ?",
        [report.read, report.loaded, report.updated, report.quarantined, report.already_loaded, report.filtered,
         report.rolled_up, load_id],
    )
    _drop_working(wh)
    if progress:
        progress(shown, "done", 100)
    return report


def _drop_working(wh: Warehouse) -> None:
    wh.execute("DROP VIEW IF EXISTS _patron_checked")
    for t in ("_patron_checked_t", "_patron_dups", "_patron_old"):
        wh.execute(f"DROP TABLE IF EXISTS {t}")
    drop_staging(wh)


def _top_reasons(wh: Warehouse, plan: Plan, duplicates: int, rejected: list[Rejected],
                 given: list[str]) -> list[tuple[str, int]]:
    """The three most common problems of the checked file, each with the rows it affects."""
    counts: dict[str, int] = {}
    if plan.rules:
        fields = ", ".join(f"_m.m_{c} AS m_{c}" for c in plan.checked)
        typed = ", ".join(f"t_{c}" for c in plan.checked)
        found = wh.rows(
            f"SELECT err.field, err.reason, count(*), array_slice(list(DISTINCT err.value), 1, 200) FROM (SELECT "
            f"unnest({_errors_sql(wh.engine, plan)}) AS err FROM (SELECT {fields}, {typed} FROM _patron_checked "
            "WHERE _bad)) "
            "GROUP BY ALL")
        dates: dict[str, set[str]] = {}  # one hint per field, from every value its date rules refused
        for f, reason, _, values in found:
            if is_date_problem(reason):
                dates.setdefault(f, set()).update(v for v in values if v)
        hints = {f: date_format_hint(sorted(v), given) for f, v in dates.items()}
        for f, reason, n, _ in found:
            hint = hints.get(f) if is_date_problem(reason) else None
            counts[f"{f}: {reason}" + (f" ({hint})" if hint else "")] = n
    if duplicates:
        counts[f"{', '.join(plan.key)}: duplicate key (roll the rows up with rollup: in patron.yml if each is "
               "one part of a record)"] = duplicates
    if rejected:
        counts["unreadable lines"] = len(rejected)
    return sorted(counts.items(), key=lambda kv: -kv[1])[:3]


_ROLLUP = {"first": "arg_min({c}, _line) FILTER (WHERE {c} IS NOT NULL)",
           "last": "arg_max({c}, _line) FILTER (WHERE {c} IS NOT NULL)",
           # summed as decimals: a sum of doubles depends on the order the engine adds them in,
           # and the same file must give the same values (or a reload would "change" them)
           "sum": "sum(CAST({c} AS DECIMAL(38, 10)))", "min": "min({c})", "max": "max({c})", "count": "count(*)"}


def _shape(wh: Warehouse, plan: Plan, row: str) -> tuple[int, int]:
    """Apply the source's filter and roll-up to the checked rows, keeping each row's line number
    as `_line`; returns (rows filtered out, rows merged into another). A bad row is never rolled
    into a good one: it stays on its own, for quarantine."""
    types = {c.name: c.sql_type for c in plan.table.columns}
    kept = f"SELECT {'' if row == '_line' else f'{row} AS _line, '}* FROM _patron_checked_t"
    if plan.keep:
        kept += " WHERE NOT _skip"
    if plan.rollup is None:
        shaped = kept
    else:
        how = {c: ("first" if c not in plan.key else "key") for c in plan.typed} | dict(plan.rollup)
        aggs = ", ".join(
            f"any_value(t_{c}) AS t_{c}" if h == "key" else
            f"CAST({_ROLLUP[h].format(c=f't_{c}')} AS {types[c]}) AS t_{c}" for c, h in how.items())
        typed = ", ".join(f"t_{c}" for c in plan.typed)
        hashed = wh.engine.row_hash([f"t_{c}" for c in plan.typed])
        # an attribute: the last value in file order, and the line it came from (l_<column>)
        last = "".join(f", {_ROLLUP['last'].format(c=f't_{c}')} AS t_{c}, max(_line) FILTER (WHERE t_{c} IS NOT NULL) "
                       f"AS l_{c}" for c in plan.attribute_typed)
        carried = "".join(f", t_{c}, l_{c}" for c in plan.attribute_typed)
        as_read = "".join(f", t_{c}, _line AS l_{c}" for c in plan.attribute_typed)
        # rolled-up rows are good: no text values or raw record to keep for quarantine
        shaped = (
            f"WITH kept AS ({kept}), rolled AS (SELECT min(_line) AS _line, {aggs}{last}, _key FROM kept "
            f"WHERE NOT _bad GROUP BY _key) "
            f"SELECT _line, {typed}{carried}, _key, {hashed} AS _hash, false AS _bad, NULL AS _m, NULL AS _rec "
            f"FROM rolled UNION ALL SELECT _line, {typed}{as_read}, _key, _hash, _bad, _m, _rec FROM kept WHERE _bad"
        )
    before = wh.scalar("SELECT count(*) FROM _patron_checked_t")
    kept_n = wh.scalar(f"SELECT count(*) FROM ({kept})")
    wh.execute(f"CREATE OR REPLACE TEMP TABLE _patron_shaped AS {shaped} ORDER BY _line")
    wh.execute("DROP TABLE _patron_checked_t")
    wh.execute("ALTER TABLE _patron_shaped RENAME TO _patron_checked_t")
    after = wh.scalar("SELECT count(*) FROM _patron_checked_t")
    return before - kept_n, kept_n - after


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
        fields = ", ".join(f"_m.m_{c} AS m_{c}" for c in plan.checked)
        typed = ", ".join(f"t_{c}" for c in plan.checked)
        wh.execute(
            "INSERT INTO _patron_problems SELECT _row, err.field, err.value, err.reason, _rec "
            f"FROM (SELECT _row, _rec, unnest({_errors_sql(wh.engine, plan)}) AS err "
            f"FROM (SELECT _row, _rec, {fields}, {typed} FROM _patron_checked WHERE _bad))",
        )
    if wh.scalar("SELECT count(*) FROM _patron_dups"):
        read_as(wh, reader, RAW, reader.sql(keep_rejects=True), [])
        record = wh.engine.json_text(wh.engine.row_record(RAW, reader.columns))
        raw = f"SELECT {wh.engine.row_number(RAW)} AS _row, {record} AS _rec FROM {RAW}"
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
    # a problem this file had before is found again: it stays current (see quarantine.py)
    record_hash = wh.engine.text_hash("p.record")
    same = (f"q.source = ? AND q.file = ? AND q.record_hash = {record_hash} "
            "AND q.field IS NOT DISTINCT FROM p.field AND q.reason = p.reason")
    wh.execute(f"UPDATE quarantine AS q SET last_seen_load = ? FROM _patron_problems AS p WHERE {same}",
               [load_id, name, shown])
    wh.execute(
        "INSERT INTO quarantine (load_id, source, table_name, file, row_number, field, value, reason, record, "
        "record_hash, quarantined_at) SELECT ?, ?, ?, ?, p.row_number, p.field, p.value, p.reason, p.record, "
        f"{record_hash}, now()::TIMESTAMP FROM _patron_problems p WHERE NOT EXISTS (SELECT 1 FROM quarantine q "
        f"WHERE {same})",
        [load_id, name, table, shown, name, shown],
    )
    after = wh.scalar("SELECT count(*) FROM quarantine")
    wh.execute("DROP TABLE _patron_problems")
    return after - before


def keep_attributes(wh: Warehouse, plan: Plan, name: str, system: str, load_id: int, trust: int) -> None:
    """Keep the attributes of every customer the file's good rows hold (of several rows, the last in
    file order that gives a value), in place of those the source had for it: a value found again
    unchanged keeps its row and lineage, a changed or new one is written by this load, and one the
    file no longer gives goes. Customers the file does not hold keep theirs."""
    good = "NOT _bad AND _row NOT IN (SELECT _row FROM _patron_dups) AND t_customer_ref IS NOT NULL"
    parts = []
    for a in plan.attributes:
        t = f"t_{a.column}"
        value = {"text": t, "bool": f"CASE WHEN {t} THEN 'true' ELSE 'false' END"}.get(a.type, f"CAST({t} AS VARCHAR)")
        number = f"CAST({t} AS DOUBLE)" if a.type in ("int", "float") else "CAST(NULL AS DOUBLE)"
        line = f"l_{a.column}" if plan.rollup is not None else "_row"
        parts.append(
            f"SELECT t_customer_ref AS customer_ref, {literal(a.name)} AS name, {literal(a.type)} AS type, "
            f"{'true' if a.personal else 'false'} AS personal, {value} AS value, {number} AS number, "
            f"{t if a.type == 'date' else 'CAST(NULL AS DATE)'} AS day, "
            f"{t if a.type == 'bool' else 'CAST(NULL AS BOOLEAN)'} AS flag, _key AS source_key, {line} AS source_row "
            f"FROM _patron_checked WHERE {good} AND {t} IS NOT NULL")
    columns = "customer_ref, name, type, personal, value, number, day, flag, source_key, source_row"
    wh.execute(f"CREATE OR REPLACE TEMP TABLE _patron_attrs AS SELECT {columns} FROM (SELECT *, ROW_NUMBER() OVER "
               "(PARTITION BY customer_ref, name ORDER BY source_row DESC) AS _last FROM "
               f"({' UNION ALL '.join(parts)}) AS v) AS ranked WHERE _last = 1")
    wh.execute(f"CREATE OR REPLACE TEMP TABLE _patron_attr_refs AS SELECT DISTINCT t_customer_ref AS customer_ref "
               f"FROM _patron_checked WHERE {good}")
    wh.execute(
        "DELETE FROM customer_attributes AS a WHERE a.source = ? "
        "AND a.customer_ref IN (SELECT customer_ref FROM _patron_attr_refs) AND NOT EXISTS (SELECT 1 FROM "
        "_patron_attrs AS n WHERE n.customer_ref = a.customer_ref AND n.name = a.name AND n.type = a.type "
        "AND n.personal = a.personal AND n.value = a.value)", [name])
    wh.execute(
        f"INSERT INTO customer_attributes (source, {columns}, trust, load_id, loaded_at) "
        f"SELECT ?, {', '.join(f'n.{c}' for c in columns.split(', '))}, ?, ?, now()::TIMESTAMP "
        "FROM _patron_attrs AS n WHERE NOT EXISTS (SELECT 1 FROM customer_attributes AS a "
        "WHERE a.source = ? AND a.customer_ref = n.customer_ref AND a.name = n.name)", [name, trust, load_id, name])
    wh.execute("UPDATE customer_attributes AS a SET customer_id = m.customer_id FROM identity_map AS m "
               "WHERE a.load_id = ? AND a.customer_id IS NULL AND m.system = ? AND m.ref = a.customer_ref",
               [load_id, system])
    for t in ("_patron_attrs", "_patron_attr_refs"):
        wh.execute(f"DROP TABLE IF EXISTS {t}")


def forget_removed_sources(wh: Warehouse, cfg: ProjectConfig) -> list[str]:
    """Drop the attributes of sources patron.yml no longer has: taking a source out of patron.yml
    takes its say on each customer's attributes with it (else a source gone could still be the
    most trusted value, with a trust nobody updates). Its canonical rows are not touched."""
    out = []
    for source, n in wh.rows("SELECT source, count(*) FROM customer_attributes GROUP BY source ORDER BY source"):
        if source not in cfg.sources:
            wh.execute("DELETE FROM customer_attributes WHERE source = ?", [source])
            out.append(f"sources.{source}: {n:,} attribute value{'s' if n != 1 else ''} dropped (the source is no "
                       "longer in patron.yml)")
    return out


def reset_attributes(wh: Warehouse, name: str, src: SourceConfig) -> list[str]:
    """Drop a source's stored values of attributes it no longer declares, or declares with another
    type now (its next load gives each customer's value in the new type: an attribute never holds
    two types, which no slice or model could read as one), and mark each attribute personal as
    patron.yml says now."""
    declared = {n: a.type for n, a in src.attributes.items()}
    out = []
    for attr, kind, n in wh.rows("SELECT name, type, count(*) FROM customer_attributes WHERE source = ? "
                                 "GROUP BY name, type ORDER BY name, type", [name]):
        if declared.get(attr) == kind:
            continue
        wh.execute("DELETE FROM customer_attributes WHERE source = ? AND name = ? AND type = ?", [name, attr, kind])
        why = (f"no longer in sources.{name}.attributes" if attr not in declared else
               f"stored as {kind}, declared {declared[attr]} now: the source's load gives the {declared[attr]} "
               "values")
        out.append(f"sources.{name}.attributes.{attr}: {n:,} value{'s' if n != 1 else ''} dropped ({why})")
    for attr, a in src.attributes.items():
        personal = a.is_personal(attr)
        wh.execute("UPDATE customer_attributes SET personal = ? WHERE source = ? AND name = ? AND personal <> ?",
                   [personal, name, attr, personal])
    return out


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
    refused: list[Refusal] = []
    # the trusted order picks one value where sources disagree on a customer's attribute
    order = cfg.identity.trusted_sources or list(cfg.sources)
    trust = {n: order.index(n) if n in order else len(order) for n in cfg.sources}
    # one transaction for every source; a source that rejects too much is left out and the rest
    # loaded again (DuckDB has no savepoints to undo one source inside the transaction)
    undoes = wh.engine.transactional
    if not undoes:
        # nothing undoes a file loaded before its source is refused: the files of a source that has
        # several are all checked before any is loaded (a single file is refused before it writes)
        refused = _refused_before_loading(wh, cfg, plan)
    while True:
        loads: list[FileLoad] = []
        try:
            with wh.transaction():
                # the stored attributes as patron.yml declares them now, before any file loads
                dropped = forget_removed_sources(wh, cfg)
                for name, src in cfg.sources.items():
                    dropped += reset_attributes(wh, name, src)
                for name, rank in trust.items():  # as patron.yml orders them now
                    wh.execute("UPDATE customer_attributes SET trust = ? WHERE source = ? AND trust <> ?",
                               [rank, name, rank])
                for name, file in plan:
                    if name in {r.source for r in refused}:
                        continue
                    src = cfg.sources[name]
                    share = src.max_reject_share if src.max_reject_share is not None else cfg.ingest.max_reject_share
                    try:
                        loads.append(load_file(wh, name, src, file, cfg.root, cfg.ingest.future_tolerance_days,
                                               progress, share, trust[name]))
                    except TooManyRejected as e:
                        if undoes:
                            raise
                        _drop_working(wh)
                        _refused_while_loading(e.refusal, [f.file for f in loads if f.source == name])
                        refused.append(e.refusal)
        except TooManyRejected as e:
            refused.append(e.refusal)
            continue
        return IngestResult(loads, refused, dropped)


def _refused_before_loading(wh: Warehouse, cfg: ProjectConfig, plan: list[tuple[str, Path]]) -> list[Refusal]:
    """The sources with several files that one of their files would have refused (each file read and
    checked, nothing written)."""
    refused: list[Refusal] = []
    several = {n for n, _ in plan if sum(1 for m, _ in plan if m == n) > 1}
    for name, file in plan:
        if name not in several or name in {r.source for r in refused}:
            continue
        src = cfg.sources[name]
        share = src.max_reject_share if src.max_reject_share is not None else cfg.ingest.max_reject_share
        try:
            load_file(wh, name, src, file, cfg.root, cfg.ingest.future_tolerance_days, None, share, check_only=True)
        except TooManyRejected as e:
            _drop_working(wh)
            refused.append(e.refusal)
    return refused


def _refused_while_loading(refusal: Refusal, loaded: list[str]) -> None:
    """A source refused after some of its files were loaded, on an engine that cannot undo them: only
    when a file changed between its check and its load. Said as it is, not as a clean refusal."""
    if loaded:
        raise PatronError(
            f"{refusal.message()}. Its files {', '.join(loaded)} were loaded before, and this warehouse's engine "
            "has no transactions to undo them (the file changed since it was checked?): fix the file and run "
            "`patron ingest` again")


def ingest_file(
    wh: Warehouse, file: Path, table: str, source: str | None = None, tolerance_days: int = 1,
    fmt: str | None = None, progress: Progress | None = None, root: Path | None = None,
    max_reject_share: float = 1.0,
) -> IngestResult:
    """Load a one-off file whose columns already carry canonical names (nothing of it when it
    rejects more than `max_reject_share` of its rows: the result names the refusal)."""
    if not file.exists():
        raise SourceError("file not found", str(file))
    if file.is_dir():
        raise SourceError("is a folder; load its files one at a time or configure a glob in patron.yml", str(file))
    src = SourceConfig(path=str(file), table=table, format=fmt)
    name = source or f"file:{file.name}"
    try:
        with wh.transaction():
            result = load_file(wh, name, src, file, root or Path.cwd(), tolerance_days, progress, max_reject_share)
    except TooManyRejected as e:
        return IngestResult([], [e.refusal])
    return IngestResult([result])
