"""One pipeline runner: `patron run` and the service's loading passes run the stages through it,
in the one order pipeline.STAGES writes down."""

from __future__ import annotations

import pytest

from patron import pipeline
from patron.api.loader import _Passes
from patron.errors import PatronError
from patron.ingest.intake_log import LogWriter, log_folder
from patron.project import Project
from patron.warehouse import open_warehouse


class _Pipe:
    """The service's end of the loader's pipe, for a pass run in this process."""

    def send(self, message: object) -> None:
        pass


def _recording(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The stages of every run, in the order they ran, whoever asked for it."""
    orders: list[list[str]] = []
    real = pipeline.run

    def run(*args, **kwargs) -> pipeline.RunResult:
        result = real(*args, **kwargs)
        orders.append([s.stage for s in result.stages])
        return result

    monkeypatch.setattr(pipeline, "run", run)
    return orders


def _service_pass(folder, items: list[dict]) -> _Passes:
    """A service's loading pass over `items`, as if a client had just sent them."""
    db = folder / "w.duckdb"
    folder.mkdir()
    writer = LogWriter(log_folder(db), "feedback")
    writer.submit(items, "api:test").result()
    writer.close()
    passes = _Passes(db, log_folder(db), "feedback", "api", _Pipe())
    assert passes.once(wait_s=0.0)
    return passes


def _configured(folder) -> Project:
    folder.mkdir()
    (folder / "c.csv").write_text("id,name\nA,Acme\nB,Beta\n")
    (folder / "patron.yml").write_text("sources:\n  crm: {path: c.csv, table: customers, customer_ref: id}\n")
    return Project.open(folder / "patron.yml", folder / "w.duckdb", require_config=True)


def test_the_services_pass_and_patron_run_take_their_order_from_one_definition(tmp_path, monkeypatch):
    reordered = ("ingest", "identity", "themes", "enrich", "spikes", "metrics")
    monkeypatch.setattr(pipeline, "STAGES", reordered)  # the order changes in one place only
    orders = _recording(monkeypatch)
    _service_pass(tmp_path / "api", [{"feedback_id": "f1", "channel": "web", "text": "The export keeps failing"}])
    with _configured(tmp_path / "run") as project:
        project.run()
    assert orders == [["ingest", "themes", "enrich"], list(reordered)]


def test_a_pass_scores_what_arrived_and_runs_nothing_more_when_nothing_did(tmp_path, monkeypatch):
    orders = _recording(monkeypatch)
    passes = _service_pass(tmp_path / "api", [{"feedback_id": "f1", "channel": "web", "text": "Thanks, it works!"}])
    assert passes.once(wait_s=0.0)  # nothing new in the log
    assert orders == [["ingest", "enrich", "themes"], ["ingest"]]
    with open_warehouse(tmp_path / "api" / "w.duckdb") as wh:
        assert wh.rows("SELECT item_id, sentiment_label FROM enrichment") == [("f1", "positive")]


def test_a_chosen_few_stages_run_in_the_one_order_and_an_unknown_stage_is_named(tmp_path):
    with _configured(tmp_path / "p") as project:
        ran = project.run(stages=["metrics", "ingest"])
        assert [s.stage for s in ran.stages] == ["ingest", "metrics"] and ran.ingest.to_dict()["totals"]["loaded"] == 2
        with pytest.raises(PatronError, match="no stage 'listen'; stages are: ingest, identity"):
            project.run(stages=["listen"])
    with Project.open(None, tmp_path / "bare.duckdb") as bare, pytest.raises(PatronError, match="patron.yml"):
        bare.run()


def test_one_stage_named_as_a_word_or_stages_given_as_a_generator_run_as_asked(tmp_path):
    with _configured(tmp_path / "p") as project:
        assert [s.stage for s in project.run(stages="ingest").stages] == ["ingest"]
        assert [s.stage for s in project.run(stages=(s for s in ["metrics"])).stages] == ["metrics"]
        with pytest.raises(PatronError, match=r"no stage \['x'\]"):
            project.run(stages=[["x"]])
    with Project.open(None, tmp_path / "bare.duckdb") as bare, pytest.raises(PatronError, match="patron.yml"):
        bare.run(stages=(s for s in ["ingest"]))
