"""Names for groups of texts: the phrase that best says what a group's texts are about.

A theme's top words ("fast / wanted / say") tell an analyst which terms weigh most, not a person
what the theme is. A name is a phrase of one to three words taken from the texts themselves,
chosen for how typical it is of the group (the share of the group's texts that contain it) and how
distinctive (the share of all texts containing it that are in the group): a phrase every group
uses names none. A longer phrase stands in for a word inside it when the word mostly occurs as
part of it ("Slack integration" rather than "Slack").

Why a heuristic and not a tagger: the part-of-speech taggers and chunkers that find noun phrases
(spaCy, NLTK, TextBlob, Stanza, Flair) need models that their authors publish outside the package
registry, to be downloaded at run time or by hand, and patron downloads nothing; keyphrase
extractors (YAKE, RAKE) score phrases within one text and cannot say what sets one group apart
from the others. So noun phrases are approximated from the corpus itself: a candidate neither
starts nor ends with a stopword, a common verb or a degree word; its last word reads as a noun
here (seen after a determiner such as "the", "our" or "customer's" at least as often as after a
subject, an auxiliary, a degree word or "to") and its first word does not read as a verb. A group
whose texts share no such phrase (thanks, replies of "yes", "still not working") is named by the
short run of words, as written, that it is most about.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

MAX_WORDS = 3  # words in a noun phrase
MAX_WRITTEN = 4  # words in a phrase as written (the fallback)
MIN_TEXTS = 3  # a name occurs in at least this many of its group's texts
UNIT = 0.5  # a longer phrase stands in for a shorter one it contains when it holds this share of its texts
UNIT_SCORE = 0.5  # ... and scores at least this share of the shorter one's score
WEAK = 0.1  # a group whose best noun phrase scores below this may be named by words as written...
WRITTEN_GAIN = 2  # ... when these score this many times as well
CANDIDATES = 20  # phrases kept per group for sharing names out
POOL = 400  # best-scoring phrases per group searched for longer ones
MAX_TEXTS = 4000  # texts read per group (a weighted sample beyond): enough to rank phrases
ABOUT_GAIN = 3.0  # how much more a phrase holding the group's heaviest term scores

# Nouns in scikit-learn's stopword list that customers write about.
_NOUNS = {"bill", "interest", "system", "amount", "name", "fire", "call", "detail", "side", "top", "bottom", "front",
          "part", "mill", "fill", "show", "move", "empty", "full", "thick", "thin", "serious"}
_TALK = {"hi", "hello", "hey", "thanks", "thank", "thx", "pls", "plz", "ok", "okay", "yes", "yeah", "yep", "nope", "oh",
         "ah", "lol", "guys", "guy", "dear", "sir", "madam", "hope", "sorry", "wow", "omg", "btw", "fyi", "im", "ive",
         "dont", "didnt", "doesnt", "isnt", "cant", "wont", "ll", "ve", "don", "didn", "doesn", "isn", "wasn", "aren",
         "won", "haven", "hasn", "couldn", "wouldn", "shouldn", "amp", "etc", "s", "t", "d", "m", "u", "ur", "thankyou",
         "cheers", "welcome", "idea", "clue"}
# Verbs too common to tell a topic, in all their forms.
_VERBS = {"get", "gets", "got", "getting", "gotten", "make", "makes", "making", "say", "says", "said", "saying", "goes",
          "going", "went", "gone", "know", "knows", "knew", "known", "takes", "took", "taken", "taking", "sees", "saw",
          "seen", "come", "comes", "came", "coming", "think", "thinks", "thought", "want", "wants", "wanted",
          "wanting", "need", "needs", "needed", "use", "uses", "used", "using", "tell", "tells", "told", "ask", "asks",
          "asked", "asking", "try", "tries", "tried", "trying", "gives", "gave", "given", "giving", "let", "lets",
          "keeps", "kept", "keeping", "seem", "like", "likes", "liked", "love", "loved", "loves", "hate", "hated",
          "feel", "feels", "felt", "look", "looks", "looked", "looking", "finds", "work", "works", "worked", "working",
          "does", "did", "doing", "happen", "happens", "happened", "start", "started", "starts", "stop", "stopped",
          "stops", "helps", "helped", "wait", "waited", "waiting", "receive", "received", "send", "sent", "sending",
          "provide", "provided", "contact", "contacted", "explain", "explained", "continue", "continued", "continues",
          "unable", "believe", "understand", "understood", "mean", "means", "meant", "add", "added", "showed",
          "shows", "showing", "shown", "pay", "paid", "paying", "called", "calling", "fix", "fixed", "fixing",
          "change", "changed", "changing", "hear", "heard", "appreciate", "appreciated", "turn", "turned", "turns",
          "run", "runs", "ran", "running", "opened", "leave", "left", "lost", "lose", "losing", "bring", "brought",
          "moved", "happy", "glad", "sure", "wanna", "gonna", "gotta", "kinda", "sorta", "let's", "check", "checked"}
_DEGREE = {"really", "quite", "pretty", "lot", "lots", "little", "bit", "extremely", "super", "totally", "completely",
           "absolutely", "just", "literally", "actually", "basically", "definitely", "probably", "maybe", "finally",
           "today", "yesterday", "tomorrow", "tonight", "week", "weeks", "month", "months", "year", "years", "day",
           "days", "time", "times", "ago", "anymore", "good", "great", "bad", "best", "better", "worse",
           "worst", "nice", "fine", "awesome", "amazing", "terrible", "horrible", "thing", "things", "stuff", "way",
           "ways", "ones", "people", "person", "different", "certain", "entire", "able", "twice", "instead",
           "right", "wrong", "long", "big", "small", "real", "true", "whatever", "okay"}
STOP = frozenset((ENGLISH_STOP_WORDS - _NOUNS) | _TALK | _VERBS | _DEGREE)
# Before a noun, or the words leading up to one: evidence that the next word reads as a noun.
_DETERMINERS = frozenset({"the", "a", "an", "our", "my", "your", "their", "his", "her", "its", "this", "that", "these",
                          "those", "any", "every", "each", "no", "some", "another", "of", "for", "with", "about"})
# Before a verb or a predicate adjective: evidence that the next word is neither noun nor modifier.
_PREDICATES = frozenset({"i", "we", "you", "they", "he", "she", "it", "is", "are", "was", "were", "be", "been", "am",
                         "has", "have", "had", "will", "would", "can", "could", "should", "may", "might", "must", "to",
                         "not", "never", "so", "very", "too", "really", "pretty", "quite", "keeps", "just", "still",
                         "did", "does", "do", "don't", "didn't", "doesn't", "can't", "won't", "cannot", "i'm", "we're",
                         "it's", "they're", "you're", "also", "always", "i've", "we've", "please"})
_AUXILIARIES = frozenset({"did", "does", "doing", "having", "dont", "didnt", "doesnt", "im", "ive", "ll", "ve", "don",
                          "didn", "doesn", "isn", "wasn", "s", "t", "d", "m", "u"})
# Words a phrase as written does not end on (it would be cut short) or start with.
_DANGLING = frozenset({"the", "a", "an", "and", "or", "but", "of", "to", "for", "with", "in", "on", "at", "by", "from",
                       "my", "your", "our", "their", "his", "her", "its", "is", "are", "was", "were", "be", "i", "we",
                       "so", "as", "if", "that", "this", "when", "than", "just", "very", "really", "then", "because",
                       "it", "they", "he", "she"})
_PRONOUNS = frozenset(ENGLISH_STOP_WORDS | _TALK | {"let", "that", "what", "who", "there", "here", "everything"})
T = TypeVar("T")
_CLAUSE = re.compile(r"[.,;:!?()\[\]{}\"“”|/\n]+|\s[-–—]+\s")
_WORD = re.compile(r"[a-z][a-z0-9]*(?:['’-][a-z0-9]+)*")
_NUMBER = re.compile(r"(?<![a-z])[0-9][\w'’.,-]*")


@dataclass(frozen=True)
class Phrase:
    """A candidate name for a group: its key (lower case, last word singular) and how it scores."""
    key: str
    score: float  # typical x distinct (a longer phrase standing in for a shorter one keeps the shorter's)
    texts: int  # the group's texts that contain it
    typical: float  # their share of the group's texts
    distinct: float  # the share of all texts containing it that are in the group


Clauses = list[list[str]]  # a text as runs of words a phrase may not cross


def clauses(text: str) -> Clauses:
    """Runs of words between punctuation and numbers: a phrase never spans a sentence, a comma
    or an amount."""
    out = []
    for part in _CLAUSE.split(text.lower()):
        for run in _NUMBER.split(part):
            words = [w.replace("’", "'") for w in _WORD.findall(run)]
            if words:
                out.append(words)
    return out


def singular(word: str) -> str:
    """Fold a plural: "reports" and "report" are one phrase."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is", "'s")):
        return word[:-1]
    return word


@dataclass(frozen=True)
class Roles:
    """What the corpus says of its words: which end a noun phrase, which cannot start one."""
    nouns: frozenset[str]
    verbs: frozenset[str]

    @classmethod
    def learn(cls, texts: Sequence[Clauses]) -> Roles:
        """A noun follows a determiner ("the integration"), or a determiner and a modifier ("the
        Slack integration", half the weight); a verb or predicate follows a subject or an
        auxiliary ("it changed", "is slow")."""
        det: Counter[str] = Counter()
        pred: Counter[str] = Counter()
        for text in texts:
            for words in text:
                for i, w in enumerate(words[1:], 1):
                    prev = words[i - 1]
                    if _determines(prev):
                        det[w] += 2
                    elif prev in _PREDICATES:
                        pred[w] += 2
                    elif i > 1 and _determines(words[i - 2]) and _modifies(prev):
                        det[w] += 1
        return cls(frozenset(w for w in det if det[w] >= pred[w] and not _past(w)),
                   frozenset(w for w in pred if pred[w] > det[w]))

    def opens(self, word: str) -> bool:
        if "'" in word:  # a possessive may open a phrase ("yesterday's outage"), a contraction not
            return word.endswith("'s") and word[:-2] not in _PRONOUNS
        return word not in STOP and word not in self.verbs

    def closes(self, word: str) -> bool:
        return word in self.nouns and word not in STOP and "'" not in word


def _determines(word: str) -> bool:
    """A determiner, or a possessive of a thing ("yesterday's", "customer's"), not of a pronoun."""
    return word in _DETERMINERS or (word.endswith("'s") and word[:-2] not in _PRONOUNS)


def _past(word: str) -> bool:
    """A past tense or participle ("changed", "crashed", not "speed"): it never ends a noun phrase."""
    return len(word) > 4 and word.endswith("ed") and not word.endswith("eed")


def _modifies(word: str) -> bool:
    """Could stand between a determiner and its noun ("the new editor", "the Slack integration")."""
    return word not in ENGLISH_STOP_WORDS and word not in _VERBS and word not in _PREDICATES and not _past(word)


def noun_phrases(roles: Roles) -> Callable[[Clauses], list[str]]:
    """The analyser: a text's candidate noun phrases, as keys, each once."""
    def analyse(text: Clauses) -> list[str]:
        out = set()
        for words in text:
            for i, first in enumerate(words):
                if not roles.opens(first):
                    continue
                for n in range(1, MAX_WORDS + 1):
                    gram = words[i:i + n]
                    if len(gram) < n or (n > 1 and gram[-2] in STOP and gram[-2] != "of"):
                        break
                    if roles.closes(gram[-1]):
                        out.add(" ".join((*gram[:-1], singular(gram[-1]))))
        return list(out)
    return analyse


def _substantial(word: str) -> bool:
    """A word that says something alone ("sent", "thanks", "working"), not "did" or "it's"."""
    if "'" in word:
        return False
    return word not in ENGLISH_STOP_WORDS and word not in _DEGREE and word not in _AUXILIARIES


def as_written(text: Clauses) -> list[str]:
    """The analyser of the fallback: runs of one to four words, whole enough to read alone and
    holding a word of substance ("thank you", "still not working", "sent")."""
    out = set()
    for words in text:
        for n in range(1, MAX_WRITTEN + 1):
            for i in range(len(words) - n + 1):
                gram = words[i:i + n]
                if gram[0] not in _DANGLING and gram[-1] not in _DANGLING and any(map(_substantial, gram)):
                    out.add(" ".join(gram))
    return list(out)


def sample(labels: np.ndarray, groups: Collection[Hashable] | None = None,
           seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Rows to read, at most MAX_TEXTS of each group (of every label, None included, unless
    `groups` says which), and how many texts each row stands for."""
    rng = np.random.default_rng(seed)
    where = pd.Series(labels, dtype=object).groupby(labels, dropna=False, sort=False).indices
    chosen = where if groups is None else {g: where[g] for g in groups if g in where}
    rows, weights = [np.array([], dtype=int)], [np.array([])]
    for idx in chosen.values():
        pick = np.sort(rng.choice(idx, MAX_TEXTS, replace=False)) if len(idx) > MAX_TEXTS else idx
        rows.append(pick)
        weights.append(np.full(len(pick), len(idx) / len(pick)))
    return np.concatenate(rows).astype(int), np.concatenate(weights)


def _counts(x: sparse.csr_matrix, labels: np.ndarray, weights: np.ndarray,
            wanted: Sequence[Hashable]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per wanted group, the texts containing each phrase and the texts in all; and all texts
    containing each phrase (each count weighted by the texts a sampled one stands for)."""
    code = {g: r for r, g in enumerate(wanted)}
    rows = np.array([code.get(lab, -1) for lab in labels], dtype=int)
    hit = np.flatnonzero(rows >= 0)
    member = sparse.csr_matrix((weights[hit], (rows[hit], hit)), shape=(len(wanted), len(labels)))
    inside = (member @ x).toarray()
    sizes = np.asarray(member.sum(axis=1)).ravel()
    total = np.asarray(x.T @ weights).ravel()
    return inside, sizes, total


def _whole(i: int, pool: list[int], keys: np.ndarray, inside: np.ndarray, score: np.ndarray) -> int:
    """The longer phrase that phrase i occurs in as a unit, if there is one (else i): the one
    holding UNIT of its texts, at least twice as common as any other ("renewal quote" for
    "quote"; but "integration" stays when it is "Salesforce integration" and "Slack integration")."""
    inner = f" {keys[i]} "
    longer = [j for j in pool if len(keys[j]) > len(keys[i]) and inner in f" {keys[j]} "]
    if not longer:
        return i
    j = max(longer, key=lambda k: (inside[k], -len(keys[k])))
    outer = f" {keys[j]} "
    rivals = [k for k in longer if f" {keys[k]} " not in outer and outer not in f" {keys[k]} "]
    if inside[j] < UNIT * inside[i] or score[j] < UNIT_SCORE * score[i] or \
            any(inside[k] * 2 > inside[j] for k in rivals):
        return i
    return _whole(j, pool, keys, inside, score)


def _prefer_units(keys: np.ndarray, inside: np.ndarray, score: np.ndarray, typical: np.ndarray,
                  distinct: np.ndarray) -> list[Phrase]:
    """The best phrases, each replaced by the longer phrase it occurs in as a unit (keeping its
    score); ties go to the longer phrase."""
    pool = [int(i) for i in np.argsort(-score, kind="stable")[:POOL] if score[i] > 0]
    out: dict[str, Phrase] = {}
    for i in pool[:CANDIDATES * 3]:
        j = _whole(i, pool, keys, inside, score)
        key = str(keys[j])
        if key not in out:
            out[key] = Phrase(key, float(score[i]), int(round(inside[j])), float(typical[j]), float(distinct[j]))
    return sorted(out.values(), key=lambda p: (-p.score, -p.key.count(" ")))[:CANDIDATES]


def _score(x: sparse.csr_matrix, keys: np.ndarray, labels: np.ndarray, weights: np.ndarray,
           wanted: Sequence[Hashable], about: Mapping[Hashable, Mapping[str, float]] | None = None,
           ) -> dict[Hashable, list[Phrase]]:
    """Each wanted group's best phrases by typical x distinct, among those in MIN_TEXTS of its
    texts; a phrase holding one of the words the group is known to be about (a theme's weightiest
    terms) scores up to ABOUT_GAIN times more, so that the name says what defines the group rather
    than a detail its texts happen to share ("hour" in "within the hour")."""
    inside, sizes, total = _counts(x, labels, weights, wanted)
    out = {}
    for r, g in enumerate(wanted):
        typical = inside[r] / max(sizes[r], 1)
        distinct = inside[r] / np.maximum(total, 1e-12)
        score = np.where(inside[r] >= MIN_TEXTS, typical * distinct, 0.0)
        if about and about.get(g):
            score = score * (1 + (ABOUT_GAIN - 1) * _relevance(keys, about[g]))
        out[g] = _prefer_units(keys, inside[r], score, typical, distinct)
    return out


def _relevance(keys: np.ndarray, terms: Mapping[str, float]) -> np.ndarray:
    """Per phrase, 0-1: the weight (relative to the heaviest) of the heaviest term word it holds."""
    top = max(terms.values(), default=0.0) or 1.0
    weight: dict[str, float] = {}
    for term, w in terms.items():
        for word in term.lower().split():
            weight[singular(word)] = max(weight.get(singular(word), 0.0), w / top)
    return np.array([max((weight.get(singular(w), 0.0) for w in str(k).split()), default=0.0) for k in keys])


def _fit(analyser: Callable[[Clauses], list[str]], texts: Sequence[Clauses],
         vocabulary_from: Sequence[Clauses] | None = None) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Which texts contain which phrases: those in at least MIN_TEXTS texts (of `vocabulary_from`
    where given, so that only a few groups' phrases are counted in all the texts)."""
    vec = CountVectorizer(analyzer=analyser, binary=True, min_df=MIN_TEXTS, dtype=np.float64)
    try:
        if vocabulary_from is None:
            return vec.fit_transform(texts).tocsr(), vec.get_feature_names_out()
        vec.fit(vocabulary_from)
    except ValueError:  # no phrase in enough texts
        return sparse.csr_matrix((len(texts), 0)), np.array([], dtype=object)
    return vec.transform(texts).tocsr(), vec.get_feature_names_out()


def _texts_of(texts: Sequence[T], labels: np.ndarray, groups: Collection[Hashable]) -> list[T]:
    inside = set(groups)
    return [t for t, lab in zip(texts, labels, strict=True) if lab in inside]


def rank(texts: Sequence[str], labels: Sequence[Hashable | None], wanted: Collection[Hashable],
         written: bool = False, seed: int = 0, about: Mapping[Hashable, Mapping[str, float]] | None = None,
         ) -> dict[Hashable, list[Phrase]]:
    """Each wanted group's best candidate names, best first: noun phrases, or with `written`
    runs of words as written. `labels` give every text's group (None for none): a phrase is
    distinctive against all the texts."""
    wanted = list(wanted)
    labels = np.asarray(list(labels), dtype=object)
    rows, weights = sample(labels, seed=seed)
    part, labels = [clauses(texts[i]) for i in rows], labels[rows]
    if written:
        x, keys = _fit(as_written, part, _texts_of(part, labels, wanted))
    else:
        x, keys = _fit(noun_phrases(Roles.learn(part)), part)
    return _score(x, keys, labels, weights, wanted, about)


def key(name: str) -> str:
    """A name as a phrase is compared: lower case, the last word singular ("Reports" is "report")."""
    *head, last = name.lower().split() or [""]
    return " ".join((*head, singular(last)))


def share_out(ranked: Mapping[Hashable, list[Phrase]], taken: Collection[str] = ()) -> dict[Hashable, Phrase]:
    """One phrase per group, no two alike and none already taken: the best-scoring claims first."""
    used = {key(t) for t in taken}
    claims = sorted(((p.score, i, g, p) for g, ranks in ranked.items() for i, p in enumerate(ranks)),
                    key=lambda c: (-c[0], c[1]))
    out: dict[Hashable, Phrase] = {}
    for _, _, g, p in claims:
        if g not in out and key(p.key) not in used:
            out[g] = p
            used.add(key(p.key))
    return out


def names(texts: Sequence[str], labels: Sequence[Hashable | None], wanted: Collection[Hashable],
          taken: Collection[str] = (), about: Mapping[Hashable, Mapping[str, float]] | None = None,
          ) -> dict[Hashable, str]:
    """A name for each wanted group (a group with no phrase in MIN_TEXTS of its texts gets none),
    unlike each other and the names `taken`, spelled as the group's texts spell it. A group whose
    best noun phrase is weak (thanks, replies of "yes", "still not working") is named by the
    words its texts are written in, when those say it at least WRITTEN_GAIN times as well."""
    labels = list(labels)
    ranked = rank(texts, labels, wanted, about=about)
    chosen = share_out(ranked, taken)
    weak = [g for g in wanted if g not in chosen or chosen[g].score < WEAK]
    if weak:
        written = rank(texts, labels, weak, written=True, about=about)
        for g in weak:
            best = chosen[g].score if g in chosen else 0.0
            if written[g] and written[g][0].score > WRITTEN_GAIN * best:
                ranked[g] = written[g]
        chosen = share_out(ranked, taken)
    label_of = np.asarray(labels, dtype=object)
    return {g: spelled(p.key, _texts_of(texts, label_of, [g])) for g, p in chosen.items()}


def pattern(phrase: str) -> re.Pattern[str]:
    """The phrase in running text, in either number of its last word."""
    *head, last = (re.escape(w).replace("'", "['’]") for w in phrase.split())
    tail = last[:-1] + "(?:y|ies)" if last.endswith("y") else last + "(?:e?s)?"
    words = [*head, tail]
    return re.compile(r"(?<![\w'’-])" + r"\s+".join(words) + r"(?![\w'’-])", re.IGNORECASE)


def spelled(phrase: str, texts: Sequence[str]) -> str:
    """The phrase as the texts write it most often ("Slack integration", "SSO"), away from the
    start of a sentence where it can be, with a capital first letter."""
    found = pattern(phrase)
    inside: Counter[str] = Counter()
    opening: Counter[str] = Counter()
    for text in texts:
        for m in found.finditer(text):
            before = text[:m.start()].rstrip()
            (inside if before and before[-1] not in ".!?" else opening)[" ".join(m.group(0).split())] += 1
    form = (inside or opening or Counter([phrase])).most_common(1)[0][0]
    first = form.split(" ", 1)[0]
    return form[:1].upper() + form[1:] if first == first.lower() else form  # "iPhone" stays
