"""Uncertain pairs for a person to judge, and the decisions that then win on every run."""

from __future__ import annotations

from patron.errors import PatronError
from patron.warehouse import Warehouse

# pairs the model linked below the threshold, now in two master customers, that no person decided
_UNDECIDED = (
    "WITH rec AS (SELECT m.system || ':' || m.ref AS record, m.customer_id, arg_max(c.name, c.loaded_at) AS name, "
    "arg_max(c.domain, c.loaded_at) AS domain, arg_max(c.phone, c.loaded_at) AS phone FROM identity_map m "
    "LEFT JOIN customers c ON c.customer_ref = m.ref AND c.customer_id = m.customer_id GROUP BY ALL) "
    "SELECT l.record_l, a.name AS name_l, a.domain AS domain_l, a.customer_id AS customer_l, "
    "l.record_r, b.name AS name_r, b.domain AS domain_r, b.customer_id AS customer_r, "
    "round(l.match_probability, 4) AS match_probability FROM identity_links l "
    "JOIN rec a ON a.record = l.record_l JOIN rec b ON b.record = l.record_r "
    "WHERE NOT l.linked AND a.customer_id <> b.customer_id AND NOT EXISTS (SELECT 1 FROM identity_decisions d "
    "WHERE (d.record_l, d.record_r) IN ((l.record_l, l.record_r), (l.record_r, l.record_l))) "
)


def pairs_to_review(wh: Warehouse, limit: int = 50) -> list[dict]:
    """Model pairs below the match threshold and not yet decided, most likely first."""
    df = wh.df(_UNDECIDED + "ORDER BY l.match_probability DESC, l.record_l LIMIT ?", [limit])
    return df.astype(object).where(df.notna(), None).to_dict(orient="records")


def count_to_review(wh: Warehouse) -> int:
    """All the pairs `pairs_to_review` would list without a limit."""
    return wh.scalar(f"SELECT count(*) FROM ({_UNDECIDED})")


def decide(wh: Warehouse, record_l: str, record_r: str, decision: str, note: str | None = None) -> None:
    """Store a person's decision about two records ("system:ref"); it wins from the next run on."""
    if decision not in ("merge", "apart"):
        raise PatronError(f"decision must be merge or apart, not {decision!r}")
    if record_l == record_r:
        raise PatronError("a record is always the same customer as itself; name two different records")
    known = {r[0] for r in wh.rows(
        "SELECT system || ':' || ref FROM identity_map WHERE system || ':' || ref IN (?, ?)", [record_l, record_r])}
    missing = [r for r in (record_l, record_r) if r not in known]
    if missing:
        raise PatronError(f"no record {', '.join(map(repr, missing))}; records are written system:ref, "
                          "as `patron identity review` shows them")
    with wh.transaction():
        wh.execute("DELETE FROM identity_decisions WHERE (record_l, record_r) IN ((?, ?), (?, ?))",
                   [record_l, record_r, record_r, record_l])
        wh.execute("INSERT INTO identity_decisions VALUES (?, ?, ?, ?, now()::TIMESTAMP)",
                   [record_l, record_r, decision, note])
