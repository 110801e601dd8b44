"""Time one long text through the sentiment model: bounded, however long the text.

Three kinds of text: CFPB complaint narratives joined (prose), a pasted error log, and one
sentence dense with sentiment words repeated (VADER's worst case). With --whole, also the time
VADER takes to read the whole text at once, which is what one text cost before it was windowed
(minutes at 200,000 characters).

    python bench/sentiment_long_texts.py [--whole] [--sizes 5000 20000 40000 200000]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from patron.listen.sentiment import SentimentModel
from patron.listen.words import clean, vader
from train_sentiment import complaints


def kinds() -> dict[str, str]:
    log = "".join(f"2026-11-02 10:{i // 60 % 60:02d}:{i % 60:02d} ERROR [sync] request {i} failed: connection "
                  f"timed out after 30s (retry {i % 5} of 5)\n" for i in range(20_000))
    dense = "The app keeps crashing but support never answered, this is not good. " * 4_000
    return {"prose": " ".join(complaints()[:400]), "log": log, "dense": dense}


def best_of(f: Callable[[], object], times: int) -> float:
    best = float("inf")
    for _ in range(times):
        t0 = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--whole", action="store_true", help="also time VADER on the whole text (slow)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[5_000, 20_000, 40_000, 200_000])
    args = ap.parse_args()
    model = SentimentModel.shipped()
    model.predict(["warm up"])
    for n in args.sizes:
        for kind, base in kinds().items():
            text = (base * (n // len(base) + 1))[:n]
            line = f"{n:>9,} characters, {kind:5}: model {best_of(lambda t=text: model.predict([t]), 3):7.3f} s"
            if args.whole:
                cleaned = clean(text)
                whole = best_of(lambda t=cleaned: vader().polarity_scores(t), 1)
                line += f" | VADER on the whole text {whole:8.3f} s"
            print(line, flush=True)


if __name__ == "__main__":
    main()
