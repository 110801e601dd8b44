"""Sentiment of any customer text: a score in [-1, 1], a label, and how sure the model is.

The shipped model (models/sentiment.json, trained by bench/train_sentiment.py) is a logistic
regression on TF-IDF of domain-general words (words.py) plus VADER's scores as features; its
polarity may be blended with VADER's compound score (the weight, like the thresholds that turn
the score into labels, was chosen on held-out reviews). A text with no sentiment-bearing word at
all, or no text (None, NaN, pd.NA, ""), is neutral. A text in a language the model cannot read
(language.py) gets no score and no label, and says why: calling it neutral would be a guess.
Everything runs offline: the weights ship with patron and VADER's lexicon ships with its package.

The time one text takes is bounded: VADER's cost grows with the square of a text's length
(read whole, 40,000 characters take 1-2 s and 200,000 take 30 s to 2.5 min), so the model reads at most
the first READ characters, and VADER reads them in windows of at most WINDOW characters. A text
costs at most what four texts of 5,000 characters cost, and grows linearly up to that: 0.06 to
0.15 s measured on one core for 20,000 characters or more of prose, a log or sentiment-dense text.
Texts up to WINDOW characters (99% of complaint narratives, every tweet and review) are read whole.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

from patron.listen.language import readable
from patron.listen.words import analyse, as_text, clean, vader

LABELS = ("negative", "neutral", "positive")
WINDOW = 5_000  # characters VADER reads at once (its cost grows with the square of this)
READ = 4 * WINDOW  # characters of one text the model reads at most
UNREADABLE = "language"  # why a text has no score: written in a language the model cannot read


@dataclass(frozen=True)
class Sentiments:
    score: np.ndarray  # -1 (most negative) .. 1 (most positive); NaN where unscored
    label: np.ndarray  # negative, neutral or positive; None where unscored
    unscored: np.ndarray | None = None  # why a text has no score (UNREADABLE), else None

    def __post_init__(self) -> None:
        if self.unscored is None:
            object.__setattr__(self, "unscored", np.full(len(self.score), None, dtype=object))


def read(value: object) -> str:
    """The part of a text the model reads: any value as clean text, cut to READ characters at a
    space (only twice that much raw text is cleaned, so that a huge one costs no more)."""
    text = clean(as_text(value)[:2 * READ])
    return text[:_cut(text, READ)]


def windows(text: str) -> list[str]:
    """The text in pieces of at most WINDOW characters, cut at a sentence's end where one is near."""
    out = []
    while len(text) > WINDOW:
        end = _cut(text, WINDOW)
        out.append(text[:end])
        text = text[end:].lstrip()
    return [*out, text]


def _cut(text: str, n: int) -> int:
    """Where to cut the text to keep at most n characters: after a sentence in the second half of
    them, else at the last space, else at n."""
    if len(text) <= n:
        return len(text)
    head = text[:n]
    end = max(head.rfind(". "), head.rfind("! "), head.rfind("? "))
    if end < n // 2:
        end = head.rfind(" ")
    return end + 1 if end > 0 else n


def vader_features(texts: list[str]) -> np.ndarray:
    """VADER's pos, neg, neu and compound scores, and compound split by sign; a text longer than
    WINDOW gets the length-weighted mean of its windows' scores."""
    rows = [_vader_scores(t) for t in texts]
    return np.array([[p, n, u, c, max(c, 0.0), min(c, 0.0)] for p, n, u, c in rows]).reshape(len(texts), 6)


def _vader_scores(text: str) -> tuple[float, float, float, float]:
    parts = windows(text)
    rows = [(d["pos"], d["neg"], d["neu"], d["compound"]) for d in map(vader().polarity_scores, parts)]
    if len(rows) == 1:
        return rows[0]
    return tuple(float(x) for x in np.average(rows, axis=0, weights=[len(p) for p in parts]))


class SentimentModel:
    """Weights, vocabulary and thresholds as plain data (JSON), never a pickle."""

    def __init__(self, data: dict) -> None:
        self.data = data
        self.vectorizer = TfidfVectorizer(analyzer=analyse, vocabulary=data["vocabulary"], sublinear_tf=True)
        self.vectorizer.idf_ = np.array(data["idf"])
        self.coef = np.array(data["coef"])  # classes x (words + 6 VADER features)
        self.intercept = np.array(data["intercept"])
        self.classes = list(data["classes"])
        self.blend = float(data["blend"])
        self.positive_above = float(data["positive_above"])
        self.negative_below = float(data["negative_below"])

    @classmethod
    def shipped(cls) -> SentimentModel:
        return _shipped()

    def probabilities(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Class probabilities, VADER's compound score, and whether any sentiment word was seen."""
        x = self.vectorizer.transform(texts)
        v = vader_features(texts)
        z = sparse.hstack([x, sparse.csr_matrix(v)]).tocsr() @ self.coef.T + self.intercept
        z = np.exp(z - z.max(axis=1, keepdims=True))
        evidence = (x.getnnz(axis=1) > 0) | (np.abs(v[:, 3]) >= 0.05)
        return z / z.sum(axis=1, keepdims=True), v[:, 3], evidence

    def predict(self, texts: Sequence[object]) -> Sentiments:
        """Any values (missing ones are neutral, bytes are UTF-8); see the module for the bound."""
        texts = [read(t) for t in texts]
        if not texts:
            return Sentiments(np.zeros(0), np.array([], dtype=object))
        p, compound, evidence = self.probabilities(texts)
        polarity = p[:, self.classes.index("positive")] - p[:, self.classes.index("negative")]
        score = self.blend * polarity + (1 - self.blend) * compound
        label = np.where(score > self.positive_above, "positive",
                         np.where(score < self.negative_below, "negative", "neutral"))
        label = np.where(evidence, label, "neutral").astype(object)
        score = np.where(evidence, score, 0.0)
        foreign = np.array([not readable(t) for t in texts])
        label[foreign] = None
        return Sentiments(np.where(foreign, np.nan, score), label,
                          np.where(foreign, UNREADABLE, None).astype(object))


@lru_cache(maxsize=1)
def _shipped() -> SentimentModel:
    text = resources.files("patron.listen").joinpath("models", "sentiment.json").read_text(encoding="utf-8")
    return SentimentModel(json.loads(text))


def vader_labels(texts: Sequence[object]) -> np.ndarray:
    """The lexicon baseline: plain VADER's compound score with its documented +-0.05 thresholds,
    on the whole text (a baseline reproduces VADER as published, so it is neither cut nor told
    what it cannot read)."""
    c = np.array([_plain_vader().polarity_scores(clean(t))["compound"] for t in texts])
    return np.where(c >= 0.05, "positive", np.where(c <= -0.05, "negative", "neutral")).astype(object)


@lru_cache(maxsize=1)
def _plain_vader():  # noqa: ANN202 - VADER's analyzer class is not typed
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()
