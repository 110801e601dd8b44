"""Sentiment of any customer text: a score in [-1, 1], a label, and how sure the model is.

The shipped model (models/sentiment.json, trained by bench/train_sentiment.py) is a logistic
regression on TF-IDF of domain-general words (words.py) plus VADER's scores as features; its
polarity may be blended with VADER's compound score (the weight, like the thresholds that turn
the score into labels, was chosen on held-out reviews). A text with no sentiment-bearing word at
all is neutral. Everything runs offline: the weights ship with patron and VADER's lexicon ships with its package.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

from patron.listen.words import analyse, clean, vader

LABELS = ("negative", "neutral", "positive")


@dataclass(frozen=True)
class Sentiments:
    score: np.ndarray  # -1 (most negative) .. 1 (most positive)
    label: np.ndarray  # negative, neutral or positive


def vader_features(texts: list[str]) -> np.ndarray:
    """VADER's pos, neg, neu and compound scores, and compound split by sign."""
    sia = vader()
    rows = [sia.polarity_scores(t) for t in texts]
    return np.array([[d["pos"], d["neg"], d["neu"], d["compound"], max(d["compound"], 0.0), min(d["compound"], 0.0)]
                     for d in rows]).reshape(len(texts), 6)


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

    def predict(self, texts: list[str]) -> Sentiments:
        texts = [clean(t) for t in texts]
        if not texts:
            return Sentiments(np.zeros(0), np.array([], dtype=object))
        p, compound, evidence = self.probabilities(texts)
        polarity = p[:, self.classes.index("positive")] - p[:, self.classes.index("negative")]
        score = self.blend * polarity + (1 - self.blend) * compound
        label = np.where(score > self.positive_above, "positive",
                         np.where(score < self.negative_below, "negative", "neutral"))
        label = np.where(evidence, label, "neutral")
        return Sentiments(np.where(evidence, score, 0.0), label.astype(object))


@lru_cache(maxsize=1)
def _shipped() -> SentimentModel:
    text = resources.files("patron.listen").joinpath("models", "sentiment.json").read_text(encoding="utf-8")
    return SentimentModel(json.loads(text))


def vader_labels(texts: list[str]) -> np.ndarray:
    """The lexicon baseline: plain VADER's compound score with its documented +-0.05 thresholds."""
    c = np.array([_plain_vader().polarity_scores(clean(t))["compound"] for t in texts])
    return np.where(c >= 0.05, "positive", np.where(c <= -0.05, "negative", "neutral")).astype(object)


@lru_cache(maxsize=1)
def _plain_vader():  # noqa: ANN202 - VADER's analyzer class is not typed
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()
