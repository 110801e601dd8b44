"""Themes discovered from what customers write, with ids that survive the next run.

TF-IDF over words and word pairs, factorised by NMF (scikit-learn): each theme is a weighting of
terms. A person reads a theme by its name, the phrase that best says what its texts are about
(patron.listen.phrases: typical of the theme, rare outside it, unique among themes), with its top
words as a second line and its most typical texts (those closest to the theme's centre). Topic
models reshuffle when refitted, so each run's themes are matched to the stored ones by the cosine
similarity of their term weights (an optimal one-to-one assignment); a theme that matches keeps
its id and name, one that does not is new. A text belongs to its strongest theme when that theme
holds enough of its weight; otherwise it is left without a theme, and the share of such texts is
reported. Your taxonomy (patron.yml `listen.taxonomy`) comes first: a text containing one of a
theme's keywords is that theme's; each of its examples names the discovered theme it falls into,
so the company's own name (and a stable id) replaces the discovered one.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import linear_sum_assignment
from sklearn.decomposition import NMF
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

from patron.config import TaxonomyTheme, taxonomy_id
from patron.config import taxonomy as checked_taxonomy
from patron.listen import phrases
from patron.listen.words import clean
from patron.relations import ALL_TEXTS, ARR_NOW, TEXTS, texts_of
from patron.warehouse import Warehouse
from patron.warehouse.as_of import data_as_of

SAME_THEME = 0.5  # cosine similarity of term weights above which a refitted theme is the stored one
MIN_SHARE = 0.3  # a text's strongest theme must hold this share of its theme weights
EXAMPLE_SIMILARITY = 0.1  # cosine of an example's words to a theme's terms, below which it names nothing
TERMS_KEPT = 30  # term weights stored per theme (enough to match it next time)
TYPICAL_SHOWN = 3  # typical texts kept per theme
TYPICAL_READ = 200  # ... from this many closest to its centre
SAME_WORDING = 0.8  # cosine of TF-IDF above which two texts are one wording, shown once
PERIOD_DAYS = 30  # "this period" for emerging themes: the last 30 days of texts
EMERGING_MIN = 10  # texts this period before a theme can be emerging
EMERGING_RATIO = 4  # ... and at least four times as many as the period before
WORDS = r"(?u)\b[^\W\d_][^\W\d_]+\b"  # words, not amounts or numbers
MIN_TEXTS = 20  # texts (outside your taxonomy's keywords) below which no theme can be told from chance
MIN_DF = 3  # a term counts when at least this many texts use it ...
MAX_DF = 0.4  # ... and at most this share of them (a word in every text says nothing about any)


@dataclass
class Theme:
    theme_id: str
    name: str
    terms: dict[str, float]
    items: int = 0
    examples: list[str] = field(default_factory=list)
    new: bool = False
    keywords: list[str] = field(default_factory=list)  # your taxonomy's, for a theme of yours
    top_words: str = ""  # its heaviest terms, "onboarding / setup / steps": the second line under its name


@dataclass
class ThemeResult:
    themes: list[Theme]
    items: int
    unthemed: int
    notes: list[str] = field(default_factory=list)  # what your taxonomy's examples could not name
    too_few: str | None = None  # why no themes were discovered: too few texts, or too few shared words

    @property
    def unthemed_share(self) -> float:
        return self.unthemed / self.items if self.items else 0.0


def _texts(wh: Warehouse) -> pd.DataFrame:
    out = wh.df(f"SELECT item_id, text, source_table FROM ({ALL_TEXTS})")
    out["text"] = out["text"].map(clean)
    return out


def top_words(terms: dict[str, float]) -> str:
    """The three heaviest terms, skipping a word already inside a chosen pair: the line under a
    theme's name that an analyst checks the name against."""
    chosen: list[str] = []
    for t in sorted(terms, key=terms.get, reverse=True):
        if any(t in c.split() or c in t.split() for c in chosen):
            continue
        chosen.append(t)
        if len(chosen) == 3:
            break
    return " / ".join(chosen)


def _stored(wh: Warehouse, current: bool = False) -> list[Theme]:
    """Stored themes; `current`: only those of the latest run."""
    where = " WHERE last_seen_at = (SELECT max(last_seen_at) FROM themes)" if current else ""
    out = []
    for i, n, t, k, w in wh.rows(f"SELECT theme_id, name, terms, keywords, top_words FROM themes{where} "
                                 "ORDER BY first_seen_at, 1"):
        terms = json.loads(t)
        if k is None and i.startswith("tax:"):  # stored before keywords had a column of their own
            out.append(Theme(i, n, {}, keywords=list(terms), top_words=w or ""))
        else:
            out.append(Theme(i, n, terms, keywords=json.loads(k) if k else [], top_words=w or ""))
    return out


def _named_by_top_words(theme: Theme) -> bool:
    """Stored before themes had phrase names: its name is its top words, to be replaced once."""
    return not theme.top_words and not theme.theme_id.startswith("tax:") and " / " in theme.name


def _match(new: list[dict[str, float]], old: list[Theme]) -> dict[int, Theme]:
    """New theme index -> the stored theme it is, where the similarity is high enough."""
    if not new or not old:
        return {}
    vocab = sorted(set().union(*new, *(t.terms for t in old)))
    pos = {t: i for i, t in enumerate(vocab)}

    def matrix(rows: list[dict[str, float]]) -> np.ndarray:
        m = np.zeros((len(rows), len(vocab)))
        for r, terms in enumerate(rows):
            for t, w in terms.items():
                m[r, pos[t]] = w
        return m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)

    sim = matrix(new) @ matrix([t.terms for t in old]).T
    rows, cols = linear_sum_assignment(-sim)
    return {int(r): old[c] for r, c in zip(rows, cols, strict=True) if sim[r, c] >= SAME_THEME}


def _taxonomy(texts: pd.Series, taxonomy: Mapping[str, Sequence[str]]) -> pd.Series:
    """The first of your themes whose keywords a text contains (None where none does)."""
    out = pd.Series([None] * len(texts), index=texts.index, dtype=object)
    for name, words in taxonomy.items():
        words = [w.strip() for w in words if w.strip()]
        if not words:  # an empty pattern would match every text
            continue
        # not \b: a keyword that starts or ends with punctuation ("[invoice]", "c++") has no word boundary there
        pattern = r"(?<!\w)(?:" + "|".join(re.escape(w) for w in words) + r")(?!\w)"
        hit = out.isna() & texts.str.contains(pattern, case=False, regex=True)
        out[hit] = name
    return out


def discover(wh: Warehouse, k: int | None = None, seed: int = 0,
             taxonomy: Mapping[str, TaxonomyTheme | list[str]] | None = None) -> ThemeResult:
    """Your taxonomy's keywords first, then themes fitted on the rest (your examples naming
    some of them); stored ids are kept where a theme is found again; each text is assigned."""
    mine = checked_taxonomy(taxonomy)
    texts = _texts(wh)
    texts["theme_id"], texts["weight"] = None, 0.0
    named = _taxonomy(texts["text"], {name: rule.keywords for name, rule in mine.items()})
    yours: dict[str, Theme] = {}
    for name, rule in mine.items():
        hit = named == name
        texts.loc[hit, "theme_id"], texts.loc[hit, "weight"] = taxonomy_id(name), 1.0
        yours[name] = Theme(taxonomy_id(name), name, {}, int(hit.sum()),
                            keywords=[w.strip() for w in rule.keywords if w.strip()])
    rest = texts[named.isna()]
    examples = {name: [clean(e) for e in rule.examples if e.strip()] for name, rule in mine.items() if rule.examples}
    notes: list[str] = []
    themes = list(yours.values())
    outside = " outside your taxonomy's keywords" if len(rest) < len(texts) else ""
    too_few = None
    if len(rest) < MIN_TEXTS:
        need = "discovering more themes needs" if outside else "themes need"
        too_few = (f"{len(rest):,} texts{outside}; {need} at least {MIN_TEXTS} (survey comments, tickets, "
                   "feedback): load more with `patron ingest`")
        if examples:
            notes.append(f"only {len(rest)} texts left to discover themes in: examples named no theme")
    else:
        found = _fit(wh, texts, rest.index, k, seed, yours, examples, notes)
        if found is None:
            too_few = (f"the {len(rest):,} texts{outside} share too few words to find themes in: a theme needs "
                       f"words that at least {MIN_DF} texts use, and at most {MAX_DF:.0%} of them")
        themes += found or []
    if too_few and not any(t.items for t in themes):  # nothing found: keep what an earlier run stored
        return ThemeResult(themes, len(texts), len(texts), notes, too_few)
    _name_new(wh, texts, themes)
    _show_typical(texts, themes)
    _save(wh, themes, texts)
    return ThemeResult(themes, len(texts), int(texts["theme_id"].isna().sum()), notes, too_few)


def _claims(vec: TfidfVectorizer, nmf: NMF, examples: Mapping[str, Sequence[str]], notes: list[str]) -> dict[int, str]:
    """Fitted theme index -> the name of yours whose example falls into it (the first name wins).
    An example must put most of its weight on the theme and share some of its top terms."""
    claimed: dict[int, str] = {}
    terms = nmf.components_ / np.maximum(np.linalg.norm(nmf.components_, axis=1, keepdims=True), 1e-12)
    for name, texts in examples.items():
        x = vec.transform(list(texts))
        e = nmf.transform(x)
        total = e.sum(axis=1)
        for j, text in enumerate(texts):
            i = int(e[j].argmax())
            similar = float((x[j] @ terms[i])[0])  # TF-IDF rows are already of unit length
            if total[j] <= 0 or e[j, i] < MIN_SHARE * total[j] or similar < EXAMPLE_SIMILARITY:
                notes.append(f"{name}: the example {text[:60]!r} falls into no discovered theme")
            elif claimed.setdefault(i, name) != name:
                notes.append(f"{name}: the example {text[:60]!r} falls into the theme that {claimed[i]!r} "
                             "already names")
    return claimed


def _fit(wh: Warehouse, texts: pd.DataFrame, rows: pd.Index, k: int | None, seed: int,
         yours: dict[str, Theme], examples: Mapping[str, Sequence[str]], notes: list[str]) -> list[Theme] | None:
    """NMF themes for the texts at `rows`, those your examples fall into under your names;
    assignments written into `texts`, your themes' terms and counts into `yours`. None when the
    texts share no term often enough (all different, or all the same) to fit any theme."""
    part = texts.loc[rows, "text"]
    k = k or int(np.clip(round(np.sqrt(len(part)) / 8), 5, 25))
    vec = TfidfVectorizer(stop_words="english", ngram_range=(1, 2), min_df=max(MIN_DF, len(part) // 2000),
                          max_df=MAX_DF, token_pattern=WORDS, sublinear_tf=True, max_features=30_000)
    try:
        x = vec.fit_transform(part)
    except ValueError:  # "no terms remain" after the document-frequency limits
        return None
    nmf = NMF(n_components=min(k, x.shape[1]), init="nndsvda", random_state=seed, max_iter=400)
    w = nmf.fit_transform(x)
    terms = vec.get_feature_names_out()
    fitted = []
    for h in nmf.components_:
        top = np.argsort(h)[::-1][:TERMS_KEPT]
        fitted.append({str(terms[i]): round(float(h[i]), 5) for i in top if h[i] > 0})
    claimed = _claims(vec, nmf, examples, notes)
    for name in examples:
        if name not in claimed.values() and not yours[name].items:
            notes.append(f"{name}: no text found by its keywords or examples")
    free = [i for i in range(len(fitted)) if i not in claimed]
    stored = [t for t in _stored(wh) if not t.theme_id.startswith("tax:")]
    matched = _match([fitted[i] for i in free], stored)
    ids = np.empty(len(fitted), dtype=object)
    mine = {phrases.key(name) for name in yours}  # your names win over a discovered theme's
    themes = []
    for j, i in enumerate(free):
        old = matched.get(j)
        keep = old is not None and not _named_by_top_words(old) and phrases.key(old.name) not in mine
        themes.append(Theme(old.theme_id if old else f"T{uuid.uuid4().hex[:8]}", old.name if keep else "",
                            fitted[i], new=old is None, top_words=top_words(fitted[i])))
        ids[i] = themes[-1].theme_id
    for i, name in claimed.items():
        ids[i] = yours[name].theme_id
        for term, weight in fitted[i].items():
            yours[name].terms[term] = round(yours[name].terms.get(term, 0.0) + weight, 5)
    total = w.sum(axis=1)
    best = w.argmax(axis=1)
    themed = (total > 0) & (w.max(axis=1) >= MIN_SHARE * np.where(total > 0, total, 1))
    texts.loc[rows, "theme_id"] = np.where(themed, ids[best], None)
    texts.loc[rows, "weight"] = np.where(themed, w.max(axis=1) / np.where(total > 0, total, 1), 0.0)

    def count(components: list[int]) -> int:
        return int((themed & np.isin(best, components)).sum())

    for t, i in zip(themes, free, strict=True):
        t.items = count([i])
    for name in dict.fromkeys(claimed.values()):
        components = [i for i, owner in claimed.items() if owner == name]
        n = count(components)
        yours[name].items += n
        yours[name].top_words = top_words(yours[name].terms)
        notes.append(f"{name}: its examples named the discovered theme(s) "
                     f"{', '.join(repr(top_words(fitted[i])) for i in components)} ({n:,} texts)")
    return themes


def _name_new(wh: Warehouse, texts: pd.DataFrame, themes: list[Theme]) -> None:
    """Name each theme that has no name yet by the phrase that best says what its texts are
    about, unlike any name in use or stored before (a theme found again keeps its name)."""
    unnamed = [t for t in themes if not t.name]
    if not unnamed:
        return
    taken = {t.name for t in themes if t.name} | {t.name for t in _stored(wh)}
    names = phrases.names(texts["text"].tolist(), texts["theme_id"].tolist(), [t.theme_id for t in unnamed], taken,
                          about={t.theme_id: t.terms for t in unnamed})
    for t in unnamed:
        t.name = names.get(t.theme_id) or _unique(t.top_words or t.theme_id, taken)
        taken.add(t.name)


def _unique(name: str, taken: set[str]) -> str:
    """`name`, numbered if another theme has it already."""
    lower = {t.lower() for t in taken}
    n = 2
    out = name
    while out.lower() in lower:
        out, n = f"{name} ({n})", n + 1
    return out


def _show_typical(texts: pd.DataFrame, themes: list[Theme]) -> None:
    """Each theme's most typical texts: those closest (cosine of TF-IDF) to the centre of its
    texts; a theme's loudest or longest texts are not what it is about."""
    ids = [t.theme_id for t in themes]
    labels = texts["theme_id"].to_numpy(dtype=object)
    rows, _ = phrases.sample(labels, ids)
    if not len(rows):
        return
    part = texts["text"].to_numpy(dtype=object)[rows]
    vec = TfidfVectorizer(stop_words="english", token_pattern=WORDS, sublinear_tf=True)  # words: pairs add little
    try:
        x = vec.fit_transform(part)
    except ValueError:  # no words at all
        return
    mine = labels[rows]
    for t in themes:
        at = np.flatnonzero(mine == t.theme_id)
        if not len(at):
            continue
        centre = np.asarray(x[at].mean(axis=0)).ravel()
        order = at[np.argsort(-(x[at] @ centre), kind="stable")]
        t.examples = [part[i] for i in _unlike(x, order[:TYPICAL_READ], TYPICAL_SHOWN)]


def _unlike(x: sparse.csr_matrix, order: np.ndarray, n: int) -> list[int]:
    """The first n rows in `order` that are not nearly the wording of one taken before (rows of
    unit length): the reader sees what a theme holds, not one complaint pasted n times."""
    taken: list[int] = []
    for i in order:
        if x[i].nnz and (not taken or (x[taken] @ x[i].T).max() < SAME_WORDING):
            taken.append(int(i))
            if len(taken) == n:
                break
    return taken


def _save(wh: Warehouse, themes: list[Theme], texts: pd.DataFrame) -> None:
    frame = pd.DataFrame({"theme_id": [t.theme_id for t in themes], "name": [t.name for t in themes],
                          "top_words": [t.top_words or None for t in themes],
                          "terms": [json.dumps(t.terms) for t in themes],
                          "examples": [json.dumps(t.examples) for t in themes], "items": [t.items for t in themes],
                          "keywords": [json.dumps(t.keywords) if t.keywords else None for t in themes]})
    assigned = texts.loc[texts["theme_id"].notna(), ["source_table", "item_id", "theme_id", "weight"]]
    with wh.transaction():
        with wh.frame("_patron_themes", frame) as f:
            # a stored theme keeps its id, name (unless it was its top words) and first sighting;
            # one not found again keeps its history, with no items now
            wh.execute(f"UPDATE themes SET name = f.name, top_words = f.top_words, terms = f.terms, "
                       f"examples = f.examples, items = f.items, keywords = f.keywords, "
                       f"last_seen_at = now()::TIMESTAMP FROM {f} AS f WHERE themes.theme_id = f.theme_id")
            wh.execute(f"UPDATE themes SET items = 0 WHERE theme_id NOT IN (SELECT theme_id FROM {f})")
            wh.execute(f"INSERT INTO themes (theme_id, name, terms, examples, items, first_seen_at, last_seen_at, "
                       f"keywords, top_words) SELECT theme_id, name, terms, examples, items, now()::TIMESTAMP, "
                       f"now()::TIMESTAMP, keywords, top_words FROM {f} "
                       f"WHERE theme_id NOT IN (SELECT theme_id FROM themes)")
        wh.execute("DELETE FROM text_themes")
        with wh.frame("_patron_text_themes", assigned) as f:
            wh.execute(f"INSERT INTO text_themes SELECT source_table, CAST(item_id AS VARCHAR), theme_id, weight "
                       f"FROM {f}")


def summary(wh: Warehouse) -> pd.DataFrame:
    """Each current theme: its name and top words, volume, share of texts, mean sentiment,
    complaints, the customers raising it and their ARR now (12 x the MRR of their subscriptions
    active on the last billing date; None when no subscriptions are loaded), whether it is new in
    the last run, its volume in the last PERIOD_DAYS days and the period before, whether it is
    emerging, and its most typical texts (`examples`, a list; `example`, the first)."""
    total = wh.scalar(f"SELECT count(*) FROM ({ALL_TEXTS})")
    out = wh.df(
        f"WITH arr AS (SELECT customer AS customer_id, arr FROM ({ARR_NOW})), "
        # whose text it is now (identity may have run since the text was scored)
        f"owners AS (SELECT source_table AS t, item_id AS id, customer_id FROM ({ALL_TEXTS})), "
        "last_day AS (SELECT CAST(? AS DATE) AS d), "  # the data's as-of day, as every report counts
        "raised AS (SELECT tt.theme_id, o.customer_id, e.sentiment_score, e.complaint, "
        f"CAST(e.occurred_at AS DATE) > last_day.d - {PERIOD_DAYS} AS recent, "
        f"CAST(e.occurred_at AS DATE) > last_day.d - {2 * PERIOD_DAYS} "
        f"AND CAST(e.occurred_at AS DATE) <= last_day.d - {PERIOD_DAYS} AS before FROM last_day, text_themes AS tt "
        "LEFT JOIN enrichment AS e ON e.source_table = tt.source_table AND e.item_id = tt.item_id "
        "LEFT JOIN owners AS o ON o.t = tt.source_table AND o.id = tt.item_id), "
        # each theme's customers' ARR, each customer once (a join, not a subquery per theme: the
        # same SQL runs on every engine)
        "theme_arr AS (SELECT x.theme_id, sum(a.arr) AS arr FROM (SELECT DISTINCT theme_id, customer_id "
        "FROM raised) AS x JOIN arr AS a ON a.customer_id = x.customer_id GROUP BY x.theme_id) "
        "SELECT t.theme_id, t.name, coalesce(t.top_words, '') AS top_words, count(r.theme_id) AS items, "
        "count(r.theme_id) / ? AS share, "
        "avg(r.sentiment_score) AS sentiment, count(*) FILTER (r.complaint) AS complaints, "
        "count(DISTINCT r.customer_id) AS customers, count(*) FILTER (r.recent) AS last_period, "
        "count(*) FILTER (r.before) AS period_before, "
        "coalesce(ta.arr, 0) AS arr, "
        # new: first found by the latest run, when an earlier run had found others
        "t.first_seen_at = t.last_seen_at AND t.first_seen_at > (SELECT min(o.first_seen_at) FROM themes AS o) "
        "AS new, t.examples "
        "FROM themes AS t LEFT JOIN raised AS r ON r.theme_id = t.theme_id "
        "LEFT JOIN theme_arr AS ta ON ta.theme_id = t.theme_id WHERE t.items > 0 "
        "GROUP BY t.theme_id, t.name, t.top_words, t.first_seen_at, t.last_seen_at, t.examples, ta.arr "
        "ORDER BY items DESC, t.theme_id",
        [data_as_of(wh), max(total, 1)])
    if not wh.scalar("SELECT count(*) FROM subscriptions"):
        # no subscriptions, no ARR to know: not available (None), never $0
        out["arr"] = pd.Series([None] * len(out), index=out.index, dtype=object)
    out["examples"] = out["examples"].map(lambda e: json.loads(e) if e else [])
    out["example"] = out["examples"].map(lambda e: e[0] if e else None)
    # emerging: talked about this period, hardly at all the period before
    out["emerging"] = (out["last_period"] >= EMERGING_MIN) & (out["period_before"] * EMERGING_RATIO
                                                              <= out["last_period"])
    return out


def assign_new(wh: Warehouse, tables: tuple[str, ...] = tuple(TEXTS), after_load: int | None = None) -> int:
    """Put texts that arrived since the last fit into the stored themes, without refitting: a
    text goes to the theme whose stored terms it shares most (your taxonomy's themes first).
    Returns how many were assigned; `patron listen themes` refits on everything."""
    stored = _stored(wh, current=True)
    if not stored:
        return 0
    parts = [wh.df(f"SELECT item_id, text FROM ({texts_of(t, after_load)}) AS x WHERE NOT EXISTS (SELECT 1 FROM "
                   f"text_themes AS tt WHERE tt.source_table = '{t}' AND tt.item_id = x.item_id)")
             .assign(source_table=t) for t in tables]
    texts = pd.concat(parts, ignore_index=True)
    if texts.empty:
        return 0
    texts["text"] = texts["text"].map(clean)
    texts["theme_id"], texts["weight"] = None, 0.0
    named = _taxonomy(texts["text"], {t.name: t.keywords for t in stored})
    ids = {t.name: t.theme_id for t in stored}
    texts.loc[named.notna(), "theme_id"] = named[named.notna()].map(ids)
    texts.loc[named.notna(), "weight"] = 1.0
    found = [t for t in stored if t.terms]  # discovered themes, and yours that your examples named
    rest = texts.index[named.isna()]
    if found and len(rest):
        vocab = sorted(set().union(*(t.terms for t in found)))
        vec = CountVectorizer(vocabulary=vocab, ngram_range=(1, 2), stop_words="english",
                              token_pattern=WORDS)
        x = vec.transform(texts.loc[rest, "text"])
        pos = {t: i for i, t in enumerate(vocab)}
        h = np.zeros((len(found), len(vocab)))
        for r, t in enumerate(found):
            for term, w in t.terms.items():
                h[r, pos[term]] = w
        score = np.asarray(x @ h.T)
        total = score.sum(axis=1)
        best = score.argmax(axis=1)
        # one shared word is chance ("love" or "team" is in some theme's terms): a text joins a
        # theme when it shares at least two of its terms
        hits = np.asarray((x > 0).astype(np.int64) @ (h > 0).T.astype(np.int64))
        ok = ((total > 0) & (score.max(axis=1) >= MIN_SHARE * np.where(total > 0, total, 1))
              & (hits[np.arange(len(best)), best] >= 2))
        texts.loc[rest, "theme_id"] = np.where(ok, np.array([t.theme_id for t in found])[best], None)
        texts.loc[rest, "weight"] = np.where(ok, score.max(axis=1) / np.where(total > 0, total, 1), 0.0)
    assigned = texts[texts["theme_id"].notna()]
    with wh.frame("_patron_new_themes", assigned[["source_table", "item_id", "theme_id", "weight"]]) as f:
        wh.execute(f"INSERT INTO text_themes SELECT source_table, CAST(item_id AS VARCHAR), theme_id, weight "
                   f"FROM {f}")
    return len(assigned)
