"""The stages after the catalog on a Spark warehouse: themes, spikes, predictions and plays found
afresh on the demo company give the rows DuckDB gives from the same tables, and the reports that
read them (risk, renewals, health, investment, the customer 360) say the same."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from patron.pipeline import run
from patron.project import Project
from test_spark_engine import _differences, needs_spark

pytestmark = [pytest.mark.spark, needs_spark]

# what these stages write: emptied on both copies, so each engine finds it all again
DERIVED = ("themes", "text_themes", "alerts", "predictions", "prediction_runs", "action_items", "action_history",
           "play_assignments", "play_runs")
STAGES = ["themes", "spikes", "predict", "plays"]


def _project_file(demo: Path, to: Path, warehouse: object) -> Path:
    """The demo's patron.yml (its plays, sources and settings) with another warehouse."""
    cfg = yaml.safe_load((demo / "patron.yml").read_text())
    for src in cfg.get("sources", {}).values():
        if "path" in src:
            src["path"] = str(demo / src["path"])
    to.write_text(yaml.safe_dump({**cfg, "warehouse": warehouse}))
    return to


@pytest.fixture(scope="module")
def ran(layout, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    db, root = layout
    base = tmp_path_factory.mktemp("stages")
    shutil.copytree(root, base / "layout")
    shutil.copy(db, base / "duck.duckdb")
    files = {"duckdb": _project_file(db.parent, base / "duckdb.yml", str(base / "duck.duckdb")),
             "spark": _project_file(db.parent, base / "spark.yml", {"engine": "spark", "path": str(base / "layout")})}
    for config in files.values():
        with Project.open(config, None) as project:
            for table in DERIVED:
                project.warehouse.execute(f"DELETE FROM {table}")
            run(project, STAGES)
    return files


def _rows(config: Path, sql: str) -> pd.DataFrame:
    with Project.open(config, None) as project:
        return project.warehouse.df(sql).astype(str)


def _same(ran: dict[str, Path], sql: str) -> pd.DataFrame:
    duck, spark = _rows(ran["duckdb"], sql), _rows(ran["spark"], sql)
    assert len(duck) > 0
    pd.testing.assert_frame_equal(duck, spark)
    return duck


def test_predictions_found_on_spark_are_duckdbs(ran):
    scores = _same(ran, "SELECT r.model, p.customer_id, p.as_of, round(p.score, 9) AS score, p.band, p.reasons "
                        "FROM predictions AS p JOIN prediction_runs AS r USING (run_id) ORDER BY 1, 2, 3")
    assert set(scores["model"]) >= {"churn", "health"}
    runs = _same(ran, "SELECT model, as_of, trained_on, tested_on FROM prediction_runs ORDER BY 1")
    assert "drivers" in set(runs["model"])  # a run that scores no one keeps its run row on Spark too
    evaluations = {engine: dict(_rows(config, "SELECT model, evaluation FROM prediction_runs").values)
                   for engine, config in ran.items()}
    churn = {e: json.loads(v["churn"]) for e, v in evaluations.items()}
    assert churn["spark"]["evaluation"]["auc"]["value"] > 0.6
    assert not _differences(churn["duckdb"], churn["spark"])


def test_themes_and_spikes_found_on_spark_are_duckdbs(ran):
    # a theme found afresh gets a new id on each engine: themes are compared by what they are
    themes = _same(ran, "SELECT name, top_words, items FROM themes ORDER BY 1")
    assert len(themes) >= 5
    _same(ran, "SELECT t.source_table, t.item_id, h.name FROM text_themes AS t JOIN themes AS h USING (theme_id) "
               "ORDER BY 1, 2, 3")
    _same(ran, "SELECT name, first_day, last_day, observed, round(expected, 6) AS e, channels, examples "
               "FROM alerts ORDER BY 1, 2")


def test_plays_run_on_spark_make_duckdbs_items_and_holdouts(ran):
    items = _same(ran, "SELECT item_id, play, customer_id, status, priority, owner, CAST(due_at AS DATE) AS due, "
                       "signal FROM action_items ORDER BY 1")
    assert items["play"].nunique() >= 2
    _same(ran, "SELECT play, customer_id, arm, as_of, share FROM play_assignments ORDER BY 1, 2")
    _same(ran, "SELECT item_id, field, old_value, new_value FROM action_history ORDER BY 1, 2, 3, 4")


def test_the_reports_over_them_say_on_spark_what_they_say_on_duckdb(ran):
    said: dict[str, dict] = {}
    for engine, config in ran.items():
        with Project.open(config, None) as project:
            customer = project.warehouse.scalar(
                "SELECT customer_id FROM predictions WHERE model = 'churn' ORDER BY score DESC, customer_id LIMIT 1")
            plan = project.act.invest()
            said[engine] = {
                "risk": project.predict.risk(("high", "medium", "low")).to_dict("records"),
                "by_owner": project.predict.risk_totals("owner").to_dict("records"),
                "renewals": project.predict.renewals_summary(),
                "invest": {part: getattr(plan, part).to_dict("records") for part in ("protect", "expand", "contacts")}
                | {"notes": plan.notes, "as_of": plan.as_of},
                "customer": project.customer(customer).to_dict(),
            }
    assert said["spark"]["risk"] and said["spark"]["invest"]["protect"]
    differ = [d for d in _differences(_plain(said["duckdb"]), _plain(said["spark"])) if "generated" not in d]
    assert not differ, differ[:10]


def _plain(document: dict) -> object:
    """As JSON has it: an empty number is null whether a frame held it as None or NaN."""
    return json.loads(json.dumps(document, default=str).replace("NaN", "null"))
