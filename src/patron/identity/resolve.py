"""Resolve every source's customer_ref to a master customer_id and write it everywhere.

Reads the canonical tables, writes identity_map (every record and its master id, with how it
was linked), identity_links (every pair with its method and probability) and customer_id on
every canonical row. Runs again at any time: master ids that did not change are kept.

When the probabilistic model cannot be trained on the data at hand (see `linkage.untrainable`),
records are still resolved, by the certain rules plus exact normalised names, and the result
says why in one line: every record gets a master id either way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd

from patron.config import ProjectConfig
from patron.identity.clusters import components, components_keeping_apart, stable_ids
from patron.identity.golden import build_golden
from patron.identity.linkage import model_links, name_links, rule_links
from patron.identity.records import build_records, sources_table
from patron.model import TABLES
from patron.warehouse import Warehouse


@dataclass
class ResolveResult:
    """What one run did, counted; `fallback` is the line a person reads when the model was not used."""

    records: int
    customers: int
    rule_links: int
    model_links: int
    to_review: int
    alone: int  # records with nothing to match on: their own customer, flagged
    kept_ids: int
    new_ids: int
    name_links: int = 0  # links by exact normalised name, made only when the model was not trained
    fallback: str | None = None  # why the model was not used and what linked instead; None when it was

    def to_dict(self) -> dict:
        return self.__dict__.copy()


def resolve(wh: Warehouse, cfg: ProjectConfig) -> ResolveResult:
    """Link every record to a master customer, write the links and ids, rebuild the golden record."""
    settings = cfg.identity
    sources_table(wh, cfg.systems())
    records = build_records(wh, settings.free_email_domains)
    rules = rule_links(records)
    model = model_links(records, settings.review_below, predict_on=representatives(records, rules), engine=wh.engine)
    # without a model, exact normalised names are the part of its work that needs no estimate
    names, noisy = name_links(records) if model.untrained else (model.pairs.iloc[:0], {})
    fallback = _fallback_line(model.untrained, noisy) if model.untrained else None
    links = pd.concat([rules, names, model.pairs], ignore_index=True)
    decided = wh.df("SELECT record_l, record_r, decision FROM identity_decisions")
    merges = decided[decided["decision"] == "merge"]
    apart = list(zip(*(decided.loc[decided["decision"] == "apart", c] for c in ("record_l", "record_r")),
                     strict=True))
    # a person's decision wins over the rules and the model
    links = pd.concat([links, pd.DataFrame({
        "unique_id_l": merges["record_l"], "unique_id_r": merges["record_r"],
        "method": "decision:merge", "match_probability": 1.0})], ignore_index=True)
    accepted = links[links["match_probability"] >= settings.match_threshold]
    labels = (components_keeping_apart(records["unique_id"], accepted, apart) if apart
              else components(records["unique_id"], accepted))
    before = wh.rows("SELECT system || ':' || ref, customer_id, resolved_at FROM identity_map")
    previous = carried_over({key: cid for key, cid, _ in before}, moved_systems(wh, cfg))
    master = stable_ids(records["unique_id"], labels, previous)
    # a record keeps the time it was given its master id while it keeps the id: a later resolution
    # that changes nothing leaves predictions made since matching their accounts
    since = {key: (cid, at) for key, cid, at in before}
    kept_at = [since[u][1] if u in since and since[u][0] == m else None
               for u, m in zip(records["unique_id"], master, strict=True)]
    linked_by = (pd.concat([accepted[["unique_id_l", "method"]].rename(columns={"unique_id_l": "u"}),
                            accepted[["unique_id_r", "method"]].rename(columns={"unique_id_r": "u"})])
                 .groupby("u")["method"].agg(lambda m: ",".join(sorted(set(m)))))
    nothing = records["name_norm"].isna() & records["domain"].isna() & records["phone"].isna() & (
        records["emails"].map(len) == 0)
    out = pd.DataFrame({
        "system": records["system"], "ref": records["ref"], "customer_id": master,
        "method": records["unique_id"].map(linked_by).fillna("alone").where(~nothing, "nothing_to_match"),
        "kept_at": pd.to_datetime(pd.Series(kept_at, index=records.index, dtype="object")),
    })
    decided_pairs = set(zip(decided["record_l"], decided["record_r"], strict=True))
    decided_pairs |= {(b, a) for a, b in decided_pairs}
    review = links[(links["match_probability"] < settings.match_threshold) & ~pd.Series(
        list(zip(links["unique_id_l"], links["unique_id_r"], strict=True)), index=links.index).isin(decided_pairs)]
    with wh.transaction():
        wh.execute("DELETE FROM identity_map")
        with wh.frame("_patron_resolved", out) as f:
            wh.execute(f"INSERT INTO identity_map SELECT system, ref, customer_id, method, "
                       f"COALESCE(CAST(kept_at AS TIMESTAMP), now()::TIMESTAMP) FROM {f}")
        wh.execute("DELETE FROM identity_links")
        with wh.frame("_patron_links", links) as f:
            wh.execute(f"INSERT INTO identity_links SELECT unique_id_l, unique_id_r, method, match_probability, "
                       f"match_probability >= ? FROM {f}", [settings.match_threshold])
        moves = retired(records["unique_id"], master, previous)
        if len(moves):
            with wh.frame("_patron_moves", moves) as f:
                wh.execute(f"INSERT INTO identity_moves SELECT from_id, to_id, now()::TIMESTAMP, records FROM {f}")
        kept = wh.has_table("identity_sources")  # not in a Spark layout exported before patron kept it
        systems = cfg.systems() if kept else {}
        if kept:
            wh.execute("DELETE FROM identity_sources")
        if systems:
            wh.execute("INSERT INTO identity_sources VALUES " + ", ".join("(?, ?, now()::TIMESTAMP)" for _ in systems),
                       [v for pair in systems.items() for v in pair])
        wh.execute("DELETE FROM identity_model")
        wh.execute("INSERT INTO identity_model VALUES (now()::TIMESTAMP, ?)", [json.dumps(model.params)])
        _assign(wh)
        build_golden(wh, cfg)
    kept = sum(1 for r, m in zip(records["unique_id"], master, strict=True) if previous.get(r) == m)
    return ResolveResult(
        records=len(records), customers=len(set(master)), rule_links=len(rules),
        model_links=int((model.pairs["match_probability"] >= settings.match_threshold).sum()),
        to_review=len(review), alone=int(nothing.sum()), kept_ids=kept, new_ids=len(records) - kept,
        name_links=len(names), fallback=fallback,
    )


def moved_systems(wh: Warehouse, cfg: ProjectConfig) -> list[tuple[str, str]]:
    """(system before, system now) of each source patron.yml has moved to another system since the
    last resolution (none known before it first ran)."""
    now = cfg.systems()
    if not wh.has_table("identity_sources"):  # a Spark layout exported before patron kept it
        return []
    return sorted({(was, now[source]) for source, was in wh.rows("SELECT source, system FROM identity_sources")
                   if source in now and now[source] != was})


def carried_over(previous: dict[str, str], moves: list[tuple[str, str]]) -> dict[str, str]:
    """The master ids before, with each moved source's refs also known in its new system: a source
    renamed in patron.yml carries the same customers, who keep their ids (and what is keyed by them)."""
    out = dict(previous)
    for was, now in moves:
        prefix = f"{was}:"
        for key, cid in previous.items():
            if key.startswith(prefix):
                out.setdefault(f"{now}:{key[len(prefix):]}", cid)
    return out


def retired(ids: pd.Series, master: list[str], previous: dict[str, str]) -> pd.DataFrame:
    """The master ids this resolution retired, each with the id most of its records went to: what
    was keyed by a retired id (an action item, a play's draw) follows its customer there."""
    now = pd.DataFrame({"old": ids.map(previous), "new": master}).dropna()
    gone = now[~now["old"].isin(set(master))]
    counts = gone.groupby(["old", "new"]).size().reset_index(name="records")
    top = counts.sort_values(["old", "records", "new"], ascending=[True, False, True]).drop_duplicates("old")
    return pd.DataFrame({"from_id": top["old"].values, "to_id": top["new"].values,
                         "records": top["records"].astype("int64").values})


def _fallback_line(why: str, noisy: dict[str, float]) -> str:
    """One line: why the model was not used and what linked the records instead."""
    line = f"Model not trained: {why}; linked by domain, email and exact name only"
    if noisy:
        line += ", but not by name in " + " or ".join(
            f"{system} ({share:.0%} of its records repeat a name)" for system, share in sorted(noisy.items()))
    return line + "."


def representatives(records: pd.DataFrame, rules: pd.DataFrame) -> pd.DataFrame:
    """One record per group the rules already joined, carrying the group's best attributes.

    The model then compares groups, not every record: a workspace called "Northwind" no longer
    meets every other "Northwind" workspace, and millions of records stay millions of pairs.
    """
    labels = components(records["unique_id"], rules)
    df = records[["unique_id", "name_norm", "domain", "phone"]].assign(
        _group=labels, _len=records["name_norm"].fillna("").str.len())
    best = df.sort_values(["_group", "_len", "unique_id"], ascending=[True, False, True]).drop_duplicates("_group")
    fill = df.groupby("_group").agg(domain=("domain", "first"), phone=("phone", "first"))
    return best.drop(columns=["domain", "phone"]).join(fill, on="_group")[
        ["unique_id", "name_norm", "domain", "phone"]].reset_index(drop=True)


def _assign(wh: Warehouse) -> None:
    """customer_id on every canonical row and every kept attribute: by its ref, else (tickets,
    responses) by its email."""
    for name in [*(n for n, t in TABLES.items() if "customer_ref" in t.names), "customer_attributes"]:
        wh.execute(
            f"UPDATE {name} t SET customer_id = m.customer_id FROM identity_map m "
            "WHERE m.ref = t.customer_ref AND m.system = coalesce("
            "(SELECT system FROM _patron_systems s WHERE s.source = t.source), t.source)"
        )
    wh.execute(
        "CREATE OR REPLACE TEMP TABLE _patron_email_ids AS SELECT email, mode(customer_id) AS customer_id FROM ("
        + " UNION ALL ".join(
            f"SELECT lower({col}) AS email, customer_id FROM {name} WHERE customer_id IS NOT NULL AND {col} IS NOT NULL"
            for name, col in (("contacts", "email"), ("customers", "email"), ("tickets", "contact_email"),
                              ("responses", "contact_email"))
        ) + ") GROUP BY email"
    )
    for name, col in (("tickets", "contact_email"), ("responses", "contact_email")):
        wh.execute(
            f"UPDATE {name} t SET customer_id = e.customer_id FROM _patron_email_ids e "
            f"WHERE t.customer_id IS NULL AND lower(t.{col}) = e.email"
        )
