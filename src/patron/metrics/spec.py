"""A metric is data: its definition, the SQL pieces it is made of, its owner and target.

Specs never touch an engine; compile.py turns them into SQL for any dialect.
"""

from __future__ import annotations

from importlib import resources
from typing import Literal

import sqlglot
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlglot import exp

from patron.errors import ConfigError
from patron.metrics.allowed import refused
from patron.metrics.revenue import COLUMNS
from patron.model import TABLES

Kind = Literal["nps", "share", "mean", "count", "sum", "median", "p90", "revenue", "formula"]
FACT_KINDS = ("nps", "share", "mean", "count", "sum", "median", "p90")
PERIODS = ("day", "week", "month", "quarter", "year")
# dimensions that describe the customer, taken from the golden record through customer_id, and
# the cohort month (the month of the customer's first paid subscription period)
CUSTOMER_DIMENSIONS = ("segment", "region", "industry", "plan", "owner", "cohort_month")


class MetricSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    label: str
    definition: str
    kind: Kind
    table: str | None = Field(None, description="The canonical table a fact metric aggregates.")
    value: str | None = Field(None, description="SQL expression on the table's columns (not for count); for "
                              "revenue, on the monthly revenue facts; for a formula, on other metrics.")
    filter: str | None = Field(None, description="SQL condition: which rows count.")
    time: str | None = Field(None, description="The table's column that places a row in a period.")
    unit: str
    better: Literal["higher", "lower"]
    dimensions: list[str] = Field(default_factory=list)
    owner: str | None = None
    target: float | None = None
    # revenue metrics: the column of the monthly revenue facts that is the metric's n, and (for a
    # rate with an interval) the one counting its successes; formulas: the metric giving their n
    base: str | None = None
    successes: str | None = None
    # named constants the value may use, e.g. a gross margin; set yours in patron.yml
    params: dict[str, float] = Field(default_factory=dict)
    # what "not available" means when the value cannot be computed but there is data
    undefined: str | None = None

    @property
    def is_sample(self) -> bool:
        """Rates estimated from a sample of customers' answers get intervals."""
        return self.kind in ("nps", "share", "mean") or self.successes is not None


EXPRESSIONS = ("value", "filter", "base", "successes")  # the fields that hold SQL


def names_in(sql: str) -> set[str]:
    """The bare names an expression refers to."""
    try:
        return {c.name for c in sqlglot.parse_one(sql, read="duckdb").find_all(exp.Column)}
    except sqlglot.errors.ParseError as e:
        raise ValueError(f"cannot parse {sql!r}: {str(e).splitlines()[0]}") from None


def problems(spec: MetricSpec, catalog: dict[str, MetricSpec]) -> list[str]:
    at = f"metrics.{spec.name}"
    if spec.kind != "count" and not spec.value:
        return [f"{at}.value: a {spec.kind} metric needs a value expression"]
    # every expression on the allow-list first: nothing here may reach a file or another table
    readable = set(spec.params) | (set(TABLES[spec.table].names) if spec.table in TABLES and spec.kind not in (
        "revenue", "formula") else set())
    out = [f"{at}.{field}: {p}" for field in EXPRESSIONS if getattr(spec, field)
           for p in refused(getattr(spec, field), readable if readable - set(spec.params) else None)]
    if out:
        return out
    try:
        used = {"value": names_in(spec.value) if spec.value else set(),
                **{k: names_in(getattr(spec, k)) for k in ("base", "successes") if getattr(spec, k)}}
    except ValueError as e:
        return [f"{at}: {e}"]
    if spec.kind == "revenue":
        for field, names in used.items():
            out += [f"{at}.{field}: {n!r} is not a monthly revenue fact (they are: {', '.join(COLUMNS)})"
                    for n in sorted(names - set(COLUMNS) - set(spec.params))]
        out += [f"{at}.dimensions: revenue is sliced by customer attributes only, not {d!r}"
                for d in spec.dimensions if d not in CUSTOMER_DIMENSIONS]
        return out
    if spec.kind == "formula":
        inputs = used["value"] - set(spec.params)
        out += [f"{at}.value: {n!r} is not a metric in the catalog" for n in sorted(inputs - set(catalog))]
        out += [f"{at}.value: {n!r} is a formula; a formula's inputs must be measured metrics"
                for n in sorted(inputs & set(catalog)) if catalog[n].kind == "formula"]
        if spec.base and spec.base not in inputs:
            out.append(f"{at}.base: {spec.base!r} must be one of the metrics the value uses")
        for d in spec.dimensions:
            out += [f"{at}.dimensions: {d!r} is not a dimension of its input {n!r}"
                    for n in sorted(inputs & set(catalog)) if d not in catalog[n].dimensions]
        return out
    if spec.table not in TABLES:
        return [f"{at}.table: unknown table {spec.table!r}"]
    names = TABLES[spec.table].names
    if spec.time not in names:
        out.append(f"{at}.time: {spec.table} has no column {spec.time!r}")
    for d in spec.dimensions:
        if d not in names and d not in CUSTOMER_DIMENSIONS:
            out.append(f"{at}.dimensions: {d!r} is neither a column of {spec.table} nor a customer attribute")
    return out


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


def with_overrides(catalog: dict[str, MetricSpec], overrides: dict[str, dict]) -> dict[str, MetricSpec]:
    """patron.yml may set owners and targets, change a definition, or add metrics."""
    out = dict(catalog)
    for name, fields in overrides.items():
        base = out[name].model_dump() if name in out else {"name": name}
        try:
            out[name] = MetricSpec(**(base | fields | {"name": name}))
        except ValidationError as e:
            err = e.errors()[0]
            raise ConfigError(f"{'.'.join(map(str, err['loc']))}: {err['msg']}", "patron.yml",
                              f"metrics.{name}") from None
    bad = [p for spec in out.values() for p in problems(spec, out)]
    if bad:
        raise ConfigError("; ".join(bad), "patron.yml", "metrics")
    return out
