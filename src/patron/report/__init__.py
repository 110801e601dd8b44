"""The briefing: built as data first, then rendered to self-contained HTML."""

from patron.report.briefing import Briefing, build
from patron.report.html import render_html

__all__ = ["Briefing", "build", "render_html"]
