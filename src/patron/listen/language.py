"""Whether the sentiment model can read a text at all: it reads English only.

A language-identification library answers a different question (which language is most
likely) and is least reliable on exactly the texts that must pass: short tweets made of handles,
product names, typos and slang (py3langid calls 11% of the English @SpotifyCares tweets another
language). What matters is whether the words are ones the model knows, so the test is simple
enough to explain in a sentence, with no model to ship:

- a text is unreadable when most of its words are in a script other than Latin (a Chinese or
  Japanese character counts as a word, since those scripts do not separate words);
- a text in Latin script is unreadable when at least two of its words belong to another language
  (a common function word of Spanish, Portuguese, French, German, Italian, Dutch, the
  Scandinavian languages, Indonesian, Turkish, Tagalog, Polish or Czech, or a word with a
  diacritic that English does not know), one of them three letters or more, and they are at
  least as many as its known English words (English stopwords, VADER's lexicon, service words).

A word that is also English ("no", "die", "de") never counts against a text, and a text without
words (an emoji, a version number) is readable: it is neutral for lack of evidence, not for lack
of language. Mentions and links are gone before this runs (words.clean).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from patron.listen.words import CUES, NEGATORS, SERVICE, vader

# A language's commonest function words, which English text almost never contains; words that
# are also English are dropped when the set is built. Short slang-like forms (ya, da, na, lo, ma)
# are left out: English tweets use them.
FOREIGN = frozenset("""
que la el en los las por para una es está pero mi tu su se como más muy qué del yo le les hay tengo
puedo esto este esta cuando también gracias hola porque nada todo algo así mismo eso ese esa bien tiene
pueden puede quiero hacer
não com uma você meu minha os dos das em mas muito obrigado obrigada isso eu ele ela tem nao voce
vocês pra aqui mais pelo pela
des une et je pas pour avec sur dans est ce qui ou du au vous nous il elle merci bonjour
der das und ist ich nicht mit ein eine auf zu den dem sie es wir ihr aber auch noch bitte danke
habe kann für wie hallo keine wo oder
che di il non sono ti perché anche questo grazie ciao della nel
het een niet ik ja dat van zijn met voor wel maar ook nog waarom heb geen deze bij
och inte det är att jag har som på för med jeg ikke og til vi hej tack
yang tidak saya ini itu dan di ke dari untuk aku kamu ada bisa sudah tapi gak ga nggak dengan apa mau
kalo aja udah gimana banget bgt yg utk dgn lagi juga sama engga
bir ve bu çok ne için ben sen ama değil var yok mı nasıl neden gibi daha ile bak
ang ng mga sa ko ako hindi naman lang yung niyo
nie się jest że czy jestem proč jsem není
""".split())
# Contraction stems and forms of address common in support text (the tokenizer splits at apostrophes).
ENGLISH_EXTRA = frozenset("""
don doesn didn isn wasn aren weren haven hasn hadn won wouldn shouldn couldn ve ll re im ive dont
cant wont didnt doesnt isnt thats whats youre hi hey hello yes yeah ok okay pls plz app
""".split())

_SEPARATE = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # kana and CJK
_WORD = re.compile(rf"[{_SEPARATE}]|[^\W\d_{_SEPARATE}]+")
ENGLISH_MESSAGE = 8  # known English words that make a message readable whatever else it holds...
ENGLISH_SHARE = 0.2  # ... when they are at least this share of its Latin-script words
_LATIN = re.compile(r"[a-z\u00c0-\u024f\u1e00-\u1eff]")


@lru_cache(maxsize=1)
def english() -> frozenset[str]:
    """Words the model's English sources know: stopwords, VADER's lexicon, the service words."""
    lexicon = {w for w in vader().lexicon if w.isalpha()}
    return frozenset(ENGLISH_STOP_WORDS) | lexicon | set(SERVICE) | CUES | NEGATORS | ENGLISH_EXTRA


@lru_cache(maxsize=1)
def foreign() -> frozenset[str]:
    return FOREIGN - english()


def readable(text: str) -> bool:
    """False when the text is written in a language the model cannot read (see the module)."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)  # full-width letters ("ＴＨＥ ＡＰＰ") are letters
    words = _WORD.findall(text.lower())
    if text.isascii():  # most English text is decided here, at C speed
        return foreign().isdisjoint(words) or _english_enough(words)
    latin = [w for w in words if _LATIN.match(w)]
    if _said_in_english(latin):  # an English message under a signature or footer in another language
        return True
    return len(words) <= 2 * len(latin) and _english_enough(latin)


def _said_in_english(words: list[str]) -> bool:
    """Enough English words, and enough of the text, for the model to read what it says."""
    known = sum(w in english() for w in words)
    return known >= ENGLISH_MESSAGE and known >= ENGLISH_SHARE * len(words)


def _english_enough(words: list[str]) -> bool:
    """Words of Latin script: not two or more of another language's, as many as its English ones."""
    known, other = english(), foreign()
    # English writes almost no word with a diacritic: a name or two (Beyoncé, Québec) is
    # outweighed by the English words around it
    theirs = [w for w in words if w in other or (not w.isascii() and w not in known)]
    if len(theirs) < 2 or max(map(len, theirs)) < 3:  # "OS X El Capitan", "iPhone SE" are English
        return True
    return len(theirs) < sum(w in known for w in words) or _said_in_english(words)
