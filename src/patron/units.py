"""How a number reads in its unit, once for every place that shows one (terminal, briefing):
84.2%, £14,467,446, +7.1, 6.5 h, 1,671. Pure and light, so a command that prints imports nothing else.
Money reads in the data's own currency (the warehouse says which): a GBP shop's revenue is never "$"."""

from __future__ import annotations

import math


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
