"""A metric is data: its definition, the SQL pieces it is made of, its owner and target.

Specs never touch an engine; compile.py turns them into SQL for any dialect.
"""

from __future__ import annotations

from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from patron.errors import ConfigError
from patron.model import TABLES

Kind = Literal["nps", "share", "mean", "count", "sum", "median", "p90", "revenue"]
PERIODS = ("day", "week", "month", "quarter", "year")
# dimensions that describe the customer, taken from the golden record through customer_id
CUSTOMER_DIMENSIONS = ("segment", "region", "industry", "plan", "owner")


class MetricSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    label: str
    definition: str
    kind: Kind
    table: str
    value: str | None = Field(None, description="SQL expression on the table's columns (not for count).")
    filter: str | None = Field(None, description="SQL condition: which rows count.")
    time: str
    unit: str
    better: Literal["higher", "lower"]
    dimensions: list[str] = Field(default_factory=list)
    owner: str | None = None
    target: float | None = None
    # revenue metrics: the column of the movements table that is the metric's n, and (for a rate
    # with an interval) the one counting its successes
    base: str | None = None
    successes: str | None = None

    @property
    def is_sample(self) -> bool:
        """Rates estimated from a sample of customers' answers get intervals."""
        return self.kind in ("nps", "share", "mean") or self.successes is not None


def problems(spec: MetricSpec) -> list[str]:
    at = f"metrics.{spec.name}"
    if spec.table not in TABLES:
        return [f"{at}.table: unknown table {spec.table!r}"]
    out = []
    names = TABLES[spec.table].names
    if spec.time not in names:
        out.append(f"{at}.time: {spec.table} has no column {spec.time!r}")
    if spec.kind != "count" and not spec.value:
        out.append(f"{at}.value: a {spec.kind} metric needs a value expression")
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
    bad = [p for spec in out.values() for p in problems(spec)]
    if bad:
        raise ConfigError("; ".join(bad), "patron.yml", "metrics")
    return out
