"""Rich rendering of the customer 360 and of ambiguous lookups."""

from __future__ import annotations

from rich.panel import Panel

from patron.cli.render import out, table
from patron.report.customer360 import Customer360, CustomerMatches


def _fmt(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:,.1f}"
    return str(v)


def render_matches(m: CustomerMatches) -> None:
    if not m.candidates:
        out.print(f"No customer matches {m.query!r}.")
        return
    table(f"{len(m.candidates)} customers match {m.query!r}: show one by its id",
          ["customer_id", "name", "domain", "segment", "records", "similarity"],
          [[c["customer_id"], c["name"], c["domain"], c["segment"], c["records"], c["similarity"]]
           for c in m.candidates], {"records", "similarity"})


def render_360(c: Customer360) -> None:
    p = c.profile
    lines = [f"[bold]{p['name']}[/]  {c.customer_id}",
             " · ".join(_fmt(p[k]) for k in ("domain", "segment", "region", "industry") if p.get(k)),
             f"owner {_fmt(p.get('owner'))} · customer since {_fmt(p.get('created_at'))[:10]} · "
             f"{p['records']} source records"]
    out.print(Panel("\n".join(lines), title="Customer 360", expand=False))
    table("Source ids", ["system", "id", "linked by"], [[s["system"], s["ref"], s["method"]] for s in c.source_ids])
    if c.contacts:
        table("Contacts", ["name", "email", "role"], [[x["name"], x["email"], x["role"]] for x in c.contacts])
    active = [s for s in c.subscriptions if s["end_date"] is None]
    mrr = c.mrr_by_month[-1]["mrr"] if c.mrr_by_month else 0
    out.print(f"MRR now [bold]${mrr:,.0f}[/] · {len(active)} active subscription period(s) · "
              f"{len(c.subscriptions)} periods in all · {len(c.orders)} orders")
    if c.mrr_by_month:
        trail = [m for m in c.mrr_by_month if m["mrr"]][-12:]
        if trail:
            table("MRR, last months", ["month", "MRR"], [[m["month"], f"${m['mrr']:,.0f}"] for m in trail], {"MRR"})
    if c.scores:
        table("Scores by touchpoint and quarter", ["survey", "touchpoint", "quarter", "value", "95% interval", "n"],
              [[s["survey"], s["touchpoint"], s["quarter"], _fmt(s["value"]),
                "" if s["ci_low"] is None else f"{s['ci_low']:.1f} to {s['ci_high']:.1f}", s["n"]]
               for s in c.scores[-16:]], {"value", "n"})
    if c.tickets:
        table(f"Tickets ({c.ticket_count} in all; latest)", ["opened", "priority", "category", "subject", "csat"],
              [[str(t["opened_at"])[:16], t["priority"], t["category"], t["subject"], _fmt(t["csat"])]
               for t in c.tickets[:8]])
    if c.feedback:
        table(f"Feedback ({c.feedback_count} in all; latest)", ["received", "channel", "text"],
              [[str(f["received_at"])[:10], f["channel"], f["text"]] for f in c.feedback[:6]])
