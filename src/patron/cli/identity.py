"""`patron identity ...`: who is who, master customers across every source."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from patron.cli.formats import shown_of
from patron.cli.options import ConfigOpt, DbOpt, FormatOpt
from patron.cli.render import Format, emit_json, out, say, table
from patron.project import Project

app = typer.Typer(help="Who is who: master customers across every source.", no_args_is_help=True)


@app.command("resolve")
def identity_resolve(config: ConfigOpt = Path("patron.yml"), db: DbOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Link every source's customer ids to master customers and write customer_id everywhere."""
    with Project.open(config, db, require_config=True) as project:
        r = project.identity.resolve()
    if fmt is Format.json:
        emit_json(r.to_dict())
        return
    links = ([["links by exact name (the model was not trained)", r.name_links]] if r.fallback
             else [["links by the model", r.model_links]])
    table("Identity resolution", ["", "count"], [
        ["source records", r.records], ["master customers", r.customers],
        ["links by rule (same domain or email)", r.rule_links], *links,
        ["pairs to review", r.to_review], ["records with nothing to match on", r.alone],
        ["master ids kept from the last run", r.kept_ids], ["records with a new master id", r.new_ids],
    ], {"count"}, notes=[r.fallback])


@app.command("review")
def identity_review(
    limit: Annotated[int, typer.Option(min=1, help="At most this many pairs.")] = 30,
    config: ConfigOpt = Path("patron.yml"), db: DbOpt = None, fmt: FormatOpt = Format.table,
) -> None:
    """Pairs the model is unsure about (between review_below and match_threshold), most likely first."""
    with Project.open(config, db) as project:
        pairs = project.identity.review(limit)
        total = project.identity.review_count() if fmt is Format.table else len(pairs)
    if fmt is Format.json:
        emit_json(pairs)
    elif not pairs:
        out.print("Nothing to review.")
    else:
        table("Pairs to review, two records each: decide with "
              "`patron identity decide RECORD RECORD --merge|--apart`",
              ["records", "names", "domains", "probability"],
              [[f"{p['record_l']}\n{p['record_r']}", f"{p['name_l'] or ''}\n{p['name_r'] or ''}",
                f"{p['domain_l'] or ''}\n{p['domain_r'] or ''}", f"{p['match_probability']:.3f}"] for p in pairs],
              {"probability"}, lines=True, notes=[shown_of(len(pairs), total)])


@app.command("decide")
def identity_decide(
    record_l: Annotated[str, typer.Argument(help="A record, written system:ref.")],
    record_r: Annotated[str, typer.Argument(help="Another record, written system:ref.")],
    merge: Annotated[bool, typer.Option("--merge/--apart", help="Same customer (--merge) or not (--apart).")],
    note: Annotated[str | None, typer.Option(help="Why, for whoever looks next.")] = None,
    config: ConfigOpt = Path("patron.yml"), db: DbOpt = None,
) -> None:
    """Record a person's decision about two records; it wins over the model on every later run."""
    with Project.open(config, db) as project:
        project.identity.decide(record_l, record_r, "merge" if merge else "apart", note)
    say(f"Recorded: {record_l} and {record_r} {'are' if merge else 'are not'} the same customer. "
        "Run `patron identity resolve` to apply it.")
