"""Customer and file text in the briefing is always text, never markup: a feedback item, a theme
name or a quarantined value cannot run code in the browser of whoever opens the briefing."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from patron.report import render_html
from patron.report.briefing import Briefing, Headline, SourceLoad

PAYLOADS = ["<script>alert(1)</script>", "<img src=x onerror=alert(document.domain)>",
            "\"><svg onload=alert(2)>", "</td></tr></table><iframe src=javascript:alert(3)>"]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_every_text_field_of_the_briefing_is_escaped(payload):
    b = Briefing(
        date(2026, 6, 30), payload,
        headlines=[Headline(payload, 1.0, "count", n=3, note=payload, metric="tickets", owner=payload,
                            period="2026-05")],
        sources=[SourceLoad(payload, "feedback", 1, 2, 1, 1, payload)],
        tables=[(payload, 3)],
        quarantine=[(payload, payload, payload, 1, payload)],
        feedback_by_channel=[(payload, 4)],
        themes=[(payload, payload, 10, 0.1, -0.3, 2, 100.0, True, [payload, payload])],
        spikes=[(payload, "2026-06-01", "2026-06-02", 9, 2.0, payload, payload)],
        data_problems=[(payload, "2026-06-03", "2026-06-03")],
    )
    html = render_html(b)
    assert payload not in html
    assert html.count("&lt;") >= 10  # shown, as text


def test_every_template_is_rendered_with_autoescape():
    """Every Jinja environment in patron is built with autoescape=True, and every template file
    sits in a package whose module builds one: a new template cannot slip in unescaped."""
    import ast

    src = Path(__file__).parents[1] / "src" / "patron"
    escaping_packages, environments = set(), 0
    for module in src.rglob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in (
                    "Environment", "Template"):
                environments += 1
                escape = {k.arg: k.value for k in node.keywords}.get("autoescape")
                assert isinstance(escape, ast.Constant) and escape.value is True, f"{module}:{node.lineno}"
                escaping_packages.add(module.parent)
    templates = [t for t in src.rglob("*") if t.suffix in (".j2", ".html", ".jinja", ".jinja2")]
    assert environments >= 2 and templates
    for t in templates:
        assert t.parent.name == "templates" and t.parent.parent in escaping_packages, t


def test_the_briefing_runs_only_its_own_scripts_and_reaches_no_network():
    import base64
    import hashlib
    import re

    b = Briefing(date(2026, 6, 30), "now", mrr_by_month=[("2026-05-01", 100.0), ("2026-06-01", 110.0)],
                 nps_by_month=[("2026-05-01", 10.0, 50, 2.0, 18.0)])
    html = render_html(b)
    policy = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html).group(1)
    assert html.index("Content-Security-Policy") < html.index("<script")  # before anything runs
    assert "default-src 'none'" in policy and "connect-src 'none'" in policy and "unsafe-inline" not in \
        policy.split("script-src")[1].split(";")[0]
    scripts = re.findall(r"<script(?:\s[^>]*)?>(.*?)</script>", html, re.DOTALL)
    assert len(scripts) >= 2  # plotly itself and a chart
    for body in scripts:
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy
    assert not re.search(r"<script[^>]+src=", html)
