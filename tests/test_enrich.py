"""Enrichment of every text on the demo company: complete, incremental, and close to the planted truth."""

from __future__ import annotations

import shutil

import pandas as pd
from sklearn.metrics import f1_score

from patron.project import Project


def test_every_text_is_scored_once_and_agrees_with_the_planted_sentiment(demo_loaded, demo_dir, tmp_path):
    config, db, _ = demo_loaded
    copy = tmp_path / "w.duckdb"
    shutil.copy(db, copy)
    with Project.open(config, copy, require_config=True) as project:
        first = project.enrich()
        wh = project.warehouse
        texts = wh.scalar(
            "SELECT (SELECT count(*) FROM responses WHERE trim(coalesce(comment, '')) <> '') "
            "+ (SELECT count(*) FROM tickets WHERE coalesce(subject, body) IS NOT NULL) "
            "+ (SELECT count(*) FROM feedback)")
        assert first.items == texts == wh.scalar("SELECT count(*) FROM enrichment")
        assert project.enrich().items == 0  # a second run has nothing new to score
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
        project.enrich()
        df = ranking(project.warehouse, project.catalog())
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
        project.enrich()
        project.themes()
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
