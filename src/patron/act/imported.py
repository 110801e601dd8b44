"""Plays run before patron, brought in from the tool that ran them: who was treated, who was held
out, and what became of each item, so their uplift can be measured here too.

The file is CSV with a header: play, customer (its id in `system`), arm (treated or holdout),
assigned_on (YYYY-MM-DD), and optionally title, owner, status, closed_on, reason. Every row is
checked before anything is written; one bad row refuses the file, naming the row and the field.
A day is exactly YYYY-MM-DD, from 1970-01-01 to today (UTC); a done or dismissed item needs the day
it closed, not before it was assigned. Text is stripped of control characters, as a person's is.
A customer already assigned to a play keeps its first assignment: importing twice adds nothing.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from patron.act import items as I
from patron.errors import SourceError

if TYPE_CHECKING:
    import pandas as pd

    from patron.warehouse import Warehouse

REQUIRED = ("play", "customer", "arm", "assigned_on")
OPTIONAL = ("title", "owner", "status", "closed_on", "reason")
MAX_ROWS = 5_000_000
MAX_PROBLEMS = 20
_PLAY = re.compile(r"[a-z][a-z0-9_]{0,62}")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
FIRST_DAY = date(1970, 1, 1)
TEXTS = (("title", I.MAX_TITLE), ("owner", I.MAX_NAME), ("reason", I.MAX_NOTE))


@dataclass
class ImportResult:
    file: str
    rows: int
    assigned: int  # new assignments
    items: int  # new items (treated rows)
    already: int  # rows whose customer already had an assignment in that play

    def to_dict(self) -> dict:
        return self.__dict__.copy()


def import_plays(wh: Warehouse, file: str | Path, system: str, by: str) -> ImportResult:
    import pandas as pd

    path = Path(file)
    if not path.is_file():
        raise SourceError("no such file" if not path.exists() else "is not a regular file (a folder or a device)",
                          str(path))
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, nrows=MAX_ROWS + 1)
    except pd.errors.EmptyDataError:
        raise SourceError("holds no rows (an empty file)", str(path)) from None
    except (UnicodeDecodeError, pd.errors.ParserError) as e:
        raise SourceError(f"cannot be read as CSV ({str(e).splitlines()[0][:120]})", str(path)) from None
    if frame.empty:
        raise SourceError("holds no rows, only a header", str(path))
    if len(frame) > MAX_ROWS:
        raise SourceError(f"holds more than {MAX_ROWS:,} rows", str(path))
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise SourceError(f"has no column {', '.join(missing)} (needs {', '.join(REQUIRED)}; may have "
                          f"{', '.join(OPTIONAL)})", str(path))
    for c in OPTIONAL:
        if c not in frame.columns:
            frame[c] = ""
    frame = frame.apply(lambda s: s.str.strip())
    for name, _ in TEXTS:  # bounded in _problems, so that every row's problems are told together
        frame[name] = [I._clean(t, sys.maxsize, name) for t in frame[name]]
    frame["customer_id"] = _customers(wh, system, frame["customer"])
    problems = _problems(frame)
    if problems:
        shown = "; ".join(problems[:MAX_PROBLEMS]) + (f"; and {len(problems) - MAX_PROBLEMS} more"
                                                      if len(problems) > MAX_PROBLEMS else "")
        raise SourceError(f"nothing imported: {shown}", str(path))
    return _write(wh, frame, path.name, by)


def _customers(wh: Warehouse, system: str, refs: pd.Series) -> pd.Series:
    """Each ref's master id through identity (before identity is resolved, the ref itself where a
    source knows it)."""
    import pandas as pd

    wanted = pd.DataFrame({"ref": refs.unique()})
    with wh.frame("_patron_import_refs", wanted) as t:
        known = dict(wh.rows(
            f"SELECT w.ref, COALESCE(MAX(m.customer_id), MAX(c.customer_ref)) FROM {t} AS w "
            "LEFT JOIN identity_map AS m ON m.system = ? AND m.ref = w.ref "
            "LEFT JOIN customers AS c ON c.customer_ref = w.ref AND c.customer_id IS NULL GROUP BY w.ref", [system]))
    return refs.map(known)


def _problems(frame: pd.DataFrame) -> list[str]:
    out = []
    today = I.now().date()
    for i, r in enumerate(frame.to_dict("records"), start=2):  # row 1 is the header
        at = f"row {i}"
        if not _PLAY.fullmatch(r["play"]):
            out.append(f"{at}, field 'play': {r['play'][:40]!r} is not a play's name (lower-case letters, digits, _)")
        if r["customer_id"] is None or r["customer_id"] != r["customer_id"]:
            out.append(f"{at}, field 'customer': no customer has the id {r['customer'][:60]!r} in this system")
        if r["arm"] not in ("treated", "holdout"):
            out.append(f"{at}, field 'arm': {r['arm'][:20]!r} is neither treated nor holdout")
        for name in ("assigned_on", "closed_on"):
            if r[name]:
                problem = _day_problem(r[name], today)
                if problem:
                    out.append(f"{at}, field {name!r}: {problem}")
        start, end = _day(r["assigned_on"]), _day(r["closed_on"])
        if start and end and end < start:
            out.append(f"{at}, field 'closed_on': {end} is before the day it was assigned ({start})")
        if not r["assigned_on"]:
            out.append(f"{at}, field 'assigned_on': empty")
        if r["status"] and r["status"] not in I.STATUSES:
            out.append(f"{at}, field 'status': {r['status'][:20]!r} is not one of {', '.join(I.STATUSES)}")
        if r["arm"] == "holdout" and (r["status"] or r["closed_on"]):
            out.append(f"{at}: a held-out customer has no item, so no status or closed_on")
        if r["status"] == "dismissed" and not r["reason"]:
            out.append(f"{at}, field 'reason': a dismissed item needs one")
        if r["closed_on"] and r["status"] not in ("done", "dismissed"):
            out.append(f"{at}, field 'closed_on': only a done or dismissed item is closed")
        if r["status"] in ("done", "dismissed") and r["arm"] != "holdout" and not r["closed_on"]:
            out.append(f"{at}, field 'closed_on': a {r['status']} item needs the day it was closed")
        for name, limit in TEXTS:
            if len(r[name]) > limit:
                out.append(f"{at}, field {name!r}: longer than {limit:,} characters")
        impostor = I.impostor(r["owner"])
        if impostor:
            out.append(f"{at}, field 'owner': {impostor}")
        if len(out) > MAX_PROBLEMS * 2:
            break
    duplicated = frame.duplicated(["play", "customer_id"], keep="first") & frame["customer_id"].notna()
    out += [f"row {i + 2}, field 'customer': the customer is in play {frame['play'].iloc[i]!r} twice"
            for i in duplicated[duplicated].index[:MAX_PROBLEMS]]
    return out


def _day(text: str) -> date | None:
    """The day `text` is written as, exactly YYYY-MM-DD (no time, nothing after it), else None."""
    if not _DAY.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _day_problem(text: str, today: date) -> str | None:
    """Why `text` is not a day a play could have happened on: not a date, or before 1970 or after
    today (a typo's year, which would otherwise stretch every uplift window)."""
    day = _day(text)
    if day is None:
        return f"{text[:20]!r} is not a date (YYYY-MM-DD)"
    if day < FIRST_DAY:
        return f"{day} is before {FIRST_DAY}"
    if day > today:
        return f"{day} is after today ({today}, UTC)"
    return None


def _write(wh: Warehouse, frame: pd.DataFrame, name: str, by: str) -> ImportResult:
    import pandas as pd

    known = wh.df("SELECT play, customer_id FROM play_assignments")
    seen = set(zip(known["play"], known["customer_id"], strict=True))
    new = frame[[(p, c) not in seen for p, c in zip(frame["play"], frame["customer_id"], strict=True)]].copy()
    source = f"import:{name}"[:200]
    start = [datetime.combine(_day(d), time()) for d in new["assigned_on"]]
    shares = frame.groupby("play")["arm"].apply(lambda a: float((a == "holdout").mean()))
    assigned = pd.DataFrame({"play": new["play"].values, "customer_id": new["customer_id"].values,
                             "arm": new["arm"].values, "assigned_at": start,
                             "as_of": [d.date() for d in start], "share": new["play"].map(shares).values,
                             "source": source})
    treated = new[new["arm"] == "treated"]
    at = [datetime.combine(_day(d), time()) for d in treated["assigned_on"]]
    closed = [datetime.combine(_day(d), time(12)) if d else None for d in treated["closed_on"]]
    with wh.transaction():
        if len(assigned):
            with wh.frame("_patron_import_assigned", assigned) as t:
                wh.execute("INSERT INTO play_assignments (play, customer_id, arm, assigned_at, as_of, share, source) "
                           f"SELECT play, customer_id, arm, assigned_at, CAST(as_of AS DATE), share, source FROM {t}")
        if len(treated):
            items = pd.DataFrame({
                "item_id": I.next_ids(wh, len(treated)), "play": treated["play"].values,
                "customer_id": treated["customer_id"].values,
                "subject": [f"customer:{c}" for c in treated["customer_id"]],
                "signal": f"imported from {name}"[:500], "title": [t or p for t, p in zip(
                    treated["title"], treated["play"], strict=True)],
                "owner": [o or None for o in treated["owner"]], "priority": "medium",
                "status": [s or "open" for s in treated["status"]], "reason": [r or None for r in treated["reason"]],
                "due_at": [a + timedelta(days=14) for a in at], "created_at": at, "created_by": source,
                "updated_at": [c or a for a, c in zip(at, closed, strict=True)], "closed_at": closed,
                "first_action_at": closed})
            with wh.frame("_patron_import_items", items) as t:
                cols = ", ".join(items.columns)
                wh.execute(f"INSERT INTO action_items ({cols}) SELECT {cols} FROM {t}")
                # the history as the file tells it: made the day it was assigned, closed the day it closed
                history = "INSERT INTO action_history (item_id, changed_at, changed_by, field, old_value, new_value) "
                wh.execute(f"{history} SELECT item_id, CAST(created_at AS TIMESTAMP), ?, 'created', NULL, signal "
                           f"FROM {t}", [by])
                wh.execute(f"{history} SELECT item_id, CAST(closed_at AS TIMESTAMP), ?, 'status', 'open', status "
                           f"FROM {t} WHERE closed_at IS NOT NULL", [by])
                wh.execute(f"{history} SELECT item_id, CAST(closed_at AS TIMESTAMP), ?, 'reason', NULL, reason "
                           f"FROM {t} WHERE closed_at IS NOT NULL AND reason IS NOT NULL", [by])
    return ImportResult(name, len(frame), len(assigned), len(treated), len(frame) - len(new))
