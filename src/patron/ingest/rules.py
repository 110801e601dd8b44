"""Mapping and validation of one staged file, compiled to SQL.

Each canonical column gets a text expression (renamed, trimmed, value-mapped) and a typed
expression; each rule is a condition over them with a reason a person can act on. User values
(value maps, constants, date formats) are bound parameters, never spliced into the SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from patron.config import FALSE_WORDS, TRUE_WORDS, SourceConfig
from patron.errors import SourceError
from patron.ingest.shape import compile_expression
from patron.model import (
    EARLIEST,
    MAX_FIELD,
    MAX_NUMBER,
    NOT_FINITE,
    TOO_EARLY,
    Column,
    Table,
    too_far_ahead,
    too_large,
    too_long,
)
from patron.warehouse import QueryFailed, Warehouse

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
REQUIRED = "required value is missing"
ROW = "_patron_r"  # what the checks call a row of the file
ATTRIBUTE = "attr__"  # an attribute's columns in the checked rows: m_attr__<name> (text), t_attr__<name> (typed)


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass
class Params:
    values: list[object] = field(default_factory=list)

    def add(self, value: object) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


@dataclass(frozen=True)
class Rule:
    field: str  # as quarantine names it: a canonical column, or attributes.<name>
    condition: str  # true when the row breaks the rule
    reason: str
    column: str | None = None  # the checked rows' column it is about, where not the field's own

    @property
    def text(self) -> str:
        """The checked rows' text column the rule is about (its value is the one at fault)."""
        return f"m_{self.column or self.field}"


@dataclass(frozen=True)
class Attribute:
    """A customer attribute the source keeps: where it lives in the checked rows, and what it is."""

    name: str
    type: str
    personal: bool

    @property
    def column(self) -> str:
        return ATTRIBUTE + self.name


@dataclass
class Plan:
    """Everything needed to check and load one staged file."""

    table: Table
    text: dict[str, str]  # canonical column -> text expression over the staged row
    typed: dict[str, str]  # canonical column -> typed expression over m_<col>
    rules: list[Rule]
    key: tuple[str, ...]
    params: Params
    ignored: list[str]  # file columns nobody asked for
    keep: str | None = None  # the source's row filter, over the file's columns
    rollup: dict[str, str] | None = None  # canonical column -> how its values are rolled up per key
    expressions: dict[str, str] = field(default_factory=dict)  # patron.yml key -> compiled SQL
    attributes: list[Attribute] = field(default_factory=list)
    attribute_text: dict[str, str] = field(default_factory=dict)  # attribute column -> text expression
    attribute_typed: dict[str, str] = field(default_factory=dict)  # attribute column -> typed expression

    @property
    def checked(self) -> list[str]:
        """Every column of the checked rows, as m_<it> (text) and t_<it> (typed): the canonical ones
        then the attributes'."""
        return [*self.text, *self.attribute_text]

    def check_expressions(self, wh: Warehouse, rows_sql: str, file: str) -> None:
        """Have the engine bind each expression over the file's rows (reading none): a function
        given text where it wants a number fails here, named by its key, not mid-load."""
        if not self.expressions:
            return
        try:  # all at once (each try reads the file's start); one by one only to name the culprit
            wh.engine.columns_of(f"SELECT {', '.join(self.expressions.values())} FROM ({rows_sql}) AS {ROW} LIMIT 0")
            return
        except QueryFailed:
            pass
        for key, sql in self.expressions.items():
            try:
                wh.engine.columns_of(f"SELECT {sql} FROM ({rows_sql}) AS {ROW} LIMIT 0")
            except QueryFailed as e:
                first = str(e).splitlines()[0].split("Error: ", 1)[-1]
                raise SourceError(f"{key}: the engine cannot evaluate it: {first} (the file's values are text: "
                                  "CAST(column AS INTEGER), DOUBLE or DATE where a function needs another type)",
                                  file) from None

    def checked_sql(self, rows_sql: str, row_number: str | None = None, raw: str | None = None) -> str:
        """m_<col> (text) and t_<col> (typed) for every mapped column of the rows `rows_sql` gives
        (named ROW); with `row_number` (an expression over those rows) also _row; with `raw` (the
        engine's expression for the whole row of ROW as one value), _raw: the row as it was read;
        with a filter, _skip: the row is filtered out."""
        texts = ", ".join(f"{expr} AS m_{c}" for c, expr in (self.text | self.attribute_text).items())
        typed = ", ".join(f"{expr} AS t_{c}" for c, expr in (self.typed | self.attribute_typed).items())
        mcols = ", ".join(f"m_{c}" for c in self.checked)
        row = f"{row_number} AS _row, " if row_number else ""
        skip = f", NOT COALESCE(({self.keep}), false) AS _skip" if self.keep else ""
        whole = f", {raw} AS _raw" if raw else ""
        return (
            f"SELECT {'_row, ' if row else ''}{mcols}{', _raw' if raw else ''}{', _skip' if skip else ''}, {typed} "
            f"FROM (SELECT {row}{texts}{whole}{skip} FROM ({rows_sql}) {ROW})"
        )


def _text_expr(col: Column, source_col: str | None, src: SourceConfig, params: Params,
               computed: str | None = None) -> str:
    if col.name in src.constants:
        return f"CAST({params.add(src.constants[col.name])} AS VARCHAR)"
    if computed is None and source_col is None:
        return "CAST(NULL AS VARCHAR)"
    value = f"({computed})" if computed is not None else ident(source_col)
    expr = f"NULLIF(trim(CAST({value} AS VARCHAR)), '')"
    mapping = src.values.get(col.name)
    if mapping:
        whens = " ".join(f"WHEN {params.add(k)} THEN {params.add(v)}" for k, v in mapping.items())
        expr = f"(CASE {expr} {whens} ELSE {expr} END)"
    if col.type in ("email", "enum"):
        expr = f"lower({expr})"
    if col.type == "domain":  # https://www.Acme.com/about -> acme.com
        expr = f"nullif(split_part(regexp_replace(lower({expr}), '^([a-z]+://)?(www\\.)?', ''), '/', 1), '')"
    return expr


def _typed_expr(col: Column, src: SourceConfig, params: Params) -> str:
    m = f"m_{col.name}"
    if col.type in ("text", "email", "enum", "domain"):
        return m
    if col.type == "int":
        num = f"TRY_CAST({m} AS DOUBLE)"
        return f"CASE WHEN {num} = round({num}) THEN TRY_CAST({num} AS BIGINT) END"
    if col.type == "float":
        return f"TRY_CAST({m} AS DOUBLE)"
    iso = f"(TRY_CAST({m} AS TIMESTAMPTZ) AT TIME ZONE 'UTC')"
    parsed = []
    for i, fmt in enumerate(src.date_format):
        p = f"try_strptime({m}, {params.add(fmt)})"
        p = f"({p} AT TIME ZONE 'UTC')" if "%z" in fmt or "%Z" in fmt else p
        if i < len(src.date_format) - 1:
            # of several formats, one that reads 01/01/23 as the year 1 gives way to the next
            p = f"(CASE WHEN {p} >= TIMESTAMP '{EARLIEST.isoformat()}' THEN {p} END)"
        parsed.append(p)
    ts = f"COALESCE({', '.join([*parsed, iso])})" if parsed else iso
    if col.type == "date":
        # a plain date never needs a time zone; only fall back to the timestamp parse
        return f"COALESCE({'' if parsed else f'TRY_CAST({m} AS DATE), '}CAST({ts} AS DATE))"
    return ts


def _type_reason(col: Column, src: SourceConfig) -> str:
    if col.type == "int":
        return "not a whole number"
    if col.type == "float":
        return "not a number"
    formats = " or ".join(src.date_format)
    kind = "date" if col.type == "date" else "date and time"
    hint = f" in format {formats} or ISO 8601" if formats else " (ISO 8601 expected, e.g. 2024-03-31)"
    return f"not a {kind}{hint}"


def _number_rules(where: str, m: str, t: str, kind: str, reason: str, bound: float,
                  column: str | None = None) -> list[Rule]:
    """A number's rules: readable as its type, finite, and within `bound` either way. A bad value is
    named for what it is: infinity, NaN or 1e300 is not "not a whole number" (the engine reads them
    all as doubles, and they would break every sum and JSON answer after)."""
    b = f"{bound:.0f}"
    if kind == "float":  # the typed value is the double itself
        return [Rule(where, f"{m} IS NOT NULL AND {t} IS NULL", reason, column),
                Rule(where, f"NOT isfinite({t})", NOT_FINITE, column),
                Rule(where, f"isfinite({t}) AND abs({t}) > {b}", too_large(bound), column)]
    # a whole number's typed value is empty when the text is no whole number or too large for one:
    # only then is the text read again as a double, to tell which
    num = f"TRY_CAST({m} AS DOUBLE)"
    return [Rule(where, f"CASE WHEN {m} IS NOT NULL AND {t} IS NULL THEN NOT COALESCE(NOT isfinite({num}) "
                        f"OR abs({num}) > {b}, false) ELSE false END", reason, column),
            Rule(where, f"CASE WHEN {m} IS NOT NULL AND {t} IS NULL THEN NOT isfinite({num}) ELSE false END",
                 NOT_FINITE, column),
            Rule(where, f"CASE WHEN {t} IS NULL THEN isfinite({num}) AND abs({num}) > {b} "
                        f"ELSE {t} > {b} OR {t} < -{b} END", too_large(bound), column)]


def plan_load(
    table: Table, src: SourceConfig, file_columns: list[str], file: str, tolerance_days: int, name: str = "",
) -> Plan:
    """Decide where each canonical column comes from and which rules each row must keep."""
    params = Params()
    present = set(file_columns)
    mapped = dict(src.columns)
    if src.customer_ref:
        mapped["customer_ref"] = src.customer_ref
    missing = [f"{s!r} (for {c})" for c, s in mapped.items() if s not in present]
    missing += [f"{a.column!r} (for attributes.{n})" for n, a in src.attributes.items()
                if a.column is not None and a.column not in present]
    if missing:
        raise SourceError(
            f"column{'s' if len(missing) > 1 else ''} {', '.join(missing)} not in the file; "
            f"its columns are: {', '.join(file_columns)}",
            file,
        )
    at = f"sources.{name}" if name else "source"
    computed = {c: compile_expression(e, file_columns, src.snapshot_date, f"{at}.expressions.{c}", file)
                for c, e in src.expressions.items()}
    derived = {n: compile_expression(a.expression, file_columns, src.snapshot_date,
                                     f"{at}.attributes.{n}.expression", file)
               for n, a in src.attributes.items() if a.expression is not None}
    keep = compile_expression(src.filter, file_columns, src.snapshot_date, f"{at}.filter", file) \
        if src.filter is not None else None
    source_of: dict[str, str | None] = {}
    for col in table.columns:
        if col.name == "customer_id":
            continue  # the master id is identity resolution's to set
        if col.name in computed:
            source_of[col.name] = f"= {src.expressions[col.name]}"
            continue
        source_of[col.name] = mapped.get(col.name, col.name if col.name in present else None)
    key = src.key_columns()
    required = {c.name for c in table.columns if c.required} | set(key)
    absent = [
        c for c in table.columns
        if c.name in required and source_of.get(c.name) is None and c.name not in src.constants
    ]
    if absent:
        names = ", ".join(c.name for c in absent)
        raise SourceError(
            f"no column for required field{'s' if len(absent) > 1 else ''} {names}; "
            f"the file's columns are: {', '.join(file_columns)} (map them under columns: in patron.yml)",
            file,
        )
    # an expression that fails on one row's values (a date out of range) is empty there, and the
    # row is quarantined for it (below); it must not fail the whole file
    text = {c.name: _text_expr(c, source_of[c.name], src, params, _tried(computed[c.name]) if c.name in computed
                               else None)
            for c in table.columns if c.name in source_of}
    typed = {c.name: _typed_expr(c, src, params) for c in table.columns if c.name in source_of}
    used = {s for s in source_of.values() if s} | {a.column for a in src.attributes.values() if a.column} \
        | _referenced([*computed.values(), *derived.values(), keep or ""], file_columns)
    ignored = [c for c in file_columns if c not in used]
    rules = _rules(table, src, source_of, required, tolerance_days, params)
    checks = {f"{at}.expressions.{c}": sql for c, sql in computed.items()}
    checks |= {f"{at}.attributes.{n}.expression": sql for n, sql in derived.items()}
    if keep is not None:
        checks[f"{at}.filter"] = keep
    plan = Plan(table, text, typed, rules, key, params, ignored, keep, src.rollup, checks)
    for n, a in src.attributes.items():
        _plan_attribute(plan, Attribute(n, a.type, a.is_personal(n)),
                        src, a.column, _tried(derived[n]) if n in derived else None, a.values, tolerance_days)
    for c, sql in computed.items():
        if c in text and c not in src.constants:
            _plan_failure(plan, c, None, f"expressions.{c}", src.expressions[c], sql)
    for n, sql in derived.items():
        _plan_failure(plan, f"attributes.{n}", ATTRIBUTE + n, f"attributes.{n}.expression",
                      src.attributes[n].expression or "", sql)
    return plan


FAILED = "fail__"  # a checked column that says an expression failed on the row: m_fail__<column>


def _tried(sql: str) -> str:
    """The expression, empty where it fails on a row's values instead of failing the read."""
    return f"TRY({sql})"


def _plan_failure(plan: Plan, where: str, column: str | None, key: str, given: str, sql: str) -> None:
    """A rule that quarantines a row whose values the expression fails on (a date out of range, a
    number too large), naming the expression; the rest of the file loads. `x IS NULL` is never
    empty, so TRY of it is empty only where evaluating x failed."""
    flag = FAILED + (column or where)
    plan.attribute_text[flag] = f"CASE WHEN TRY(({sql}) IS NULL) IS NULL THEN 'fails' END"
    plan.attribute_typed[flag] = f"m_{flag}"
    if column is None:  # its value is empty because it failed: that is the one reason to give
        plan.rules = [replace(r, condition=f"{r.condition} AND m_{flag} IS NULL")
                      if r.field == where and r.reason == REQUIRED else r for r in plan.rules]
    shown = given if len(given) <= 60 else given[:57] + "..."
    plan.rules.append(Rule(where, f"m_{flag} IS NOT NULL", f"{key} ({shown}) cannot be computed from this "
                           "row's values (a value out of range, or not of the kind it needs)", column))


def _plan_attribute(plan: Plan, attr: Attribute, src: SourceConfig, column: str | None, computed: str | None,
                    mapping: dict[str, str], tolerance_days: int) -> None:
    """An attribute's text and typed columns, and the rules its type makes: a value it cannot read
    rejects the row, named as attributes.<name>, as a canonical column's would; so do the bounds
    every other value keeps (a number finite and of a plausible size, a date neither before 1900
    nor further ahead than ingest.future_tolerance_days, a text no longer than any other field's)."""
    params = plan.params
    value = f"({computed})" if computed is not None else ident(column or "")
    text = f"NULLIF(trim(CAST({value} AS VARCHAR)), '')"
    if mapping:
        whens = " ".join(f"WHEN {params.add(k)} THEN {params.add(v)}" for k, v in mapping.items())
        text = f"(CASE {text} {whens} ELSE {text} END)"
    m, t = f"m_{attr.column}", f"t_{attr.column}"
    if attr.type == "bool":
        number = f"TRY_CAST({m} AS DOUBLE)"
        words = {w: ", ".join(literal(x) for x in ws) for w, ws in (("yes", TRUE_WORDS), ("no", FALSE_WORDS))}
        typed = (f"CASE WHEN lower({m}) IN ({words['yes']}) OR {number} = 1 THEN true "
                 f"WHEN lower({m}) IN ({words['no']}) OR {number} = 0 THEN false END")
        reason = "not true or false (true/false, yes/no, y/n or 1/0)"
    elif attr.type == "text":
        typed, reason = m, ""
    else:
        as_column = Column(attr.column, attr.type, "")  # type: ignore[arg-type]
        typed, reason = _typed_expr(as_column, src, params), _type_reason(as_column, src)
    plan.attributes.append(attr)
    plan.attribute_text[attr.column] = text
    plan.attribute_typed[attr.column] = typed
    where = f"attributes.{attr.name}"
    if attr.type in ("int", "float"):
        plan.rules += _number_rules(where, m, t, attr.type, reason, MAX_NUMBER, attr.column)
    elif reason:
        plan.rules.append(Rule(where, f"{m} IS NOT NULL AND {t} IS NULL", reason, attr.column))
    if attr.type == "text":
        plan.rules.append(Rule(where, f"length({m}) > {MAX_FIELD}", too_long(MAX_FIELD), attr.column))
    if attr.type == "date":
        plan.rules.append(Rule(where, f"{t} < DATE '{EARLIEST.isoformat()}'", TOO_EARLY, attr.column))
        plan.rules.append(Rule(where, f"{t} > current_date + to_days({int(tolerance_days)})",
                               too_far_ahead(tolerance_days), attr.column))


def _referenced(sqls: list[str], file_columns: list[str]) -> set[str]:
    """The file's columns that compiled expressions read (they are quoted there, as in the file)."""
    return {c for c in file_columns if any(ident(c) in sql for sql in sqls)}


def _rules(
    table: Table, src: SourceConfig, source_of: dict[str, str | None], required: set[str],
    tolerance_days: int, params: Params,
) -> list[Rule]:
    rules: list[Rule] = []
    tol = int(tolerance_days)  # a validated integer, not user text; rules carry no parameters
    for col in table.columns:
        name = col.name
        if name not in source_of:
            continue
        m, t = f"m_{name}", f"t_{name}"
        if name in required:
            rules.append(Rule(name, f"{m} IS NULL", REQUIRED))
        if source_of[name] is None and name not in src.constants:
            continue
        if col.type in ("int", "float"):
            rules += _number_rules(name, m, t, col.type, _type_reason(col, src), col.magnitude)
        if col.type in ("date", "timestamp"):
            rules.append(Rule(name, f"{m} IS NOT NULL AND {t} IS NULL", _type_reason(col, src)))
        if col.type == "email":
            rules.append(Rule(name, f"NOT regexp_full_match({m}, {literal(EMAIL_PATTERN)})", "not an email address"))
        if col.allowed:
            allowed = ", ".join(literal(a) for a in col.allowed)
            rules.append(Rule(name, f"{m} NOT IN ({allowed})", f"must be one of: {', '.join(col.allowed)}"))
        finite = f"isfinite({t}) AND " if col.type == "float" else ""  # -inf is not finite, not "below 0"
        if col.min is not None:
            rules.append(Rule(name, f"{finite}{t} < {col.min}", f"must be at least {col.min:g}"))
        if col.max is not None:
            rules.append(Rule(name, f"{finite}{t} > {col.max}", f"must be at most {col.max:g}"))
        if col.type in ("date", "timestamp"):
            rules.append(Rule(name, f"{t} < DATE '{EARLIEST.isoformat()}'", TOO_EARLY))
            if not col.future_ok:
                now = "current_date" if col.type == "date" else "now()::TIMESTAMP"
                rules.append(Rule(name, f"{t} > {now} + to_days({tol})", too_far_ahead(tolerance_days)))
    for later, earlier in table.order_checks:
        if later in source_of and earlier in source_of:
            rules.append(Rule(later, f"t_{later} < t_{earlier}", f"before {earlier}"))
    if table.any_of and all(c in source_of for c in table.any_of):
        cond = " AND ".join(f"m_{c} IS NULL" for c in table.any_of)
        rules.append(Rule(table.any_of[0], cond, f"needs at least one of: {', '.join(table.any_of)}"))
    for name, (by, ranges) in table.ranges_by.items():
        if name in source_of and by in source_of:
            for value, (lo, hi) in ranges.items():
                rules.append(Rule(
                    name, f"m_{by} = {literal(value)} AND (t_{name} < {lo} OR t_{name} > {hi})",
                    f"{value} score must be {lo:g}-{hi:g}",
                ))
    return rules
