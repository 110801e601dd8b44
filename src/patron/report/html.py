"""Render a Briefing to one self-contained HTML file (Plotly's bundled JavaScript inlined)."""

from __future__ import annotations

from functools import lru_cache

import plotly.graph_objects as go
from jinja2 import Environment, PackageLoader, select_autoescape
from plotly.offline import get_plotlyjs

from patron.report.briefing import Briefing, Headline


@lru_cache(maxsize=1)
def _env() -> Environment:
    env = Environment(loader=PackageLoader("patron.report", "templates"), autoescape=select_autoescape())
    env.filters["fmt"] = format_value
    env.filters["num"] = lambda v: f"{v:,}" if v is not None else "–"
    return env


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "not available"
    if unit == "share":
        return f"{100 * value:.1f}%"
    if unit == "currency":
        return f"${value:,.0f}"
    if unit == "points":
        return f"{value:+.1f}"
    if unit == "hours":
        return f"{value:.1f} h"
    if unit == "score":
        return f"{value:.2f}"
    return f"{value:,.0f}"


def interval(h: Headline) -> str:
    if h.ci_low is None:
        return ""
    return f"95% CI {format_value(h.ci_low, h.unit)} to {format_value(h.ci_high, h.unit)}"


def change(h: Headline) -> str:
    if h.previous is None or h.value is None:
        return ""
    if h.unit in ("count", "currency") and h.previous:
        rel = (h.value - h.previous) / h.previous
        return f"{rel:+.1%} vs {format_value(h.previous, h.unit)} a year ago"
    if h.p_value is None:
        return f"previous period {format_value(h.previous, h.unit)}"
    verdict = "a significant change" if h.significant else "no significant change"
    return f"previous 90 days {format_value(h.previous, h.unit)}: {verdict} (p = {h.p_value:.2f})"


def _charts(b: Briefing) -> dict[str, str]:
    layout = dict(margin=dict(l=50, r=20, t=30, b=40), height=300, template="simple_white",
                  font=dict(family="Inter, Segoe UI, sans-serif", size=12))
    charts = {}
    if b.mrr_by_month:
        fig = go.Figure(go.Scatter(x=[m for m, _ in b.mrr_by_month], y=[v for _, v in b.mrr_by_month],
                                   mode="lines+markers", line=dict(color="#2563eb"), name="MRR"))
        fig.update_layout(title="MRR at each month end", yaxis_tickprefix="$", **layout)
        charts["mrr"] = fig.to_html(include_plotlyjs=False, full_html=False, config={"displayModeBar": False})
    if b.nps_by_month:
        rows = [r for r in b.nps_by_month if r[1] is not None]
        fig = go.Figure(go.Scatter(
            x=[r[0] for r in rows], y=[r[1] for r in rows], mode="markers",
            error_y=dict(type="data", symmetric=False, array=[r[4] - r[1] for r in rows],
                         arrayminus=[r[1] - r[3] for r in rows]),
            text=[f"n = {r[2]}" for r in rows], marker=dict(color="#16a34a", size=9), name="NPS"))
        fig.update_layout(title="NPS by month, with 95% intervals", **layout)
        charts["nps"] = fig.to_html(include_plotlyjs=False, full_html=False, config={"displayModeBar": False})
    return charts


def render_html(b: Briefing) -> str:
    """A pure function of the briefing: the same data always gives the same page."""
    return _env().get_template("briefing.html.j2").render(
        b=b, charts=_charts(b), plotlyjs=get_plotlyjs(), interval=interval, change=change,
    )
