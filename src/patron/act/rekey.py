"""Items and draws follow their customer when identity changes its id.

A play keys what it creates by the customer's id: a source's own id before identity is resolved,
the master id after. When identity resolves for the first time, or merges two customers and retires
one id, the items and the holdout draws keyed by the old id would belong to no customer: the plays
would not see them, and would create a second item (and draw the customer a second time) under the
new id. Here they move to the id their customer has now, and each moved item's history says so.
A customer drawn twice before a merge keeps its first draw (see `first_draws`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from patron.act import items as I

if TYPE_CHECKING:
    import pandas as pd

    from patron.warehouse import Warehouse

BY = "identity"


def moves(wh: Warehouse) -> pd.DataFrame:
    """old id -> the id it stands for now, for every id an item or a draw still holds that is no
    customer's: a retired master id (followed through later merges), or a source's own id that
    identity mapped to exactly one master customer."""
    import pandas as pd

    # a master id is one identity gave (a customer no customer record names has no golden record:
    # a complaints export's company)
    held = wh.df("SELECT DISTINCT customer_id FROM (SELECT customer_id FROM action_items UNION ALL "
                 "SELECT customer_id FROM play_assignments) AS k WHERE customer_id IS NOT NULL "
                 "AND customer_id NOT IN (SELECT customer_id FROM identity_map)")
    if held.empty or not wh.scalar("SELECT COUNT(*) FROM identity_map"):
        return pd.DataFrame({"old": [], "new": []}, dtype="object")
    step = dict(wh.rows("SELECT from_id, to_id FROM (SELECT from_id, to_id, ROW_NUMBER() OVER (PARTITION BY from_id "
                        "ORDER BY moved_at DESC, to_id) AS k FROM identity_moves) AS m WHERE k = 1"))
    with wh.frame("_patron_held", held) as t:
        refs = dict(wh.rows(f"SELECT m.ref, MIN(m.customer_id) FROM identity_map AS m JOIN {t} AS h "
                            "ON h.customer_id = m.ref GROUP BY m.ref HAVING COUNT(DISTINCT m.customer_id) = 1"))
    out = {}
    for old in held["customer_id"]:
        new, seen = step.get(old) or refs.get(old), {old}
        while new in step and new not in seen:  # merged again since
            seen.add(new)
            new = step[new]
        if new is not None and new != old:
            out[old] = new
    return pd.DataFrame({"old": list(out), "new": list(out.values())}, dtype="object")


def follow(wh: Warehouse) -> int:
    """Move every item and draw keyed by an id that is no customer's now to the customer's id;
    returns how many items moved. Call inside the plays' transaction."""
    found = moves(wh)
    if found.empty:
        return 0
    at = I.now()
    with wh.frame("_patron_rekey", found) as t:
        moved = wh.df(f"SELECT i.item_id, i.customer_id AS old, r.new FROM action_items AS i JOIN {t} AS r "
                      "ON r.old = i.customer_id")
        wh.execute(f"UPDATE action_items SET customer_id = r.new, subject = CASE WHEN action_items.subject = "
                   f"'customer:' || r.old THEN 'customer:' || r.new ELSE action_items.subject END, updated_at = ? "
                   f"FROM {t} AS r WHERE action_items.customer_id = r.old", [at])
        wh.execute(f"UPDATE play_assignments SET customer_id = r.new FROM {t} AS r "
                   "WHERE play_assignments.customer_id = r.old")
    if len(moved):
        with wh.frame("_patron_rekeyed", moved) as t:
            wh.execute("INSERT INTO action_history (item_id, changed_at, changed_by, field, old_value, new_value) "
                       f"SELECT item_id, ?, ?, 'customer', old, new FROM {t}", [at, BY])
        _one_open_item_each(wh, at)
    return len(moved)


def _one_open_item_each(wh: Warehouse, at: object) -> None:
    """Two customers merged with an open item each from one play: one customer, one item. The
    first created stays; the other is dismissed with the reason, its notes and history kept."""
    twins = wh.df(
        "SELECT item_id, first FROM (SELECT item_id, FIRST_VALUE(item_id) OVER (PARTITION BY play, subject ORDER BY "
        "created_at, CAST(SUBSTRING(item_id, 3) AS BIGINT)) AS first, ROW_NUMBER() OVER (PARTITION BY play, "
        "subject ORDER BY created_at, CAST(SUBSTRING(item_id, 3) AS BIGINT)) AS k FROM action_items "
        "WHERE play IS NOT NULL AND subject LIKE 'customer:%' AND status IN ('open', 'in_progress') "
        "AND cleared_at IS NULL) AS o WHERE k > 1")
    if twins.empty:
        return
    twins["reason"] = "the same customer as " + twins["first"] + " since identity merged them"
    with wh.frame("_patron_twins", twins) as t:
        wh.execute("INSERT INTO action_history (item_id, changed_at, changed_by, field, old_value, new_value) "
                   f"SELECT i.item_id, ?, ?, 'status', i.status, 'dismissed' FROM action_items AS i JOIN {t} AS w "
                   "ON w.item_id = i.item_id", [at, BY])
        wh.execute(f"UPDATE action_items SET status = 'dismissed', reason = w.reason, closed_at = ?, updated_at = ? "
                   f"FROM {t} AS w WHERE action_items.item_id = w.item_id", [at, at])


def first_draws(assignments: str) -> str:
    """SQL: `assignments` (a table or query of play_assignments) with one row per play and customer,
    its first draw, and `mixed` where identity merged customers drawn to different arms into one
    (such a customer was treated in part: the plays treat it, the uplift leaves it out)."""
    return (f"SELECT * FROM (SELECT a.*, ROW_NUMBER() OVER (PARTITION BY a.play, a.customer_id ORDER BY "
            f"a.assigned_at, a.arm DESC) AS first_k, MIN(a.arm) OVER (PARTITION BY a.play, a.customer_id) <> "
            f"MAX(a.arm) OVER (PARTITION BY a.play, a.customer_id) AS mixed FROM {assignments} AS a) AS d "
            "WHERE first_k = 1")
