"""The plays: rules in patron.yml that turn signals into action items someone owns.

A run checks every play, evaluates every condition, and only then writes, in one transaction:
new items (one per play and signal, never a duplicate), the mark on items whose condition cleared,
the draw of each newly eligible customer into the treated group or the holdout, and one row per
play in `play_runs`. It never touches what a person set (status, owner, due date, notes), and never
re-opens or re-creates an item a person closed while its condition still held: a customer's
condition that clears and later returns is a new episode, and gets a new item.

When nothing the plays read has changed since the last run (loads, identity, predictions, alerts,
texts' enrichment, the plays themselves), a run says so and reads nothing more: the outcome would be
the same.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import sqlglot

from patron._version import __version__
from patron.act import items as I
from patron.act import rekey, rules
from patron.act import signals as S
from patron.errors import QueryFailed
from patron.expressions import columns_read

if TYPE_CHECKING:
    from collections.abc import Mapping

    import pandas as pd

    from patron.config import PlayConfig
    from patron.warehouse import Warehouse

CUSTOMERS = "_patron_act_customers"  # this run's customer signals, read by every play
MIN_FOR_ALL = 10  # a condition true for every one of at least this many customers is no selection


@dataclass
class PlayResult:
    play: str
    label: str | None = None  # the play's name as a person reads it (patron.yml's label)
    matched: int = 0
    created: int = 0
    held_out: int = 0
    unchanged: int = 0
    cleared: int = 0
    returned: int = 0  # open items whose condition cleared and holds again
    released: int = 0  # held-out customers released to be treated (the play's holdout is 0 now)
    ran: bool = True  # False where the play could not run (the scores it reads are not there)
    note: str | None = None
    examples: list[str] = field(default_factory=list)  # a few created items' ids


@dataclass
class PlaysRun:
    run_id: str | None
    as_of: Any
    results: list[PlayResult]
    skipped: str | None = None  # why nothing was evaluated (nothing changed)
    notes: list[str] = field(default_factory=list)
    dry_run: bool = False
    seconds: float = 0.0
    outcomes: int = 0  # closed items whose customer's next answer was found

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "as_of": self.as_of, "dry_run": self.dry_run, "skipped": self.skipped,
                "notes": self.notes, "plays": [asdict(r) for r in self.results], "outcomes": self.outcomes}


def inputs_signature(wh: Warehouse, plays: Mapping[str, PlayConfig], settings: object = None) -> str:
    """What the plays read, summed up: equal signatures give equal outcomes. `settings`: the rest of
    patron.yml that a run reads (the churn flag, the snapshot day)."""
    state = wh.rows(
        "SELECT (SELECT MAX(load_id) FROM loads WHERE rows_loaded + rows_updated > 0), "
        "(SELECT COUNT(*) FROM loads WHERE rows_loaded + rows_updated > 0), "
        "(SELECT MAX(created_at) FROM prediction_runs), (SELECT COUNT(*) FROM prediction_runs), "
        "(SELECT MAX(resolved_at) FROM identity_map), (SELECT COUNT(*) FROM identity_map), "
        "(SELECT MAX(last_day) FROM alerts), (SELECT COUNT(*) FROM alerts), (SELECT SUM(observed) FROM alerts), "
        "(SELECT MAX(enriched_at) FROM enrichment), (SELECT COUNT(*) FROM enrichment), "
        "(SELECT COUNT(*) FROM customer_golden), "
        "(SELECT MAX(loaded_at) FROM customer_attributes), (SELECT COUNT(*) FROM customer_attributes)")[0]
    config = {name: play.model_dump(mode="json") for name, play in sorted(plays.items())}
    text = json.dumps([__version__, [str(v) for v in state], config, str(settings)], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def run(wh: Warehouse, plays: Mapping[str, PlayConfig], *, dry_run: bool = False, force: bool = False,
        left_flag: str | None = None, snapshot: tuple[str, Any] | None = None) -> PlaysRun:
    """Every play, checked, evaluated, then written at once (nothing with `dry_run`). `left_flag`:
    the attribute that says a customer left (predict.churn.outcome), for the `churned` field;
    `snapshot`: (source, day) the latest snapshot_date patron.yml gives a dateless export."""
    from patron.warehouse.as_of import data_as_of

    started = time.perf_counter()
    as_of = data_as_of(wh)
    undated = as_of is None
    if undated:  # a snapshot with no dates (a bank's customer list): the draws are dated by its day, else the run
        as_of = snapshot[1] if snapshot else I.now().date()
    if not plays:
        return PlaysRun(None, as_of, [], notes=["no plays in patron.yml (see `patron actions fields` and the "
                                                "README's plays section)"], dry_run=dry_run)
    attributes = S.attribute_fields(wh)
    bad = rules.problems(plays, attributes) or rules.engine_problems(wh, plays, attributes)
    if bad:
        from patron.config import ConfigProblems

        raise ConfigProblems("patron.yml", bad)
    signature = inputs_signature(wh, plays, (left_flag, snapshot))
    if not force and not dry_run:
        last = wh.scalar("SELECT inputs FROM play_runs ORDER BY ran_at DESC LIMIT 1")
        if last == signature:
            with wh.transaction():  # identity has not changed since the run that followed it
                outcomes = upkeep(wh)
            return PlaysRun(None, as_of, [], skipped="nothing the plays read has changed since their last run",
                            seconds=time.perf_counter() - started, outcomes=outcomes)
    runs, notes = S.usable_runs(wh)
    if undated:
        by = f"sources.{snapshot[0]}.snapshot_date" if snapshot else "today"
        notes = [*notes, f"the data holds no dated activity, so this run is dated by {by} ({as_of}); an uplift "
                         "needs dated outcomes (subscriptions, survey answers) to compare"]
    found = _evaluate(wh, plays, runs, attributes, left_flag)
    problems = [f"plays.{name}.when: {why}" for name, (_, why) in found.items() if isinstance(why, str)
                and why.startswith("matches every")]
    if problems:
        from patron.config import ConfigProblems

        raise ConfigProblems("patron.yml", problems)
    run_id = None if dry_run else uuid.uuid4().hex[:12]
    results = []
    at = I.now()
    with wh.transaction():
        if not dry_run:
            rekey.follow(wh)
        for name, play in plays.items():
            frame, note = found[name]
            result = PlayResult(name, I.printable(play.label) if play.label else None, ran=frame is not None,
                                note=note if isinstance(note, str) else None)
            if frame is not None:
                result.matched = len(frame)
                _apply(wh, name, play, frame, result, at, run_id, as_of, write=not dry_run)
            results.append(result)
        outcomes = 0
        if not dry_run:
            outcomes = upkeep(wh)
            for r in results:
                wh.execute("INSERT INTO play_runs (run_id, ran_at, play, matched, created, held_out, unchanged, "
                           "cleared, note, inputs) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           [run_id, at, r.play, r.matched, r.created, r.held_out, r.unchanged, r.cleared, r.note,
                            signature])
    return PlaysRun(run_id, as_of, results, notes=notes, dry_run=dry_run, seconds=time.perf_counter() - started,
                    outcomes=outcomes)


def _evaluate(wh: Warehouse, plays: Mapping[str, PlayConfig], runs: dict[str, str], attributes: dict[str, str],
              left_flag: str | None = None) -> dict[str, tuple[pd.DataFrame | None, str | None]]:
    """Each play's matching signals, or why it did not run; before anything is written."""
    needs_customers = any(p.subject in ("customer", "response") for p in plays.values())
    if needs_customers:
        relation = S.customer_relation(wh, runs, left_flag)
        used = {c for p in plays.values() if p.subject == "customer"
                for c in columns_read(p.when) | ({p.owner_from} if p.owner_from else set())}
        extra = {n: t for n, t in attributes.items() if n in used}
        wh.execute(f"CREATE OR REPLACE TEMP TABLE {CUSTOMERS} AS {S.with_attributes(relation, extra)}")
    total = wh.scalar(f"SELECT COUNT(*) FROM {CUSTOMERS}") if needs_customers else 0
    out: dict[str, tuple[pd.DataFrame | None, str | None]] = {}
    models = {f.name: f.model for fields in S.FIELDS.values() for f in fields if f.model}
    for name, play in plays.items():
        read = columns_read(play.when) | ({play.owner_from} if play.owner_from else set())
        missing = sorted({models[c] for c in read if c in models and models[c] not in runs})
        if missing:
            out[name] = (None, f"reads the {' and '.join(missing)} scores, which are not there yet: run `patron "
                               f"predict`{' and `patron health`' if 'health' in missing else ''} first")
            continue
        condition = sqlglot.parse_one(play.when, read="duckdb").sql(dialect="duckdb")  # what was checked runs
        relation = _relation(play)
        try:
            frame = wh.df(f"SELECT * FROM ({relation}) AS s WHERE ({condition})")
        except QueryFailed as e:  # what only real rows reveal (a cast that fails): this play alone, named
            out[name] = (None, f"its condition failed on the data: {str(e).splitlines()[0][:200]}")
            continue
        if play.subject == "customer" and total >= MIN_FOR_ALL and len(frame) == total:
            out[name] = (None, f"matches every one of the {total:,} customers; a play picks some of them "
                               "(add a condition)")
            continue
        if play.subject == "response" and len(frame) >= MIN_FOR_ALL:
            answers = wh.scalar(f"SELECT COUNT(*) FROM ({relation}) AS s")
            if len(frame) == answers:
                out[name] = (None, f"matches every one of the {answers:,} survey answers of the last "
                                   f"{play.within_days} days; a play picks some of them (add a condition)")
                continue
        # an alert play may take every spike: each is already a selection (a theme above its baseline)
        note = None if len(frame) else "no signal meets the condition"
        gone = int(frame["churned"].fillna(False).sum()) if play.subject == "customer" and len(frame) else 0
        if gone and not read & {"churned", "paying"}:  # acting on customers who left is seldom what was meant
            note = (f"{gone:,} of the {len(frame):,} customers it matches have left; add `AND NOT churned` to "
                    "act only on current customers")
        out[name] = (frame, note)
    return out


def _relation(play: PlayConfig) -> str:
    if play.subject == "customer":
        return f"SELECT * FROM {CUSTOMERS}"
    if play.subject == "response":
        return S.response_relation(CUSTOMERS, play.within_days)
    return S.alert_relation(play.within_days)


def drawn_to_holdout(play: str, customer_id: str, share: float) -> bool:
    """A reproducible draw: the same play and customer always fall the same way at the same share."""
    if share <= 0:
        return False
    digest = hashlib.blake2b(f"{play}\x00{customer_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < share


def _apply(wh: Warehouse, name: str, play: PlayConfig, frame: pd.DataFrame, result: PlayResult, at: Any,
           run_id: str | None, as_of: Any, write: bool) -> None:
    import pandas as pd

    key = S.KEY[play.subject]
    frame = frame.sort_values(key, kind="stable")  # items numbered in the same order on every engine
    frame = frame.assign(subject=[f"{play.subject}:{k}" for k in frame[key]])
    existing = wh.df("SELECT item_id, subject, status, cleared_at, created_by FROM action_items WHERE play = ?",
                     [name])
    # an imported item closed before patron ran the play was an episode of its own: the live play
    # starts a new one where its condition holds (a closed item of its own never makes another)
    past = existing["created_by"].str.startswith("import:") & ~existing["status"].isin(I.OPEN)
    holding = existing[existing["cleared_at"].isna() & ~past]
    # an open item whose condition had cleared and holds again: the same episode goes on
    back = existing[existing["cleared_at"].notna() & existing["status"].isin(I.OPEN)
                    & existing["subject"].isin(frame["subject"])]
    back = back[~back["subject"].isin(holding["subject"])].drop_duplicates("subject")
    result.returned = len(back)
    result.unchanged = int(frame["subject"].isin(holding["subject"]).sum()) + len(back)
    new = frame[~frame["subject"].isin(holding["subject"]) & ~frame["subject"].isin(back["subject"])]
    # drawn once per customer and play, and kept; a holdout ends when the play's share is set to 0
    arms = wh.df(f"SELECT customer_id, arm, released_at, mixed FROM ({rekey.first_draws('play_assignments')}) "
                 "AS a WHERE play = ?", [name])
    ending = arms["arm"].eq("holdout") & arms["released_at"].isna() & (play.holdout <= 0)
    result.released = int(ending.sum())
    free = ending | arms["released_at"].notna() | arms["mixed"].fillna(False).astype(bool)
    known = dict(zip(arms["customer_id"], arms["arm"].where(~free, "treated"), strict=True))
    fresh = [c for c in new["customer_id"].dropna().unique() if c not in known]
    drawn = {c: "holdout" if drawn_to_holdout(name, c, play.holdout) else "treated" for c in fresh}
    arm = new["customer_id"].map(lambda c: known.get(c) or drawn.get(c) if isinstance(c, str) else "treated")
    treated = new[arm.fillna("treated") != "holdout"]
    result.held_out = len(new) - len(treated)  # matched = created + held_out + unchanged
    result.created = len(treated)
    gone = holding[~holding["subject"].isin(frame["subject"])] if play.subject == "customer" else holding.iloc[:0]
    result.cleared = len(gone)
    if not write:
        return
    if drawn and play.subject != "alert":
        assigned = pd.DataFrame({"play": name, "customer_id": list(drawn), "arm": list(drawn.values()),
                                 "assigned_at": at, "as_of": pd.Timestamp(as_of), "share": play.holdout,
                                 "source": f"run:{run_id}"})
        with wh.frame("_patron_assigned", assigned) as t:
            wh.execute(f"INSERT INTO play_assignments (play, customer_id, arm, assigned_at, as_of, share, source) "
                       f"SELECT play, customer_id, arm, assigned_at, CAST(as_of AS DATE), share, source FROM {t}")
    if result.released:
        wh.execute("UPDATE play_assignments SET released_at = ? WHERE play = ? AND arm = 'holdout' "
                   "AND released_at IS NULL", [at, name])
    by = f"play:{name}"
    if len(gone):
        _mark(wh, gone["item_id"].tolist(), "cleared_at", at, by, "condition no longer holds")
    if len(back):
        _mark(wh, back["item_id"].tolist(), "cleared_at", None, by, "condition holds again")
    if len(treated):
        ids = I.next_ids(wh, len(treated))
        result.examples = ids[:3]
        rows = _items(play, name, treated, ids, at)
        with wh.frame("_patron_new_items", rows) as t:
            wh.execute(f"INSERT INTO action_items ({', '.join(rows.columns)}) SELECT {', '.join(rows.columns)} "
                       f"FROM {t}")
            wh.execute("INSERT INTO action_history (item_id, changed_at, changed_by, field, old_value, new_value) "
                       f"SELECT item_id, created_at, created_by, 'created', NULL, signal FROM {t}")


def _mark(wh: Warehouse, ids: list[str], column: str, value: Any, by: str, words: str) -> None:
    import pandas as pd

    marks = pd.DataFrame({"item_id": ids})
    with wh.frame("_patron_marks", marks) as t:
        wh.execute(f"UPDATE action_items SET {column} = ? WHERE item_id IN (SELECT item_id FROM {t})", [value])
        wh.execute("INSERT INTO action_history (item_id, changed_at, changed_by, field, old_value, new_value) "
                   f"SELECT item_id, CAST(now() AS TIMESTAMP), ?, 'condition', NULL, ? FROM {t}", [by, words])


def _items(play: PlayConfig, name: str, frame: pd.DataFrame, ids: list[str], at: Any) -> pd.DataFrame:
    import pandas as pd

    owner = (frame[play.owner_from].map(I.owner_name) if play.owner_from
             else pd.Series([None] * len(frame), index=frame.index, dtype="object"))
    owner = owner.where(owner.notna(), I.owner_name(play.owner))
    out = pd.DataFrame({
        "item_id": ids, "play": name,
        "customer_id": frame["customer_id"].values if "customer_id" in frame else None,
        "subject": frame["subject"].values, "signal": _signals(play, frame),
        "title": I.printable(play.action).strip() or name, "owner": owner.values, "priority": play.priority,
        "status": "open",
        "due_at": at + timedelta(days=play.due_days), "created_at": at, "created_by": f"play:{name}",
        "updated_at": at, "overdue": False})
    if play.subject == "response":
        out["signal_at"] = pd.to_datetime(frame["submitted_at"]).values
        out["signal_score"] = frame["score"].astype("float64").values
        out["signal_survey"] = frame["survey"].values
    return out


MAX_SIGNAL = 500


def _signals(play: PlayConfig, frame: pd.DataFrame) -> list[str]:
    """What each item says about its signal: customers' own text, so stripped of control characters
    and bounded."""
    shown = [c for c in sorted(columns_read(play.when)) if c in frame.columns]  # read once, not per row
    out = []
    for r in frame.to_dict("records"):
        text = "".join(ch for ch in _signal(play, r, shown) if ord(ch) >= 32 and ord(ch) != 127
                       and not 0x202A <= ord(ch) <= 0x202E and not 0x2066 <= ord(ch) <= 0x2069)
        out.append(text if len(text) <= MAX_SIGNAL else text[:MAX_SIGNAL - 1] + "…")
    return out


def _signal(play: PlayConfig, row: dict[str, Any], shown: list[str]) -> str:
    """What a person reads: the facts behind the item, short and bounded."""
    if play.subject == "response":
        text = f"{str(row.get('survey') or '').upper()} {row.get('score')} on {_day(row.get('submitted_at'))}"
        if row.get("touchpoint"):
            text += f" ({str(row['touchpoint'])[:100]})"
        comment = " ".join(str(row.get("comment") or "").split())
        return text + (f': "{comment[:200]}{"…" if len(comment) > 200 else ""}"' if comment else "")
    if play.subject == "alert":
        return (f"{str(row.get('name'))[:200]}: {row.get('observed')} texts against {row.get('expected') or 0:.0f} "
                f"expected, {_day(row.get('first_day'))} to {_day(row.get('last_day'))}")
    return "; ".join(f"{c} {_value(c, row[c])}" for c in shown)[:500] or "meets the condition"


def _day(value: Any) -> str:
    return str(value)[:10] if value is not None else "?"


def _value(name: str, value: Any) -> str:
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "unknown"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if name == "churn_risk":
        return f"{float(value):.0%}"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)[:100]


def upkeep(wh: Warehouse) -> int:
    """What time and new data settle about items already there: an item past due that nobody acted on
    was not followed up in time; a comment's sentiment, once scored; and for closed items from a
    survey answer, the customer's next answer to the same survey after the close and the sentiment of
    its next text, which the closed loop is judged by. Returns how many next answers it found."""
    at = I.now()
    # not worked by the due time it was created with (a due date moved later does not excuse it)
    wh.execute(
        "UPDATE action_items SET in_time = FALSE FROM (SELECT i.item_id FROM action_items AS i LEFT JOIN ("
        "SELECT item_id, old_value, ROW_NUMBER() OVER (PARTITION BY item_id ORDER BY changed_at) AS k "
        "FROM action_history WHERE field = 'due_at') AS h ON h.item_id = i.item_id AND h.k = 1 "
        "WHERE i.in_time IS NULL AND i.first_action_at IS NULL "
        "AND CASE WHEN h.item_id IS NULL THEN i.due_at ELSE CAST(h.old_value AS TIMESTAMP) END < ?) AS late "
        "WHERE late.item_id = action_items.item_id", [at])
    overdue = "status IN ('open', 'in_progress') AND due_at IS NOT NULL AND due_at < ?"
    wh.execute(f"UPDATE action_items SET overdue = ({overdue}) WHERE overdue IS NULL OR overdue <> ({overdue})",
               [at, at])
    # the answer's own comment, matched by its exact key; an id two survey tools share is left out
    # (the scores are kept by id alone, so which comment one belongs to cannot be told)
    # only the answers of items still waiting for it, found by source and id (a key built for every
    # answer is a pass over the whole table at every run)
    wh.execute("UPDATE action_items SET signal_sentiment = s.score FROM (WITH src AS (SELECT DISTINCT source "
               "FROM responses), w AS (SELECT i.subject, src.source, substr(i.subject, length(src.source) + 11) "
               "AS response_id FROM action_items AS i JOIN src ON starts_with(i.subject, 'response:' || src.source "
               "|| ':') WHERE i.signal_sentiment IS NULL) "
               "SELECT w.subject, MAX(e.sentiment_score) AS score FROM w JOIN responses AS r ON r.source = w.source "
               "AND r.response_id = w.response_id JOIN enrichment AS e ON e.source_table = 'responses' "
               "AND e.item_id = r.response_id WHERE e.sentiment_score IS NOT NULL AND w.response_id IN ("
               "SELECT response_id FROM responses WHERE response_id IN (SELECT response_id FROM w) "
               "GROUP BY response_id HAVING COUNT(DISTINCT source) = 1) GROUP BY 1) AS s "
               "WHERE action_items.signal_sentiment IS NULL AND action_items.subject = s.subject")
    before = wh.scalar("SELECT COUNT(*) FROM action_items WHERE next_score IS NOT NULL")
    wh.execute(
        "UPDATE action_items SET next_score = n.score FROM ("
        "SELECT i.item_id, r.score, ROW_NUMBER() OVER (PARTITION BY i.item_id ORDER BY r.submitted_at, "
        "r.response_id) AS k FROM action_items AS i JOIN responses AS r "
        "ON COALESCE(r.customer_id, r.customer_ref) = i.customer_id AND r.survey = i.signal_survey "
        "AND r.submitted_at > i.closed_at WHERE i.closed_at IS NOT NULL AND i.next_score IS NULL "
        "AND i.signal_survey IS NOT NULL) AS n WHERE n.k = 1 AND n.item_id = action_items.item_id")
    wh.execute(
        "UPDATE action_items SET next_sentiment = n.s FROM ("
        "SELECT i.item_id, e.sentiment_score AS s, ROW_NUMBER() OVER (PARTITION BY i.item_id "
        "ORDER BY e.occurred_at, e.item_id) AS k FROM action_items AS i JOIN enrichment AS e "
        "ON e.customer_id = i.customer_id AND e.occurred_at > i.closed_at AND e.sentiment_score IS NOT NULL "
        "WHERE i.closed_at IS NOT NULL AND i.next_sentiment IS NULL) AS n "
        "WHERE n.k = 1 AND n.item_id = action_items.item_id")
    return int(wh.scalar("SELECT COUNT(*) FROM action_items WHERE next_score IS NOT NULL") - before)
