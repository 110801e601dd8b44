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
    from patron.report.html import _env

    env = _env()
    templates = [p.name for p in (Path(__file__).parents[1] / "src" / "patron" / "report" / "templates").iterdir()]
    assert templates and all(env.autoescape is True or env.autoescape(name) for name in templates)
