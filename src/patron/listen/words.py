"""The words the sentiment model may learn from, and how a text becomes them.

The model learns only from words that carry sentiment in any domain: VADER's lexicon (shipped
inside the vaderSentiment package, no download) with the words of service and support added
(crash, refund, fixed, thanks...), negators, and a few words with no valence of their own that
still carry a judgement (CUES). Nouns of the domain it was trained on (dress, fit, size) never
become features, which is what lets a model trained on product reviews read support tweets,
tickets and survey comments. A negator turns the next three words of its clause, where kept,
into NOT_word.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache

import pandas as pd

NEGATORS = frozenset({
    "not", "no", "never", "nothing", "nobody", "none", "cannot", "without", "hardly", "neither", "nor",
})
# Words of service, support, delivery and billing, with valences on VADER's -4..4 scale: reviews
# of goods never teach what "crashing" or "refund" mean, so they are given, not learned. "support"
# and "help" name a team or a request here, not approval, so they carry no valence.
SERVICE = {
    "crash": -2.0, "crashes": -2.0, "crashing": -2.0, "crashed": -2.0, "error": -1.5, "errors": -1.5,
    "bug": -1.5, "bugs": -1.5, "glitch": -1.5, "broken": -2.0, "stuck": -1.5, "freezes": -1.5, "frozen": -1.2,
    "unusable": -2.5, "unresponsive": -1.8, "outage": -2.0, "down": -0.8, "lag": -1.2, "laggy": -1.5,
    "slow": -1.2, "late": -1.2, "delayed": -1.3, "delay": -1.2, "overcharged": -2.2, "refund": -1.0,
    "cancel": -0.8, "cancelled": -1.0, "unable": -1.5, "missing": -1.2, "lost": -1.3, "wrong": -1.5,
    "fails": -1.8, "failed": -1.8, "failing": -1.8, "issue": -1.0, "issues": -1.2, "problem": -1.3,
    "problems": -1.5, "stopped": -1.0, "waiting": -0.8, "still": -0.3, "again": -0.3,
    "fixed": 1.5, "resolved": 1.6, "solved": 1.6, "sorted": 1.2, "works": 1.0, "working": 0.5,
    "thanks": 1.9, "thx": 1.5, "speedy": 1.5, "seamless": 2.0, "intuitive": 1.8,
    "support": 0.0, "help": 0.0, "helps": 0.0, "please": 0.0,
}
# Words without a valence that still tell how a customer feels, in any domain: a contrast ("but"
# the second half counts), excess ("too slow", "too expensive"), sending something back, an
# unmet expectation, and judgements of value. Learned from the reviews, like the lexicon's words.
CUES = frozenset({
    "but", "however", "though", "although", "too", "return", "returned", "returning", "returns",
    "wanted", "wish", "hoped", "expected", "average", "decent", "mediocre", "cheap", "cheaply",
    "poorly", "overpriced", "pricey", "expensive", "worth", "quality",
})
_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?")
_CLAUSE = re.compile(r"[.,;:!?\n]+")
_NOISE = re.compile(r"@\w+|https?://\S+|X{2,}(?:/X{2,})*")


@lru_cache(maxsize=1)
def vader():  # noqa: ANN201 - VADER's analyzer class is not typed
    """VADER with the service words' valences (its lexicon ships inside the package)."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    sia = SentimentIntensityAnalyzer()
    sia.lexicon.update(SERVICE)
    return sia


@lru_cache(maxsize=1)
def kept() -> frozenset[str]:
    return frozenset(w for w, v in vader().lexicon.items() if v != 0) | NEGATORS | CUES


def as_text(value: object) -> str:
    """Any cell as text: a missing value (None, NaN, pd.NA) is empty, bytes are read as UTF-8
    (a bad byte becomes U+FFFD rather than an error), anything else is its str()."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", errors="replace")
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return ""
    return str(value)


def clean(text: object) -> str:
    """Mentions, links, HTML entities and redaction marks (runs of capital X, as in the CFPB's
    narratives) carry no sentiment."""
    return " ".join(_NOISE.sub(" ", html.unescape(as_text(text))).split())


def analyse(text: str) -> list[str]:
    """Kept words (negated ones as NOT_word) and the pairs of neighbouring kept words."""
    keep = kept()
    out: list[str] = []
    for clause in _CLAUSE.split(text.lower()):  # a negation reaches to the end of its clause at most
        negated = 0
        for w in _TOKEN.findall(clause):
            if w in NEGATORS or w.endswith("n't"):
                negated = 3
                out.append(w)
                continue
            if w in keep:
                out.append(f"NOT_{w}" if negated > 0 else w)
            negated -= 1
    return out + [f"{a}_{b}" for a, b in zip(out, out[1:], strict=False)]
