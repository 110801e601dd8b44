"""Which records are the same customer: deterministic rules first, then Splink for the rest.

Rules (certain): the same company web domain, or the same email address under two refs.
Probabilistic (Fellegi-Sunter, Splink on DuckDB, m estimated by EM, u by random sampling):
compares normalised name (Jaro-Winkler), domain and phone. Blocking rules, stated: pairs are
only scored when they share the normalised name, or its first seven letters and its length (a
typo that swaps letters after the seventh), or the domain, or the phone number. Rules on a
short prefix or on common endings ("...solutions") make blocks of millions of pairs at scale.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from patron.warehouse import scratch_connection


@dataclass(frozen=True)
class LinkageSpec:
    """What the model compares and how pairs are found: data, not code paths."""

    columns: tuple[str, ...]
    blocking: tuple[tuple[str, ...], ...]
    em_blocking: tuple[tuple[str, ...], ...]
    prior_rules: tuple[tuple[str, ...], ...]  # near-certain rules, to estimate how often records match
    prior_recall: float
    comparisons: Callable[[], list] = field(compare=False)


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
                spec: LinkageSpec = COMPANIES, predict_on: pd.DataFrame | None = None) -> Links:
    """Splink's scored pairs at or above `review_below`, with the fitted parameters.

    The model is fitted on `records`; pairs are scored among `predict_on` (default: the same
    records), so a model can learn from every record and score only representatives.
    """
    # Splink brings its own DuckDB session; records go in as a frame and pairs come back,
    # so none of its working tables lands in the warehouse.
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    data = records[["unique_id", *spec.columns]].copy()
    if len(data) < 2 or data[spec.columns[0]].notna().sum() < 2:
        return Links(_empty(), {})
    targets = data if predict_on is None else predict_on[["unique_id", *spec.columns]].copy()
    if len(targets) < 2:
        return Links(_empty(), {})
    settings = SettingsCreator(
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=[block_on(*b) for b in spec.blocking],
        comparisons=spec.comparisons(),
        retain_intermediate_calculation_columns=False,
    )
    spill = tempfile.TemporaryDirectory(prefix="patron-linkage-")
    db = DuckDBAPI(connection=scratch_connection(0.3, spill.name))
    linker = Linker(db.register(data), settings, log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match(
        [block_on(*r) for r in spec.prior_rules], recall=spec.prior_recall)
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=seed)
    for rule in spec.em_blocking:
        linker.training.estimate_parameters_using_expectation_maximisation(
            block_on(*rule), record_sample_proportion=1.0 if len(data) < 200_000 else 0.2)
    params = linker.misc.save_model_to_json()
    if predict_on is not None:
        linker = Linker(db.register(targets), params, log_level=logging.ERROR)
    scored = linker.inference.predict(threshold_match_probability=review_below)
    pairs = scored.as_duckdbpyrelation().select("unique_id_l, unique_id_r, 'model' AS method, match_probability").df()
    db.duckdb_con.close()
    spill.cleanup()
    return Links(pairs, params)


def _empty() -> pd.DataFrame:
    return pd.DataFrame({"unique_id_l": [], "unique_id_r": [], "method": [], "match_probability": []})
