"""The shipped sentiment model: offline, sensible on plain cases, and better than VADER on real data."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score

from conftest import REPO
from patron.listen.sentiment import READ, WINDOW, SentimentModel, read, vader_features, vader_labels, windows
from patron.listen.words import analyse, clean, vader


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


def test_any_cell_is_read_missing_values_are_neutral_and_bytes_are_utf8():
    # what a data frame's text column holds: NaN for an empty cell, pd.NA, numbers, raw bytes
    values = [None, float("nan"), np.nan, pd.NA, "", "   ", 5, 4.5, b"Great, thanks so much!",
              b"\xff\xfe broken, it keeps crashing", bytearray(b"worst update ever")]
    s = SentimentModel.shipped().predict(values)
    assert list(s.label[:8]) == ["neutral"] * 8 and list(s.score[:8]) == [0.0] * 8  # no evidence, not an error
    assert list(s.label[8:]) == ["positive", "negative", "negative"]
    assert list(s.unscored) == [None] * len(values)
    assert list(vader_labels(values)) == ["neutral"] * 8 + ["positive", "negative", "negative"]
    assert list(SentimentModel.shipped().predict(pd.Series(values, dtype=object)).label) == list(s.label)


def test_a_huge_text_is_read_in_bounded_windows_and_scored_sanely():
    complaint = "The export keeps crashing and support never answered. I want a refund! "
    huge = complaint * (200_000 // len(complaint) + 1)  # a pasted log-sized ticket, 200,000 characters
    kept = read(huge)
    assert READ - len(complaint) < len(kept) <= READ and huge.startswith(kept)
    parts = windows(kept)
    assert all(len(p) <= WINDOW for p in parts) and len(parts) <= 2 * READ // WINDOW
    s = SentimentModel.shipped().predict([huge, kept])
    assert list(s.label) == ["negative", "negative"] and -1 <= s.score[0] < 0
    assert s.score[0] == s.score[1]  # what is past READ characters is never read
    short = "It crashed twice, but thanks for the quick fix."  # a text within one window is read whole
    d = vader().polarity_scores(short)
    assert list(vader_features([short])[0][:4]) == [d["pos"], d["neg"], d["neu"], d["compound"]]


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
    assert mine >= 0.60 and mine > vader + 0.15  # 0.62 against 0.42 when measured (bench/RESULTS.md)
    for held_out in (False, True):  # a domain it never trained on; the second set was labelled after it was frozen
        tweets = train_script.tweets(held_out)
        assert tweets["text"].notna().all(), "every hand label joins a tweet of the shared file"
        mine = f1_score(tweets["label"], model.predict(list(tweets["text"])).label, average="macro")
        vader = f1_score(tweets["label"], vader_labels(list(tweets["text"])), average="macro")
        assert mine > vader + 0.05


def test_complaint_narratives_are_rarely_read_as_praise(train_script):
    # every CFPB narrative describes a problem: calling one positive is an error
    narratives = train_script.complaints()
    mine = np.mean(SentimentModel.shipped().predict(narratives).label == "positive")
    vader = np.mean(vader_labels(narratives) == "positive")
    assert mine < 0.2 and mine < vader / 2  # 13% against 48% when measured


@pytest.mark.parametrize("name", ["spotifycares_sentiment_labels.csv", "spotifycares_sentiment_labels_heldout.csv"])
def test_hand_labels_are_ids_and_labels_only(name):
    text = (Path(REPO) / "tests" / "data" / name).read_text().splitlines()
    assert text[0] == "tweet_id,label" and len(text) == 201
    assert {line.split(",")[1] for line in text[1:]} == {"negative", "neutral", "positive"}


def test_the_two_hand_labelled_sets_do_not_overlap():
    ids = [set(line.split(",")[0] for line in (Path(REPO) / "tests" / "data" / name).read_text().splitlines()[1:])
           for name in ("spotifycares_sentiment_labels.csv", "spotifycares_sentiment_labels_heldout.csv")]
    assert not ids[0] & ids[1]
