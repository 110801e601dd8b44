"""Theme names before and after: each theme's top words (how themes were named) next to the phrase
that names it now, its size and its most typical text, on a real set of texts.

    python bench/theme_names.py cfpb              # the CFPB complaint narratives (4,359)
    python bench/theme_names.py tweets            # customers' tweets to @SpotifyCares (15,096)
    python bench/theme_names.py path/to.duckdb    # a copy of a project's warehouse (the demo's)

Prints a Markdown table, largest theme first, and the seconds naming took within discovery.
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATASETS = Path(os.environ.get("PATRON_DATASETS", ROOT.parent / "shared" / "datasets"))


def complaints() -> pd.DataFrame:
    folder = DATASETS / "cfpb_complaints"
    raw = pd.concat([pd.read_csv(f) for f in sorted(folder.glob("*.csv"))], ignore_index=True)
    raw = raw.dropna(subset=["Consumer complaint narrative"]).drop_duplicates("Complaint ID")
    return pd.DataFrame({"feedback_id": raw["Complaint ID"].astype(str), "channel": "cfpb",
                         "received_at": pd.to_datetime(raw["Date received"], format="mixed").dt.strftime("%Y-%m-%d"),
                         "text": raw["Consumer complaint narrative"]})


def tweets() -> pd.DataFrame:
    raw = pd.read_csv(DATASETS / "twitter_customer_support" / "spotifycares_inbound_requests.csv")
    when = pd.to_datetime(raw["created_at"], format="%a %b %d %H:%M:%S %z %Y")
    return pd.DataFrame({"feedback_id": raw["tweet_id"].astype(str), "channel": "social",
                         "received_at": when.dt.strftime("%Y-%m-%d"), "text": raw["text"]})


def warehouse(source: str, work: Path) -> Path:
    """A warehouse holding the texts of `source` (a copy, for a warehouse file)."""
    from patron.project import Project

    db = work / "w.duckdb"
    if source in ("cfpb", "tweets"):
        frame = complaints() if source == "cfpb" else tweets()
        frame.to_parquet(work / "texts.parquet", index=False)
        with Project.open(None, db) as p:
            p.ingest.file(work / "texts.parquet", "feedback")
    else:
        shutil.copy(source, db)
    return db


def clip(text: str, limit: int = 90) -> str:
    t = " ".join(text.split()).replace("|", "/")
    return t if len(t) <= limit else t[:limit].rsplit(" ", 1)[0] + " …"


def main(source: str) -> None:
    import patron.listen.phrases as phrases
    from patron.listen.themes import discover
    from patron.project import Project

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    db = warehouse(source, Path(tempfile.mkdtemp()))
    naming = phrases.names
    spent = []

    def timed(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202 - the wrapped function's own signature
        t0 = time.perf_counter()
        out = naming(*args, **kwargs)
        spent.append(time.perf_counter() - t0)
        return out

    phrases.names = timed
    with Project.open(None, db) as p:
        p.warehouse.execute("DELETE FROM themes")  # name every theme afresh
        t0 = time.perf_counter()
        result = discover(p.warehouse)
        seconds = time.perf_counter() - t0
    print(f"{result.items:,} texts, {len(result.themes)} themes, {result.unthemed_share:.1%} without a theme; "
          f"discovery {seconds:.1f} s, of which naming {sum(spent):.1f} s\n")
    print("| texts | before: top words | after: name | most typical text |")
    print("| ---: | --- | --- | --- |")
    for t in sorted(result.themes, key=lambda t: -t.items):
        before = t.top_words or "(your taxonomy's)"
        print(f"| {t.items:,} | {before} | **{t.name}** | {clip(t.examples[0]) if t.examples else ''} |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "cfpb")
