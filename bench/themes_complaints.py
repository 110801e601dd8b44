"""Themes on real complaints: agreement of discovered themes with the CFPB's own product labels.

The CFPB narratives (both files of the shared dataset) are loaded as feedback through patron's
ingestion, themes are discovered as `patron listen themes` does, and each complaint's theme is
compared with its product (and issue) label: normalised mutual information and purity (the
share of complaints whose theme's most common product is their own). Also measured: the share
left without a theme and the time taken, each theme's name next to its top words (how themes were
named before; bench/theme_names.py prints the same for any set, with a typical text), and how well
a taxonomy finds three CFPB products, once by keywords and once by two example sentences each
(precision and recall against the label).

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
# (CFPB product label, keywords, examples) written as a user who knows the products would
PRODUCTS = {
    "Debt collection": ("Debt collection", ["debt collector", "collection agency", "collections"],
                        ["A debt collector keeps calling me about a debt I do not owe",
                         "The collection agency never validated the debt"]),
    "Credit reporting": ("Credit reporting", ["credit report", "credit bureau", "equifax", "experian", "transunion"],
                         ["There are accounts on my credit report that are not mine",
                          "The bureau did not correct the errors after my dispute"]),
    "Mortgage": ("Mortgage", ["mortgage", "escrow", "loan modification"],
                 ["My mortgage servicer lost my loan modification paperwork",
                  "They added fees to my escrow and now my house payment went up"]),
}
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
        p.ingest.file(work / "complaints.csv", "feedback")
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
    print("  texts  top words (how themes were named before) -> name now, and the theme's commonest product")
    for t in sorted(result.themes, key=lambda t: -t.items):
        top = themed[themed["theme_id"] == t.theme_id]["Product"].value_counts()
        print(f"  {t.items:>5}  {t.top_words:<45} -> {t.name:<28} mostly {top.index[0]} "
              f"({top.iloc[0] / max(t.items, 1):.0%})")
    for kind in ("keywords", "examples"):
        taxonomy = {name: {kind: keywords if kind == "keywords" else examples}
                    for name, (_, keywords, examples) in PRODUCTS.items()}
        with Project.open(None, work / "w.duckdb") as p:
            named = discover(p.warehouse, taxonomy=taxonomy)
            assigned = p.warehouse.df("SELECT item_id, theme_id FROM text_themes")
        j = raw.assign(item_id=raw["Complaint ID"].astype(str)).merge(assigned, on="item_id", how="left")
        for name, (label, _, _) in PRODUCTS.items():
            mine = j["theme_id"] == "tax:" + name.lower().replace(" ", "-")
            truth = j["Product"].str.contains(label, case=False)
            print(f"taxonomy by {kind}, {name} ({int(truth.sum())} complaints): {int(mine.sum())} found, "
                  f"precision {(truth[mine]).mean():.2f}, recall {mine[truth].mean():.2f}")
        for note in named.notes:
            print(f"  note: {note}")


if __name__ == "__main__":
    main()
