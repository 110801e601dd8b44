"""Whether a play's rule can run: every problem named, before anything is written.

A condition is configuration: it is parsed and allow-listed (patron.expressions), may read only
its subject's fields, must be a condition (true or false, not a number or a text), and may not
compare a field with a value of another kind (`score = 'high'`), which an engine would either
refuse at run time or quietly read as never true.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING

import sqlglot
from sqlglot import exp

from patron.act.signals import ATTRIBUTE_TYPES, field_types
from patron.expressions import columns_read, refused

if TYPE_CHECKING:
    from patron.config import PlayConfig, ProjectConfig
    from patron.warehouse import Warehouse

_NUMBERS = {"BIGINT", "DOUBLE", "INTEGER", "INT", "FLOAT", "DECIMAL"}
_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)
MAX_CONSTANTS = 50  # constant parts of one condition evaluated by the engine


def fields_of(play: PlayConfig, attributes: Mapping[str, str] | None = None) -> dict[str, str]:
    """The fields a play's condition may read: its subject's, and for a customer its attributes."""
    out = field_types(play.subject)
    if play.subject == "customer":
        out.update(attributes or {})
    return out


def play_problems(name: str, play: PlayConfig, attributes: Mapping[str, str] | None = None) -> list[str]:
    """Every problem of one play, each starting `plays.NAME`."""
    at = f"plays.{name}"
    fields = fields_of(play, attributes)
    out = [f"{at}.when: {_named(p, play.subject, fields)}"
           for p in refused(play.when, set(fields), aggregates=False, where="in a play")]
    if not out:
        out += [f"{at}.when: {p}" for p in _size_problems(play.when) + _type_problems(play.when, fields)]
    if not out and not columns_read(play.when):
        out.append(f"{at}.when: reads no field, so it holds for every {play.subject} or for none; compare a "
                   "field, e.g. " + {"customer": "arr >= 10000", "response": "score <= 6",
                                     "alert": "ratio >= 2"}[play.subject])
    if play.owner_from is not None:
        if play.owner_from not in fields:
            out.append(f"{at}.owner_from: {play.owner_from!r} is not a field of a {play.subject}; "
                       f"its text fields are: {', '.join(n for n, t in fields.items() if t == 'VARCHAR')}")
        elif fields[play.owner_from] != "VARCHAR":
            out.append(f"{at}.owner_from: {play.owner_from!r} is a {_kind(fields[play.owner_from])}, not a "
                       "person's name")
    if play.holdout > 0 and play.subject == "alert":
        out.append(f"{at}.holdout: an alert is about a theme or channel, not a customer; a holdout is drawn "
                   "among customers")
    return out


MAX_DEPTH = 6  # functions within functions in one condition
_GROWING = (exp.Replace, exp.RegexpReplace, exp.Concat, exp.ConcatWs)  # text that can grow with each call


def _size_problems(sql: str) -> list[str]:
    """A condition runs on every customer at every run: one whose work grows without bound (a replace
    within a replace multiplies a text's length each time) is refused before it can hold the engine."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    out = []
    deepest = max((sum(1 for p in _ancestors(n) if isinstance(p, exp.Func)) for n in tree.walk()
                   if isinstance(n, exp.Func)), default=0) + 1
    if deepest > MAX_DEPTH:
        out.append(f"functions are nested {deepest} deep; at most {MAX_DEPTH}")
    if any(isinstance(n, _GROWING) and any(isinstance(p, _GROWING) for p in _ancestors(n)) for n in tree.walk()):
        out.append("a text-building function (replace, regexp_replace, concat) inside another can grow a text "
                   "without bound; use one")
    return out


def _ancestors(node: exp.Expression) -> list[exp.Expression]:
    out, at = [], node.parent
    while at is not None:
        out.append(at)
        at = at.parent
    return out


def _named(problem: str, subject: str, fields: Mapping[str, str]) -> str:
    """refused()'s words for an unknown name, in a play's terms, with the field a typo meant."""
    import difflib

    end = " is not a column it may read"
    if not problem.endswith(end):
        return problem
    name = problem.removesuffix(end).strip("'\"")
    if name.lower() in ("yes", "no", "on", "off", "y", "n"):
        return (f"{name!r} is not a field of a {subject}; a yes/no field is compared with true or false "
                f"(or read alone: `active`, `NOT active`), and a text value is quoted: '{name}'")
    near = difflib.get_close_matches(name, list(fields), n=1, cutoff=0.6)
    return (f"{name!r} is not a field of a {subject}" + (f" (did you mean {near[0]!r}?)" if near else "") +
            "; `patron actions fields` lists them")


def problems(plays: Mapping[str, PlayConfig], attributes: Mapping[str, str] | None = None) -> list[str]:
    return [p for name, play in plays.items() for p in play_problems(name, play, attributes)]


def _kind(sql_type: str) -> str:
    if sql_type in _NUMBERS:
        return "number"
    return {"VARCHAR": "text", "DATE": "date", "BOOLEAN": "yes/no (true or false)"}.get(sql_type, sql_type.lower())


def _type_problems(sql: str, fields: Mapping[str, str]) -> list[str]:
    from sqlglot.optimizer.annotate_types import annotate_types
    from sqlglot.optimizer.qualify import qualify

    schema = {"s": dict(fields)}
    try:
        tree = sqlglot.parse_one(f"SELECT ({sql}) AS v FROM s", read="duckdb")
        typed = annotate_types(qualify(tree, schema=schema, dialect="duckdb"), schema=schema)
    except (sqlglot.errors.SqlglotError, RecursionError):  # refused() has already read it
        return []
    out = []
    result = typed.selects[0].unalias()
    kind = result.type.this if result.type else exp.DataType.Type.UNKNOWN
    if kind not in (exp.DataType.Type.BOOLEAN, exp.DataType.Type.UNKNOWN, exp.DataType.Type.NULL):
        out.append(f"{sql!r} is a {_kind(result.type.sql().upper())}, not a condition; compare it, e.g. "
                   f"{_example(sql, result.type.sql().upper())}")
    for node in typed.find_all(*_COMPARISONS, exp.In, exp.Between):
        column = node.this if isinstance(node.this, exp.Column) else None
        if column is None and isinstance(node, _COMPARISONS) and isinstance(node.expression, exp.Column):
            column = node.expression
        if column is None or column.name not in fields:
            continue
        others = ([node.args.get("low"), node.args.get("high")] if isinstance(node, exp.Between) else
                  node.expressions if isinstance(node, exp.In) else [node.expression, node.this])
        for other in others:
            problem = _mismatch(column.name, fields[column.name], other, fields)
            if problem and problem not in out:
                out.append(problem)
    return out


def _mismatch(name: str, sql_type: str, other: exp.Expression | None, fields: Mapping[str, str]) -> str | None:
    if isinstance(other, exp.Literal) and other.is_string:
        text = other.this
        if sql_type in _NUMBERS:
            try:
                float(text)
            except ValueError:
                return f"{name} is a number; {text!r} is not"
        elif sql_type == "DATE":
            try:
                date.fromisoformat(text)
            except ValueError:
                return f"{name} is a date; {text!r} is not one (YYYY-MM-DD)"
        elif sql_type == "BOOLEAN":
            return f"{name} is yes/no; compare it with true or false, not {text!r}"
    elif isinstance(other, exp.Literal) and sql_type in ("VARCHAR", "DATE", "BOOLEAN"):
        return f"{name} is {'a ' if sql_type != 'BOOLEAN' else ''}{_kind(sql_type)}; {other.this} is a number"
    elif isinstance(other, exp.Column) and other.name in fields and other.name != name:
        a, b = _kind(sql_type), _kind(fields[other.name])
        if a != b:
            return f"{name} is a {a} and {other.name} is a {b}: they cannot be compared"
    return None


def _example(sql: str, sql_type: str) -> str:
    if sql_type in _NUMBERS:
        return f"{sql} > 0"
    if sql_type == "DATE":
        return f"{sql} >= DATE '2026-01-01'"
    return f"{sql} = 'some value'"


def configured_attributes(cfg: ProjectConfig) -> dict[str, str]:
    """The attributes patron.yml's sources keep (personal ones left out) with their engine types,
    for checking plays before any data is loaded."""
    taken = set(field_types("customer"))
    return {name: ATTRIBUTE_TYPES[a.type] for src in cfg.sources.values() for name, a in src.attributes.items()
            if not a.personal and name not in taken}


def engine_problems(wh: Warehouse, plays: Mapping[str, PlayConfig],
                    attributes: Mapping[str, str] | None = None) -> list[str]:
    """What the engine itself refuses in a condition that passed the checks above: a function given
    the wrong kind of value (the condition bound over an empty row of the subject's fields), and a
    constant part it cannot evaluate (`DATE '2020-02-30'`), which the engine skips when the other
    side of a comparison is NULL and so must be evaluated on its own. Nothing is read."""
    out: list[str] = []
    failed: dict[str, str | None] = {}  # each distinct constant's engine message (None: it evaluates)
    for name, play in plays.items():
        if play_problems(name, play, attributes):
            continue
        fields = fields_of(play, attributes)
        row = ", ".join(f'CAST(NULL AS {t}) AS "{f}"' for f, t in fields.items())
        tree = sqlglot.parse_one(play.when, read="duckdb")
        said = set()
        for text in _refused_constants(wh, tree, failed):
            said.add(failed[text])
            out.append(f"plays.{name}.when: {text[:120]} cannot be evaluated: {failed[text]}")
        why = _refusal(wh, f"SELECT COUNT(*) FROM (SELECT {row}) AS s WHERE ({tree.sql(dialect='duckdb')})")
        if why and why not in said:
            out.append(f"plays.{name}.when: the engine cannot run {play.when!r}: {why}")
    return out


def _refused_constants(wh: Warehouse, tree: exp.Expression, seen: dict[str, str | None]) -> list[str]:
    """The parts of a condition that read no column and could fail (casts, typed literals, calls;
    not TRY_CAST, which never does) that the engine refuses, each evaluated on its own, innermost
    first and once (`seen` keeps every answer); a part holding one already refused is not told again."""
    parts = [n for n in tree.walk() if isinstance(n, exp.Func) and not isinstance(n, exp.TryCast)
             and n.find(exp.Column) is None]
    out: list[str] = []
    for text in list(dict.fromkeys(n.sql(dialect="duckdb") for n in reversed(parts)))[:MAX_CONSTANTS]:
        if text not in seen:
            seen[text] = _refusal(wh, f"SELECT {text}")
        if seen[text] and not any(inner in text for inner in out):
            out.append(text)
    return out


def _refusal(wh: Warehouse, sql: str) -> str | None:
    """The first line of the engine's message when it refuses `sql`, else None."""
    from patron.errors import QueryFailed

    try:
        wh.rows(sql)
    except QueryFailed as e:
        return str(e).splitlines()[0][:200]
    return None
