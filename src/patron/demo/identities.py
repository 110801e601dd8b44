"""How each system names the same customer: its own ids, typos, variants of the name."""

from __future__ import annotations

import numpy as np

from patron.demo.words import ADJECTIVES, FIRST, KINDS, LAST, NOUNS, SUFFIXES

_NAME_SPACE = len(ADJECTIVES) * len(NOUNS) * len(KINDS)
_TLDS = {"north_america": ".com", "emea": ".eu", "apac": ".io", "latam": ".co"}


def company_names(idx: np.ndarray, seed: int) -> tuple[list[str], list[str]]:
    """A distinct name and web domain per customer index (a permutation of the name space)."""
    perm = (idx.astype(np.int64) * 7919 + seed * 104729) % _NAME_SPACE
    over = idx // _NAME_SPACE  # beyond the space, names get a number (rare)
    a = perm % len(ADJECTIVES)
    nn = (perm // len(ADJECTIVES)) % len(NOUNS)
    k = perm // (len(ADJECTIVES) * len(NOUNS))
    sfx = (idx * 31 + seed) % len(SUFFIXES)
    names, slugs = [], []
    for ai, ni, ki, si, oi in zip(a, nn, k, sfx, over, strict=True):
        base = ADJECTIVES[ai].title() + NOUNS[ni]
        kind = KINDS[ki]
        suffix = SUFFIXES[si]
        num = f" {oi + 1}" if oi else ""
        names.append(f"{base}{num} {kind}" + (f" {suffix}" if suffix else ""))
        slugs.append(f"{base.lower()}{oi + 1 if oi else ''}{kind.split()[0].lower()}")
    return names, slugs


def domains(slugs: list[str], regions: list[str]) -> list[str]:
    return [s + _TLDS.get(r, ".com") for s, r in zip(slugs, regions, strict=True)]


def coded(idx: np.ndarray, salt: int, prefix: str, width: int = 10, base: int = 10) -> list[str]:
    """Distinct, random-looking ids: a bijection of the index modulo a Mersenne prime."""
    p = 2147483647
    v = ((idx.astype(np.int64) + salt) % p * 48271) % p
    if base == 10:
        return [f"{prefix}{x:0{width}d}" for x in v]
    if base == 16:
        return [f"{prefix}{x:08x}" for x in v]
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = []
    for x in v:
        s = ""
        x = int(x)
        while x:
            x, r = divmod(x, 36)
            s = digits[r] + s
        out.append(prefix + s.rjust(7, "0"))
    return out


def name_variant(name: str, r: float, r2: float) -> str:
    """How a person retyping a company name gets it slightly different."""
    words = name.split()
    if r < 0.2 and len(name) > 6:  # two letters swapped
        i = 2 + int(r2 * (len(words[0]) - 3)) if len(words[0]) > 4 else 1
        return name[:i] + name[i + 1] + name[i] + name[i + 2:]
    if r < 0.4 and len(name) > 6:  # a letter dropped
        i = 1 + int(r2 * (len(name) - 2))
        return name[:i] + name[i + 1:]
    if r < 0.55:
        return name.upper()
    if r < 0.7 and len(words) > 2:  # legal suffix dropped or changed
        return " ".join(words[:-1]) if words[-1] in SUFFIXES else name + " Inc."
    if r < 0.85:
        return name.replace(" ", "", 1) if r2 < 0.5 else name.lower()
    return words[0] + (" " + words[1] if len(words) > 1 and r2 < 0.5 else "")


def person_names(rng: np.random.Generator, n: int) -> tuple[list[str], list[str], list[str]]:
    f = rng.integers(0, len(FIRST), n)
    la = rng.integers(0, len(LAST), n)
    firsts = [FIRST[i] for i in f]
    lasts = [LAST[i] for i in la]
    full = [f"{a.title()} {b.title()}" for a, b in zip(firsts, lasts, strict=True)]
    return full, firsts, lasts
