"""`patron invest`: where to invest: the customers to protect (value times risk), the accounts ripe
for expansion, and the people who matter at each."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from patron.cli.formats import clip, counted, shown_of
from patron.cli.options import ConfigOpt, DbOpt, FormatOpt
from patron.cli.render import Format, emit_json, say, table
from patron.cli.scores import money, read_currency, reasons, records, renews
from patron.project import Project

if TYPE_CHECKING:
    import pandas as pd

    from patron.act.invest import Investment

PROTECT = ["customer_id", "name", "owner", "segment", "value", "value_basis", "arr", "clv", "risk", "band",
           "at_stake", "months_to_renewal", "term", "reasons"]
EXPAND = ["customer_id", "name", "owner", "segment", "value", "value_basis", "arr", "clv", "met", "criteria",
          "reasons", "health", "usage_change", "usage_30d", "usage_prior_30d", "nps_last", "nps_last_at", "in_use",
          "limit"]
# a contact as JSON lists it: never its email or phone
PERSON = ["contact_id", "name", "role", "champion", "economic_buyer", "detractor", "nps", "nps_at", "why"]
LimitOpt = Annotated[int, typer.Option("--limit", min=0, help="Rows of each list to show: most at stake and best "
                                                              "candidates first (0: all; JSON has all).")]


def _total(frame: pd.DataFrame, column: str) -> float | None:
    v = frame[column].sum(min_count=1) if len(frame) else None
    return None if v is None or v != v else round(float(v), 2)


def _document(found: Investment, groups: pd.DataFrame | None, owner: str | None, segment: str | None,
              protected: dict[str, str], warnings: list[str]) -> dict:
    """The one JSON document: both lists in full, each account with the people who matter there."""
    people: dict[str, list[dict]] = {}
    for r in records(found.contacts, ["customer_id", *PERSON]):
        people.setdefault(r.pop("customer_id"), []).append(r)

    def listed(frame: pd.DataFrame, keep: list[str]) -> list[dict]:
        return [r | {"contacts": people.get(r["customer_id"], [])} for r in records(frame, keep)]

    return {"as_of": found.as_of, "runs": found.runs, "filters": {"owner": owner, "segment": segment},
            "customers": found.customers, "risk": found.risk, "value": found.value, "ranking": found.ranking,
            "protect": listed(found.protect, PROTECT), "expand": listed(found.expand, EXPAND),
            "criteria": {"read": found.criteria, "cannot": found.cannot}, "capacity": found.capacity,
            "totals": {"accounts": len(found.protect), "value": _total(found.protect, "value"),
                       "at_stake": _total(found.protect, "at_stake"), "expansion": len(found.expand),
                       "expansion_value": _total(found.expand, "value")},
            "by": None if groups is None else records(groups, list(groups.columns)), "notes": found.notes,
            "protected_features": protected, "warnings": warnings}


def _protected(project: Project, found: Investment) -> tuple[dict[str, str], list[str]]:
    """The churn run's features that are protected characteristics (gender, age...), and the line
    that says so: its reasons are shown here as in `patron risk`."""
    from patron.predict.risk import protected_warning

    if found.risk != "churn":
        return {}, []
    run = project.predict.last_run()
    protected = project.predict.protected_features(run)
    line = protected_warning(protected, ((run or {}).get("settings") or {}).get("mode") == "one snapshot")
    return protected, [line] if line else []


def _protect(found: Investment, limit: int) -> None:
    frame = found.protect
    if frame.empty:
        return
    shown = frame if limit == 0 else frame.head(limit)
    known = frame["value"].notna().any()  # no value known (a bank's customer list): no money columns

    def cash(v: float | None) -> str:
        return money(v) if known else ""

    what = {"lifetime value, else ARR": "lifetime value (CLV) where the clv run has it, else ARR",
            "lifetime value": "lifetime value (CLV)"}.get(found.value or "", found.value)
    prob = "the probability of leaving (the latest churn run's)"
    table("Customers to protect, " + ("most value at stake first" if known else "most likely to leave first"),
          ["customer", "id", "owner", "segment", "risk", "CLV", "ARR", "at stake", "renews", "why"],
          [[r.name or r.customer_id, r.customer_id, r.owner, r.segment, f"{r.band} {r.risk:.0%}",
            cash(r.clv) if r.value_basis == "clv" else "", cash(r.arr) if r.arr else "", cash(r.at_stake),
            renews(r.months_to_renewal, r.term), clip(reasons(r.reasons), 160)] for r in shown.itertuples()],
          {"risk", "CLV", "ARR", "at stake"}, drop=["segment", "id", "owner", "CLV", "renews"],
          notes=[shown_of(len(shown), len(frame)),
                 f"at stake: value times {prob}; value: {what}" if known else
                 f"no value known, so ranked by {prob} alone"])


def _expand(found: Investment, limit: int) -> None:
    frame = found.expand
    if frame.empty:
        return
    shown = frame if limit == 0 else frame.head(limit)
    n = len(found.criteria)
    table("Expansion candidates, most criteria met first",
          ["customer", "id", "owner", "segment", "meets", "CLV", "ARR", "why"],
          [[r.name or r.customer_id, r.customer_id, r.owner, r.segment, f"{r.met} of {n}",
            money(r.clv) if r.value_basis == "clv" else "", money(r.arr) if r.arr else "",
            clip(reasons(r.reasons), 200)] for r in shown.itertuples()],
          {"meets", "CLV", "ARR"}, drop=["segment", "id", "owner", "CLV"],
          notes=[shown_of(len(shown), len(frame)), f"Ranked {found.ranking['expand']}."])


def _people(found: Investment, limit: int) -> None:
    """The people who matter at the accounts the tables show (names and roles; never an email)."""
    heads = [found.protect, found.expand]
    ids = list(dict.fromkeys(x for f in heads for x in (f if limit == 0 else f.head(limit))["customer_id"]))
    if not ids or found.contacts.empty:
        return
    names = {r.customer_id: r.name for f in heads for r in f.itertuples()}
    order = {c: i for i, c in enumerate(ids)}
    people = found.contacts[found.contacts["customer_id"].isin(order)]
    people = people.assign(_at=people["customer_id"].map(order)).sort_values("_at", kind="stable")
    if people.empty:
        say("No champion, economic buyer or detractor among the contacts of the accounts shown.")
        return
    table("The people who matter at these accounts", ["customer", "id", "contact", "role", "why it matters"],
          [[names.get(r.customer_id) or r.customer_id, r.customer_id, r.name, r.role, r.why]
           for r in people.itertuples()],
          drop=["id"], notes=["champion: latest NPS 9-10, or a role such as champion, admin or power user; "
                                "economic buyer: a role that holds the budget; detractor: latest NPS 0-6"])


def _by(groups: pd.DataFrame, by: str, found: Investment) -> None:
    if groups.empty:
        say(f"Nothing to total by {by}: no customer to protect and no expansion candidate.")
        return
    known = groups["value"].notna().any() or groups["expansion_value"].notna().any()

    def cash(v: float | None) -> str:
        return money(v) if known else ""

    table(f"Where to invest by {by}", [by, "accounts", "high risk", "value", "at stake", "expansion", "their value"],
          [[getattr(r, by), f"{r.accounts:,}", f"{r.high_risk:,}", cash(r.value), cash(r.at_stake),
            f"{r.expansion:,}", cash(r.expansion_value)] for r in groups.itertuples()],
          {"accounts", "high risk", "value", "at stake", "expansion", "their value"}, drop=["their value", "high risk"],
          notes=[f"accounts: customers to protect (scored); value: {found.value or 'none known'}; at stake: value "
                 "times the probability of losing it; expansion: candidates, and their value"])


def invest(
    config: ConfigOpt = Path("patron.yml"), db: DbOpt = None, fmt: FormatOpt = Format.table,
    by: Annotated[str | None, typer.Option("--by", help="Totals per owner or segment: accounts, value at stake, "
                                                        "expansion candidates.")] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="Only this owner's customers (the name in full, any "
                                                              "case).")] = None,
    segment: Annotated[str | None, typer.Option("--segment", help="Only this segment's customers.")] = None,
    limit: LimitOpt = 10,
) -> None:
    """Where to invest: the customers to protect (value times risk, with the reasons), the accounts
    ripe for expansion, and the champions, economic buyers and detractors at each."""
    if by not in (None, "owner", "segment"):
        raise typer.BadParameter(f"{by!r}: sum by owner or segment", param_hint="--by")
    with Project.open(config, db) as project:
        found = project.act.invest(owner=owner, segment=segment)
        read_currency(project)
        protected, warnings = _protected(project, found)
    groups = project.act.invest_by(found, by) if by else None
    if fmt is Format.json:
        emit_json(_document(found, groups, owner, segment, protected, warnings))
        return
    day = f" on {found.as_of:%Y-%m-%d}" if found.as_of else ""
    for note in [*warnings, *(f"{n[0].upper()}{n[1:]}." for n in found.notes)]:
        say(note, "yellow")
    p, e = found.protect, found.expand
    stake, worth = _total(p, "at_stake"), _total(e, "value")
    what = {"lifetime value, else ARR": "value: CLV, else ARR", "lifetime value": "CLV"}.get(found.value or "",
                                                                                           found.value)
    say(f"Where to invest{day}: {counted(len(p), 'customer')} to protect"
        + (f", {money(stake)} at stake in all" if stake is not None else "")
        + f"; {counted(len(e), 'expansion candidate')}" + (f" ({money(worth)} {what})" if worth is not None else "")
        + ".")
    if groups is not None:
        _by(groups, by, found)
        return
    _protect(found, limit)
    if e.empty and found.criteria:
        say("No expansion candidate: no account meets enough of the criteria (" + found.ranking["expand"] + ").")
    _expand(found, limit)
    for criterion, why in found.cannot.items():
        say(f"Expansion, {criterion.replace('_', ' ')}: {why}.", "dim")
    _people(found, limit)
