"""How a number reads in its unit, once for every place that shows one (terminal, briefing):
84.2%, $14,467,446, +7.1, 6.5 h, 1,671. Pure and light, so a command that prints imports nothing else."""

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


def in_unit(x: float, unit: str | None) -> str:
    """A metric's value as its unit reads (share, currency, points, hours, score or ratio, count)."""
    if unit == "share":
        return f"{100 * x:.1f}%"
    if unit == "currency":
        return f"-${-x:,.0f}" if x < 0 else f"${x:,.0f}"
    if unit == "points":
        return f"{x:+.1f}"
    if unit == "hours":
        return f"{x:,.1f} h"
    if unit in ("score", "ratio"):
        return f"{x:,.2f}"
    return plain(x)
