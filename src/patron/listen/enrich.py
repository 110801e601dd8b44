"""Every text customers wrote (survey comments, tickets, feedback) gets a sentiment and a
complaint flag, once per text and model: a run enriches only what it has not seen.

A complaint is a text that is negative, or that comes with a score saying the same: a
detractor's NPS comment (0-6), a CSAT of 1-2, a feedback rating of 1-2. Every ticket text is
judged on its words alone (opening a ticket is not in itself a complaint). A text the model
cannot read (another language) is stored with no score or label and the reason in `unscored`:
it still counts as a text, never as a neutral one, and it is a complaint only by its score.
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

import pandas as pd

from patron.listen.sentiment import SentimentModel, Sentiments
from patron.relations import TEXTS, texts_of
from patron.warehouse import Warehouse

CHUNK = 20_000
READER = 2  # how texts are read before the weights see them (what is cut, what is unscored)



@dataclass
class EnrichResult:
    items: int
    seconds: float
    by_table: dict[str, int]
    model: str

    @property
    def items_per_s(self) -> float:
        return self.items / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict:
        return {"items": self.items, "seconds": round(self.seconds, 2), "items_per_s": round(self.items_per_s),
                "by_table": self.by_table, "model": self.model}


def model_version() -> str:
    """The shipped weights' fingerprint, with how texts are read: either changed re-enriches everything."""
    raw = resources.files("patron.listen").joinpath("models", "sentiment.json").read_bytes()
    return "sentiment-" + hashlib.sha256(raw + f"reader {READER}".encode()).hexdigest()[:12]


def score(texts: list[str]) -> Sentiments:
    """The shipped model on some texts (a module-level function, so a worker process can run it)."""
    return SentimentModel.shipped().predict(texts)


def enrich(wh: Warehouse, progress: Callable[[int, int], None] | None = None, tables: tuple[str, ...] = tuple(TEXTS),
           after_load: int | None = None, scorer: Callable[[list[str]], Sentiments] = score) -> EnrichResult:
    """Score what is not yet scored; `after_load` limits the search to rows of later loads (the
    API's background pass, which would otherwise re-read whole tables every second); `scorer`
    may run the model elsewhere (the API runs it in a worker process, off its event loop)."""
    version = model_version()
    t0 = time.perf_counter()
    by_table: dict[str, int] = {}
    todo = {t: f"SELECT * FROM ({texts_of(t, after_load)}) AS x "
               f"WHERE NOT EXISTS (SELECT 1 FROM enrichment AS e WHERE e.source_table = '{t}' "
               f"AND e.item_id = x.item_id AND e.model = '{version}')"
            for t in tables}
    if wh.engine.distributed:  # scored beside the data, a frame at a time, then written once per table
        for table, query in todo.items():
            with wh.engine.map_rows(query, functools.partial(enriched, table=table, scorer=scorer),
                                    ENRICHED) as f:
                by_table[table] = _write(wh, table, f, version)
        done = sum(by_table.values())
        if progress:
            progress(done, done)
        return EnrichResult(done, time.perf_counter() - t0, by_table, version)
    total = sum(wh.scalar(f"SELECT count(*) FROM ({q})") for q in todo.values())
    done = 0
    for table, query in todo.items():
        frame = wh.df(query)
        by_table[table] = len(frame)
        for start in range(0, len(frame), CHUNK):
            part = frame.iloc[start:start + CHUNK]
            out = enriched(part, table=table, scorer=scorer)
            with wh.transaction(), wh.frame("_patron_enriched", out) as f:
                _write(wh, table, f, version)
            done += len(part)
            if progress:
                progress(done, total)
    return EnrichResult(done, time.perf_counter() - t0, by_table, version)


# the columns `enriched` gives, for an engine that needs them before it sees any row
ENRICHED = {"source_table": "VARCHAR", "item_id": "VARCHAR", "customer_id": "VARCHAR", "channel": "VARCHAR",
            "touchpoint": "VARCHAR", "at": "TIMESTAMP", "sentiment_score": "DOUBLE", "sentiment_label": "VARCHAR",
            "complaint": "BOOLEAN", "unscored": "VARCHAR"}


def enriched(part: pd.DataFrame, *, table: str, scorer: Callable[[list[str]], Sentiments] = score) -> pd.DataFrame:
    """Texts' sentiment and complaint flag, for rows of `texts_of(table)`."""
    s = scorer(part["text"].tolist())
    return pd.DataFrame({
        "source_table": table, "item_id": part["item_id"].astype(str), "customer_id": part["customer_id"],
        "channel": part["channel"], "touchpoint": part["touchpoint"], "at": part["at"],
        "sentiment_score": s.score, "sentiment_label": pd.array(s.label, dtype="string"),
        "complaint": (s.label == "negative") | part["bad_score"].fillna(False).astype(bool).to_numpy(),
        "unscored": pd.array(s.unscored, dtype="string"),
    }, columns=list(ENRICHED))


def _write(wh: Warehouse, table: str, f: str, version: str) -> int:
    """`f`'s rows in place of any earlier ones of the same texts; returns how many."""
    wh.execute(f"DELETE FROM enrichment WHERE source_table = ? AND item_id IN (SELECT item_id FROM {f})", [table])
    wh.execute("INSERT INTO enrichment (source_table, item_id, customer_id, channel, touchpoint, "
               "occurred_at, sentiment_score, sentiment_label, complaint, model, enriched_at, unscored) "
               "SELECT source_table, item_id, customer_id, channel, touchpoint, CAST(\"at\" AS TIMESTAMP), "
               f"sentiment_score, sentiment_label, complaint, ?, now()::TIMESTAMP, unscored FROM {f}", [version])
    return int(wh.scalar(f"SELECT count(*) FROM {f}"))
