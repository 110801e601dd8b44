"""docs/data-model.md, generated from the model so the two never disagree.

Run `python -m patron.model.doc > docs/data-model.md`; a test fails when the file is stale.
"""

from __future__ import annotations

from patron.model.system import CANONICAL_OWNER, CANONICAL_SHARED, STAGES, SYSTEM_TABLES
from patron.model.tables import LINEAGE, MAX_MONEY, MAX_NUMBER, TABLES, Column

INTRO = f"""\
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
column is marked *may be in the future*; dates before 1900 are rejected as implausible. Numbers
must be finite (no infinity or NaN) and of a plausible size: money within ±{MAX_MONEY:,.0f}, any
other number within ±{MAX_NUMBER:,.0f}.

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


def _owners() -> list[str]:
    """Each stage's tables with their columns, from the same declarations the warehouse creates them by."""
    shared = "; ".join(f"{stage} sets only their {', '.join(f'`{c}`' for c in cols)}"
                       for stage, cols in CANONICAL_SHARED.items())
    out = ["## Who writes what\n",
           f"Each stage writes only its own tables and reads the rest. The canonical tables are {CANONICAL_OWNER}'s; "
           f"{shared}.\n",
           "| stage | tables it writes (columns) |\n| --- | --- |"]
    for stage in STAGES:
        own = [f"`{t.name}` ({', '.join(t.names)})" for t in SYSTEM_TABLES.values() if t.owner == stage]
        if stage == CANONICAL_OWNER:
            own.insert(0, "every canonical table")
        elif stage in CANONICAL_SHARED:
            own.insert(0, f"{', '.join(f'`{c}`' for c in CANONICAL_SHARED[stage])} of the canonical tables")
        own += [f"{', '.join(f'`{c}`' for c in cols)} of `{t.name}`"
                for t in SYSTEM_TABLES.values() for who, cols in t.shared if who == stage]
        out.append(f"| {stage} | {'; '.join(own)} |")
    return out


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
    out.append("\n## System tables\n")
    out.append("| table | written by | what it holds |\n| --- | --- | --- |")
    for st in SYSTEM_TABLES.values():
        out.append(f"| `{st.name}` | {st.owner} | {st.description} |")
    out.append("")
    out += _owners()
    out.append("""
Loading is idempotent: a row whose key this source already loaded with the same values is
counted as *already loaded* and written nowhere; with changed values it replaces the old row.
""")
    return "\n".join(out)


if __name__ == "__main__":
    print(render(), end="")
