"""`patron customer show`: one customer's 360 view, or the candidates when a lookup is ambiguous."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.panel import Panel
from rich.text import Text

from patron.cli.formats import cell, clip, counted, interval, number, shown_of
from patron.cli.options import ConfigOpt, DbOpt, FormatOpt
from patron.cli.render import Format, emit_json, out, plain, say, table
from patron.project import Project

if TYPE_CHECKING:
    from patron.report.customer360 import Customer360, CustomerMatches

app = typer.Typer(help="One customer, everything known about it.", no_args_is_help=True)

MATCHES = 20  # the most candidates a lookup returns
SCORES, TICKETS, FEEDBACK, MONTHS, ORDERS = 16, 8, 6, 12, 10


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:,.1f}"
    return cell(v)


def render_matches(m: CustomerMatches) -> None:
    if not m.candidates:
        say(f"No customer matches {m.query!r}: try a master id (C0000001), any source's id, an email or "
            "part of a name.")
        return
    more = f"At most {MATCHES} are listed; a longer query narrows them." if len(m.candidates) >= MATCHES else None
    table(f"{counted(len(m.candidates), 'customer')} match {m.query!r}: show one by its id",
          ["customer_id", "name", "domain", "segment", "records", "similarity"],
          [[c["customer_id"], c["name"], c["domain"], c["segment"], c["records"], f"{c['similarity']:.3f}"]
           for c in m.candidates], {"records", "similarity"}, drop=["similarity", "records", "segment"], notes=[more])


def _profile_lines(c: Customer360) -> list[Text]:
    """The panel's lines: name and id, then only the facts the record holds (an empty field is
    left out, never shown as "owner  ·"); a master id without a customer record says so."""
    p = c.profile
    if not c.has_record:
        systems = ", ".join(p.get("sources") or [])
        return [Text.assemble(("(no customer record)", "bold"), "  ", plain(c.customer_id)),
                plain(f"No `customers` source describes this customer; it is known from {systems}.")]
    head = plain(f"{p.get('name') or '(no name)'}  {c.customer_id}")  # names come from files: text only
    head.stylize("bold", 0, len(str(p.get("name") or "(no name)")))
    facts = " · ".join(_fmt(p[k]) for k in ("domain", "segment", "region", "industry") if p.get(k))
    since = " · ".join(filter(None, [
        f"owner {_fmt(p['owner'])}" if p.get("owner") else "",
        f"customer since {_fmt(p['created_at'])[:10]}" if p.get("created_at") else "",
        counted(int(p["records"]), "source record") if p.get("records") else ""]))
    return [line for line in (head, plain(facts), plain(since)) if line.plain]


def _spend(c: Customer360) -> str:
    """Total spend, each currency on its own: amounts in two currencies are never added."""
    return " + ".join(number(s["amount"], "currency", s["currency"]) for s in c.spend) or "–"


def _revenue(c: Customer360) -> None:
    """Subscriptions' MRR when it has any; its orders (newest first) when it has any; nothing
    for neither: an orders-only customer never reads "MRR now $0"."""
    if c.subscriptions:
        active = [s for s in c.subscriptions if s["end_date"] is None]
        mrr = c.mrr_by_month[-1]["mrr"] if c.mrr_by_month else None
        say(f"MRR now {number(mrr, 'currency', c.currency)} · "
            f"{counted(len(active), 'active subscription period')} · "
            f"{counted(len(c.subscriptions), 'period')} in all")
        trail = [m for m in c.mrr_by_month if m["mrr"]][-MONTHS:]
        if trail:
            table(f"MRR, last {counted(len(trail), 'month')} with revenue", ["month", "MRR"],
                  [[str(m["month"])[:7], number(m["mrr"], "currency", c.currency)] for m in trail], {"MRR"})
    if c.order_count:
        say(f"{counted(c.order_count, 'order')} · total spend {_spend(c)} · first {cell(c.first_order_at)[:10]} · "
            f"last {cell(c.last_order_at)[:10]}")
        shown = c.orders[:ORDERS]
        table("Orders, latest first", ["ordered", "order", "amount", "product"],
              [[cell(o["ordered_at"])[:10], o["order_id"],
                number(o["amount"], "currency", o["currency"] or c.currency), clip(o["product"], 60)]
               for o in shown], {"amount"}, drop=["product"],
              notes=[shown_of(len(shown), c.order_count, f"the latest (--format json: up to {len(c.orders)})")])


def _risk(c: Customer360) -> None:
    r = c.risk
    why = "; ".join(x["says"] for x in r["reasons"]) or "no reason stands out"
    within = f"within {counted(r['horizon_months'], 'month')}" if r.get("horizon_months") else "likely to leave"
    stake = (f"{number(r['at_stake'], 'currency', c.currency)} of {number(r['arr'], 'currency', c.currency)} ARR "
             "at stake" if r.get("arr") is not None else "no revenue known")
    months = r.get("months_to_renewal")
    renews = ("" if months is None else " Its contract is monthly." if r.get("term_months") == 1 else
              f" Its contract renews in {counted(int(months), 'month')}.")
    say(f"Churn risk {r['band']} ({r['probability']:.0%} {within}, scored {cell(r['as_of'])[:10]}): {stake}.{renews} "
        f"Why: {why}.")


def render_360(c: Customer360) -> None:
    out.print(Panel(Text("\n").join(_profile_lines(c)), title="Customer 360", expand=False))
    table("Source ids", ["system", "id", "linked by"], [[s["system"], s["ref"], s["method"]] for s in c.source_ids])
    if c.contacts:
        table("Contacts", ["name", "email", "role"], [[x["name"], x["email"], x["role"]] for x in c.contacts],
              drop=["role"])
    _revenue(c)
    if c.health:
        now, before = c.health[-1], c.health[max(0, len(c.health) - 4)]
        weak = "; ".join(x["says"] for x in now["weakest"]) or "nothing below 50"
        def score(h: dict) -> str:
            return "unscored (no data for any weighted component)" if h["score"] is None else f"{h['score']:.0f}/100"

        was = f", {score(before)} on {cell(before['month'])[:10]}" if before is not now else ""
        say(f"Health {score(now)} ({now['band']}) on {cell(now['month'])[:10]}{was}. Weakest: {weak}.")
    if c.value:
        v = c.value
        parts = []
        if v.get("subscription_value") is not None:
            months = round(v["expected_months"])
            parts.append(f"subscription {number(v['subscription_value'], 'currency', c.currency)} over "
                         f"{months:,} expected month{'' if months == 1 else 's'}")
        if v.get("orders_value") is not None:
            parts.append(f"orders {number(v['orders_value'], 'currency', c.currency)} "
                         f"({v['probability_alive']:.0%} likely still buying)")
        say(f"Lifetime value {number(v['value'], 'currency', c.currency)} on {cell(v['as_of'])[:10]}"
            + (f": {'; '.join(parts)}." if parts else "."))
    if c.risk:
        _risk(c)
    if c.scores:
        shown = c.scores[-SCORES:]
        table("Scores by touchpoint and quarter", ["survey", "touchpoint", "quarter", "value", "95% interval", "n"],
              [[s["survey"], s["touchpoint"], s["quarter"], number(s["value"], s["unit"]),
                interval(s["ci_low"], s["ci_high"], s["unit"]), s["n"]] for s in shown],
              {"value", "n"}, drop=["95% interval"],
              notes=[shown_of(len(shown), len(c.scores), "--format json has all")])
    if c.tickets:
        shown = c.tickets[:TICKETS]
        table("Tickets, latest first", ["opened", "priority", "category", "subject", "csat"],
              [[str(t["opened_at"])[:16], t["priority"], t["category"], clip(t["subject"]), _fmt(t["csat"])]
               for t in shown], drop=["category", "priority"],
              notes=[shown_of(len(shown), c.ticket_count, f"the latest (--format json: up to {len(c.tickets)})")])
    if c.feedback:
        shown = c.feedback[:FEEDBACK]
        table("Feedback, latest first", ["received", "channel", "text"],
              [[str(f["received_at"])[:10], f["channel"], clip(f["text"], 200)] for f in shown],
              notes=[shown_of(len(shown), c.feedback_count, f"the latest (--format json: up to {len(c.feedback)})")])


@app.command("show")
def customer_show(
    query: Annotated[str, typer.Argument(help="Master id, any source's id, an email, or a name.")],
    config: ConfigOpt = Path("patron.yml"), db: DbOpt = None, fmt: FormatOpt = Format.table,
) -> None:
    """The customer 360: profile, source ids, contacts, MRR or orders, scores by touchpoint, tickets, feedback."""
    from patron.report.customer360 import CustomerMatches

    with Project.open(config, db) as project:
        view = project.customer(query)
    if fmt is Format.json:
        emit_json(view.to_dict())
    elif isinstance(view, CustomerMatches):
        render_matches(view)
    else:
        render_360(view)
    if isinstance(view, CustomerMatches) and len(view.candidates) != 1:
        raise typer.Exit(0 if view.candidates else 1)
