"""Write a whole demo company: the exports of each system, a patron.yml that maps them, and truth.

Customers are generated in blocks with a seed per block, so memory stays flat from a thousand
to millions of customers and the output depends only on (customers, seed, as_of).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from patron.demo import activity, plays, programs
from patron.demo.identities import coded, company_names, domains, name_variant, person_names
from patron.demo.project_file import project_yaml
from patron.demo.simulate import (
    CAUSES,
    DRIVER,
    DRIVER_EFFECT,
    MONTHS,
    make_accounts,
    month_share,
    month_starts,
    simulate_billing,
)
from patron.demo.words import INDUSTRIES, OWNERS, PLANS, REGION_LABEL, REGIONS, SEGMENT_LABEL, SEGMENTS

BLOCK = 25_000
SPIKE_THEME, SPIKE_CHANNEL = "login", "social"


@dataclass
class GenerateResult:
    out: Path
    customers: int
    seed: int
    as_of: str
    files: dict[str, int] = field(default_factory=dict)  # relative path -> rows

    def to_dict(self) -> dict:
        return {"out": str(self.out), "customers": self.customers, "seed": self.seed,
                "as_of": self.as_of, "files": self.files}


class _Sink:
    """Appends blocks to files, each in the format its system would export."""

    def __init__(self, out: Path):
        self.out = out
        self.writers: dict[str, object] = {}
        self.rows: dict[str, int] = {}

    def write(self, rel: str, df: pd.DataFrame | pa.Table) -> None:
        path = self.out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        self.rows[rel] = self.rows.get(rel, 0) + len(df)
        if rel.endswith(".jsonl"):
            with open(path, "a", encoding="utf-8") as f:
                df.to_json(f, orient="records", lines=True, date_format="iso")
            return
        if rel.endswith(".parquet"):
            table = df if isinstance(df, pa.Table) else pa.Table.from_pandas(df, preserve_index=False)
            if rel not in self.writers:
                self.writers[rel] = pq.ParquetWriter(path, table.schema, compression="zstd")
            self.writers[rel].write_table(table)
            return
        # every column as text, so each block has the same schema whatever its values
        table = pa.table({c: pa.array(df[c].to_numpy(), from_pandas=True).cast(pa.string()) for c in df.columns})
        if rel not in self.writers:
            self.writers[rel] = pacsv.CSVWriter(path, table.schema)
        self.writers[rel].write_table(table)

    def close(self) -> None:
        for w in self.writers.values():
            w.close()


def generate(
    customers: int = 5000, seed: int = 42, out: str | Path = "patron-demo", as_of: date | None = None,
    usage_days: int = 365, progress: Callable[[int, int], None] | None = None,
) -> GenerateResult:
    if customers < 1:
        raise ValueError("customers must be at least 1")
    out = Path(out)
    exports, truth_dir = out / "exports", out / "truth"
    for d in (exports, truth_dir):
        if d.exists() and any(d.iterdir()):
            raise FileExistsError(f"{d} is not empty; choose another --out or remove it")
    as_of = as_of or date.today()
    today = np.datetime64(as_of.isoformat(), "D")
    spike_first = int(today.astype(np.int64)) - 20  # inside the briefing's last 30 days
    spike = (spike_first, spike_first + 5)
    sink, truth = _Sink(exports), _Sink(truth_dir)
    totals = _Totals()
    blocks = range(0, customers, BLOCK)
    try:
        for b, lo in enumerate(blocks):
            _block(b, lo, min(lo + BLOCK, customers), seed, today, usage_days, spike, sink, truth, totals)
            if progress:
                progress(min(lo + BLOCK, customers), customers)
        sink.write("finance/costs.csv", totals.costs(today))
    finally:
        sink.close()
        truth.close()
    (out / "patron.yml").write_text(project_yaml(), encoding="utf-8")
    planted = {
        "as_of": as_of.isoformat(),
        "seed": seed,
        "customers": customers,
        "driver": {"touchpoint": DRIVER, "effect": DRIVER_EFFECT,
                   "meaning": "NPS points per standard deviation of experience at the touchpoint; "
                              "every other touchpoint has 0.3 / sqrt(8)"},
        "spike": {"theme": SPIKE_THEME, "channel": SPIKE_CHANNEL,
                  "first_day": str(np.datetime64(spike[0], "D")), "last_day": str(np.datetime64(spike[1], "D"))},
        "duplicates": totals.duplicates,
        "churned": totals.churned,
        "program": programs.planted(today, sink.rows.get(programs.EXPORT, 0)),
        "plays": totals.plays.planted(today),
    }
    (truth_dir / "planted.json").write_text(json.dumps(planted, indent=2) + "\n", encoding="utf-8")
    files = {f"exports/{k}": v for k, v in sink.rows.items()} | {f"truth/{k}": v for k, v in truth.rows.items()}
    return GenerateResult(out, customers, seed, as_of.isoformat(), files)


class _Totals:
    def __init__(self) -> None:
        self.tickets = np.zeros(MONTHS)
        self.success = np.zeros(MONTHS)
        self.services = np.zeros(MONTHS)
        self.duplicates = 0
        self.churned = {c: 0 for c in CAUSES}
        self.plays = plays.Truth()

    def costs(self, today: np.datetime64) -> pd.DataFrame:
        months = activity.iso(month_starts(today))
        share = month_share(today)  # the current month has booked its days so far
        rows = []
        for m, month in enumerate(months):
            rows += [
                (month, "support", round(32.0 * self.tickets[m] + 4000 * share[m], 2)),
                (month, "customer_success", round((self.success[m] + 6000) * share[m], 2)),
                (month, "professional_services", round(0.68 * self.services[m] + 2500 * share[m], 2)),
            ]
        return pd.DataFrame(rows, columns=["month", "cost_center", "amount"])


def _block(
    b: int, lo: int, hi: int, seed: int, today: np.datetime64, usage_days: int,
    spike: tuple[int, int], sink: _Sink, truth: _Sink, totals: _Totals,
) -> None:
    rng = np.random.default_rng([seed, b])
    idx = np.arange(lo, hi)
    n = len(idx)
    acc = make_accounts(rng, idx, today)
    subs = simulate_billing(rng, acc, today, plays=plays.rng_for(seed, b, plays.ASSIGN_STREAM))
    totals.plays.add(subs)
    names, slugs = company_names(idx, seed)
    regions = [REGIONS[r] for r in acc.region]
    doms = domains(slugs, regions)
    true_id = [f"T{i:08d}" for i in idx]
    refs = {
        "crm": coded(idx, 11, "ACC-"),
        "billing": coded(idx, 977, "cus_", base=36),
        "helpdesk": [str(x) for x in 360_000_000_000 + ((idx * 7_919 + 13) % 99_999_989)],
        "product": coded(idx, 4_111, "ws_", base=16),
        "owner": [OWNERS[(i * 13 + s) % len(OWNERS)] for i, s in zip(idx, acc.segment, strict=True)],
    }
    prefix = f"{b:04d}"
    ctx = activity.Context(rng, acc, subs, today, refs, doms, names, prefix)
    ids: list[pd.DataFrame] = []

    # CRM accounts, with planted duplicate accounts typed in again by someone else
    created = acc.start_day - rng.integers(5, 90, n)
    segment = [SEGMENT_LABEL[SEGMENTS[s]] for s in acc.segment]
    accounts = pd.DataFrame({
        "Account ID": refs["crm"], "Account Name": names,
        "Website": [f"https://www.{d}" if r > 0.1 else "" for d, r in zip(doms, rng.random(n), strict=True)],
        "Segment": segment, "Region": [REGION_LABEL[r] for r in regions],
        "Industry": [INDUSTRIES[i] for i in acc.industry], "Account Owner": refs["owner"],
        "Created Date": pd.to_datetime(created, unit="D").strftime("%m/%d/%Y"),
        "Phone": [f"+1-555-{i % 900 + 100:03d}-{(i * 37) % 10000:04d}" for i in idx],
    })
    dup = np.flatnonzero(rng.random(n) < 0.02)
    r1, r2 = rng.random(len(dup)), rng.random(len(dup))
    dups = accounts.iloc[dup].copy()
    dups["Account ID"] = coded(idx[dup] + 1_000_000_000, 11, "ACC-")
    dups["Account Name"] = [name_variant(names[i], a, c) for i, a, c in zip(dup, r1, r2, strict=True)]
    dups.loc[r2 < 0.5, "Website"] = ""
    dups.loc[r1 < 0.5, "Phone"] = ""
    sink.write("crm/accounts.csv", pd.concat([accounts, dups]))
    ids += [_ids("crm_accounts", refs["crm"], true_id),
            _ids("crm_accounts", dups["Account ID"], [true_id[i] for i in dup])]

    contacts, contact_cust, emails = activity.contacts(ctx)
    sink.write("crm/contacts.csv", contacts)

    # billing customers (some customers have two), subscriptions and service orders
    bill_email = [emails[np.searchsorted(contact_cust, i)] if r < 0.6 else f"billing@{doms[i]}"
                  for i, r in zip(range(n), rng.random(n), strict=True)]
    billing = pd.DataFrame({"id": refs["billing"], "company": names, "email": bill_email,
                            "created": activity.iso(acc.start_day)})
    bdup = np.flatnonzero(rng.random(n) < 0.01)
    bdups = billing.iloc[bdup].copy()
    bdups["id"] = coded(idx[bdup] + 1_000_000_000, 977, "cus_", base=36)
    bdups["company"] = [name_variant(names[i], a, c) for i, a, c in
                        zip(bdup, rng.random(len(bdup)), rng.random(len(bdup)), strict=True)]
    sink.write("billing/customers.csv", pd.concat([billing, bdups]))
    ids += [_ids("billing_customers", refs["billing"], true_id),
            _ids("billing_customers", bdups["id"], [true_id[i] for i in bdup])]
    totals.duplicates += len(dup) + len(bdup)

    # next renewal: the first contract anniversary after the period started
    term = subs.term
    first_start = acc.start_day[subs.cust]
    anchor = first_start.astype("datetime64[D]").astype("datetime64[M]")
    ref_day = np.where(subs.end < 0, int(today.astype(np.int64)), subs.start)  # open periods: next one ahead
    since = (ref_day.astype("datetime64[D]").astype("datetime64[M]") - anchor).astype(np.int64)
    day_in = np.minimum(first_start - anchor.astype("datetime64[D]").astype(np.int64), 27)
    renewal = (anchor + (since // term + 1) * term).astype("datetime64[D]") + day_in
    sink.write("billing/subscriptions.csv", pd.DataFrame({
        "subscription_id": [f"sub_{prefix}{c:06d}{s}" for c, s in zip(subs.cust, subs.seq, strict=True)],
        "customer": [refs["billing"][c] for c in subs.cust],
        "plan": [PLANS[p] for p in subs.plan], "mrr": subs.mrr, "currency": "USD",
        "period_start": activity.iso(subs.start),
        "period_end": np.where(subs.end >= 0, activity.iso(np.maximum(subs.end, 0)), ""),
        "term_months": subs.term, "renews_on": np.datetime_as_string(renewal),
    }))
    onboarding = np.flatnonzero(acc.segment > 0)
    training = np.flatnonzero(rng.random(n) < 0.15)
    who = np.concatenate([onboarding, training])
    when = np.concatenate([acc.start_day[onboarding], acc.start_day[training] + rng.integers(30, 400, len(training))])
    keep = when <= int(today.astype(np.int64))
    who, when = who[keep], when[keep]
    amount = np.concatenate([np.where(acc.segment[onboarding] == 2, 12000.0, 3500.0),
                             np.full(len(training), 1800.0)])[keep]
    product = np.array(["onboarding_package"] * len(onboarding) + ["training"] * len(training))[keep]
    sink.write("billing/orders.csv", pd.DataFrame({
        "order_id": [f"ord_{prefix}{i:07d}" for i in range(len(who))],
        "customer": [refs["billing"][c] for c in who],
        "ordered_at": activity.iso_ts(when * 86400 + 12 * 3600), "amount": amount, "currency": "USD",
        "product": product, "category": "services",
    }))
    starts = month_starts(today)
    m_of = np.searchsorted(starts, when, side="right") - 1
    ok = m_of >= 0
    np.add.at(totals.services, m_of[ok], amount[ok])
    totals.success += (subs.active * np.array([5.0, 40.0, 250.0])[acc.segment][:, None]).sum(0)

    # helpdesk organisations (names typed by agents) and tickets
    sloppy = rng.random(n) < 0.1
    orgs = pd.DataFrame({
        "organization_id": refs["helpdesk"],
        "name": [name_variant(nm, a, c) if s else nm for nm, s, a, c in
                 zip(names, sloppy, rng.random(n), rng.random(n), strict=True)],
        "domain_names": [d if r > 0.2 else "" for d, r in zip(doms, rng.random(n), strict=True)],
        "created_at": activity.iso_ts(acc.start_day * 86400 + 36000),
    })
    sink.write("helpdesk/organizations.csv", orgs)
    ids.append(_ids("helpdesk_orgs", refs["helpdesk"], true_id))
    tickets, t_truth = activity.tickets(ctx, contact_cust, emails)
    sink.write("helpdesk/tickets.jsonl", tickets)
    opened_day = tickets["created_at"].str[:10].to_numpy().astype("datetime64[D]").astype(np.int64)
    m_ticket = np.searchsorted(starts, opened_day, side="right") - 1
    np.add.at(totals.tickets, m_ticket, 1)

    responses, r_truth = activity.responses(ctx, contact_cust, emails)
    sink.write("surveys/responses.csv", responses)
    fb = activity.feedback(ctx, emails, contact_cust, spike)
    sink.write("feedback/web_widget.jsonl", fb["feedback_web"][0])
    sink.write("feedback/social_mentions.csv", fb["feedback_social"][0])
    sink.write("feedback/reviews.parquet", fb["feedback_reviews"][0])
    sink.write("feedback/field_notes.csv", fb["feedback_field"][0])

    # product workspaces (a few customers opened a second, trial workspace) and usage
    owner_email = [emails[np.searchsorted(contact_cust, i)] for i in range(n)]
    ws = pd.DataFrame({"workspace_id": refs["product"],
                       "workspace_name": [nm.split()[0] for nm in names],
                       "owner_email": owner_email, "created": activity.iso(acc.start_day)})
    wdup = np.flatnonzero(rng.random(n) < 0.02)
    full, firsts, lasts = person_names(rng, len(wdup))
    wdups = pd.DataFrame({"workspace_id": coded(idx[wdup] + 1_000_000_000, 4_111, "ws_", base=16),
                          "workspace_name": [f"{names[i].split()[0]} trial" for i in wdup],
                          "owner_email": [f"{f}.{la}@{doms[i]}" for f, la, i in zip(firsts, lasts, wdup, strict=True)],
                          "created": activity.iso(acc.start_day[wdup] + 3)})
    sink.write("product/workspaces.csv", pd.concat([ws, wdups]))
    ids += [_ids("product_workspaces", refs["product"], true_id),
            _ids("product_workspaces", wdups["workspace_id"], [true_id[i] for i in wdup])]
    totals.duplicates += len(wdup)
    sink.write(f"product/usage/part-{b:05d}.parquet", activity.usage(ctx, usage_days))
    sink.write(plays.EXPORT, plays.export(plays.rng_for(seed, b), subs, today, refs["crm"], refs["owner"]))
    # the certification program, drawn from its own generator: no other export moves
    sink.write(programs.EXPORT, programs.export(programs.rng_for(seed, b), acc, subs, today, refs["crm"],
                                                contact_cust, emails, responses))

    # the truth, beside the exports and never in the warehouse
    for frame in ids:
        truth.write("identities.csv", frame)
    churned = subs.churned_on >= 0
    truth.write("churn.csv", pd.DataFrame({
        "true_customer": true_id,
        "churned_on": np.where(churned, activity.iso(np.maximum(subs.churned_on, 0)), ""),
        "cause": np.where(churned, np.array(CAUSES)[np.maximum(subs.cause, 0)], ""),
    }))
    for c_i, c in enumerate(CAUSES):
        totals.churned[c] += int(((subs.cause == c_i) & churned).sum())
    truth.write("health.csv", pd.DataFrame({
        "true_customer": np.repeat(true_id, MONTHS),
        "month": np.tile(activity.iso(starts), n),
        "health": np.round(acc.health.ravel(), 4),
    }))
    for frame in (t_truth, r_truth, *(t for _, t in fb.values())):
        truth.write("comments.csv", frame)


def _ids(source: str, refs, true_ids) -> pd.DataFrame:
    return pd.DataFrame({"source": source, "customer_ref": list(refs), "true_customer": list(true_ids)})
