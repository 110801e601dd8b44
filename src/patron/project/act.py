"""`project.act`: where to invest, the plays and their action items, and whether they work."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import pandas as pd

    from patron.act.imported import ImportResult
    from patron.act.items import Filter
    from patron.act.plays import PlaysRun
    from patron.act.uplift import PlayUplift
    from patron.config import PlayConfig
    from patron.project import Project


class Act:
    """The plays (`run_plays`), the action items people work (`items`, `add`, `update`), the
    investment list and the programs, over the warehouse the project points to."""

    def __init__(self, project: Project) -> None:
        self._project = project

    def plays(self) -> dict[str, PlayConfig]:
        """patron.yml's plays (none without a patron.yml)."""
        cfg = self._project.config
        return dict(cfg.plays) if cfg else {}

    # -- plays and action items --

    def run_plays(self, dry_run: bool = False, force: bool = False) -> PlaysRun:
        """Every play checked, evaluated, then written at once; `dry_run` writes nothing; without
        `force`, a run on inputs unchanged since the last says so and reads nothing more."""
        from patron.act.plays import run

        cfg = self._project.config
        days = sorted(((s.snapshot_date, n) for n, s in cfg.sources.items() if s.snapshot_date), reverse=True) \
            if cfg else []
        return run(self._project.existing_warehouse(), self.plays(), dry_run=dry_run, force=force,
                   left_flag=cfg.predict.churn.outcome if cfg else None,
                   snapshot=(days[0][1], days[0][0]) if days else None)

    def problems(self) -> list[str]:
        """Every problem of patron.yml's plays, against the warehouse's attributes where there is one."""
        from patron.act.rules import problems

        attributes = None
        if self._project.db.exists():
            from patron.act.signals import attribute_fields

            attributes = attribute_fields(self._project.warehouse)
        return problems(self.plays(), attributes)

    def items(self, where: Filter | None = None) -> pd.DataFrame:
        from patron.act.items import Filter, listing

        return listing(self._project.existing_warehouse(), where or Filter())

    def named(self, column: Literal["play", "owner"], value: str) -> tuple[bool, list[str], int]:
        """Whether an item has this play (or owner); else the first 20 there are, and how many."""
        from patron.act.items import named

        return named(self._project.existing_warehouse(), column, value)

    def item(self, item_id: str) -> tuple[dict[str, Any], pd.DataFrame]:
        """One item and its history, oldest change first."""
        from patron.act.items import changes, get

        wh = self._project.existing_warehouse()
        item = get(wh, item_id)
        play = self._project.config.plays.get(item["play"]) if self._project.config and item["play"] else None
        item["play_label"] = play.label if play else None  # a play gone from patron.yml keeps its name
        return item, changes(wh, item["item_id"])

    def add(self, customer: str | None, title: str, owner: str | None, by: str, due_days: float | None = 7,
            priority: str = "medium", note: str | None = None) -> str:
        """A person's own item, about `customer` (a master id or any source's id for it)."""
        from patron.act.items import add

        wh = self._project.existing_warehouse()
        return add(wh, customer_id=self.customer_id(customer) if customer else None, title=title, owner=owner,
                   by=by, due_days=due_days, priority=priority, note=note)

    def update(self, item_id: str, by: str, **changes: Any) -> dict[str, Any]:
        from patron.act.items import update

        return update(self._project.existing_warehouse(), item_id, by, **changes)

    def customer_id(self, query: str) -> str:
        """The master id a master id or a source's own id names; an error naming it otherwise."""
        from patron.act.items import customers
        from patron.errors import ActionError

        found = customers(self._project.existing_warehouse(), query)
        if len(found) != 1:
            raise ActionError("no customer has this id" if not found else
                              f"the id of {len(found)} customers in different systems; give the master id "
                              f"({', '.join(sorted(found)[:5])})", str(query)[:60])
        return found[0]

    def import_plays(self, file: str | Path, system: str, by: str) -> ImportResult:
        """Plays run before patron (who was treated, who held out, what became of each item)."""
        from patron.act.imported import import_plays
        from patron.errors import ActionError

        cfg = self._project.config
        known = sorted(set(cfg.systems().values())) if cfg is not None else []
        if known and system not in known:
            raise ActionError(f"is not a system of patron.yml's sources; they are: {', '.join(known)}",
                              f"--system {system[:60]}")
        return import_plays(self._project.existing_warehouse(), file, system, by)

    def uplift(self, months: int = 6, play: str | None = None) -> list[PlayUplift]:
        """Each play with a holdout: treated against held-out customers on churn, NPS and revenue over
        the `months` after assignment, with 95% intervals and n."""
        from patron.act.uplift import measure

        return measure(self._project.existing_warehouse(), months, play)

    def without_holdout(self) -> list[str]:
        """Plays that assigned customers but held none out, so `uplift` cannot compare them."""
        from patron.act.uplift import without_holdout

        return without_holdout(self._project.existing_warehouse())

    @staticmethod
    def due(text: str) -> datetime:
        """A due date typed by a person: YYYY-MM-DD (end of that day) or YYYY-MM-DD HH:MM."""
        from patron.errors import ActionError

        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            raise ActionError(f"{text!r} is not a date (YYYY-MM-DD, or YYYY-MM-DD HH:MM)", "due") from None
        if not any(mark in text.strip() for mark in (" ", "T", ":")):  # a day alone (2026-12-31, 20261231)
            return when.replace(hour=23, minute=59, second=59)
        # the warehouse keeps UTC without a zone: a time given with its zone is moved to UTC first
        return when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when

    # -- invest --

    if TYPE_CHECKING:
        from patron.act.invest import Investment

    def invest(self, owner: str | None = None, segment: str | None = None) -> Investment:
        """Where to invest, from the latest runs: the customers to protect (value times the
        probability of losing it, with the reasons), the expansion candidates (with the criteria
        each meets) and the people who matter at each; for one owner or segment where given."""
        from patron.act.invest import plan

        return plan(self._project.existing_warehouse(), owner=owner, segment=segment)

    @staticmethod
    def invest_by(found: Investment, column: str) -> pd.DataFrame:
        """Per owner or segment: accounts to protect, value at stake, expansion candidates."""
        from patron.act.invest import totals

        return totals(found, column)

    # -- programs --

    if TYPE_CHECKING:
        from patron.act.programs import ProgramsReport

    def programs(self, months: int = 6) -> ProgramsReport:
        """Each program's participants against comparable customers who did not take part (matched on
        segment, tenure, size and prior health), or against its holdout: retention `months` after
        joining and NPS, with 95% intervals."""
        from patron.act.programs import analyse

        return analyse(self._project.existing_warehouse(), months)

