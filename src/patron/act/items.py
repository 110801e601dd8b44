"""Action items: work a person owns, each change kept in its history (who, when, what).

The plays create items and mark those whose condition cleared; people add items, take them on,
reassign, note and close them. A person's change is never undone by a play: the plays write only
new items and the `cleared_at` mark (and, for closed items, the customer's next answer), never a
status, an owner, a due date or a note.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from patron.errors import ActionError

if TYPE_CHECKING:
    import pandas as pd

    from patron.warehouse import Warehouse

STATUSES = ("open", "in_progress", "done", "dismissed")
OPEN = ("open", "in_progress")
PRIORITIES = ("high", "medium", "low")
MAX_NOTE = 2_000
MAX_NOTES = 200
MAX_NAME = 200
MAX_TITLE = 500
# what a person may change, and how history names it
EDITABLE = ("status", "owner", "due_at", "priority", "title", "reason")


def now() -> datetime:
    """UTC without a zone (as the warehouse keeps timestamps), to the microsecond: a history's
    changes made one after the other keep their order."""
    return datetime.now(UTC).replace(tzinfo=None)


# characters that steer a terminal or reorder text rather than show: C0 and C1 controls, and the
# bidirectional overrides and isolates that make a name read as another
_HIDDEN = frozenset([*map(chr, range(32)), *map(chr, range(127, 160)), "\u061c", "\u200e", "\u200f",
                     *map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A))])


def printable(text: str, keep: str = "") -> str:
    """`text` without the characters that steer a terminal or reorder text (except those in `keep`)."""
    return "".join(ch for ch in text if ch in keep or ch not in _HIDDEN)


def _clean(text: str | None, limit: int, what: str) -> str | None:
    """Customer and user text is bounded and stripped of control characters before it is kept."""
    if text is None:
        return None
    out = printable(str(text), keep="\n\t").strip()
    if len(out) > limit:
        raise ActionError(f"longer than {limit:,} characters", what)
    return out


def next_ids(wh: Warehouse, n: int) -> list[str]:
    """n new item ids, after the highest there is (A-1, A-2...)."""
    last = wh.scalar("SELECT COALESCE(MAX(CAST(SUBSTRING(item_id, 3) AS BIGINT)), 0) FROM action_items "
                     "WHERE item_id LIKE 'A-%'")
    return [f"A-{i}" for i in range(int(last) + 1, int(last) + 1 + n)]


def get(wh: Warehouse, item_id: str) -> dict[str, Any]:
    item_id = str(item_id).strip().upper()  # ids are A-12; a-12 typed by hand names the same item
    frame = wh.df(f"SELECT i.*, {_NAME} AS customer, {_OVERDUE_NOW} AS overdue_now FROM action_items AS i "
                  "LEFT JOIN customer_golden AS g ON g.customer_id = i.customer_id WHERE i.item_id = ?",
                  [now(), item_id])
    if frame.empty:
        raise ActionError("no such action item; `patron actions list` shows them", str(item_id)[:40])
    out = _record(_live(frame).iloc[0].to_dict())
    # the ids people know the customer by in their own systems (the bank's CustomerId, the CRM's)
    out["customer_refs"] = [owner_name(f"{system}:{ref}") for system, ref in wh.rows(
        "SELECT system, ref FROM identity_map WHERE customer_id = ? ORDER BY system, ref LIMIT ?",
        [out["customer_id"], MAX_REFS])] if out["customer_id"] else []
    return out


MAX_REFS = 10
# the customer's name: the golden record's, else (a customer no source names: a complaints export's
# company) the id its records carry, which is the name people use
_NAME = "COALESCE(g.name, (SELECT MIN(m.ref) FROM identity_map AS m WHERE m.customer_id = i.customer_id))"


# overdue now (the stored flag is as of the last run of the plays, for the metric); one parameter: now
_OVERDUE_NOW = "(i.status IN ('open', 'in_progress') AND i.due_at IS NOT NULL AND i.due_at < ?)"


def _live(frame: pd.DataFrame) -> pd.DataFrame:
    """As of now, with the customer's name (the data's, so hostile) cleaned and bounded as an owner's."""
    return frame.assign(overdue=frame["overdue_now"].fillna(False).astype(bool),
                        customer=frame["customer"].map(owner_name)).drop(columns="overdue_now")


def _record(row: dict[str, Any]) -> dict[str, Any]:
    import pandas as pd

    out = {k: (None if not isinstance(v, list | dict) and pd.isna(v) else v) for k, v in row.items()}
    out["notes"] = json.loads(out["notes"]) if isinstance(out.get("notes"), str) else []
    return out


def add(wh: Warehouse, *, customer_id: str | None, title: str, owner: str | None, by: str,
        due_days: float | None = 7, priority: str = "medium", note: str | None = None,
        signal: str | None = None) -> str:
    """A person's own item (no play): returns its id."""
    title = _clean(title, MAX_TITLE, "title")
    if not title:
        raise ActionError("an item needs a title: what to do", "title")
    if priority not in PRIORITIES:
        raise ActionError(f"{priority!r} is not one of {', '.join(PRIORITIES)}", "priority")
    by = _person(by, "by")
    owner = _person(owner, "owner") if owner else by
    if due_days is not None and not (0 < due_days <= 3650):
        raise ActionError(f"{due_days} is not a number of days from 0 to 3,650", "due")
    if customer_id is not None and customers(wh, customer_id) != [customer_id]:
        raise ActionError("no such customer (a master id, as `patron customer` shows it)", str(customer_id)[:60])
    at = now()
    item = next_ids(wh, 1)[0]
    notes = [] if not note else [{"at": at.isoformat(), "by": by, "text": _clean(note, MAX_NOTE, "note")}]
    with wh.transaction():
        wh.execute("INSERT INTO action_items (item_id, play, customer_id, subject, signal, title, owner, priority, "
                   "status, notes, due_at, created_at, created_by, updated_at, overdue) "
                   "VALUES (?, NULL, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?, FALSE)",
                   [item, customer_id, f"manual:{item}", _clean(signal, MAX_TITLE, "signal") or "added by hand",
                    title, owner, priority, json.dumps(notes) if notes else None,
                    None if due_days is None else at + timedelta(days=due_days), at, by, at])
        history(wh, [(item, at, by, "created", None, title)])
    return item


def customers(wh: Warehouse, query: str) -> list[str]:
    """The customers an id names: a master id, or any source's own id (before identity is resolved,
    the source's id is the customer's id everywhere)."""
    return sorted(r[0] for r in wh.rows(
        "SELECT DISTINCT c FROM (SELECT customer_id AS c FROM customer_golden WHERE customer_id = ? "
        "UNION ALL SELECT customer_id FROM identity_map WHERE ref = ? OR customer_id = ? "
        "UNION ALL SELECT COALESCE(customer_id, customer_ref) FROM customers WHERE customer_ref = ? "
        "OR customer_id = ?) AS found WHERE c IS NOT NULL", [query] * 5))


RESERVED = ("play:", "import:", "identity")  # how history names what is not a person
_LOOKALIKE_SCRIPTS = {"LATIN", "CYRILLIC", "GREEK"}  # alphabets with letters drawn alike (а and a)


def impostor(name: str) -> str | None:
    """Why a person's name cannot be told from what the history writes for the plays, imports and
    identity, or None. Compared after Unicode compatibility folding (ｐｌａｙ: is play:), and a word
    mixing Latin with Cyrillic or Greek letters is refused, as Unicode's mixed-script test does
    (plаy: with a Cyrillic а)."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    if folded.startswith(RESERVED):
        return f"{name[:40]!r} is how the history names the plays, imports and identity, not a person"
    for word in folded.split():
        scripts = {unicodedata.name(ch, "?").split()[0] for ch in word if ch.isalpha()} & _LOOKALIKE_SCRIPTS
        if len(scripts) > 1:
            return (f"{name[:40]!r} mixes {' and '.join(sorted(s.title() for s in scripts))} letters in one word, "
                    "as a name made to pass for another does")
    return None


def _person(name: str | None, what: str) -> str:
    out = _clean(name, MAX_NAME, what)
    if not out:
        raise ActionError("names nobody; give a person's name", what)
    why = impostor(out)
    if why:
        raise ActionError(why, what)
    return out


def owner_name(value: Any) -> str | None:
    """An owner read from the data: stripped of control characters and cut to MAX_NAME; blank is nobody."""
    if value is None or not isinstance(value, str):
        return None if value is None or value != value else owner_name(str(value))
    out = printable(value).strip()[:MAX_NAME]
    return out or None


def update(wh: Warehouse, item_id: str, by: str, *, status: str | None = None, owner: str | None = None,
           due_at: datetime | None = None, priority: str | None = None, reason: str | None = None,
           note: str | None = None, title: str | None = None) -> dict[str, Any]:
    """A person's change: every field changed gets a history row; returns the item as it is now.
    Dismissing needs a reason. Done or dismissed closes the item; back to open reopens it."""
    by = _person(by, "by")
    item = get(wh, item_id)
    item_id = item["item_id"]
    if status is not None and status not in STATUSES:
        raise ActionError(f"{status!r} is not a status; statuses are: {', '.join(STATUSES)}", "status")
    if priority is not None and priority not in PRIORITIES:
        raise ActionError(f"{priority!r} is not one of {', '.join(PRIORITIES)}", "priority")
    reason = _clean(reason, MAX_NOTE, "reason")
    if status == "dismissed" and not (reason or item["reason"]):
        raise ActionError("dismissing an item needs a reason (--reason): why it is not worth doing", item_id)
    changes: dict[str, Any] = {}
    for name, value in (("status", status), ("owner", _person(owner, "owner") if owner is not None else None),
                        ("due_at", due_at), ("priority", priority), ("reason", reason),
                        ("title", _clean(title, MAX_TITLE, "title") if title is not None else None)):
        if value is not None and value != item[name]:
            changes[name] = value
    at = now()
    rows = [(item_id, at, by, name, _text(item[name]), _text(value)) for name, value in changes.items()]
    notes = list(item["notes"])
    if note is not None:
        text = _clean(note, MAX_NOTE, "note")
        if not text:
            raise ActionError("a note needs words: what was done or learnt", "note")
        if len(notes) >= MAX_NOTES:
            raise ActionError(f"already holds {MAX_NOTES} notes", item_id)
        notes.append({"at": at.isoformat(), "by": by, "text": text})
        rows.append((item_id, at, by, "note", None, text))
    if not rows:
        return item
    if due_at is not None and not (datetime(1970, 1, 1) <= due_at <= at + timedelta(days=3650)):
        raise ActionError(f"{due_at.date().isoformat()} is not a due date from 1970 to ten years from now", "due")
    if "status" in changes:
        # the loop's outcome (the customer's next answer) stays the one found after the first close:
        # reopening and closing again does not fish for a better one
        changes["closed_at"] = at if changes["status"] not in OPEN else None
    sets = {**changes, "notes": json.dumps(notes) if notes else None, "updated_at": at}
    # acting is working the item (a status change or a note); reassigning or moving the due date is not
    if item["first_action_at"] is None and ("status" in changes or note is not None):
        sets["first_action_at"] = at
        promised = promised_at(wh, item_id, item["due_at"])
        sets["in_time"] = promised is None or at <= promised
    status, due = sets.get("status", item["status"]), sets.get("due_at", item["due_at"])
    sets["overdue"] = status in OPEN and due is not None and due < at
    with wh.transaction():
        wh.execute(f"UPDATE action_items SET {', '.join(f'{k} = ?' for k in sets)} WHERE item_id = ?",
                   [*sets.values(), item_id])
        history(wh, rows)
    return get(wh, item_id)


def promised_at(wh: Warehouse, item_id: str, due_at: datetime | None) -> datetime | None:
    """The due time the item was created with: whether it was worked in time is judged by the time
    it promised, not by a due date moved later."""
    first = wh.rows("SELECT old_value FROM action_history WHERE item_id = ? AND field = 'due_at' "
                    "ORDER BY changed_at LIMIT 1", [item_id])
    if not first:
        return due_at
    return None if first[0][0] is None else datetime.fromisoformat(first[0][0])


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat(sep=" ") if isinstance(value, datetime) else str(value)


def history(wh: Warehouse, rows: list[tuple]) -> None:
    """Append history rows (item, when, who, field, before, after)."""
    if rows:
        wh.execute("INSERT INTO action_history (item_id, changed_at, changed_by, field, old_value, new_value) "
                   f"VALUES {', '.join(['(?, ?, ?, ?, ?, ?)'] * len(rows))}", [v for r in rows for v in r])


def changes(wh: Warehouse, item_id: str) -> pd.DataFrame:
    get(wh, item_id)
    return wh.df("SELECT changed_at, changed_by, field, old_value, new_value FROM action_history "
                 "WHERE item_id = ? ORDER BY changed_at, field = 'created' DESC, field", [item_id])


@dataclass(frozen=True)
class Filter:
    owner: str | None = None
    status: tuple[str, ...] = OPEN
    play: str | None = None
    customer_id: str | None = None
    overdue: bool = False
    cleared: bool | None = None  # True: only items whose condition cleared; False: only those still holding


def listing(wh: Warehouse, where: Filter = Filter()) -> pd.DataFrame:
    """Items matching `where`, the overdue and most urgent first, with the customer's name."""
    for s in where.status:
        if s not in STATUSES:
            raise ActionError(f"{s!r} is not a status; statuses are: {', '.join(STATUSES)}, or all", "status")
    conds = [f"i.status IN ({', '.join('?' * len(where.status))})"] if where.status else []
    params: list[Any] = list(where.status)
    for column, value in (("owner", where.owner), ("play", where.play), ("customer_id", where.customer_id)):
        if value is not None:
            conds.append(f"i.{column} = ?")
            params.append(value)
    at = now()
    if where.overdue:
        conds.append("i.due_at < ? AND i.status IN ('open', 'in_progress')")
        params.append(at)
    if where.cleared is not None:
        conds.append("i.cleared_at IS NOT NULL" if where.cleared else "i.cleared_at IS NULL")
    sql = (f"SELECT i.*, {_NAME} AS customer, {_OVERDUE_NOW} AS overdue_now "
           "FROM action_items AS i LEFT JOIN customer_golden AS g ON g.customer_id = i.customer_id"
           + (f" WHERE {' AND '.join(conds)}" if conds else "") +
           " ORDER BY overdue_now DESC, CASE i.priority WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END, "
           "i.due_at NULLS LAST, CAST(SUBSTRING(i.item_id, 3) AS BIGINT)")
    frame = _live(wh.df(sql, [at, *params]))
    frame["notes"] = [json.loads(v) if isinstance(v, str) else [] for v in frame["notes"]]
    return frame


def named(wh: Warehouse, column: Literal["play", "owner"], value: str, limit: int = 20) -> tuple[bool, list[str], int]:
    """Whether any item has `value` as its play (or owner), and else the first `limit` there are and
    how many: what a filter naming none of them could have meant."""
    if wh.scalar(f"SELECT COUNT(*) FROM action_items WHERE {column} = ?", [value]):
        return True, [], 0
    rows = wh.rows(f"SELECT {column}, COUNT(*) OVER () FROM action_items WHERE {column} IS NOT NULL "
                   f"GROUP BY {column} ORDER BY {column} LIMIT {int(limit)}")
    return False, [r[0] for r in rows], (rows[0][1] if rows else 0)
