"""`patron actions ...`: run the plays, and list, add, update and close the action items people own."""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from patron.cli.formats import cell, clip, counted, shown_of
from patron.cli.options import ConfigOpt, DbOpt, FormatOpt, limit_opt
from patron.cli.render import Format, emit_json, say, table
from patron.project import Project

if TYPE_CHECKING:
    import pandas as pd

    from patron.act.plays import PlayResult, PlaysRun

app = typer.Typer(help="Action items: what the plays created and people added, who owns them, what is done.",
                  no_args_is_help=True)

AsOpt = Annotated[str | None, typer.Option("--as", help="Who you are, for --mine and the history (default: "
                                                        "$PATRON_USER, else your login name).")]
UrgentOpt = limit_opt("most urgent")
ITEM_COLUMNS = ["item_id", "play", "customer_id", "customer", "title", "owner", "priority", "status", "due_at",
                "overdue", "cleared_at", "signal", "created_at", "closed_at", "reason", "notes"]


def me(name: str | None) -> str:
    """Who is acting, for the history: --as, else $PATRON_USER, else the login name."""
    if name is not None and not name.strip():
        from patron.errors import ActionError

        raise ActionError("names nobody; give a person's name or leave --as out", "--as")
    if name or os.environ.get("PATRON_USER"):
        return name or os.environ["PATRON_USER"]
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name (a container): the history must still say who
        from patron.errors import ActionError

        raise ActionError("cannot tell who you are; give --as NAME or set PATRON_USER", "--as") from None


@app.command("run")
def run_plays(config: ConfigOpt = Path("patron.yml"), db: DbOpt = None, fmt: FormatOpt = Format.table,
              dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what each play would create; write "
                                                                      "nothing.")] = False,
              force: Annotated[bool, typer.Option("--force", help="Evaluate even when nothing the plays read "
                                                                  "changed.")] = False) -> None:
    """Run patron.yml's plays: new action items for new signals, none twice, none a person closed re-opened."""
    with Project.open(config, db) as project:
        result = project.act.run_plays(dry_run=dry_run, force=force)
    if fmt is Format.json:
        emit_json(result.to_dict())
        return
    _say_run(result)


def _note(x: PlayResult) -> str:
    ended = f"holdout ended: {counted(x.released, 'held-out customer')} released to be treated" if x.released else ""
    return "; ".join(t for t in (x.note, ended) if t)


def _say_run(r: PlaysRun) -> None:
    for note in r.notes:
        say(note, "yellow")
    if r.skipped:
        say(f"Nothing to do: {r.skipped} (--force evaluates anyway).")
        return
    if not r.results:
        return
    verb = "would create" if r.dry_run else "created"
    table(f"Plays on the data of {r.as_of}" + (" (dry run: nothing written)" if r.dry_run else ""),
          ["play", "signals", verb, "held out", "already there", "cleared", "note"],
          [[f"{x.play}\n{x.label}" if x.label else x.play, x.matched, x.created, x.held_out, x.unchanged, x.cleared,
            _note(x)] for x in r.results],
          {"signals", verb, "held out", "already there", "cleared"})
    for x in r.results:  # a play that could not run is not a play that found nothing
        if not x.ran:
            say(f"{x.play} did not run: {x.note}", "yellow")
    if not r.dry_run:
        made = sum(x.created for x in r.results)
        say(f"{counted(made, 'new action item')}; `patron actions list` shows the open ones.")


@app.command("list")
def list_items(config: ConfigOpt = Path("patron.yml"), db: DbOpt = None, fmt: FormatOpt = Format.table,
               mine: Annotated[bool, typer.Option("--mine", help="Only yours (see --as).")] = False,
               who: AsOpt = None,
               owner: Annotated[str | None, typer.Option("--owner", help="Only this owner's.")] = None,
               play: Annotated[str | None, typer.Option("--play", help="Only this play's.")] = None,
               customer: Annotated[str | None, typer.Option("--customer", help="Only this customer's (master id "
                                                                               "or a source's id).")] = None,
               overdue: Annotated[bool, typer.Option("--overdue", help="Only those past due.")] = False,
               status: Annotated[str, typer.Option("--status", help="open, in_progress, done, dismissed, a list "
                                                                    "(open,done) or all.")] = "open,in_progress",
               cleared: Annotated[bool, typer.Option("--cleared", help="Only those whose condition no longer "
                                                                       "holds.")] = False,
               limit: UrgentOpt = 30) -> None:
    """Action items, overdue and most urgent first; by default the open ones."""
    from patron.act.items import STATUSES, Filter

    if mine and owner:
        raise typer.BadParameter("--mine and --owner both say whose; give one", param_hint="--mine")
    statuses = STATUSES if status == "all" else tuple(s.strip() for s in status.split(",") if s.strip())
    if not statuses:
        raise typer.BadParameter(f"names no status; give {', '.join(STATUSES)}, a list or all", param_hint="--status")
    with Project.open(config, db) as project:
        where = Filter(owner=me(who) if mine else owner, status=statuses, play=play, overdue=overdue,
                       customer_id=project.act.customer_id(customer) if customer else None,
                       cleared=True if cleared else None)
        frame = project.act.items(where)
        # a filter naming a play or owner no item has is likely a typo: say which there are
        unknown = [(flag, value, project.act.named(column, value)) for flag, column, value in
                   (("--play", "play", play), ("--owner", "owner", where.owner)) if value is not None and frame.empty]
    if fmt is Format.json:
        emit_json({"items": _records(frame), "filter": {"owner": where.owner, "status": list(where.status),
                                                        "play": play, "customer_id": where.customer_id,
                                                        "overdue": overdue, "cleared": cleared}})
        return
    for flag, value, (has, names, n) in unknown:
        if not has:
            listed = ", ".join(names) + (f" and {n - len(names)} more" if n > len(names) else "")
            say(f"{flag} {clip(value, 60)}: no item has it; items have: {listed or '(no items yet)'}", "yellow")
    if frame.empty:
        say("No action item matches." + ("" if status != "open,in_progress" else
                                         " (`patron actions run` runs the plays; --status all shows closed ones.)"))
        return
    shown = frame if limit == 0 else frame.head(limit)
    table(f"{counted(len(frame), 'action item')}", ["id", "due", "owner", "customer", "to do", "signal", "priority",
                                                      "status"],
          [[r["item_id"], _due(r), r["owner"], r["customer"] or r["customer_id"] or "", clip(r["title"], 60),
            clip(r["signal"], 80), r["priority"], _status(r)] for r in shown.to_dict("records")],
          drop=["signal", "priority"], notes=[shown_of(len(shown), len(frame))])


def _due(r: dict) -> str:
    due = _py(r.get("due_at"))
    due = due.strftime("%Y-%m-%d") if due is not None else ""
    return f"{due} OVERDUE" if r.get("overdue") and due else due


def _status(r: dict) -> str:
    text = r["status"].replace("_", " ")
    return text + (" (condition cleared)" if _py(r.get("cleared_at")) is not None else "")


def _py(v: Any) -> Any:
    import pandas as pd

    if v is None or (not isinstance(v, list | dict | str) and pd.isna(v)):
        return None
    return v.to_pydatetime() if isinstance(v, pd.Timestamp) else v


def _records(frame: pd.DataFrame) -> list[dict]:
    cols = [c for c in ITEM_COLUMNS if c in frame.columns]
    return [{c: _py(r[c]) for c in cols} for r in frame.to_dict("records")]


@app.command("show")
def show(item_id: Annotated[str, typer.Argument(help="The item, e.g. A-12.")],
         config: ConfigOpt = Path("patron.yml"), db: DbOpt = None, fmt: FormatOpt = Format.table) -> None:
    """One action item and its whole history: who changed what, and when."""
    with Project.open(config, db) as project:
        item, history = project.act.item(item_id)
    _show(item, history, fmt)


def _show(item: dict, history: pd.DataFrame, fmt: Format) -> None:
    rows = [{k: _py(v) for k, v in r.items()} for r in history.to_dict("records")]
    if fmt is Format.json:
        emit_json({"item": {k: _py(v) for k, v in item.items()}, "history": rows})
        return
    who = " ".join(filter(None, [item.get("customer"), item["customer_id"] and f"({item['customer_id']})"]))
    play = item["play"] and (f"{item['play_label']} ({item['play']})" if item.get("play_label") else item["play"])
    from patron.act.items import MAX_REFS

    refs = item.get("customer_refs") or []
    facts = [("item", item["item_id"]), ("to do", item["title"]), ("play", play or ""), ("customer", who),
             ("known as", ", ".join(refs) + (" …" if len(refs) >= MAX_REFS else "")),
             ("owner", item["owner"] or ""), ("priority", item["priority"]), ("status", _status(item)),
             ("due", cell(_py(item["due_at"]))), ("signal", item["signal"]),
             ("created", f"{cell(_py(item['created_at']))} by {item['created_by']}"),
             ("closed", cell(_py(item["closed_at"]))), ("reason", item["reason"] or ""),
             ("next score", cell(item["next_score"]))]
    table(None, ["", ""], [[k, v] for k, v in facts if v])
    for note in item["notes"]:
        say(f"{note['at'][:16].replace('T', ' ')} {note['by']}: {note['text']}")
    table("History", ["when", "who", "what", "before", "after"],
          [[cell(r["changed_at"]), r["changed_by"], r["field"], clip(r["old_value"], 60), clip(r["new_value"], 80)]
           for r in rows], drop=["before"])


@app.command("add")
def add(title: Annotated[str, typer.Argument(help="What to do.")],
        customer: Annotated[str | None, typer.Option("--customer", help="The customer it is about (master id or a "
                                                                        "source's id).")] = None,
        owner: Annotated[str | None, typer.Option("--owner", help="Who does it (default: you).")] = None,
        due: Annotated[float, typer.Option("--due-days", help="Days until due.", min=0.01, max=3650)] = 7,
        priority: Annotated[str, typer.Option("--priority", help="high, medium or low.")] = "medium",
        note: Annotated[str | None, typer.Option("--note", help="A first note.")] = None, who: AsOpt = None,
        config: ConfigOpt = Path("patron.yml"), db: DbOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Add an action item of your own."""
    with Project.open(config, db) as project:
        item_id = project.act.add(customer, title, owner, me(who), due_days=due, priority=priority, note=note)
        item, history = project.act.item(item_id)
    if fmt is Format.json:
        _show(item, history, fmt)
        return
    say(f"Added {item_id}, owned by {item['owner']}, due {cell(_py(item['due_at']))}.")


@app.command("update")
def update(item_id: Annotated[str, typer.Argument(help="The item, e.g. A-12.")],
           status: Annotated[str | None, typer.Option("--status", help="open, in_progress, done or dismissed.")]
           = None,
           owner: Annotated[str | None, typer.Option("--owner", help="Hand it to someone.")] = None,
           due: Annotated[str | None, typer.Option("--due", help="New due date (YYYY-MM-DD).")] = None,
           priority: Annotated[str | None, typer.Option("--priority", help="high, medium or low.")] = None,
           note: Annotated[str | None, typer.Option("--note", help="Add a note.")] = None,
           reason: Annotated[str | None, typer.Option("--reason", help="Why it is dismissed.")] = None,
           who: AsOpt = None, config: ConfigOpt = Path("patron.yml"), db: DbOpt = None,
           fmt: FormatOpt = Format.table) -> None:
    """Change an item: take it on, hand it over, move its due date, note what happened."""
    with Project.open(config, db) as project:
        changed = project.act.update(item_id, me(who), status=status, owner=owner, priority=priority, note=note,
                                     reason=reason, due_at=project.act.due(due) if due else None)
        item, history = project.act.item(changed["item_id"])
    if fmt is Format.json:
        _show(item, history, fmt)
        return
    say(f"{item_id}: {_status(item)}, owned by {item['owner']}, due {cell(_py(item['due_at']))}.")


@app.command("close")
def close(item_id: Annotated[str, typer.Argument(help="The item, e.g. A-12.")],
          dismiss: Annotated[bool, typer.Option("--dismiss", help="Not worth doing (needs --reason), rather than "
                                                                  "done.")] = False,
          reason: Annotated[str | None, typer.Option("--reason", help="Why it is dismissed.")] = None,
          note: Annotated[str | None, typer.Option("--note", help="What was done.")] = None,
          who: AsOpt = None, config: ConfigOpt = Path("patron.yml"), db: DbOpt = None,
          fmt: FormatOpt = Format.table) -> None:
    """Close an item: done, or dismissed with a reason."""
    with Project.open(config, db) as project:
        project.act.update(item_id, me(who), status="dismissed" if dismiss else "done", reason=reason, note=note)
        item, history = project.act.item(item_id)
    if fmt is Format.json:
        _show(item, history, fmt)
        return
    say(f"{item_id}: {_status(item)}.")


@app.command("fields")
def fields(subject: Annotated[str | None, typer.Option("--subject", help="customer, response or alert "
                                                                         "(default: all).")] = None,
           config: ConfigOpt = Path("patron.yml"), db: DbOpt = None, fmt: FormatOpt = Format.table) -> None:
    """The fields a play's condition may read, per subject, with their types and meanings."""
    from patron.act.signals import FIELDS

    if subject is not None and subject not in FIELDS:
        raise typer.BadParameter(f"{subject!r}: one of {', '.join(FIELDS)}", param_hint="--subject")
    rows = [{"subject": s, "field": f.name, "type": f.sql_type.lower(), "meaning": f.description,
             "needs": f.model} for s, fs in FIELDS.items() if subject in (None, s) for f in fs]
    with Project.open(config, db) as project:
        if project.db.exists() and subject in (None, "customer"):
            from patron.act.signals import attribute_fields

            rows += [{"subject": "customer", "field": n, "type": t.lower(), "meaning": "an attribute a source keeps",
                      "needs": None} for n, t in attribute_fields(project.warehouse).items()]
    if fmt is Format.json:
        emit_json({"fields": rows})
        return
    table("What a play's condition may read", ["subject", "field", "type", "meaning"],
          [[r["subject"], r["field"], r["type"], r["meaning"] + (f" (needs a {r['needs']} run)" if r["needs"] else "")]
           for r in rows], drop=["before"])


@app.command("import")
def import_plays(file: Annotated[Path, typer.Argument(help="CSV: play, customer, arm (treated or holdout), "
                                                           "assigned_on; optionally title, owner, status, "
                                                           "closed_on, reason.")],
                 system: Annotated[str, typer.Option("--system", help="The system whose ids the customer column "
                                                                      "holds (a source's system in patron.yml).")],
                 who: AsOpt = None, config: ConfigOpt = Path("patron.yml"), db: DbOpt = None,
                 fmt: FormatOpt = Format.table) -> None:
    """Bring in plays run before patron: who was treated and who held out, so their uplift shows here."""
    with Project.open(config, db) as project:
        r = project.act.import_plays(file, system, me(who))
    if fmt is Format.json:
        emit_json(r.to_dict())
        return
    say(f"{r.file}: {counted(r.rows, 'row')}, {counted(r.assigned, 'new assignment')} and "
        f"{counted(r.items, 'new item')}; {r.already:,} already there.")


@app.command("uplift")
def uplift(months: Annotated[int, typer.Option("--months", min=1, max=36, help="The window after each "
                                                                              "assignment.")] = 6,
           play: Annotated[str | None, typer.Option("--play", help="Only this play.")] = None,
           config: ConfigOpt = Path("patron.yml"), db: DbOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Did each play work? Treated against its random holdout: churn, NPS and MRR, with 95% intervals and n."""
    from patron.cli.scores import read_currency

    with Project.open(config, db) as project:
        results = project.act.uplift(months, play)
        uncompared = project.act.without_holdout()
        named = set(project.config.plays) if project.config else set()
        read_currency(project)
    if not results and play is not None:
        from patron.errors import ActionError

        if play not in uncompared and play not in named:
            known = sorted(named | set(uncompared))
            raise ActionError(f"no play of that name has run or been imported; plays: {', '.join(known) or '(none)'}",
                              f"--play {play[:60]}")
        raise ActionError("no customer was held out in this play, so there is nothing to compare; `patron actions "
                          "uplift` lists the plays that held customers out", f"--play {play[:60]}")
    if play is not None:
        uncompared = []
    if fmt is Format.json:
        emit_json({"months": months, "plays": [r.to_dict() for r in results], "without_holdout": uncompared})
        return
    if not results:
        say("No play has held customers out yet: give a play `holdout: 0.2` in patron.yml (a fifth of eligible "
            "customers left untreated, drawn at random) to measure whether it works.")
    for r in results:
        _say_uplift(r)
    if uncompared:
        say(f"Not compared, no customer held out: {', '.join(uncompared)}.", "dim")


def _say_uplift(r) -> None:
    from patron.cli.scores import money

    done = "" if r.done is None else f"; {r.done:.0%} of the treated items done"
    say(f"{r.play}: {r.treated:,} treated and {r.holdout:,} held out with {r.months} months behind them "
        f"({r.assigned:,} assigned{done}).", "bold")
    if r.note:
        say(r.note, "yellow" if r.outcomes else None)
    if not r.outcomes:
        return

    def show(o, v):
        if v is None:
            return ""
        return f"{v:.1%}" if o.unit == "share" else f"{v:+.1f}" if o.unit == "points" else money(v)

    table(None, ["outcome", "treated", "held out", "difference", "n", "verdict"],
          [[o.name, show(o, o.treated), show(o, o.holdout), _diff(o), f"{o.difference.n_a:,}/{o.difference.n_b:,}",
            o.verdict] for o in r.outcomes], {"treated", "held out", "difference", "n"}, drop=["n", "difference"])
    if not (r.note and "drawn outside patron" in r.note):
        say("Treated and held out were drawn at random, so a significant difference is the play's effect.", "dim")


def _diff(o) -> str:
    d = o.difference
    if d.value is None:
        return ""
    if o.unit not in ("share", "points"):  # money a month
        from patron.cli.scores import money

        return ("+" if d.value > 0 else "") + money(d.value)
    return f"{d.value * (100 if o.unit == 'share' else 1):+,.1f} pts"
