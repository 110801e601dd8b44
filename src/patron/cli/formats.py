"""How a value reads in a terminal: numbers with separators and units (never scientific notation),
periods named the way people name them, a partial period marked as partial."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from numbers import Integral, Real
from typing import Any

from patron import units

DASH = "–"  # a value that is not available (the reason is said elsewhere)


def cell(v: Any) -> str:
    """Any value as table text: None is blank, numbers get separators, times drop a zero clock."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, Integral):
        return f"{int(v):,}"
    if isinstance(v, Real):
        return plain(float(v))
    if isinstance(v, datetime):
        return v.date().isoformat() if (v.hour, v.minute, v.second) == (0, 0, 0) else v.strftime("%Y-%m-%d %H:%M")
    if isinstance(v, date):
        return v.isoformat()
    return str(v)


def plain(x: float) -> str:
    """A float with as many decimals as its size needs; large ones with thousands separators."""
    return units.plain(x, DASH)


def number(v: float | None, unit: str | None, currency: str | None = units.DEFAULT_CURRENCY) -> str:
    """A metric value in its unit: 84.2%, £14,467,446, +7.1 points, 6.5 h, 1,671; money in
    `currency` (the warehouse's, from patron.report.money.data_currency)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return DASH
    return units.in_unit(float(v), unit, currency)


def interval(low: float | None, high: float | None, unit: str | None,
             currency: str | None = units.DEFAULT_CURRENCY) -> str:
    if low is None or high is None or (isinstance(low, float) and math.isnan(low)):
        return ""
    return f"{number(low, unit, currency)} to {number(high, unit, currency)}"


def period_end(start: date, grain: str) -> date:
    """The first day after the period that starts on `start`."""
    if grain == "day":
        return start + timedelta(days=1)
    if grain == "week":
        return start + timedelta(days=7)
    months = {"month": 1, "quarter": 3, "year": 12}[grain]
    m = start.year * 12 + start.month - 1 + months
    return date(m // 12, m % 12 + 1, 1)


def period_label(start: Any, grain: str | None, as_of: date | None = None) -> str:
    """2025-01-14 for a day, 2025-W03 for a week, 2025-01, 2025-Q1, 2025; a period the data does
    not cover to its end says so, "2026-12 (partial)", and `partial_note` says how far it goes."""
    if start is None or (isinstance(start, float) and math.isnan(start)):
        return ""
    day = start.date() if isinstance(start, datetime) else start
    if not isinstance(day, date) or grain not in ("day", "week", "month", "quarter", "year"):
        return cell(start)
    if grain == "day":
        return day.isoformat()
    if grain == "week":
        year, week, _ = day.isocalendar()
        label = f"{year}-W{week:02d}"
    elif grain == "month":
        label = f"{day.year}-{day.month:02d}"
    elif grain == "quarter":
        label = f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    else:
        label = f"{day.year}"
    return f"{label} (partial)" if _partial(day, grain, as_of) else label


def _partial(day: date, grain: str, as_of: date | None) -> bool:
    return as_of is not None and day <= as_of < period_end(day, grain) - timedelta(days=1)


def partial_note(labels: list[str], grain: str | None, as_of: date | None) -> str | None:
    """The line under a table that shows a partial period: how much of it the data covers."""
    if as_of is None or grain not in ("week", "month", "quarter", "year") or not any(
            label.endswith("(partial)") for label in labels):
        return None
    start = {"week": as_of - timedelta(days=as_of.weekday()), "month": as_of.replace(day=1),
             "quarter": date(as_of.year, (as_of.month - 1) // 3 * 3 + 1, 1), "year": date(as_of.year, 1, 1)}[grain]
    days = (period_end(start, grain) - start).days
    return (f"(partial): the data runs to {as_of}, day {(as_of - start).days + 1} of {days} of "
            f"{period_label(start, grain)}; a partial period is not comparable with whole ones.")


def clip(text: str | None, limit: int = 120) -> str:
    """Long free text cut at a word near `limit`, marked with an ellipsis: a cell, not a page."""
    t = " ".join((text or "").split())
    if len(t) <= limit:
        return t
    cut = t.rfind(" ", 0, limit)
    return t[: cut if cut > limit // 2 else limit].rstrip(",.;: ") + " …"


def shown_of(shown: int, total: int, hint: str = "--limit N for more") -> str | None:
    """The line under a table that a limit cut: what was left out, and how to see it."""
    if total <= shown:
        return None
    return f"{shown:,} of {total:,} shown; {hint}"


def counted(n: int, word: str, plural: str | None = None) -> str:
    """'1 spike', '2 spikes', '1,204 values': a count a person reads."""
    return f"{n:,} {word if n == 1 else plural or word + 's'}"
