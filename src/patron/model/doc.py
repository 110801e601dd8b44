"""docs/data-model.md, generated from the model so the two never disagree.

Run `python -m patron.model.doc > docs/data-model.md`; a test fails when the file is stale.
"""

from __future__ import annotations

from patron.model.tables import LINEAGE, TABLES, Column

INTRO = """\
# The canonical data model

Every source is mapped onto these tables. Column names are a contract: scripts and other tools
rely on them; patron adds columns and tables over time and never renames one.

Types: `text`; `email` (text, stored lower-case, must look like an address); `domain` (text,
stored lower-case without scheme, `www.` or path); `enum` (text from a fixed list, stored
lower-case); `int` (whole number); `float` (number); `date` (a day, ISO 8601 `YYYY-MM-DD` unless
the source sets `date_format`); `timestamp` (UTC; ISO 8601 with or without an offset, which is
converted to UTC). Empty text counts as missing.

Every value is checked on the way in. A row that breaks a rule is not loaded: it goes to the
`quarantine` table with its file, row, field, value and the reason, and `patron quarantine` shows
it. Dates more than `ingest.future_tolerance_days` (default 1) ahead are rejected, except where a
column is marked *may be in the future*; dates before 1900 are rejected as implausible.

Rows are numbered from 1 = the first data row after the header (a record, so a quoted field that
spans lines is still one row). A line the CSV parser cannot split into the header's columns is
quarantined with its line number in the file; rows after it keep counting readable rows.
"""


def _rules(c: Column) -> str:
    parts = []
    if c.required:
        parts.append("required")
    if c.allowed:
        parts.append("one of " + ", ".join(f"`{a}`" for a in c.allowed))
    if c.min is not None and c.max is not None:
        parts.append(f"{c.min:g} to {c.max:g}")
    elif c.min is not None:
        parts.append(f"at least {c.min:g}")
    elif c.max is not None:
        parts.append(f"at most {c.max:g}")
    if c.future_ok:
        parts.append("may be in the future")
    return "; ".join(parts)


def render() -> str:
    out = [INTRO]
    for t in TABLES.values():
        out.append(f"## {t.name}\n\n{t.description}\n")
        out.append(f"Key (a row's identity within its source): {', '.join(f'`{k}`' for k in t.key)}.")
        extra = []
        for later, earlier in t.order_checks:
            extra.append(f"`{later}` may not be before `{earlier}`")
        if t.any_of:
            extra.append(f"at least one of {', '.join(f'`{c}`' for c in t.any_of)} is required")
        for col, (by, ranges) in t.ranges_by.items():
            spans = ", ".join(f"{k} {lo:g}-{hi:g}" for k, (lo, hi) in ranges.items())
            extra.append(f"`{col}` range depends on `{by}`: {spans}")
        if extra:
            out.append("Rules: " + "; ".join(extra) + ".")
        out.append("\n| column | type | unit | rules | meaning |\n| --- | --- | --- | --- | --- |")
        for c in t.columns:
            out.append(f"| `{c.name}` | {c.type} | {c.unit or ''} | {_rules(c)} | {c.description} |")
        out.append("")
    out.append("## Lineage: on every row of every table above\n")
    out.append("| column | type | meaning |\n| --- | --- | --- |")
    for c in LINEAGE:
        out.append(f"| `{c.name}` | {c.type} | {c.description} |")
    out.append("""
## System tables

| table | what it holds |
| --- | --- |
| `patron_schema` | the schema version of the file and the patron that wrote it; \
opening an older file upgrades it |
| `loads` | one row per file loaded: source, table, file, its SHA-256, when, and the counts \
read = loaded + quarantined + already loaded + filtered + rolled up (`rows_updated` counts loaded rows that \
replaced a changed row; `rows_filtered`: left out by the source's filter; `rows_rolled_up`: merged into another row \
of the same key) |
| `quarantine` | one row per problem of each rejected row: load, source, table, file, row_number, field, \
value, reason, and the whole raw record as JSON; `last_seen_load`: the last load of the file that found the \
problem again (a later load that did not has taken the row in: see `patron quarantine --all`) |
| `identity_map` | every source record (system, ref) with its master `customer_id` and how it was linked \
(`rule:domain`, `rule:email`, `rule:name` (same name, when the model could not be trained), `model`, \
`decision:merge`, `alone`, `nothing_to_match`) |
| `identity_links` | every scored pair of records (`system:ref`) with its method, match probability and \
whether it was linked |
| `identity_decisions` | a person's merge or apart decision on two records; it wins on every later run |
| `identity_model` | the fitted linkage model (Splink's JSON settings with its m and u probabilities) |
| `metric_values` | every metric evaluation: run, metric, slice (JSON), grain and period, value, n, \
95% interval and the p-value of the change from the period before |
| `customer_golden` | one row per master customer: each field chosen by its survivorship rule, the number \
of source records and the sources |

Loading is idempotent: a row whose key this source already loaded with the same values is
counted as *already loaded* and written nowhere; with changed values it replaces the old row.
""")
    return "\n".join(out)


if __name__ == "__main__":
    print(render(), end="")
