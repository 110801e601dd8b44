"""What an expression in patron.yml may be (a metric's, or a source's computed column or row
filter): an expression over the columns it may read, with scalar (and, for metrics, aggregate)
functions, and nothing else.

Expressions are configuration, and configuration must not reach the machine or the warehouse's
own tables: a subquery could read `api_keys`, a table function (`read_text`, `read_csv`, `glob`)
the file system. So each expression is parsed with SQLGlot and every node is checked against an
allow-list; anything not on it is refused, named, before any SQL runs.
"""

from __future__ import annotations

import logging
import re

import sqlglot
from sqlglot import exp

# SQLGlot warns on the terminal when it falls back to reading text as a command; patron names the
# problem in its own words instead
logging.getLogger("sqlglot").setLevel(logging.ERROR)

# Node types an expression may hold: values, columns, operators, CASE, casts and the functions below.
_NODES: tuple[type[exp.Expression], ...] = (
    exp.Column, exp.Identifier, exp.Literal, exp.Boolean, exp.Null, exp.Paren, exp.Neg, exp.Not,
    exp.Binary, exp.Predicate, exp.Between, exp.In, exp.Is, exp.Case, exp.If, exp.Cast, exp.TryCast,
    exp.DataType, exp.DataTypeParam, exp.Interval, exp.Var, exp.Tuple, exp.Star,
)
# Functions by SQLGlot class: arithmetic, text, dates, null handling...
_SCALARS: tuple[type[exp.Expression], ...] = (
    exp.Abs, exp.Round, exp.Floor, exp.Ceil, exp.Ln, exp.Log, exp.Exp, exp.Sqrt, exp.Pow, exp.Sign,
    exp.Greatest, exp.Least, exp.Coalesce, exp.Nullif, exp.Lower, exp.Upper, exp.Length, exp.Substring,
    exp.Trim, exp.Concat, exp.ConcatWs, exp.StrPosition, exp.StartsWith, exp.DateTrunc, exp.DateDiff,
    exp.DateAdd, exp.DateSub, exp.Extract, exp.TimestampTrunc, exp.TimestampDiff, exp.Year, exp.Month,
    exp.Day, exp.DayOfWeek, exp.RegexpReplace, exp.RegexpLike, exp.RegexpExtract, exp.Split, exp.SplitPart,
    exp.StrToTime, exp.StrToDate, exp.Replace, exp.TimeToUnix, exp.TimeToStr, exp.LastDay, exp.DateFromParts,
    exp.Left, exp.Right,
)
# ...and aggregates, which only a metric may use: a source's expressions are about one row.
_AGGREGATES: tuple[type[exp.Expression], ...] = (
    exp.Sum, exp.Avg, exp.Count, exp.CountIf, exp.Min, exp.Max, exp.Median,
    exp.Quantile, exp.PercentileCont, exp.PercentileDisc, exp.Stddev, exp.StddevPop, exp.StddevSamp,
    exp.Variance, exp.VariancePop, exp.Filter, exp.Distinct,
)
# Functions SQLGlot knows only by name (exp.Anonymous) that are plain scalars in DuckDB.
_NAMED = frozenset({"epoch", "date_part", "datediff", "date_diff", "isoyear", "week", "quarter", "dayofyear",
                    "to_days", "to_hours", "to_minutes", "to_seconds", "regexp_matches", "contains", "ends_with",
                    # lpad and rpad are left out: a width of a billion builds a text of a billion characters
                    "left", "right", "strip_accents", "nullif", "ifnull", "round_even", "to_weeks",
                    "to_months", "to_years", "make_date", "last_day", "strftime", "try_strptime", "regexp_full_match"})


def refused(sql: str, columns: set[str] | frozenset[str] | None, aggregates: bool = True,
            where: str = "in a metric") -> list[str]:
    """What in `sql` is not allowed, each named once (the outermost of a refused part); empty
    when it may run. `columns` are the names it may use (None: names are checked elsewhere);
    `where` ends each message ("in a metric")."""
    try:
        statements = sqlglot.parse(sql, read="duckdb")
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError) as e:
        return [f"cannot parse {sql!r}: {_plain(str(e).splitlines()[0])}"]
    except RecursionError:
        return [f"{sql[:40]!r}...: nested too deeply"]
    if len(statements) != 1 or statements[0] is None:
        return [f"{sql!r} holds {len(statements)} statements; an expression is one"]
    functions = _SCALARS + _AGGREGATES if aggregates else _SCALARS
    out = _walk(statements[0], columns, functions, where)
    if out:
        return out
    # What runs is SQLGlot's rendering of the tree, not the text given. A name SQLGlot keeps as
    # it is (a quoted type, a date part) could render into SQL that parses as something else; so
    # the rendering must parse back to the same rendering, and pass the same checks.
    try:
        rendered = statements[0].sql(dialect="duckdb")
        again = sqlglot.parse(rendered, read="duckdb")
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError, RecursionError):
        return [f"{sql!r} does not read back as one expression"]
    if len(again) != 1 or again[0] is None or again[0].sql(dialect="duckdb") != rendered:
        return [f"{sql!r} does not read back as one expression"]
    return _walk(again[0], columns, functions, where)


def columns_read(sql: str) -> set[str]:
    """The names of the columns an expression reads (empty where it does not parse: `refused` says why)."""
    try:
        statements = sqlglot.parse(sql, read="duckdb")
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError, RecursionError):
        return set()
    return {c.name for tree in statements if tree is not None for c in tree.find_all(exp.Column)
            if not isinstance(c.this, exp.Star) and c.name}


def _walk(tree: exp.Expression, columns: set[str] | frozenset[str] | None,
          functions: tuple[type[exp.Expression], ...], where: str) -> list[str]:
    out: list[str] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        problem = _problem(node, columns, functions, where)
        if problem:
            if problem not in out:
                out.append(problem)
            continue  # what lies inside a refused part is refused with it
        stack.extend(node.iter_expressions())
    return out


def _plain(message: str) -> str:
    """SQLGlot's message in the user's terms: where, and what is missing, not its class names."""
    where = re.search(r"Line (\d+), Col: (\d+)", message)
    at = f" at column {where.group(2)}" if where else ""
    if message.startswith("Required keyword"):
        return f"incomplete{at}: an operator, CASE or function is missing a part"
    if message.startswith("Error tokenizing"):
        return "a quote is never closed"
    if message.startswith("Invalid expression / Unexpected token"):
        return f"unexpected word{at} (a missing operator or comma?)"
    return re.sub(r"\. Line \d+, Col: \d+\.?", at, message)


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _counted(star: exp.Star) -> bool:
    """Whether a * is count(*)'s (or count(DISTINCT *)'s): every other * means every column."""
    parent = star.parent
    if isinstance(parent, exp.Distinct):
        parent = parent.parent
    return isinstance(parent, exp.Count)


def _problem(node: exp.Expression, columns: set[str] | frozenset[str] | None,
             functions: tuple[type[exp.Expression], ...], where: str) -> str | None:
    # names that are not columns are rendered as written: only plain words and built-in types
    if isinstance(node, exp.DataType) and node.this == exp.DataType.Type.USERDEFINED:
        return f"type {node.sql(dialect='duckdb')[:40]!r} is not a built-in type; cast to INTEGER, DOUBLE, " \
               "VARCHAR, DATE, TIMESTAMP..."
    if isinstance(node, exp.Var) and not _WORD.fullmatch(str(node.this)):
        return f"{str(node.this)[:40]!r} is not a word (a date part or unit is one word, unquoted)"
    if isinstance(node, exp.DataTypeParam) and not (isinstance(node.this, exp.Literal) and not node.this.is_string):
        return "a type's size is a number"
    if isinstance(node, exp.Identifier) and not isinstance(node.parent, exp.Column) and node.quoted:
        return f"{node.name[:40]!r}: only a column's name may be quoted"
    if isinstance(node, exp.Star) and not _counted(node):
        return "'*' (every column) is not one value; name the column(s) it reads (only count(*) takes *)"
    if isinstance(node, exp.Column):
        if node.table:
            return f"{node.sql(dialect='duckdb')!r}: a column is named alone, not with a table"
        if columns is not None and node.name not in columns and not isinstance(node.this, exp.Star):
            return f"{node.name!r} is not a column it may read"
        return None
    if isinstance(node, exp.Anonymous):
        name = node.name.lower()
        return None if name in _NAMED else f"function {node.name}() is not allowed {where}"
    if isinstance(node, exp.Query | exp.Subquery | exp.Table | exp.Command):
        return f"{type(node).__name__.lower()} ({node.sql(dialect='duckdb')[:40]!r}) is not allowed {where}"
    if isinstance(node, exp.Func) and not isinstance(node, functions + _NODES):
        # the name as the engine spells it (random(), not sqlglot's own RAND)
        said = node.sql(dialect="duckdb").split("(", 1)[0]
        return f"function {said if said.isidentifier() else node.sql_name()}() is not allowed {where}"
    if not isinstance(node, _NODES + functions + (exp.Func,)):
        return f"{type(node).__name__.lower()} ({node.sql(dialect='duckdb')[:40]!r}) is not allowed {where}"
    return None
