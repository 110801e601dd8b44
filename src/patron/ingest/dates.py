"""Which `date_format` a column's values look like, to tell a user whose dates did not parse.

No library guesses a strptime pattern from sample values (dateutil parses a value but does not say
which pattern it used, and guesses day or month order silently), so the candidates are listed
here and each is tried on the values; a pattern is offered only when it reads nearly all of them
(a stray "yesterday" among US dates should not hide the advice).
"""

from __future__ import annotations

import contextlib
from datetime import datetime

_DAYS = ("%m/%d/%Y", "%d/%m/%Y", "%m/%d/%y", "%d/%m/%y", "%Y/%m/%d", "%d.%m.%Y", "%d.%m.%y", "%d-%m-%Y",
         "%m-%d-%Y", "%d-%m-%y", "%d %b %Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y", "%d-%b-%Y", "%d-%b-%y", "%Y%m%d")
_TIMES = ("", " %H:%M", " %H:%M:%S", " %I:%M %p", " %I:%M:%S %p", "T%H:%M:%S", " %H:%M:%S.%f")
# whole stamps that are not a day and a time: e-mail and Twitter dates
_STAMPS = ("%a %b %d %H:%M:%S %z %Y", "%a, %d %b %Y %H:%M:%S %z", "%a %b %d %H:%M:%S %Y", "%d/%b/%Y:%H:%M:%S %z")
CANDIDATES = tuple(d + t for d in _DAYS for t in _TIMES) + _STAMPS


READS = 0.9  # the share of the values a pattern must read to be offered


def _share(fmt: str, values: list[str]) -> float:
    read = 0
    for v in values:
        with contextlib.suppress(ValueError):
            read += datetime.strptime(v, fmt).year >= 1900
    return read / len(values)


def is_date_problem(reason: str) -> bool:
    """A rule's reason that a date format could cure."""
    return reason.startswith(("not a date", "implausible date"))


def date_format_hint(values: list[str], given: list[str] | None = None) -> str | None:
    """A sentence naming the date_format that reads (nearly) every value, or None when none does;
    `given`: the formats the source already has (the advice is then to add one)."""
    sample = [v.strip() for v in values if v and v.strip()][:200]
    if not sample:
        return None
    shares = {f: _share(f, sample) for f in CANDIDATES}
    best = max(shares.values())
    if best < READS:
        return None
    fits = [f for f, share in shares.items() if share == best]
    first = fits[0]
    example = next(v for v in sample if _share(first, [v]))[:40]
    swapped = first.replace("%m", "%M_").replace("%d", "%m").replace("%M_", "%d")
    advice = f"add '{first}' to this source's date_format" if given else f"set date_format: '{first}' for this source"
    if swapped != first and swapped in fits:
        return (f"values look like {example!r}: {advice}, or '{swapped}' if the day comes first (these values "
                "cannot tell)")
    return f"values look like {example!r}: {advice}"
