"""Texts the model cannot read are marked, never called neutral; English support text never is."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from conftest import REPO
from patron.listen.language import readable
from patron.listen.sentiment import UNREADABLE, SentimentModel
from patron.listen.words import clean

FOREIGN = [
    "Hola, no puedo escuchar música en mi cuenta premium, ¿qué pasa?",
    "Ya les envié DM pero aún no tengo ningún tipo de respuesta!",
    "RECIÉN VEO ESTO POR DIOS QUE MARAVILLA",
    "ok, vou entrar em contato através da página. obrigado!!",
    "Ich habe KEINE Rückerstattung erhalten, bitte um Feedback",
    "Waarom zijn dit soort aanbiedingen niet beschikbaar voor al bestaande klanten?",
    "Je ne peux pas me connecter à mon compte depuis la mise à jour",
    "Non riesco ad accedere al mio account, perché?",
    "aplikasinya tidak bisa dibuka dari kemarin",
    "Nie mogę się zalogować",
    "我的账户被扣款两次，客服一直没有回复。",
    "わざわざありがとうございます、確認しました。",
    "Spotify 不能播放音乐",  # mixed, mostly Chinese
    "@SpotifyCares اكو عندهم Arabic support اكو 😂😂",  # mixed, mostly Arabic
]
ENGLISH = [
    "@SpotifyCares my playlist is gone!! https://t.co/x1y2z3",
    "THE APP KEEPS CRASHING AND NOBODY ANSWERS",
    "pls hlp cant login since teh update",
    "iPhone SE - OS 10.3.3 - Spotify 8.4.25.906",
    "macbook 2016, os x el capitan, app version 1.0.60.492",
    "Spotify premium family plan",
    "Beyoncé and Björk albums are missing from my library",
    "It's a Chinese song. “默-那英”",
    "The 13-track album Desde Lanzarote belongs to Spanish-language band Los Campesinos",
    "Thanks! ¯\\_(ツ)_/¯",
    "Déjà vu, the app crashed again",
    "Your app is très bien but the ads are too loud",
    "👍🔥",
    "",
    "0011",
]


@pytest.mark.parametrize("text", FOREIGN)
def test_text_in_another_language_is_unscored_not_neutral(text):
    assert not readable(clean(text))
    s = SentimentModel.shipped().predict([text])
    assert np.isnan(s.score[0]) and s.label[0] is None and s.unscored[0] == UNREADABLE


@pytest.mark.parametrize("text", ENGLISH)
def test_english_support_text_is_read(text):
    assert readable(clean(text))
    s = SentimentModel.shipped().predict([text])
    assert s.label[0] in {"negative", "neutral", "positive"} and s.unscored[0] is None


def test_a_batch_marks_only_the_texts_it_cannot_read():
    s = SentimentModel.shipped().predict(["Thanks, that fixed it!", FOREIGN[0], "It keeps crashing", FOREIGN[6]])
    assert list(s.unscored) == [None, UNREADABLE, None, UNREADABLE]
    assert list(s.label) == ["positive", None, "negative", None]


def unreadable_share(texts: pd.Series) -> float:
    return float((~texts.map(lambda t: readable(clean(t)))).mean())


@pytest.fixture(scope="module")
def bench(datasets):
    sys.path.insert(0, str(REPO / "bench"))
    import train_sentiment

    return train_sentiment


def test_real_english_text_is_never_marked_and_real_foreign_tweets_are(bench, datasets):
    assert unreadable_share(bench.reviews()["text"]) == 0  # 22,641 clothing reviews
    assert unreadable_share(pd.Series(bench.complaints())) == 0  # 4,359 CFPB narratives
    sample = pd.read_csv(datasets / "twitter_customer_support" / "twcs_kaggle_sample.csv")["text"]
    assert unreadable_share(sample) == 0
    # @SpotifyCares' customers write from everywhere: 32 of 15,096 tweets in Spanish, Dutch,
    # German, Portuguese, Turkish, Tagalog, Indonesian, Czech, Arabic, Japanese and Thai
    tweets = pd.read_csv(datasets / "twitter_customer_support" / "spotifycares_inbound_requests.csv")
    assert 0.001 < unreadable_share(tweets["text"]) < 0.005
    for name in ("spotifycares_sentiment_labels.csv", "spotifycares_sentiment_labels_heldout.csv"):
        labelled = tweets["tweet_id"].isin(pd.read_csv(REPO / "tests" / "data" / name)["tweet_id"])
        assert unreadable_share(tweets.loc[labelled, "text"]) == 0  # every hand-labelled tweet is English


def test_an_english_complaint_under_a_footer_in_another_language_or_typed_full_width_is_read():
    from patron.listen.language import readable

    complaint = "The app crashed again during our month end close and support never answered our ticket."
    assert readable(complaint + " Diese E-Mail ist vertraulich und nur für den Empfänger bestimmt. Wenn Sie "
                    "nicht der richtige Adressat sind, informieren Sie bitte sofort den Absender und löschen Sie "
                    "diese Mail.")
    assert readable(complaint + " 北京市朝阳区建国路八十八号现代城软件有限公司客户服务部")
    assert readable("ＴＨＥ ＡＰＰ ＩＳ ＢＲＯＫＥＮ ＡＧＡＩＮ")
    assert not readable("La aplicación no funciona desde ayer y el soporte no responde a nuestros mensajes, "
                        "necesitamos una solución para el cierre de mes porque es muy urgente para todo el equipo")
