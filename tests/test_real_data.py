"""Real public files through a patron.yml mapping: formats, dates and gaps as they come."""

from __future__ import annotations

from pathlib import Path

import pytest

from patron.config import parse_project
from patron.ingest import ingest_sources
from patron.warehouse import open_warehouse

COMPLAINT_COLUMNS = {"feedback_id": "Complaint ID", "received_at": "Date received",
                     "text": "Consumer complaint narrative", "author": "Company", "channel": "Submitted via"}


def test_real_complaints_tweets_and_reviews_load_through_a_mapping(datasets: Path, tmp_path: Path):
    cfg = parse_project({
        "sources": {
            "cfpb_2015_2020": {
                "path": str(datasets / "cfpb_complaints" / "cfpb_complaints_sample_2015_2020.csv"),
                "table": "feedback",
                "columns": COMPLAINT_COLUMNS,
                "filter": '"Consumer complaint narrative" IS NOT NULL',  # feedback is what people wrote
                "date_format": "%Y/%m/%d",
                "values": {"channel": {"Web": "web", "Phone": "call", "Referral": "referral",
                                       "Postal mail": "mail", "Fax": "fax", "Email": "email"}},
            },
            "cfpb_payday_2023": {
                "path": str(datasets / "cfpb_complaints" / "cfpb_complaints_payday_loans_2023_with_narratives.csv"),
                "table": "feedback",
                "columns": COMPLAINT_COLUMNS,
                "date_format": "%m/%d/%y",
            },
            "spotify_tweets": {
                "path": str(datasets / "twitter_customer_support" / "spotifycares_inbound_requests.csv"),
                "table": "feedback",
                "columns": {"feedback_id": "tweet_id", "author": "author_id", "received_at": "created_at"},
                "date_format": "%a %b %d %H:%M:%S %z %Y",
                "constants": {"channel": "social"},
            },
            "clothing_reviews": {
                "path": str(datasets / "womens_clothing_reviews" / "womens_clothing_ecommerce_reviews.csv.gz"),
                "table": "feedback",
                "columns": {"feedback_id": "column00", "text": "Review Text", "rating": "Rating"},
                "constants": {"channel": "review", "received_at": "2018-02-03"},
            },
        }
    }, root=tmp_path)
    with open_warehouse(tmp_path / "w.duckdb") as wh:
        result = ingest_sources(wh, cfg)
        by = {f.source: f for f in result.files}
        assert all(f.adds_up() for f in result.files) and not result.refused
        # the dataset READMEs give these counts
        assert (by["cfpb_2015_2020"].read, by["cfpb_2015_2020"].filtered, by["cfpb_2015_2020"].loaded) == (
            6623, 6623 - 1532, 1532)
        assert by["cfpb_payday_2023"].read == 2827 and by["cfpb_payday_2023"].loaded == 2827
        assert by["spotify_tweets"].read == 15096 and by["spotify_tweets"].loaded == 15096
        assert by["clothing_reviews"].read == 23486 and by["clothing_reviews"].loaded == 23486 - 845
        assert not wh.scalar("SELECT count(*) FROM quarantine WHERE source = 'cfpb_2015_2020'")
        assert wh.rows(
            "SELECT min(received_at)::DATE::VARCHAR, max(received_at)::DATE::VARCHAR FROM feedback "
            "WHERE source = 'cfpb_payday_2023'") == [("2023-01-01", "2023-08-24")]
        assert wh.scalar(
            "SELECT count(*) FROM feedback WHERE source = 'spotify_tweets' "
            "AND year(received_at) BETWEEN 2013 AND 2017") == 15096
        assert wh.rows("SELECT rating, count(*) FROM feedback WHERE source = 'clothing_reviews' "
                       "GROUP BY 1 ORDER BY 1")[0][0] == 1
        again = ingest_sources(wh, cfg)
        assert again.total("loaded") == 0
        assert again.total("already_loaded") == result.total("loaded")


def test_a_real_source_that_rejects_most_rows_is_not_loaded_and_says_why(datasets: Path, tmp_path: Path):
    """Complaints mapped as feedback without a filter: 77% have no narrative (the text)."""
    complaints = {"path": str(datasets / "cfpb_complaints" / "cfpb_complaints_sample_2015_2020.csv"),
                  "table": "feedback", "columns": COMPLAINT_COLUMNS, "date_format": "%Y/%m/%d"}
    tweets = {"path": str(datasets / "twitter_customer_support" / "spotifycares_inbound_requests.csv"),
              "table": "feedback", "columns": {"feedback_id": "tweet_id", "received_at": "created_at"},
              "date_format": "%a %b %d %H:%M:%S %z %Y", "constants": {"channel": "social"}}
    cfg = parse_project({"sources": {"complaints": complaints, "tweets": tweets}}, root=tmp_path)
    with open_warehouse(tmp_path / "w.duckdb") as wh:
        result = ingest_sources(wh, cfg)
        (refusal,) = result.refused
        assert (refusal.source, refusal.rows, refusal.rejected) == ("complaints", 6623, 6623 - 1532)
        assert refusal.reasons[0] == ("text: required value is missing", 6623 - 1532)
        assert "77%; at most 50% may be rejected" in refusal.message()
        # nothing of the refused source, all of the other
        assert wh.rows("SELECT source, count(*) FROM feedback GROUP BY 1") == [("tweets", 15096)]
        assert not wh.scalar("SELECT count(*) FROM quarantine WHERE source = 'complaints'")
        assert not wh.scalar("SELECT count(*) FROM loads WHERE source = 'complaints'")


@pytest.mark.parametrize("encoding", ["utf-16", "latin-1"])
def test_other_encodings_load_when_declared(tmp_path: Path, encoding: str):
    (tmp_path / "c.csv").write_text("customer_ref,name\nA,Café Zürich\n", encoding=encoding)
    cfg = parse_project({"sources": {"s": {"path": "c.csv", "table": "customers", "encoding": encoding}}},
                        root=tmp_path)
    with open_warehouse(tmp_path / "w.duckdb") as wh:
        assert ingest_sources(wh, cfg).files[0].loaded == 1
        assert wh.scalar("SELECT name FROM customers") == "Café Zürich"
