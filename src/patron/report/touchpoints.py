"""Where the journey hurts: survey scores and what customers write, per touchpoint and journey
stage, weakest first."""

from __future__ import annotations

import pandas as pd

from patron.metrics import MetricSpec, evaluate
from patron.warehouse import Warehouse

SCORES = ("csat", "nps", "ces")  # touchpoint surveys are usually CSAT and CES; NPS where it is asked


def ranking(wh: Warehouse, catalog: dict[str, MetricSpec]) -> pd.DataFrame:
    """One row per touchpoint and per journey stage: CSAT, NPS and CES with 95% intervals and n
    (the catalog's definitions), the mean sentiment of the comments left there and the share
    that are complaints. Weakest first: lowest CSAT, then lowest NPS, then lowest sentiment."""
    parts = []
    for level in ("touchpoint", "journey_stage"):
        both = wh.df(
            f"SELECT r.{level} AS name, count(*) AS comments, avg(e.sentiment_score) AS sentiment, "
            f"avg(CASE WHEN e.complaint THEN 1.0 ELSE 0.0 END) AS complaint_share FROM enrichment AS e "
            f"JOIN responses AS r ON e.source_table = 'responses' AND e.item_id = r.response_id "
            f"WHERE r.{level} IS NOT NULL GROUP BY 1")
        for metric in SCORES:
            if metric not in catalog:
                continue
            v = evaluate(wh, catalog[metric], [level], store=False)
            v = v[v[level].notna() & (v["n"] > 0)][[level, "value", "ci_low", "ci_high", "n"]]
            v.columns = ["name", metric, f"{metric}_low", f"{metric}_high", f"{metric}_n"]
            both = both.merge(v, on="name", how="outer")
        parts.append(both.assign(level=level))
    out = pd.concat(parts, ignore_index=True)
    for c in ("comments", *(f"{m}_n" for m in SCORES)):
        if c in out:
            out[c] = out[c].fillna(0).astype(int)
    keys = [k for k in ("csat", "nps", "sentiment") if k in out]
    return out.sort_values(["level", *keys], ascending=[False, *[True] * len(keys)], na_position="last") \
        .reset_index(drop=True)
