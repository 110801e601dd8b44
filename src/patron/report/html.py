"""Render a Briefing to one self-contained HTML file (Plotly's bundled JavaScript inlined)."""

from __future__ import annotations

import base64
import hashlib
import re
from functools import lru_cache, partial

import plotly.graph_objects as go
from jinja2 import Environment, PackageLoader
from markupsafe import Markup, escape
from plotly.offline import get_plotlyjs

from patron.report.briefing import Briefing, Headline
from patron.units import DEFAULT_CURRENCY, in_unit, readable, symbol


def _readable(value: object) -> object:
    """Every text the page shows, as the terminal shows it (`units.readable`): no control character,
    no mark that reorders or hides text. What patron made and marked safe (charts, scripts) is left be."""
    return readable(value) if isinstance(value, str) and not isinstance(value, Markup) else value


@lru_cache(maxsize=1)
def _env() -> Environment:
    # every template here is HTML, whatever its file name: customer text is always escaped
    env = Environment(loader=PackageLoader("patron.report", "templates"), autoescape=True, finalize=_readable)
    # `| e` marks its result safe, past finalize: it reads the text the same way first
    env.filters["e"] = env.filters["escape"] = lambda v: escape(_readable(v))
    env.filters["fmt"] = format_value
    env.filters["num"] = lambda v: f"{v:,}" if v is not None else "–"
    env.filters["counted"] = counted
    return env


def counted(n: int | None, word: str, plural: str | None = None) -> str:
    """'1 month', '90 days', '1,204 customers': a count with its word, singular for one."""
    if n is None:
        return f"– {plural or word + 's'}"
    return f"{n:,} {word if n == 1 else plural or word + 's'}"


def format_value(value: float | None, unit: str, currency: str | None = DEFAULT_CURRENCY) -> str:
    """A value in its unit (money in `currency`, the data's); absent data reads "not available", never 0."""
    return "not available" if value is None else in_unit(value, unit, currency)


def interval(h: Headline, currency: str | None = DEFAULT_CURRENCY) -> str:
    if h.ci_low is None:
        return ""
    return f"95% CI {format_value(h.ci_low, h.unit, currency)} to {format_value(h.ci_high, h.unit, currency)}"


def change(h: Headline, currency: str | None = DEFAULT_CURRENCY) -> str:
    """The change from the month before; for sample estimates, whether it is significant."""
    if h.previous is None or h.value is None:
        return ""
    before = format_value(h.previous, h.unit, currency)
    if h.p_value is not None:
        verdict = "a significant change" if h.significant else "no significant change"
        return f"month before {before}: {verdict} (p = {h.p_value:.2f})"
    if h.unit in ("count", "currency") and h.previous:
        return f"{(h.value - h.previous) / h.previous:+.1%} vs {before} the month before"
    return f"month before {before}"


def sparkline(h: Headline) -> str:
    """The headline's last months as a small line; the reported month is the last point."""
    points = [(m, v) for m, v in h.trend if v is not None]
    if len(points) < 2:
        return ""
    fig = go.Figure(go.Scatter(x=[m for m, _ in points], y=[v for _, v in points], mode="lines",
                               line=dict(color="#64748b", width=1.5), hovertemplate="%{x}: %{y:.3~s}<extra></extra>"))
    fig.update_layout(height=46, margin=dict(l=0, r=0, t=4, b=4), template="simple_white", showlegend=False,
                      xaxis=dict(visible=False), yaxis=dict(visible=False))
    return fig.to_html(include_plotlyjs=False, full_html=False, config={"displayModeBar": False, "staticPlot": True})


def _charts(b: Briefing) -> dict[str, str]:
    layout = dict(margin=dict(l=50, r=20, t=30, b=40), height=300, template="simple_white",
                  font=dict(family="Inter, Segoe UI, sans-serif", size=12))
    charts = {}
    if b.mrr_by_month:
        fig = go.Figure(go.Scatter(x=[m for m, _ in b.mrr_by_month], y=[v for _, v in b.mrr_by_month],
                                   mode="lines+markers", line=dict(color="#2563eb"), name="MRR"))
        fig.update_layout(title="MRR at each month end", yaxis_tickprefix=symbol(b.currency), **layout)
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
    charts, plotlyjs, made = _charts(b), get_plotlyjs(), []

    def spark(h: Headline) -> str:
        made.append(html := sparkline(h))
        return html

    page = _env().get_template("briefing.html.j2").render(
        b=b, charts=charts, plotlyjs=plotlyjs, interval=partial(interval, currency=b.currency),
        change=partial(change, currency=b.currency), sparkline=spark,
    )
    # only the scripts patron made may run (Plotly's library and each chart's own), hashed before
    # the page is put together: a script that slipped into the page otherwise would not be allowed
    trusted = [plotlyjs, *(s for html in [*charts.values(), *made] for s in _SCRIPT.findall(html))]
    return page.replace("<head>", f"<head>\n{content_security_policy(trusted)}", 1)


_SCRIPT = re.compile(r"<script(?:\s[^>]*)?>(.*?)</script>", re.DOTALL)


def content_security_policy(scripts: list[str]) -> str:
    """A policy that lets the page run its own scripts (each named by its hash) and nothing else,
    and reach no network: were any text ever to slip through escaping, the browser would still
    refuse to run it or to send anything anywhere."""
    hashes = sorted({base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode()
                     for body in scripts})
    allowed = " ".join(f"'sha256-{h}'" for h in hashes) or "'none'"
    policy = (f"default-src 'none'; script-src {allowed}; style-src 'unsafe-inline'; img-src data:; "
              "font-src data:; connect-src 'none'; form-action 'none'; base-uri 'none'")
    return f'<meta http-equiv="Content-Security-Policy" content="{policy}">'

