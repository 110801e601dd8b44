"""Docs tested against code: the data model page, the README's commands, the public surface."""

from __future__ import annotations

import re

import patron
from conftest import REPO
from patron.cli.main import app
from patron.model.doc import render


def test_data_model_doc_is_current():
    committed = (REPO / "docs" / "data-model.md").read_text()
    assert committed == render(), "regenerate with: python -m patron.model.doc > docs/data-model.md"


def test_metrics_doc_is_current():
    from patron.metrics.doc import render as render_metrics

    committed = (REPO / "docs" / "metrics.md").read_text()
    assert committed == render_metrics(), "regenerate with: python -m patron.metrics.doc > docs/metrics.md"


def test_every_command_is_in_the_readme():
    readme = (REPO / "README.md").read_text()
    commands = [c.name or c.callback.__name__ for c in app.registered_commands]
    missing = [c for c in commands if not re.search(rf"patron {c}\b", readme)]
    assert not missing, f"commands not documented in README.md: {missing}"
    assert "make demo" in readme and "make test" in readme


def test_public_surface_is_small_and_importable():
    assert 5 <= len(patron.__all__) <= 12
    for name in patron.__all__:
        assert getattr(patron, name) is not None
