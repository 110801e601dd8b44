"""`project.identity`: who is who, master customers across every source."""

from __future__ import annotations

from typing import TYPE_CHECKING

from patron.errors import ConfigError

if TYPE_CHECKING:
    from patron.identity import ResolveResult
    from patron.project import Project


class Identity:
    """`.resolve()` links every source's records to master customers; `.review` lists the pairs the
    model is unsure of, and `.decide` records a person's answer, which wins on every later run."""

    def __init__(self, project: Project) -> None:
        self._project = project

    def resolve(self) -> ResolveResult:
        """Master ids for every source record, written as customer_id on every row."""
        from patron.identity import resolve

        p = self._project
        if p.config is None:
            raise ConfigError("not found; identity resolution needs the sources' systems from it", "patron.yml")
        return resolve(p.existing_warehouse(), p.config)

    def review(self, limit: int = 50) -> list[dict]:
        """The pairs awaiting a person's decision, most likely first."""
        from patron.identity.review import pairs_to_review

        return pairs_to_review(self._project.existing_warehouse(), limit)

    def review_count(self) -> int:
        """How many pairs await a person's decision, whatever the limit shown."""
        from patron.identity.review import count_to_review

        return count_to_review(self._project.existing_warehouse())

    def decide(self, record_l: str, record_r: str, decision: str, note: str | None = None) -> None:
        """Two records (written system:ref) are the same customer ("merge") or not ("apart")."""
        from patron.identity.review import decide

        decide(self._project.existing_warehouse(), record_l, record_r, decision, note)
