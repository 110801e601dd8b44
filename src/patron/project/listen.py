"""`project.listen`: what customers say, scored and put in themes."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from patron.listen.enrich import EnrichResult
    from patron.listen.themes import ThemeResult
    from patron.project import Project


def _only(tables: tuple[str, ...] | None, after_load: int | None) -> dict[str, Any]:
    """The listening functions' own defaults (every text table) unless a pass narrows them."""
    return {"after_load": after_load} | ({"tables": tables} if tables is not None else {})


class Listen:
    """`.enrich` scores texts not yet scored; `.themes` finds themes afresh in every text;
    `.assign_new` puts texts that arrived since into the stored themes, without refitting."""

    def __init__(self, project: Project) -> None:
        self._project = project

    def enrich(self, progress: Callable[[int, int], None] | None = None, *, tables: tuple[str, ...] | None = None,
               after_load: int | None = None) -> EnrichResult:
        """Sentiment and complaint flag for every survey comment, ticket and feedback item not yet
        seen (of `tables`' loads after `after_load`, for a pass over what just arrived)."""
        from patron.listen.enrich import enrich

        return enrich(self._project.existing_warehouse(), progress, **_only(tables, after_load))

    def themes(self, k: int | None = None) -> tuple[ThemeResult, pd.DataFrame]:
        """Discover themes in every text (stored ids kept where a theme is found again) and sum them up."""
        from patron.listen.themes import discover
        from patron.listen.themes import summary as theme_summary

        p = self._project
        wh = p.existing_warehouse()
        taxonomy = p.config.listen.taxonomy if p.config else {}
        return discover(wh, k, taxonomy=taxonomy), theme_summary(wh)

    def assign_new(self, *, tables: tuple[str, ...] | None = None, after_load: int | None = None) -> int:
        """Texts not in a theme yet, put in the stored themes (none when nothing was ever fitted);
        how many."""
        from patron.listen.themes import assign_new

        return assign_new(self._project.existing_warehouse(), **_only(tables, after_load))
