"""Enrichment of every text on the demo company: complete, incremental, and close to the planted truth."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest
from sklearn.metrics import f1_score

from conftest import write
from patron.ingest import ingest_file
from patron.listen.enrich import enrich
from patron.listen.trends import trends
from patron.project import Project
from patron.warehouse import SCHEMA_VERSION, open_warehouse


def test_every_text_is_scored_once_and_agrees_with_the_planted_sentiment(demo_loaded, demo_dir, tmp_path):
    config, db, _ = demo_loaded
    copy = tmp_path / "w.duckdb"
    shutil.copy(db, copy)
    with Project.open(config, copy, require_config=True) as project:
        first = project.listen.enrich()
        wh = project.warehouse
        texts = wh.scalar(
            "SELECT (SELECT count(*) FROM responses WHERE trim(coalesce(comment, '')) <> '') "
            "+ (SELECT count(*) FROM tickets WHERE coalesce(subject, body) IS NOT NULL) "
            "+ (SELECT count(*) FROM feedback)")
        assert first.items == texts == wh.scalar("SELECT count(*) FROM enrichment")
        assert project.listen.enrich().items == 0  # a second run has nothing new to score
        scored = wh.df(
            "SELECT x.source, x.source_key, e.sentiment_label, e.complaint, x.detractor FROM enrichment AS e JOIN ("
            "SELECT 'responses' AS t, response_id AS id, source, source_key, "
            "survey = 'nps' AND score <= 6 AS detractor FROM responses "
            "UNION ALL SELECT 'tickets', ticket_id, source, source_key, false FROM tickets "
            "UNION ALL SELECT 'feedback', feedback_id, source, source_key, false FROM feedback) AS x "
            "ON x.t = e.source_table AND x.id = e.item_id")
    truth = pd.read_csv(demo_dir / "truth" / "comments.csv", dtype=str)
    joined = truth.merge(scored, on=["source", "source_key"])
    assert len(joined) == len(scored)
    assert f1_score(joined["sentiment"], joined["sentiment_label"], average="macro") >= 0.6
    assert joined.loc[joined["detractor"], "complaint"].all()  # a detractor's comment is a complaint
    negative = joined["sentiment_label"] == "negative"
    assert joined.loc[negative, "complaint"].all()


def test_touchpoints_are_ranked_weakest_first(demo_loaded, tmp_path):
    from patron.report.touchpoints import ranking

    config, db, _ = demo_loaded
    shutil.copy(db, tmp_path / "t.duckdb")
    with Project.open(config, tmp_path / "t.duckdb", require_config=True) as project:
        project.listen.enrich()
        df = ranking(project.warehouse, project.metrics.catalog())
        touchpoints = project.warehouse.scalar("SELECT count(DISTINCT touchpoint) FROM responses")
    tp = df[df["level"] == "touchpoint"]
    assert len(tp) == touchpoints and set(df["level"]) == {"touchpoint", "journey_stage"}
    assert tp["csat"].is_monotonic_increasing  # weakest first
    assert ((tp["csat_low"] <= tp["csat"]) & (tp["csat"] <= tp["csat_high"])).all()
    assert (tp["comments"] > 0).all() and tp["sentiment"].between(-1, 1).all()


def test_trends_add_up_per_period(demo_loaded, tmp_path):
    import pytest

    from patron.errors import PatronError
    from patron.listen.trends import trends

    config, db, _ = demo_loaded
    shutil.copy(db, tmp_path / "r.duckdb")
    with Project.open(config, tmp_path / "r.duckdb", require_config=True) as project:
        project.listen.enrich()
        project.listen.themes()
        wh = project.warehouse
        for by in ("theme", "channel", "touchpoint"):
            df = trends(wh, by, "week")
            assert df["texts"].sum() == wh.scalar("SELECT count(*) FROM enrichment WHERE occurred_at IS NOT NULL")
            assert (df.groupby("period")["share"].sum() - 1).abs().max() < 1e-9
            assert df["sentiment"].between(-1, 1).all()
        with pytest.raises(PatronError, match="--period must be one of"):
            trends(wh, "theme", "fortnight")
        with pytest.raises(PatronError, match="is not a date"):
            trends(wh, "theme", "week", since="last tuesday")


FEEDBACK = (
    "feedback_id,channel,received_at,text,rating\n"
    "f1,web,2026-05-04 10:00:00,\"Thanks, that fixed it. Great support!\",5\n"
    "f2,web,2026-05-04 11:00:00,\"The export keeps crashing, worst update ever\",\n"
    "f3,web,2026-05-04 12:00:00,\"Ya les envié DM pero aún no tengo ningún tipo de respuesta!\",1\n"
    "f4,social,2026-05-04 13:00:00,我的账户被扣款两次，客服一直没有回复。,\n"
)


def test_texts_the_model_cannot_read_are_stored_unscored_and_kept_out_of_sentiment(tmp_path):
    with open_warehouse(tmp_path / "w.duckdb") as wh:
        ingest_file(wh, write(tmp_path / "feedback.csv", FEEDBACK), "feedback")
        assert enrich(wh).items == 4
        rows = wh.rows("SELECT item_id, sentiment_label, sentiment_score IS NULL, unscored, complaint "
                       "FROM enrichment ORDER BY item_id")
        assert rows == [("f1", "positive", False, None, False), ("f2", "negative", False, None, True),
                        ("f3", None, True, "language", True), ("f4", None, True, "language", False)]
        day = trends(wh, "channel", "day").set_index("channel")
        mean = wh.scalar("SELECT avg(sentiment_score) FROM enrichment WHERE item_id IN ('f1', 'f2')")
    assert day.loc["web", "texts"] == 3 and day.loc["social", "texts"] == 1  # volumes count every text
    assert day.loc["web", "sentiment"] == pytest.approx(mean) and day.loc["web", "negative_share"] == 0.5
    assert pd.isna(day.loc["social", "sentiment"]) and pd.isna(day.loc["social", "negative_share"])


def test_an_enrichment_table_from_before_unscored_texts_is_upgraded(tmp_path):
    db = tmp_path / "old.duckdb"
    with open_warehouse(db) as wh:  # as a file written when every text had a score and a label
        wh.execute("DROP TABLE enrichment")
        wh.execute("CREATE TABLE enrichment (source_table VARCHAR NOT NULL, item_id VARCHAR NOT NULL, "
                   "customer_id VARCHAR, channel VARCHAR, touchpoint VARCHAR, occurred_at TIMESTAMP, "
                   "sentiment_score DOUBLE NOT NULL, sentiment_label VARCHAR NOT NULL, complaint BOOLEAN NOT NULL, "
                   "model VARCHAR NOT NULL, enriched_at TIMESTAMP NOT NULL)")
        wh.execute("INSERT INTO enrichment VALUES ('feedback', 'old', NULL, 'web', NULL, now(), 0.5, 'positive', "
                   "false, 'sentiment-old', now())")
        wh.execute("UPDATE patron_schema SET version = 1")
    with open_warehouse(db) as wh:
        assert wh.columns("enrichment")[-1] == "unscored"
        assert wh.scalar("SELECT max(version) FROM patron_schema") == SCHEMA_VERSION
        assert wh.rows("SELECT item_id, sentiment_label, unscored FROM enrichment") == [("old", "positive", None)]
        ingest_file(wh, write(tmp_path / "feedback.csv", FEEDBACK), "feedback")
        enrich(wh)
        assert wh.scalar("SELECT count(*) FILTER (unscored = 'language') FROM enrichment") == 2


def test_the_listening_summary_counts_unscored_texts(tmp_path):
    def patron(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", "from patron.cli.main import run; run()", *args], cwd=tmp_path,
                              capture_output=True, text=True, timeout=300, env=os.environ | {"COLUMNS": "160"})

    assert patron("init").returncode == 0
    config = tmp_path / "patron.yml"
    config.write_text(config.read_text().replace(
        "sources: {}", "sources:\n  widget:\n    path: feedback.csv\n    table: feedback\n"))
    write(tmp_path / "feedback.csv", FEEDBACK)
    assert patron("ingest").returncode == 0
    done = patron("listen", "enrich", "--format", "json")
    assert done.returncode == 0, done.stderr
    (feedback,) = json.loads(done.stdout)["tables"]
    assert (feedback["items"], feedback["unscored"], feedback["negative"]) == (4, 2, 1)
    table = patron("listen", "enrich")  # nothing new to score; the table still shows what was
    assert table.returncode == 0 and "unscored" in table.stdout
