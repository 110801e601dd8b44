"""Which records are the same customer: deterministic rules first, then Splink for the rest.

Rules (certain): the same company web domain, or the same email address under two refs.
Probabilistic (Fellegi-Sunter, Splink on the engine's backend, m estimated by EM, u by random
sampling): compares normalised name (Jaro-Winkler), domain and phone. Blocking rules, stated:
pairs are only scored when they share the normalised name, or its first seven letters and its
length (a typo that swaps letters after the seventh), or the domain, or the phone number. Rules
on a short prefix or on common endings ("...solutions") make blocks of millions of pairs at scale.

The model needs data to learn from: pairs sharing each training column and a share of pairs the
near-certain rules call matches that is neither 0 nor 1. `untrainable` checks that before Splink
runs, so ordinary data (one source, names that never repeat, a handful of records) gets a
one-line reason and the caller falls back to certain rules and exact names instead of a
traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import pandas as pd

from patron.warehouse import Engine, linkage_api


@dataclass(frozen=True)
class LinkageSpec:
    """What the model compares and how pairs are found: data, not code paths."""

    columns: tuple[str, ...]
    blocking: tuple[tuple[str, ...], ...]
    em_blocking: tuple[tuple[str, ...], ...]
    prior_rules: tuple[tuple[str, ...], ...]  # near-certain rules, to estimate how often records match
    prior_recall: float
    comparisons: Callable[[], list] = field(compare=False)
    # EM fitted on fewer pairs than this swings on one record (Splink advises hundreds)
    min_training_pairs: int = 50


def _company_comparisons() -> list:
    import splink.comparison_library as cl

    return [cl.JaroWinklerAtThresholds("name_norm", [0.97, 0.9, 0.8]), cl.ExactMatch("domain"),
            cl.ExactMatch("phone")]


COMPANIES = LinkageSpec(
    columns=("name_norm", "domain", "phone"),
    blocking=(
        ("name_norm",),
        ("substr(name_norm, 1, 7)", "length(name_norm)"),
        ("domain",),
        ("phone",),
    ),
    em_blocking=(("name_norm",), ("domain",)),
    prior_rules=(("domain",),),
    prior_recall=0.8,
    comparisons=_company_comparisons,
)


@dataclass
class Links:
    pairs: pd.DataFrame  # unique_id_l, unique_id_r, method, match_probability
    params: dict  # the fitted model, as Splink's JSON settings
    untrained: str | None = None  # why no model was fitted, in a few words; None when one was


def _shared_pairs(data: pd.DataFrame, columns: tuple[str, ...]) -> int:
    """Pairs of records equal on every one of `columns` (none empty): what `block_on` finds."""
    sizes = data.groupby(list(columns), dropna=True).size()
    return int((sizes * (sizes - 1) // 2).sum())


def _any_rule_pairs(data: pd.DataFrame, rules: tuple[tuple[str, ...], ...]) -> int:
    """Pairs at least one rule finds, counted as Splink counts them (each pair once), by
    inclusion-exclusion: pairs found by several rules are those equal on all their columns."""
    total = 0
    for k in range(1, len(rules) + 1):
        for subset in combinations(rules, k):
            columns = tuple(dict.fromkeys(c for rule in subset for c in rule))
            total += (-1) ** (k + 1) * _shared_pairs(data, columns)
    return total


def _words(columns: tuple[str, ...]) -> str:
    names = [c.removesuffix("_norm").replace("_", " ") for c in columns]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def untrainable(data: pd.DataFrame, spec: LinkageSpec = COMPANIES) -> str | None:
    """Why Splink cannot fit `spec` on these records, in a few words; None when it can.

    Each condition is one Splink would fail on: EM blocked on a rule no pair satisfies raises
    EMTrainingException; a match share of 0 (no pair found by the near-certain rules) or one the
    stated recall cannot explain (every pair found) makes the prior's log-odds infinite (a
    math domain error or an exception). Fewer training pairs than `spec.min_training_pairs`
    would not crash but would fit noise.
    """
    first = spec.columns[0]
    if data[first].notna().sum() < 2:
        return f"fewer than two records have a {_words((first,))}"
    for rule in spec.em_blocking:
        n = _shared_pairs(data, rule)
        if n == 0:
            return f"no two records share a {_words(rule)}"
        if n < spec.min_training_pairs:
            pairs = f"only {n} pairs of records share" if n > 1 else "only one pair of records shares"
            return f"{pairs} a {_words(rule)}, fewer than the {spec.min_training_pairs} it needs to learn from"
    found = _any_rule_pairs(data, spec.prior_rules)
    either = " or ".join(f"a {_words(r)}" for r in spec.prior_rules)
    if found == 0:
        return f"no two records share {either}, so how often records match cannot be estimated"
    total = len(data) * (len(data) - 1) // 2
    if found >= total * spec.prior_recall:
        return f"{found:,} of {total:,} pairs of records share {either}, too many to tell matches apart"
    return None


def rule_links(records: pd.DataFrame) -> pd.DataFrame:
    """Pairs that share a company domain or an email address (one edge per record to the first)."""
    out = []
    by_domain = records.dropna(subset=["domain"])
    first = by_domain.groupby("domain")["unique_id"].transform("first")
    keep = by_domain["unique_id"] != first
    out.append(pd.DataFrame({"unique_id_l": first[keep], "unique_id_r": by_domain.loc[keep, "unique_id"],
                             "method": "rule:domain", "match_probability": 1.0}))
    mails = records[["unique_id", "emails"]].explode("emails").dropna(subset=["emails"])
    first = mails.groupby("emails")["unique_id"].transform("first")
    keep = mails["unique_id"] != first
    out.append(pd.DataFrame({"unique_id_l": first[keep], "unique_id_r": mails.loc[keep, "unique_id"],
                             "method": "rule:email", "match_probability": 1.0}))
    pairs = pd.concat(out, ignore_index=True)
    return pairs.drop_duplicates(["unique_id_l", "unique_id_r"])


def _person_comparisons() -> list:
    import splink.comparison_library as cl

    return [
        cl.JaroWinklerAtThresholds("given_name", [0.95, 0.88]),
        cl.JaroWinklerAtThresholds("surname", [0.95, 0.88]),
        cl.DamerauLevenshteinAtThresholds("date_of_birth", [1, 2]),
        cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
        cl.ExactMatch("postcode"),
        cl.JaroWinklerAtThresholds("address_1", [0.9]),
    ]


# people, for consumer customers (and the FEBRL benchmark): names, birth dates, national ids
PERSONS = LinkageSpec(
    columns=("given_name", "surname", "date_of_birth", "soc_sec_id", "postcode", "address_1"),
    blocking=(("soc_sec_id",), ("given_name",), ("surname",), ("date_of_birth",), ("postcode",)),
    em_blocking=(("date_of_birth",), ("postcode",)),
    prior_rules=(("soc_sec_id",), ("given_name", "surname", "date_of_birth")),
    prior_recall=0.9,
    comparisons=_person_comparisons,
)


def model_links(records: pd.DataFrame, review_below: float, seed: int = 1,
                spec: LinkageSpec = COMPANIES, predict_on: pd.DataFrame | None = None,
                engine: Engine | None = None) -> Links:
    """Splink's scored pairs at or above `review_below`, with the fitted parameters.

    The model is fitted on `records`; pairs are scored among `predict_on` (default: the same
    records), so a model can learn from every record and score only representatives. Splink
    runs on `engine`'s backend (default: the default engine's), in working space of its own.
    """
    # records go in as a frame and pairs come back, so none of Splink's working tables lands
    # in the warehouse
    from splink import Linker, SettingsCreator, block_on
    from splink.internals.exceptions import EMTrainingException  # not re-exported by splink

    data = records[["unique_id", *spec.columns]].copy()
    reason = untrainable(data, spec)
    if reason:
        return Links(_empty(), {}, reason)
    targets = data if predict_on is None else predict_on[["unique_id", *spec.columns]].copy()
    if len(targets) < 2:
        return Links(_empty(), {}, "the rules already joined every record into one customer")
    settings = SettingsCreator(
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=[block_on(*b) for b in spec.blocking],
        comparisons=spec.comparisons(),
        retain_intermediate_calculation_columns=False,
    )
    # the model is fitted in this process on every engine: the records are a frame here already, and
    # the samples it draws (u's random pairs, EM's share of records above 200,000) are then the
    # same draws whichever engine scores the pairs, so both engines link the same records; on one
    # thread, the same draws and sums at every run too
    with linkage_api(None, 0.3, threads=1) as local:
        try:
            linker = Linker(local.register(data), settings, log_level=logging.ERROR)
            linker.training.estimate_probability_two_random_records_match(
                [block_on(*r) for r in spec.prior_rules], recall=spec.prior_recall)
            linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=seed)
            for rule in spec.em_blocking:
                linker.training.estimate_parameters_using_expectation_maximisation(
                    block_on(*rule), record_sample_proportion=1.0 if len(data) < 200_000 else 0.2)
            params = linker.misc.save_model_to_json()
        except EMTrainingException as e:
            # the checks above should leave Splink nothing to refuse; sampling at scale still can
            first = str(e).splitlines()[0].split(".  ")[0]  # Splink's first sentence, without the advice
            return Links(_empty(), {}, f"Splink's training failed ({first})")
    # scoring the pairs is the part that grows with the records squared: on the warehouse's engine
    with linkage_api(engine, 0.3) as db:
        linker = Linker(db.register(targets), _in_dialect(params, settings, db.sql_dialect.sql_dialect_str),
                        log_level=logging.ERROR)
        scored = linker.inference.predict(threshold_match_probability=review_below)
        pairs = linker.misc.query_sql(
            f"SELECT unique_id_l, unique_id_r, 'model' AS method, match_probability FROM {scored.physical_name}",
            output_type="pandas")
    return Links(pairs, params)


def _in_dialect(params: dict, settings: Any, dialect: str) -> dict:
    """The fitted model with its SQL written for `dialect`: the same comparisons and levels in the
    same order, each level keeping its fitted probabilities (a function such as Jaro-Winkler has
    another name on each engine)."""
    if params.get("sql_dialect") == dialect:
        return params
    out = settings.get_settings(dialect).as_dict()
    out["probability_two_random_records_match"] = params["probability_two_random_records_match"]
    for mine, fitted in zip(out["comparisons"], params["comparisons"], strict=True):
        for level, fitted_level in zip(mine["comparison_levels"], fitted["comparison_levels"], strict=True):
            level.update({k: v for k, v in fitted_level.items() if k != "sql_condition"})
    return out


# names identify nobody in a system where more than this share of its records repeat one (surnames,
# stand-in names such as "Unknown"); judged only from this many named records up, so a handful of duplicates still merge
NAMES_REPEAT_LIMIT = 0.5
NAMES_JUDGED_FROM = 20


def name_links(records: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, float]]:
    """Pairs with the same normalised name (one edge per record to the first): the certain part of
    what the model would find, used when it cannot be trained. Also the systems whose names were
    left out, with the share of their records that repeat a name: merging on names there would
    make one customer of every Smith."""
    named = records.dropna(subset=["name_norm"])
    repeated = named.duplicated(["system", "name_norm"], keep=False).groupby(named["system"]).agg(["mean", "size"])
    noisy = repeated[(repeated["size"] >= NAMES_JUDGED_FROM) & (repeated["mean"] > NAMES_REPEAT_LIMIT)]
    named = named[~named["system"].isin(noisy.index)]
    first = named.groupby("name_norm")["unique_id"].transform("first")
    keep = named["unique_id"] != first
    pairs = pd.DataFrame({"unique_id_l": first[keep], "unique_id_r": named.loc[keep, "unique_id"],
                          "method": "rule:name", "match_probability": 1.0}).reset_index(drop=True)
    return pairs, {str(k): float(v) for k, v in noisy["mean"].items()}


def _empty() -> pd.DataFrame:
    return pd.DataFrame({"unique_id_l": [], "unique_id_r": [], "method": [], "match_probability": []})
