"""The shipped sentiment model: offline, sensible on plain cases, and better than VADER on real data."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import f1_score

from conftest import REPO
from patron.listen.sentiment import SentimentModel, vader_labels
from patron.listen.words import analyse, clean


def test_the_model_ships_with_patron_and_reads_plain_cases():
    model = SentimentModel.shipped()
    texts = ["The export keeps crashing and support never answered. Worst month ever.",
             "Thanks so much, that fixed it. Great support!",
             "iPhone 7, iOS 11.1, app version 8.4.25",
             "",
             "The new dashboard is not good at all",
             "Still broken after the update, I want a refund"]
    s = model.predict(texts)
    assert list(s.label) == ["negative", "positive", "neutral", "neutral", "negative", "negative"]
    assert np.all((s.score >= -1) & (s.score <= 1))
    assert s.score[2] == 0 and s.score[3] == 0  # no sentiment word: neutral with score 0
    assert list(model.predict(texts).score) == list(s.score)  # deterministic


def test_domain_words_never_become_features():
    # nouns of the training domain are dropped; a negation stops at the end of its clause
    assert analyse("This dress does not fit, the fabric is lovely") == [
        "not", "NOT_fit", "lovely", "not_NOT_fit", "NOT_fit_lovely"]
    assert clean("@SpotifyCares it fails https://t.co/x &amp; XXXX again") == "it fails & again"


@pytest.fixture(scope="module")
def train_script(datasets):
    sys.path.insert(0, str(REPO / "bench"))
    import train_sentiment

    return train_sentiment


def test_better_than_vader_on_held_out_reviews_and_on_support_tweets(train_script):
    model = SentimentModel.shipped()
    reviews = train_script.reviews()
    test = reviews[reviews["split"] == "test"]
    mine = f1_score(test["label"], model.predict(list(test["text"])).label, average="macro")
    vader = f1_score(test["label"], vader_labels(list(test["text"])), average="macro")
    assert mine > vader + 0.15  # 0.60 against 0.42 when measured (bench/RESULTS.md)
    tweets = train_script.tweets()
    assert tweets["text"].notna().all(), "every hand label joins a tweet of the shared file"
    mine = f1_score(tweets["label"], model.predict(list(tweets["text"])).label, average="macro")
    vader = f1_score(tweets["label"], vader_labels(list(tweets["text"])), average="macro")
    assert mine > vader + 0.05  # a domain it never trained on


def test_hand_labels_are_ids_and_labels_only():
    text = (Path(REPO) / "tests" / "data" / "spotifycares_sentiment_labels.csv").read_text().splitlines()
    assert text[0] == "tweet_id,label" and len(text) == 201
    assert {line.split(",")[1] for line in text[1:]} == {"negative", "neutral", "positive"}
