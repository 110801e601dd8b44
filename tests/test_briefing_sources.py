"""The briefing's "Sources loaded" counts what each source holds, whether or not its files were
loaded again since."""

from __future__ import annotations

from patron.project import Project
from patron.report import build


def test_loading_the_same_files_again_leaves_the_sources_counts_as_they_were(demo_copy):
    with Project.open(demo_copy / "patron-demo" / "patron.yml", require_config=True) as project:
        before = {s.source: s for s in build(project.warehouse).sources}
        again = project.ingest()
        assert again.to_dict()["totals"]["loaded"] == 0
        after = {s.source: s for s in build(project.warehouse).sources}
        assert after.keys() == before.keys()
        for name, s in after.items():
            assert (s.files, s.rows_read, s.rows_loaded, s.rows_quarantined) == (
                before[name].files, before[name].rows_read, before[name].rows_loaded, before[name].rows_quarantined)
            table = s.table
            held = project.warehouse.scalar(f"SELECT count(*) FROM {table} WHERE source = ?", [name])
            assert s.rows_loaded >= held > 0
