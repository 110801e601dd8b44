"""The stages in their one order, each run only when it has work: `patron run` and `patron demo`.

ingest -> identity -> listen (enrich, themes, spikes) -> metrics. Each stage reads what the one
before wrote to the warehouse; the briefing, built afterwards, only reads.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from patron.identity import ResolveResult
    from patron.ingest import IngestResult
    from patron.ingest.load import Progress
    from patron.listen.enrich import EnrichResult
    from patron.listen.themes import ThemeResult
    from patron.project import Project


@dataclass
class StageRun:
    stage: str
    did: str  # one line a person reads: what the stage did, or why it had nothing to do
    seconds: float


@dataclass
class RunResult:
    stages: list[StageRun] = field(default_factory=list)
    ingest: IngestResult | None = None
    identity: ResolveResult | None = None
    enrich: EnrichResult | None = None
    themes: ThemeResult | None = None
    themed: int = 0  # new texts put in the stored themes (when themes were not refitted)
    alerts: int = 0
    metric_values: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"stages": [s.__dict__ for s in self.stages],
                "ingest": self.ingest.to_dict() if self.ingest else None,
                "identity": self.identity.to_dict() if self.identity else None,
                "enrich": self.enrich.to_dict() if self.enrich else None,
                "themes": None if self.themes is None else {"found": len([t for t in self.themes.themes if t.items]),
                                                              "unthemed_share": self.themes.unthemed_share,
                                                              "too_few": self.themes.too_few},
                "themed": self.themed, "alerts": self.alerts, "metric_values": self.metric_values}


def _identity_has_work(project: Project) -> bool:
    """Rows were loaded or changed since identity last ran (or it never ran)."""
    wh = project.warehouse
    last = wh.scalar("SELECT max(resolved_at) FROM identity_map")
    return last is None or bool(wh.scalar(
        "SELECT count(*) FROM loads WHERE finished_at > ? AND rows_loaded + rows_updated > 0", [last]))


def run(project: Project, ingest_progress: Progress | None = None,
        enrich_progress: Callable[[int, int], None] | None = None, seal: bool = False) -> RunResult:
    """Every stage that has work, in order; a source ingest refused is named in the result and
    the stages after it run on what is loaded. With `seal`, the engine reads no file after the
    files are loaded (a command that ends with the run: see Warehouse.forbid_file_access)."""
    from patron.listen.spikes import detect, store
    from patron.listen.themes import assign_new
    from patron.metrics import evaluate_catalog

    out = RunResult()
    wh = project.warehouse

    def timed(stage: str, step: Callable[[], str]) -> None:
        t0 = time.perf_counter()
        did = step()
        out.stages.append(StageRun(stage, did, round(time.perf_counter() - t0, 2)))

    def ingest() -> str:
        out.ingest = r = project.ingest(progress=ingest_progress)
        t = r.to_dict()["totals"]
        refused = f"; {len(r.refused)} source(s) refused" if r.refused else ""
        return (f"{t['read']:,} rows read, {t['loaded']:,} loaded, {t['already_loaded']:,} already loaded, "
                f"{t['quarantined']:,} quarantined{refused}")

    def identity() -> str:
        if not _identity_has_work(project):
            return "nothing new loaded since the last run"
        out.identity = r = project.resolve_identities()
        return (f"{r.records:,} records, {r.customers:,} customers"
                + (f" ({r.fallback})" if r.fallback else ""))

    def enrich() -> str:
        out.enrich = r = project.enrich(enrich_progress)
        return f"{r.items:,} new texts scored" if r.items else "no new texts"

    def themes() -> str:
        if not wh.scalar("SELECT count(*) FROM themes"):
            out.themes = r = project.themes()[0]
            if r.too_few:
                return r.too_few
            return f"{len([t for t in r.themes if t.items])} themes found ({r.unthemed_share:.0%} of texts in none)"
        out.themed = n = assign_new(wh)
        return (f"{n:,} new texts put in the stored themes (`patron listen themes` finds them afresh)" if n
                else "no new texts")

    def spikes() -> str:
        alerts = detect(wh)
        out.alerts = new = store(wh, alerts)
        spikes = len([a for a in alerts if a.kind == "spike"])
        return (f"{spikes} spikes and {len(alerts) - spikes} data problems in the texts' history, {new} new "
                "(`patron listen spikes`)")

    def metrics() -> str:
        if seal:
            wh.forbid_file_access()  # configured metrics run with no way to reach a file
        values = evaluate_catalog(wh, project.catalog(), [], "month", store=True)
        out.metric_values = len(values)
        return f"{len(values):,} values of {values['metric'].nunique()} metrics stored"

    for stage, step in (("ingest", ingest), ("identity", identity), ("enrich", enrich), ("themes", themes),
                        ("spikes", spikes), ("metrics", metrics)):
        timed(stage, step)
    return out
