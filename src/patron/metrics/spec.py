"""A metric is data: its definition, the SQL pieces it is made of, its owner and target.

Specs never touch an engine; compile.py turns them into SQL for any dialect.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from importlib import resources
from typing import Literal

import sqlglot
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlglot import exp
from sqlglot.tokens import TokenType

from patron.errors import ConfigError
from patron.expressions import refused
from patron.metrics import orders
from patron.metrics.revenue import COLUMNS, GOLDEN_DIMENSIONS
from patron.model import METRIC_TABLES

Kind = Literal["nps", "share", "mean", "count", "sum", "median", "p90", "revenue", "orders", "formula"]
FACT_KINDS = ("nps", "share", "mean", "count", "sum", "median", "p90")
# kinds whose value is an expression over per-period facts (revenue: monthly, from subscriptions;
# orders: any grain, from orders) rather than over one table's rows
FACTS = {"revenue": COLUMNS, "orders": orders.COLUMNS}
PERIODS = ("day", "week", "month", "quarter", "year")
# dimensions that describe the customer, taken from the golden record through customer_id, and
# the cohort month (the month of the customer's first paid subscription period, or else of its
# first purchase); a metric sliced by these is also sliced by every attribute patron.yml's sources
# keep (see with_attributes)
CUSTOMER_DIMENSIONS = (*GOLDEN_DIMENSIONS, "cohort_month")


class MetricSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)  # a target of NaN is no target

    name: str
    label: str
    definition: str
    kind: Kind
    table: str | None = Field(None, description="The canonical table a fact metric aggregates.")
    value: str | None = Field(None, description="SQL expression on the table's columns (not for count); for "
                              "revenue, on the monthly revenue facts; for orders, on the order facts; for a "
                              "formula, on other metrics.")
    filter: str | None = Field(None, description="SQL condition: which rows count.")
    time: str | None = Field(None, description="The table's column that places a row in a period.")
    unit: str
    better: Literal["higher", "lower"]
    dimensions: list[str] = Field(default_factory=list)
    owner: str | None = None
    target: float | None = None
    # revenue and order metrics: the fact column that is the metric's n, and (for a rate with an
    # interval) the one counting its successes; formulas: the metric giving their n
    base: str | None = None
    successes: str | None = None
    # named constants the value may use, e.g. a gross margin; set yours in patron.yml
    params: dict[str, float] = Field(default_factory=dict)
    # what "not available" means when the value cannot be computed but there is data
    undefined: str | None = None
    # the customer attributes patron.yml marks personal: named so a slice by one is refused as such
    # (set from the sources with the attributes, never by a definition)
    personal: tuple[str, ...] = Field((), exclude=True)

    @property
    def is_sample(self) -> bool:
        """Rates estimated from a sample of customers' answers get intervals."""
        return self.kind in ("nps", "share", "mean") or self.successes is not None


EXPRESSIONS = ("value", "filter", "base", "successes")  # the fields that hold SQL
# a field of a definition that a new metric must give (the rest have defaults or depend on its kind)
REQUIRED = ("label", "definition", "kind", "unit", "better")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def syntax_problem(sql: str) -> str | None:
    """Why `sql` is not one SQL expression, in words (never SQLGlot's traceback); None when it is.
    A `;` is refused outright: configuration holds expressions, not statements."""
    try:
        tokens = sqlglot.tokenize(sql, read="duckdb")
    except sqlglot.errors.TokenError as e:
        return f"cannot read {sql!r} as SQL ({str(e).splitlines()[0]}; an unclosed quote or comment?)"
    if not tokens:
        return "is empty; give an SQL expression"
    if any(t.token_type == TokenType.SEMICOLON for t in tokens):
        return f"{sql!r} holds a ';': an expression is one SQL expression, not statements"
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.ParseError as e:
        err = e.errors[0] if e.errors else {}
        near = (err.get("highlight") or "").strip()
        what = err.get("description") or "not an expression"
        if "Required keyword" in what:  # SQLGlot's wording names its own classes: say it plainly
            what = "it is incomplete"
        at = f" at {near!r} (column {err['col']})" if near and err.get("col") else ""
        return f"cannot parse {sql!r}{at}: {what}"
    except sqlglot.errors.SqlglotError as e:
        return f"cannot parse {sql!r}: {str(e).splitlines()[0]}"
    except RecursionError:
        return f"{sql[:40]!r}...: nested too deeply"
    if isinstance(tree, exp.Command):  # SQLGlot read a statement keyword, e.g. a column named `comment`
        return (f"cannot parse {sql!r} as an expression: it starts like an SQL statement ({tree.name.upper()}); "
                f"a column named like an SQL keyword goes in double quotes, e.g. \"{tree.name}\"")
    return None


def names_in(sql: str) -> set[str]:
    """The bare names an expression refers to."""
    try:
        return {c.name for c in sqlglot.parse_one(sql, read="duckdb").find_all(exp.Column)}
    except sqlglot.errors.ParseError as e:
        raise ValueError(f"cannot parse {sql!r}: {str(e).splitlines()[0]}") from None


def expression_problems(spec: MetricSpec) -> list[str]:
    """Every expression of a definition parsed, then on the allow-list: nothing here may reach a
    file or another table. Compiling checks this too, so a definition made in code is held to it."""
    at = f"metrics.{spec.name}"
    out = [f"{at}.params.{k}: a param's name is letters, digits and _ (it is used in expressions)"
           for k in spec.params if not _NAME.fullmatch(k)]
    columns = (set(METRIC_TABLES[spec.table]) if spec.table in METRIC_TABLES and spec.kind in FACT_KINDS
               else set(FACTS.get(spec.kind, ())))
    out += [f"{at}.params.{k}: {k!r} is also a column it reads; give the param a name of its own"
            for k in spec.params if k in columns]
    readable = set(spec.params) | (columns if spec.kind in FACT_KINDS else set())
    for field in EXPRESSIONS:
        sql = getattr(spec, field)
        if sql is None:
            continue
        bad = syntax_problem(sql)
        out += [f"{at}.{field}: {bad}"] if bad else [
            f"{at}.{field}: {p}" for p in refused(sql, readable if readable - set(spec.params) else None)]
    return out


def problems(spec: MetricSpec, catalog: dict[str, MetricSpec], attributes: Mapping[str, bool] | None = None,
             ) -> list[str]:
    """What is wrong with one definition, each problem with its key; empty when it can run.
    `attributes`: the customer attributes patron.yml declares (name -> personal)."""
    at = f"metrics.{spec.name}"
    customer = {*CUSTOMER_DIMENSIONS, *(n for n, personal in (attributes or {}).items() if not personal)}
    if spec.kind != "count" and not spec.value:
        return [f"{at}.value: a {spec.kind} metric needs a value expression"]
    out = expression_problems(spec)
    if out:
        return out
    used = {"value": names_in(spec.value) if spec.value else set(),
            **{k: names_in(getattr(spec, k)) for k in ("base", "successes") if getattr(spec, k)}}
    if spec.kind in FACTS:
        facts, what = FACTS[spec.kind], "monthly revenue" if spec.kind == "revenue" else "order"
        if not spec.base:
            out.append(f"{at}.base: a {spec.kind} metric names the {what} fact that is its n")
        for field, names in used.items():
            out += [f"{at}.{field}: {n!r} is not a{'n' if what[0] == 'o' else ''} {what} fact "
                    f"(they are: {', '.join(facts)})" for n in sorted(names - set(facts) - set(spec.params))]
        out += [f"{at}.dimensions: {spec.kind} metrics are sliced by customer attributes only "
                f"({', '.join(sorted(customer, key=_customer_order))}), not {d!r}"
                for d in spec.dimensions if d not in customer]
        return out
    if spec.kind == "formula":
        inputs = used["value"] - set(spec.params)
        if not inputs:
            return [f"{at}.value: a formula is computed from other metrics; name at least one"]
        out += [f"{at}.value: {n!r} is not a metric in the catalog{_suggest(n, catalog)}"
                for n in sorted(inputs - set(catalog))]
        out += [f"{at}.value: {n!r} is a formula; a formula's inputs must be measured metrics"
                for n in sorted(inputs & set(catalog)) if catalog[n].kind == "formula"]
        if spec.base and spec.base not in inputs:
            out.append(f"{at}.base: {spec.base!r} must be one of the metrics the value uses")
        for d in spec.dimensions:
            out += [f"{at}.dimensions: {d!r} is not a dimension of its input {n!r}"
                    for n in sorted(inputs & set(catalog)) if d not in catalog[n].dimensions]
        return out
    if spec.table not in METRIC_TABLES:
        return [f"{at}.table: unknown table {spec.table!r}{_suggest(str(spec.table), METRIC_TABLES)}; "
                f"tables are: {', '.join(METRIC_TABLES)}"]
    names = METRIC_TABLES[spec.table]
    if spec.time not in names:
        out.append(f"{at}.time: {spec.table} has no column {spec.time!r}{_suggest(str(spec.time), names)}")
    for d in spec.dimensions:
        if d not in names and d not in customer:
            out.append(f"{at}.dimensions: {d!r} is neither a column of {spec.table} nor a customer attribute")
    return out


def _customer_order(d: str) -> tuple[int, str]:
    """The golden record's dimensions as listed, then the attributes by name."""
    return (CUSTOMER_DIMENSIONS.index(d), "") if d in CUSTOMER_DIMENSIONS else (len(CUSTOMER_DIMENSIONS), d)


def with_attributes(catalog: dict[str, MetricSpec], attributes: Mapping[str, bool] | None) -> dict[str, MetricSpec]:
    """Every metric sliced by customer dimensions is sliced by the attributes patron.yml's sources
    keep too (name -> personal): each one not personal becomes a dimension; a personal one is named,
    to be refused as a slice."""
    if not attributes:
        return dict(catalog)
    slices = [n for n, personal in sorted(attributes.items()) if not personal]
    personal = tuple(sorted(n for n, p in attributes.items() if p))
    out = {}
    for name, spec in catalog.items():
        if any(d in CUSTOMER_DIMENSIONS for d in spec.dimensions):
            dims = [*spec.dimensions, *(n for n in slices if n not in spec.dimensions)]
            spec = spec.model_copy(update={"dimensions": dims, "personal": personal})
        out[name] = spec
    return out


def _suggest(word: str, choices: object) -> str:
    """ — did you mean 'x'?, for a name one typo away from a known one."""
    close = difflib.get_close_matches(word, [str(c) for c in choices], n=1)  # type: ignore[union-attr]
    return f" — did you mean {close[0]!r}?" if close else ""


def builtin_catalog() -> dict[str, MetricSpec]:
    """The metrics patron ships, from catalog/*.yml."""
    out: dict[str, MetricSpec] = {}
    folder = resources.files("patron.metrics").joinpath("catalog")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yml"):
            continue
        for name, body in (yaml.safe_load(entry.read_text(encoding="utf-8")) or {}).items():
            try:
                out[name] = MetricSpec(name=name, **body)
            except ValidationError as e:
                raise ConfigError(str(e).splitlines()[0], f"catalog/{entry.name}", name) from None
    return out


def config_problems(metrics_section: Mapping[str, object], catalog: dict[str, MetricSpec] | None = None,
                    attributes: Mapping[str, bool] | None = None) -> list[str]:
    """Every problem in patron.yml's `metrics:` section, each with its key (metrics.NAME[.FIELD]):
    unknown metrics (with the nearest name), unknown or bad fields, incomplete new metrics, SQL that
    cannot be parsed or is not on the allow-list. Empty when the section is good. `patron check`
    calls this; evaluating metrics raises the same problems as ConfigProblems. `attributes`: the
    customer attributes patron.yml's sources keep (config.declared_attributes)."""
    base = with_attributes(builtin_catalog() if catalog is None else catalog, attributes)
    return _overlay(base, metrics_section, attributes)[1]


def with_overrides(catalog: dict[str, MetricSpec], overrides: Mapping[str, object],
                   attributes: Mapping[str, bool] | None = None) -> dict[str, MetricSpec]:
    """patron.yml may set owners and targets, change a definition, or add metrics; every problem
    is raised at once (ConfigProblems, naming each key), before any SQL is built. With `attributes`
    (config.declared_attributes: name -> personal), every metric sliced by customer dimensions is
    sliced by the sources' customer attributes too."""
    out, bad = _overlay(with_attributes(catalog, attributes), overrides, attributes)
    if bad:
        from patron.config import ConfigProblems

        raise ConfigProblems("patron.yml", bad)
    return with_attributes(out, attributes)


def _overlay(catalog: dict[str, MetricSpec], overrides: Mapping[str, object],
             attributes: Mapping[str, bool] | None = None) -> tuple[dict[str, MetricSpec], list[str]]:
    out = dict(catalog)
    bad: list[str] = []
    fields = [f for f in MetricSpec.model_fields if f not in ("name", "personal")]
    for name, body in (overrides or {}).items():
        at = f"metrics.{name}"
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            bad.append(f"{at}: a metric's name is letters, digits and _ (it names columns and tables), not {name!r}")
            continue
        if not isinstance(body, Mapping):
            bad.append(f"{at}: give a mapping of fields (owner, target, or any field of a definition), "
                       f"not {type(body).__name__} {body!r}")
            continue
        unknown = [k for k in body if k not in fields]
        bad += [f"{at}.{k}: unknown field{_suggest(str(k), fields)} (fields are: {', '.join(fields)})"
                for k in unknown]
        if name not in catalog and not set(body) & {"label", "definition", "kind", "value", "table"}:
            bad.append(f"{at}: no such metric {name!r}{_suggest(name, catalog)}"
                       + ("" if _suggest(name, catalog) else
                          f"; a new metric needs {', '.join(REQUIRED)} (`patron metrics list` shows the catalog)"))
            continue
        base = catalog[name].model_dump() if name in catalog else {"name": name}
        try:
            spec = MetricSpec(**(base | {k: v for k, v in body.items() if k in fields} | {"name": name}))
            if not unknown:
                out[name] = spec
        except ValidationError as e:
            for err in e.errors():
                key = ".".join(map(str, err["loc"]))
                msg = (f"missing: a new metric needs {', '.join(REQUIRED)}" if err["type"] == "missing"
                       else err["msg"])
                bad.append(f"{at}.{key}: {msg}")
    lower: dict[str, str] = {}
    for name in out:  # a metric's name is a column name: two that differ only in case are one to the engine
        if name.lower() in lower:
            bad.append(f"metrics.{name}: differs from the metric {lower[name.lower()]!r} only in case; "
                       "give it a name of its own")
        lower.setdefault(name.lower(), name)
    changed = set(overrides or {})
    # the definitions patron.yml touched, and every formula (an input may have changed under it)
    for spec in out.values():
        if spec.name in changed or spec.kind == "formula":
            bad += [p for p in problems(spec, out, attributes) if p not in bad]
    return out, bad
