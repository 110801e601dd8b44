"""Enrichment throughput: `patron listen enrich` on a demo company, against VADER alone.

The demo company's survey comments, tickets and feedback are loaded; then, each timed in this
process on the same texts: VADER's polarity scores (the lexicon floor, no storage), and patron's
whole enrichment (read the texts from the warehouse, score, flag complaints, write them back).

    python bench/enrich_throughput.py --customers 20000
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import time
from datetime import date
from pathlib import Path

OUT = Path(__file__).parent / "out"
SOURCES = ["helpdesk_tickets", "survey_responses", "feedback_web", "feedback_social", "feedback_reviews",
           "feedback_field"]


def main() -> None:
    from patron.demo import generate
    from patron.listen.words import clean
    from patron.project import Project
    from patron.relations import TEXTS

    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=20_000)
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    folder = OUT / f"enrich-{args.customers}"
    shutil.rmtree(folder, ignore_errors=True)
    generate(args.customers, seed=13, out=folder, as_of=date(2026, 6, 30), usage_days=1)
    with Project.open(folder / "patron.yml", require_config=True) as p:
        p.ingest(SOURCES)
        texts = [clean(t) for q in TEXTS.values() for t in p.warehouse.df(q)["text"]]
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        sia = SentimentIntensityAnalyzer()
        t0 = time.perf_counter()
        for t in texts:
            sia.polarity_scores(t)
        vader = len(texts) / (time.perf_counter() - t0)
        result = p.listen.enrich()
    shutil.rmtree(folder, ignore_errors=True)
    print(f"{len(texts):,} texts; VADER alone {vader:,.0f} items/s; patron enrich (read, score, flag, write) "
          f"{result.items_per_s:,.0f} items/s; ratio {result.items_per_s / vader:.2f}")


if __name__ == "__main__":
    main()
