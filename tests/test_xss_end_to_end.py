"""Hostile text through every way in (the API, a feedback file, ticket subjects and bodies, customer
names, quarantined values), through scoring, themes and spikes, comes out of the briefing as text."""

from __future__ import annotations

import csv
from datetime import date, timedelta

from fastapi.testclient import TestClient

from patron.api.app import create_app
from patron.api.keys import create_key
from patron.project import Project
from patron.report import build, render_html
from patron.warehouse import open_warehouse

PAYLOADS = ["<script>alert(1)</script>", "<img src=x onerror=alert(document.domain)>",
            "\"><svg onload=alert(2)>", "<a href=javascript:alert(3)>click</a>"]
WORDS = ["invoice wrong refund", "export fails csv", "login sso broken", "dashboard slow loading"]


def _write(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def test_hostile_text_from_every_input_reaches_the_briefing_only_as_text(tmp_path):
    today = date(2026, 6, 30)
    days = [today - timedelta(days=d) for d in range(60)]
    text = lambda i: f"{WORDS[i % 4]} {PAYLOADS[i % len(PAYLOADS)]} case {i}"  # noqa: E731
    feedback = _write(tmp_path / "feedback.csv", [
        {"feedback_id": f"f{i}", "channel": "web", "received_at": f"{days[i % 60]}T10:00:00", "text": text(i),
         "author": PAYLOADS[i % len(PAYLOADS)]} for i in range(240)] + [
        {"feedback_id": "bad", "channel": PAYLOADS[0], "received_at": "not a date", "text": PAYLOADS[1], "author": ""}])
    tickets = _write(tmp_path / "tickets.csv", [
        {"ticket_id": f"t{i}", "customer_ref": "c1", "opened_at": f"{days[i % 60]}T09:00:00", "channel": "email",
         "subject": PAYLOADS[i % len(PAYLOADS)], "body": text(i + 1)} for i in range(120)])
    customers = _write(tmp_path / "customers.csv",
                       [{"customer_ref": "c1", "name": PAYLOADS[0], "segment": PAYLOADS[2]}])
    db = tmp_path / "w.duckdb"
    with Project.open(None, db) as project:
        for file, table in ((feedback, "feedback"), (tickets, "tickets"), (customers, "customers")):
            project.ingest.file(file, table)
        key = create_key(project.warehouse, "widget")
    with TestClient(create_app(db)) as client:
        r = client.post("/api/feedback", headers={"X-API-Key": key}, json=[
            {"feedback_id": f"a{i}", "channel": "social", "text": text(i), "author": PAYLOADS[i % len(PAYLOADS)],
             "received_at": f"{days[i % 60]}T12:00:00"} for i in range(80)])
        assert r.status_code == 200
    with Project.open(None, db) as project:
        project.listen.enrich()
        project.listen.themes()
        html = render_html(build(project.warehouse))
    with open_warehouse(db) as wh:  # the payloads did get in, as data
        assert wh.scalar("SELECT count(*) FROM feedback WHERE text LIKE '%<script>%'") > 0
    assert "What customers write about" in html and "rows still rejected" in html  # themes and quarantine shown
    for payload in PAYLOADS:
        assert payload not in html
    assert "&lt;script&gt;" in html or "&lt;img" in html  # shown, escaped
