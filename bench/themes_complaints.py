"""Themes on real complaints: agreement of discovered themes with the CFPB's own product labels.

The CFPB narratives (both files of the shared dataset) are loaded as feedback through patron's
ingestion, themes are discovered as `patron listen themes` does, and each complaint's theme is
compared with its product (and issue) label: normalised mutual information and purity (the
share of complaints whose theme's most common product is their own). Also measured: the share
left without a theme and the time taken.

    python bench/themes_complaints.py
"""

from __future__ import annotations

import os
import platform
import tempfile
import time
from pathlib import Path

import pandas as pd
from sklearn.metrics import normalized_mutual_info_score

ROOT = Path(__file__).resolve().parents[1]
DATASETS = Path(os.environ.get("PATRON_DATASETS", ROOT.parent / "shared" / "datasets"))


def main() -> None:
    from patron.listen.themes import discover
    from patron.project import Project

    folder = DATASETS / "cfpb_complaints"
    if not folder.exists():
        raise SystemExit(f"datasets not found at {DATASETS}; set PATRON_DATASETS")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    raw = pd.concat([pd.read_csv(f) for f in sorted(folder.glob("*.csv"))], ignore_index=True)
    raw = raw.dropna(subset=["Consumer complaint narrative"]).drop_duplicates("Complaint ID")
    work = Path(tempfile.mkdtemp())
    pd.DataFrame({"feedback_id": raw["Complaint ID"].astype(str), "channel": "cfpb",
                  "received_at": pd.to_datetime(raw["Date received"], format="mixed").dt.strftime("%Y-%m-%d"),
                  "text": raw["Consumer complaint narrative"]}).to_csv(work / "complaints.csv", index=False)
    with Project.open(None, work / "w.duckdb") as p:
        p.ingest_file(work / "complaints.csv", "feedback")
        t0 = time.perf_counter()
        result = discover(p.warehouse)
        seconds = time.perf_counter() - t0
        assigned = p.warehouse.df("SELECT item_id, theme_id FROM text_themes")
    j = raw.assign(item_id=raw["Complaint ID"].astype(str)).merge(assigned, on="item_id", how="left")
    j["theme_id"] = j["theme_id"].fillna("(none)")
    themed = j[j["theme_id"] != "(none)"]
    for label in ("Product", "Issue"):
        nmi = normalized_mutual_info_score(themed[label], themed["theme_id"])
        purity = themed.groupby("theme_id")[label].agg(lambda s: s.value_counts().iloc[0]).sum() / len(themed)
        print(f"{label:>7} ({themed[label].nunique()} labels): NMI {nmi:.3f}, purity {purity:.3f}")
    print(f"{len(j):,} complaints, {len(result.themes)} themes, {result.unthemed_share:.1%} without a theme, "
          f"{seconds:.1f} s")
    for t in sorted(result.themes, key=lambda t: -t.items)[:8]:
        top = themed[themed["theme_id"] == t.theme_id]["Product"].value_counts()
        print(f"  {t.items:>5}  {t.name:<45} mostly {top.index[0]} ({top.iloc[0] / max(t.items, 1):.0%})")


if __name__ == "__main__":
    main()
