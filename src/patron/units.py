"""How a number reads in its unit, once for every place that shows one (terminal, briefing):
84.2%, £14,467,446, +7.1, 6.5 h, 1,671. Pure and light, so a command that prints imports nothing else.
Money reads in the data's own currency (the warehouse says which): a GBP shop's revenue is never "$"."""

from __future__ import annotations

import math
import re


def plain(x: float, missing: str = "–") -> str:
    """A float with as many decimals as its size needs; large ones with thousands separators."""
    if math.isnan(x):
        return missing
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    if x == int(x) and abs(x) < 1e15:
        return f"{x:,.0f}"
    size = abs(x)
    if size >= 100:
        return f"{x:,.0f}"
    if size >= 1:
        return f"{x:,.2f}"
    decimals = min(12, 2 - math.floor(math.log10(size)))  # three significant digits
    return f"{x:.{decimals}f}"


DEFAULT_CURRENCY = "USD"  # when the data names none
SYMBOLS = {"USD": "$", "GBP": "£", "EUR": "€"}  # any other code is written out: "CHF 1,234"


def symbol(currency: str | None = DEFAULT_CURRENCY) -> str:
    """What goes before an amount: "$", "£", "€", or the ISO code and a space ("CHF ")."""
    code = (currency or DEFAULT_CURRENCY).strip().upper() or DEFAULT_CURRENCY
    return SYMBOLS.get(code, f"{code} ")


def money(x: float, currency: str | None = DEFAULT_CURRENCY) -> str:
    """An amount in whole units of its currency: £1,234, -€12, CHF 1,234."""
    sign = "-" if x < 0 else ""
    return f"{sign}{symbol(currency)}{abs(x):,.0f}"


def in_unit(x: float, unit: str | None, currency: str | None = DEFAULT_CURRENCY) -> str:
    """A metric's value as its unit reads (share, currency, points, hours, score or ratio, count);
    `currency` is the ISO code money is in."""
    if unit == "share":
        return f"{100 * x:.1f}%"
    if unit == "currency":
        return money(x, currency)
    if unit == "points":
        return f"{x:+.1f}"
    if unit == "hours":
        return f"{x:,.1f} h"
    if unit in ("score", "ratio"):
        return f"{x:,.2f}"
    return plain(x)


# Text from customers and files is shown as written, but never with what a terminal or a browser
# would act on rather than show: control characters (escape sequences that clear a screen or set a
# window title, NUL, carriage returns; a newline and a tab stay) and marks that reorder or hide
# text (bidirectional overrides such as U+202E, zero-width and other invisible characters).
UNPRINTABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff"
                         r"\u00ad\u034f\u061c\u115f\u1160\u180e\u206a-\u206f\u3164\uffa0\ufff9-\ufffb"
                         r"\U000e0000-\U000e007f]")
REPLACEMENT = "\ufffd"  # what each becomes: visible, so a reader sees that something was there


def readable(text: str) -> str:
    """Customer or file text as a terminal and the briefing show it: every control character and
    every mark that reorders or hides text replaced by U+FFFD (one helper for both, so they agree)."""
    return UNPRINTABLE.sub(REPLACEMENT, text)
