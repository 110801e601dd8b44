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


HIDDEN = ["\u202e", "\u202d", "\u2066", "\u200b", "\x00", "\x1b", "\x07", "\r", "\x0b", "\x7f", "\ufeff"]


def test_control_and_reordering_characters_never_reach_the_briefing_as_they_are():
    """A name, a reason, a theme or a comment with a bidirectional override, a zero-width mark or a
    control character is shown with U+FFFD in its place (the same helper the terminal uses);
    newlines and tabs stay as written."""
    import re

    from patron.cli.render import plain
    from patron.units import readable

    hostile = "Acme\u202eevil\u200b \x1b[2J\x00nul\r\x07 ok\tand\nnext"
    b = Briefing(
        date(2026, 6, 30), "now", headlines=[Headline("NPS", 1.0, "count", n=3, note=hostile, metric="nps",
                                                      owner=hostile, period="2026-05")],
        sources=[SourceLoad(hostile, "feedback", 1, 2, 1, 1, "x")], quarantine=[(hostile, "f", hostile, 1, hostile)],
        themes=[(hostile, hostile, 10, 0.1, -0.3, 2, 100.0, True, [hostile])],
        spikes=[(hostile, "2026-06-01", "2026-06-02", 9, 2.0, hostile, hostile)],
        risk={"as_of": "2026-06-30", "tested_on": "2026-03-31", "mode": "time", "auc": None, "brier": None,
              "note": hostile, "n": 10, "positives": 2, "scored": 10, "high": 1, "medium": 0, "known": True,
              "at_stake": 5.0, "at_stake_at_risk": 4.0, "protected": None},
        at_risk=[(hostile, hostile, "high", 0.5, 100.0, 50.0, "in 2 months", hostile)],
        renewals={"days": 90, "as_of": "2026-06-30", "renewals": 1, "arr_due": 100.0, "expected_arr": 50.0,
                  "at_stake": 50.0, "note": None, "top": [(hostile, hostile, "2026-07-01", 100.0, 0.5, 50.0, "high",
                                                           hostile)]})
    html = render_html(b)
    body = re.sub(r"<script.*?</script>", "", html.split("<body>")[1], flags=re.S)
    for ch in HIDDEN:
        assert ch not in body, repr(ch)
    assert body.count("Acme\ufffdevil\ufffd") >= 8 and "ok\tand" in body  # shown, marked, as the terminal shows it
    assert plain(hostile).plain == readable(hostile) and "\ufffd[2J\ufffdnul" in readable(hostile)
