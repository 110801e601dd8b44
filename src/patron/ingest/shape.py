"""A source's computed columns and row filter, compiled to SQL over the file's raw text columns.

Files are read with every value as text, so `Quantity * UnitPrice` would be text times text. Where
the expression itself says a value is a number (arithmetic with another column or a number, a
comparison with a number, an interval's count), the column is read as a number; anywhere else
the user casts (`CAST(tenure AS INTEGER)`). A value that is not a number becomes empty, and the
canonical column's rules then say so for that row.
"""

from __future__ import annotations

from datetime import date

import sqlglot
from sqlglot import exp

from patron.errors import SourceError
from patron.expressions import refused

_ARITHMETIC = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.IntDiv)
_COMPARISON = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)
SNAPSHOT = "snapshot_date"


def _is_number(node: exp.Expression) -> bool:
    node = node.unnest()
    if isinstance(node, exp.Neg):
        return _is_number(node.this)
    return isinstance(node, exp.Literal) and not node.is_string


def _is_temporal(node: exp.Expression) -> bool:
    node = node.unnest()
    if isinstance(node, exp.Interval):
        return True
    if isinstance(node, exp.Cast | exp.TryCast):
        return node.to.is_type(*exp.DataType.TEMPORAL_TYPES)
    return isinstance(node, exp.Column) and node.name.lower() == SNAPSHOT


def _as(node: exp.Expression, kind: str) -> exp.Expression:
    """TRY_CAST(NULLIF(trim(col), '') AS kind)."""
    text = exp.Nullif(this=exp.Trim(this=node.copy()), expression=exp.Literal.string(""))
    return exp.TryCast(this=text, to=exp.DataType.build(kind))


def _numbers(tree: exp.Expression) -> exp.Expression:
    def visit(node: exp.Expression) -> exp.Expression:
        if isinstance(node, _ARITHMETIC):
            left, right = node.left, node.right
            if not (_is_temporal(left) or _is_temporal(right)):
                for side in ("this", "expression"):
                    child = node.args[side]
                    if isinstance(child, exp.Column) and child.name.lower() != SNAPSHOT:
                        node.set(side, _as(child, "DOUBLE"))
        elif isinstance(node, _COMPARISON):
            for side, other in (("this", node.right), ("expression", node.left)):
                child = node.args[side]
                if isinstance(child, exp.Column) and _is_number(other):
                    node.set(side, _as(child, "DOUBLE"))
        elif isinstance(node, exp.Neg) and isinstance(node.this, exp.Column):
            node.set("this", _as(node.this, "DOUBLE"))
        elif isinstance(node, exp.Interval):
            inner = node.this.unnest() if node.this is not None else None
            if isinstance(inner, exp.Column):
                node.set("this", _as(inner, "INTEGER"))
        return node

    return tree.transform(visit, copy=True)


def compile_expression(sql: str, file_columns: list[str], snapshot: date | None, key: str, file: str) -> str:
    """DuckDB SQL for `sql` over the file's columns; a problem raises SourceError naming `key`."""
    problems = refused(sql, None, aggregates=False, where="in a source")
    if problems:
        raise SourceError(f"{key}: {'; '.join(problems)}", file)
    tree = sqlglot.parse_one(sql, read="duckdb")
    exact = {c.lower(): c for c in file_columns}
    unknown = []
    for column in list(tree.find_all(exp.Column)):
        name = column.name
        if name.lower() in exact:
            column.set("this", exp.to_identifier(exact[name.lower()], quoted=True))
        elif name.lower() == SNAPSHOT and snapshot is not None:
            day = exp.Cast(this=exp.Literal.string(snapshot.isoformat()), to=exp.DataType.build("DATE"))
            if column is tree:  # the whole expression is the day: nothing holds it to replace it in
                tree = day
            else:
                column.replace(day)
        elif name.lower() == SNAPSHOT:
            unknown.append(f"{name!r} needs snapshot_date: set for this source")
        else:
            unknown.append(f"{name!r} is not a column of the file")
    if unknown:
        raise SourceError(f"{key}: {'; '.join(unknown)}; its columns are: {', '.join(file_columns)}", file)
    return _numbers(tree).sql(dialect="duckdb")
