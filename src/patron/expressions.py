"""What an expression in patron.yml may be (a metric's, or a source's computed column or row
filter): an expression over the columns it may read, with scalar (and, for metrics, aggregate)
functions, and nothing else.

Expressions are configuration, and configuration must not reach the machine or the warehouse's
own tables: a subquery could read `api_keys`, a table function (`read_text`, `read_csv`, `glob`)
the file system. So each expression is parsed with SQLGlot and every node is checked against an
allow-list; anything not on it is refused, named, before any SQL runs.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp

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
    exp.StrToTime, exp.StrToDate, exp.Replace,
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
                    "left", "right", "lpad", "rpad", "strip_accents", "nullif", "ifnull", "round_even"})


def refused(sql: str, columns: set[str] | frozenset[str] | None, aggregates: bool = True,
            where: str = "in a metric") -> list[str]:
    """What in `sql` is not allowed, each named once (the outermost of a refused part); empty
    when it may run. `columns` are the names it may use (None: names are checked elsewhere);
    `where` ends each message ("in a metric")."""
    try:
        statements = sqlglot.parse(sql, read="duckdb")
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError) as e:
        return [f"cannot parse {sql!r}: {str(e).splitlines()[0]}"]
    if len(statements) != 1 or statements[0] is None:
        return [f"{sql!r} holds {len(statements)} statements; an expression is one"]
    out: list[str] = []
    stack = [statements[0]]
    while stack:
        node = stack.pop()
        problem = _problem(node, columns, _SCALARS + _AGGREGATES if aggregates else _SCALARS, where)
        if problem:
            if problem not in out:
                out.append(problem)
            continue  # what lies inside a refused part is refused with it
        stack.extend(node.iter_expressions())
    return out


def _problem(node: exp.Expression, columns: set[str] | frozenset[str] | None,
             functions: tuple[type[exp.Expression], ...], where: str) -> str | None:
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
        return f"function {node.sql_name()}() is not allowed {where}"
    if not isinstance(node, _NODES + functions + (exp.Func,)):
        return f"{type(node).__name__.lower()} ({node.sql(dialect='duckdb')[:40]!r}) is not allowed {where}"
    return None
