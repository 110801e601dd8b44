"""The stages in their one order, each run only when it has work: `patron run`, `patron demo` and
the API service's loading passes all run them here.

ingest -> identity -> listen (enrich, themes, spikes) -> metrics -> predict -> plays. Each stage reads what the one
before wrote to the warehouse; the briefing, built afterwards, only reads. A caller may run some
of the stages (still in this order); a pass over items that just arrived (the service's intake
log) loads them in place of ingest, and its listening stages read only those items.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from patron.errors import PatronError

if TYPE_CHECKING:
    from patron.act.plays import PlaysRun
    from patron.config import ProjectConfig
    from patron.identity import ResolveResult
    from patron.ingest import IngestResult
    from patron.ingest.intake import IntakeResult
    from patron.ingest.load import Progress
    from patron.listen.enrich import EnrichResult
    from patron.listen.themes import ThemeResult
    from patron.predict.churn import ChurnRun
    from patron.project import Project
    from patron.warehouse import Warehouse

STAGES = ("ingest", "identity", "enrich", "themes", "spikes", "metrics", "predict", "plays")  # the one order


@dataclass(frozen=True)
class Intake:
    """Items that arrived, loaded in place of the ingest stage: `load` moves them into the
    warehouse; the listening stages then read only `tables`' loads after `after_load`. When
    nothing arrived, the stages after it have nothing new and do not run."""

    load: Callable[[Warehouse], list[IntakeResult]]
    tables: tuple[str, ...]
    after_load: int


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
    intake: list[IntakeResult] | None = None  # what an intake loaded (a service's pass; `patron run` has none)
    churn: ChurnRun | None = None
    plays: PlaysRun | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"stages": [s.__dict__ for s in self.stages],
                "ingest": self.ingest.to_dict() if self.ingest else None,
                "identity": self.identity.to_dict() if self.identity else None,
                "enrich": self.enrich.to_dict() if self.enrich else None,
                "themes": None if self.themes is None else {"found": len([t for t in self.themes.themes if t.items]),
                                                              "unthemed_share": self.themes.unthemed_share,
                                                              "too_few": self.themes.too_few},
                "themed": self.themed, "alerts": self.alerts, "metric_values": self.metric_values,
                "churn": None if self.churn is None else {"run_id": self.churn.run_id,
                                                          **self.churn.backtest.to_dict()},
                "plays": None if self.plays is None else self.plays.to_dict()}


def run(project: Project, stages: Collection[str] | None = None, *, ingest_progress: Progress | None = None,
        enrich_progress: Callable[[int, int], None] | None = None, seal: bool = False,
        intake: Intake | None = None) -> RunResult:
    """`stages` (default: all) in the order of STAGES, each only when it has work; a source ingest
    refused is named in the result and the stages after it run on what is loaded. With `seal`,
    the engine reads no file after the files are loaded (a command that ends with the run: see
    Warehouse.forbid_file_access). `intake` stands in for ingest (see Intake)."""
    chosen = STAGES if stages is None else (stages,) if isinstance(stages, str) else tuple(stages)
    unknown = sorted({repr(s) for s in chosen if not isinstance(s, str) or s not in STAGES})
    if unknown:
        raise PatronError(f"no stage {', '.join(unknown)}; stages are: {', '.join(STAGES)}")
    if intake is not None and "ingest" not in chosen:
        raise PatronError("an intake stands in for the ingest stage: run it with the stages that follow")
    steps = _Steps(project, ingest_progress, enrich_progress, seal, intake)
    for stage in (s for s in STAGES if s in chosen):
        if stage != "ingest" and intake is not None and not steps.out.intake:
            break  # nothing arrived: nothing new for the stages after the intake
        t0 = time.perf_counter()
        did = getattr(steps, stage)()
        steps.out.stages.append(StageRun(stage, did, round(time.perf_counter() - t0, 2)))
    return steps.out


def _identity_work(wh: Warehouse, cfg: ProjectConfig) -> str | None:
    """Why identity must run again, or None: rows were loaded or changed since it last ran (or it
    never ran), or patron.yml moved a source to another system. A resolution fits its model each
    time it runs; a record keeps the time it got its master id while it keeps it."""
    from patron.identity.resolve import moved_systems

    last = wh.scalar("SELECT max(t) FROM (SELECT max(fitted_at) AS t FROM identity_model "
                     "UNION ALL SELECT max(resolved_at) FROM identity_map) AS runs")
    if last is None:
        return "never resolved"
    if wh.scalar("SELECT count(*) FROM loads WHERE finished_at > ? AND rows_loaded + rows_updated > 0", [last]):
        return "new rows loaded"
    moved = moved_systems(wh, cfg)
    return ("patron.yml moved a source to another system (" + ", ".join(f"{a} to {b}" for a, b in moved) + ")"
            if moved else None)


class _Steps:
    """Each stage's step, named as in STAGES: does the work there is and says in one line what it did."""

    def __init__(self, project: Project, ingest_progress: Progress | None,
                 enrich_progress: Callable[[int, int], None] | None, seal: bool, intake: Intake | None) -> None:
        self.project, self.wh, self.out = project, project.writable_warehouse(), RunResult()
        self.ingest_progress, self.enrich_progress = ingest_progress, enrich_progress
        self.seal, self.intake = seal, intake
        # a pass over an intake reads only the loads after it began; a run reads every text
        self.only: dict[str, Any] = {} if intake is None else {"tables": intake.tables,
                                                               "after_load": intake.after_load}

    def ingest(self) -> str:
        if self.intake is not None:
            self.out.intake = loaded = self.intake.load(self.wh)
            stored, again = sum(len(r.stored) for r in loaded), sum(len(r.duplicates) for r in loaded)
            return f"{stored:,} items arrived, {again:,} already stored" if loaded else "nothing arrived"
        self.out.ingest = r = self.project.ingest(progress=self.ingest_progress)
        t = r.to_dict()["totals"]
        refused = f"; {len(r.refused)} source(s) refused" if r.refused else ""
        return (f"{t['read']:,} rows read, {t['loaded']:,} loaded, {t['already_loaded']:,} already loaded, "
                f"{t['quarantined']:,} quarantined{refused}")

    def identity(self) -> str:
        why = None if self.project.config is None else _identity_work(self.wh, self.project.config)
        if why is None:
            return "nothing new loaded since the last run"
        self.out.identity = r = self.project.identity.resolve()
        return (f"{r.records:,} records, {r.customers:,} customers"
                + (f" ({r.fallback})" if r.fallback else "") + (f"; {why}" if why.startswith("patron.yml") else ""))

    def enrich(self) -> str:
        self.out.enrich = r = self.project.listen.enrich(self.enrich_progress, **self.only)
        return f"{r.items:,} new texts scored" if r.items else "no new texts"

    def themes(self) -> str:
        # themes are found afresh only when none are stored, never in a pass over what just arrived
        if self.intake is None and not self.wh.scalar("SELECT count(*) FROM themes"):
            self.out.themes = r = self.project.listen.themes()[0]
            if r.too_few:
                return r.too_few
            return f"{len([t for t in r.themes if t.items])} themes found ({r.unthemed_share:.0%} of texts in none)"
        self.out.themed = n = self.project.listen.assign_new(**self.only)
        return (f"{n:,} new texts put in the stored themes (`patron listen themes` finds them afresh)" if n
                else "no new texts")

    def spikes(self) -> str:
        from patron.listen.spikes import detect, store

        alerts = detect(self.wh)
        self.out.alerts = new = store(self.wh, alerts)
        spikes = len([a for a in alerts if a.kind == "spike"])
        return (f"{spikes} spikes and {len(alerts) - spikes} data problems in the texts' history, {new} new "
                "(`patron listen spikes`)")

    def metrics(self) -> str:
        from patron.metrics import evaluate_catalog

        if self.seal:
            self.wh.forbid_file_access()  # configured metrics run with no way to reach a file
        values = evaluate_catalog(self.wh, self.project.metrics.catalog(), [], "month", store=True)
        self.out.metric_values = len(values)
        return f"{len(values):,} values of {values['metric'].nunique()} metrics stored"

    def predict(self) -> str:
        from patron.errors import PredictError

        last = self.wh.scalar("SELECT max(created_at) FROM prediction_runs WHERE model = 'churn'")
        if last is not None and not self.wh.scalar(
                "SELECT count(*) FROM loads WHERE finished_at > ? AND rows_loaded + rows_updated > 0", [last]):
            return "nothing loaded since the last churn run"
        if self.project.predict.settings().outcome:  # one snapshot with a churn flag: churn risk alone
            try:
                r = self.project.predict.churn()
            except PredictError as e:
                return str(e)
            auc = r.backtest.evaluation.auc
            return (f"churn risk of {len(r.scores.frame):,} customers scored (one snapshot: AUC "
                    f"{auc.value:.2f} on a holdout of customers; `patron risk`)" if auc.value is not None
                    else f"churn risk of {len(r.scores.frame):,} customers scored (`patron risk`)")
        if not self.wh.scalar("SELECT count(*) FROM subscriptions"):
            return "churn risk and the health score need subscriptions (who paid each month); there are none"
        said = []
        try:  # too little history is a finding, not a failure of the run
            self.out.churn = r = self.project.predict.churn()
            auc = r.backtest.evaluation.auc
            tested = f"AUC {auc.value:.2f} on {r.backtest.tested_on}" if auc.value is not None else "no AUC"
            said.append(f"churn risk of {len(r.scores.frame):,} customers scored ({tested}; `patron risk`)")
        except PredictError as e:
            said.append(str(e))
        try:
            h = self.project.predict.health()
            auc = h.check.evaluation.auc if h.check else None
            checked = f", AUC {auc.value:.2f} against who left" if auc and auc.value is not None else ""
            said.append(f"health of {h.scores['customer'].nunique():,} accounts over {h.scores['month'].nunique()} "
                        f"months{checked} (`patron health`)")
        except PredictError as e:
            said.append(str(e))
        if self.wh.scalar("SELECT count(*) FROM responses WHERE survey = 'nps'"):
            try:
                d = self.project.predict.drivers("nps", "touchpoints")
                top = d.overall.drivers[0] if d.overall.drivers else None
                said.append(f"NPS driven most by {top.predictor} ({top.percent:.0f}%; `patron drivers`)"
                            if top is not None and top.is_driver else "no touchpoint stands out as an NPS driver")
            except PredictError as e:
                said.append(str(e))
        return "; ".join(said)

    def plays(self) -> str:
        if not self.project.act.plays():
            return "no plays in patron.yml"
        self.out.plays = r = self.project.act.run_plays()
        if r.skipped:
            return r.skipped
        made, held = sum(x.created for x in r.results), sum(x.held_out for x in r.results)
        cleared = sum(x.cleared for x in r.results)
        idle = [x.play for x in r.results if not x.ran]
        return (f"{made:,} new action items from {len(r.results)} plays, {held:,} customers held out, {cleared:,} "
                f"cleared (`patron actions list`)" + (f"; not run: {', '.join(idle)}" if idle else ""))
