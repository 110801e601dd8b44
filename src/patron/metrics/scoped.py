"""A catalog metric over one customer's rows: the 360 shows a customer's NPS, CSAT and CES by the
catalog's own definitions (patron.yml's included), never by a copy of them."""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from patron.metrics.spec import MetricSpec

SURVEY_KINDS = ("nps", "share", "mean")  # the kinds of metric a survey's answers make


def for_customer(spec: MetricSpec, customer_id: str) -> MetricSpec:
    """`spec` with its filter narrowed to one master customer; the id is a quoted literal."""
    mine = exp.column("customer_id").eq(exp.Literal.string(customer_id))
    if spec.filter:  # parsed and joined as trees: a comment closing the filter cannot swallow the rest
        mine = exp.and_(exp.paren(sqlglot.parse_one(spec.filter, read="duckdb")), mine)
    return spec.model_copy(update={"filter": mine.sql(dialect="duckdb")})


def survey_metrics(catalog: dict[str, MetricSpec]) -> list[MetricSpec]:
    """The catalog's metrics over survey answers that can be sliced by touchpoint, by name."""
    return [s for _, s in sorted(catalog.items())
            if s.table == "responses" and s.kind in SURVEY_KINDS and "touchpoint" in s.dimensions]
