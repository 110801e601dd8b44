"""The feedback API as a client sees it: keys, validation, nothing acknowledged is lost, retries,
and the warehouse free for other commands while it runs."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager

import httpx
import pytest
from fastapi.testclient import TestClient

from patron.api.app import create_app
from patron.api.keys import create_key, list_keys, revoke_key
from patron.errors import PatronError
from patron.warehouse import open_warehouse


class Service:
    def __init__(self, client: TestClient, auth: dict, db) -> None:
        self.client, self.auth, self.db = client, auth, db

    def post(self, body, **kw):
        return self.client.post("/api/feedback", json=body, headers=kw.pop("headers", self.auth), **kw)

    def settled(self):
        """The warehouse, opened as another command would, once the service loaded what it acknowledged."""
        assert self.client.app.state.loader.flush()
        return open_warehouse(self.db)


@pytest.fixture
def api(tmp_path):
    with open_warehouse(tmp_path / "w.duckdb") as wh:
        key = create_key(wh, "web-widget")
    with TestClient(create_app(tmp_path / "w.duckdb")) as client:  # runs the service's start and stop
        yield Service(client, {"Authorization": f"Bearer {key}"}, tmp_path / "w.duckdb")


ITEM = {"feedback_id": "f1", "channel": "web", "text": "The export keeps failing", "rating": 2,
        "received_at": "2026-06-01T09:30:00+02:00"}


def test_no_key_or_a_wrong_one_is_refused(api):
    assert api.post(ITEM, headers={}).status_code == 401
    wrong = api.post(ITEM, headers={"X-API-Key": "ptr_not-a-key"})
    assert wrong.status_code == 401 and "patron keys create" in wrong.json()["detail"]
    with api.settled() as wh:
        assert wh.scalar("SELECT count(*) FROM feedback") == 0


def test_an_item_is_stored_with_its_lineage(api):
    r = api.post(ITEM)
    assert r.status_code == 200 and r.json()["ids"] == ["f1"]
    with api.settled() as wh:
        row = wh.rows("SELECT channel, text, rating, received_at, source, source_key FROM feedback")[0]
        assert row[:3] == ("web", "The export keeps failing", 2)
        assert str(row[3]) == "2026-06-01 07:30:00"  # stored in UTC
        assert row[4:] == ("api", "f1")
        assert wh.rows("SELECT file, rows_read, rows_loaded FROM loads")[0] == ("api:web-widget", 1, 1)
    x_key = api.post(ITEM | {"feedback_id": "f2"}, headers={"X-API-Key": api.auth["Authorization"][7:]})
    assert x_key.status_code == 200


def test_a_bad_item_is_named_and_the_rest_of_the_batch_is_kept(api):
    batch = [ITEM, {"channel": "web", "rating": 7}, {"channel": "social", "text": "love it", "colour": "red"},
             "not an object", {"channel": "web", "text": "from the future", "received_at": "2999-01-01T00:00:00"},
             {"channel": "email", "text": "no id, no date"}]
    r = api.post(batch)
    assert r.status_code == 422
    body = r.json()
    assert body["stored"] == 2 and body["rejected"] == 4
    named = {(e["index"], e["field"]) for e in body["errors"]}
    assert {(1, "text"), (1, "rating"), (2, "colour"), (3, "(item)"), (4, "received_at")} <= named
    with api.settled() as wh:
        assert wh.scalar("SELECT count(*) FROM feedback") == 2
        generated = wh.scalar("SELECT feedback_id FROM feedback WHERE channel = 'email'")
    assert generated.startswith("api-") and generated in body["ids"]


def test_a_retried_request_is_not_stored_twice(api):
    api.post([ITEM, ITEM | {"feedback_id": "f2"}])
    again = api.post([ITEM, ITEM | {"feedback_id": "f2"}, ITEM | {"feedback_id": "f3"}])
    assert again.status_code == 200
    assert (again.json()["stored"], sorted(again.json()["already_stored"])) == (1, ["f1", "f2"])
    with api.settled() as wh:
        assert wh.scalar("SELECT count(*) FROM feedback") == 3


def test_an_item_stored_before_the_service_started_is_not_stored_again(tmp_path):
    db = tmp_path / "w.duckdb"
    with open_warehouse(db) as wh:
        key = create_key(wh, "k")
    for _ in range(2):  # the same request to two runs of the service
        with TestClient(create_app(db)) as client:
            assert client.post("/api/feedback", json=ITEM, headers={"X-API-Key": key}).status_code == 200
    with open_warehouse(db) as wh:
        assert wh.scalar("SELECT count(*) FROM feedback") == 1
        assert wh.rows("SELECT rows_loaded, rows_already_loaded FROM loads ORDER BY load_id") == [(1, 0), (0, 1)]


@pytest.mark.parametrize("content, message", [(b"{not json", "not JSON"), (b"[]", "empty")])
def test_bodies_that_are_not_items_get_a_clear_422(api, content, message):
    r = api.client.post("/api/feedback", content=content, headers=api.auth | {"Content-Type": "application/json"})
    assert r.status_code == 422 and message in r.json()["detail"]


def test_keys_are_kept_as_hashes_and_can_be_revoked(tmp_path):
    with open_warehouse(tmp_path / "w.duckdb") as wh:
        key = create_key(wh, "survey-tool")
        assert key.startswith("ptr_") and len(key) > 40
        assert wh.scalar("SELECT count(*) FROM api_keys WHERE key_hash = ?", [key]) == 0  # never the key itself
        assert list_keys(wh)[0]["prefix"] == key[:8]
        with pytest.raises(PatronError, match="an active key named 'survey-tool' exists"):
            create_key(wh, "survey-tool")
        revoke_key(wh, "survey-tool")
    with TestClient(create_app(tmp_path / "w.duckdb")) as client:
        r = client.post("/api/feedback", json=ITEM, headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 401


def test_a_key_created_or_revoked_while_the_service_runs_counts_within_seconds(tmp_path):
    db = tmp_path / "w.duckdb"
    with open_warehouse(db) as wh:
        first = create_key(wh, "first")
    with TestClient(create_app(db)) as client:
        with open_warehouse(db) as wh:  # another command, while the service runs
            second = create_key(wh, "second")
            revoke_key(wh, "first")
        deadline = time.monotonic() + 60  # a pass or two; generous for a busy machine
        while time.monotonic() < deadline:
            old = client.post("/api/feedback", json=ITEM, headers={"X-API-Key": first}).status_code
            new = client.post("/api/feedback", json=ITEM | {"feedback_id": "f2"},
                              headers={"X-API-Key": second}).status_code
            if (old, new) == (401, 200):
                break
            time.sleep(0.1)
        assert (old, new) == (401, 200)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(db, port):
    return subprocess.Popen([sys.executable, "-c", "from patron.cli.main import run; run()", "serve", "--db", str(db),
                             "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=os.environ | {"COLUMNS": "200"})


def _wait(url):
    for _ in range(300):
        try:
            httpx.get(f"{url}/api/health", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not start")


@contextmanager
def _serving(tmp_path):
    """`patron serve` in a process of its own, killed with SIGKILL at the end (no orderly stop)."""
    db = tmp_path / "w.duckdb"
    with open_warehouse(db) as wh:
        key = create_key(wh, "load")
    port = _free_port()
    proc = _serve(db, port)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(url)
        yield db, url, key
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


def test_items_acknowledged_survive_the_process_being_killed(tmp_path):
    acknowledged = 0
    with _serving(tmp_path) as (db, url, key), httpx.Client(headers={"Authorization": f"Bearer {key}"}) as c:
        for b in range(20):
            batch = [{"feedback_id": f"k{b}-{i}", "channel": "web", "text": f"item {i}"} for i in range(50)]
            r = c.post(f"{url}/api/feedback", json=batch)
            assert r.status_code == 200, r.text
            acknowledged += r.json()["stored"]
    # killed at once: some items may be in the log only
    with TestClient(create_app(db)):  # the next start loads what the killed one acknowledged
        pass
    with open_warehouse(db) as wh:
        assert wh.scalar("SELECT count(*) FROM feedback") == acknowledged == 1000
        assert json.loads(json.dumps(wh.scalar("SELECT count(*) FROM loads"))) == 20


def test_requests_written_together_keep_their_own_answers_and_lineage(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from patron.ingest.intake_log import LogWriter, load_log

    with open_warehouse(tmp_path / "w.duckdb") as wh:
        writer = LogWriter(tmp_path / "log", "feedback")
        rows = lambda r: [{"feedback_id": f"r{r}-{i}" if i else "shared", "channel": "web", "text": "x"}  # noqa: E731
                          for i in range(3)]
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda r: writer.submit(rows(r), f"api:client{r}").result(), range(40)))
        writer.close()
        assert sum(len(r.stored) for r in results) == 40 * 2 + 1  # "shared" is stored once, for one request
        assert sum(len(r.duplicates) for r in results) == 39
        loaded = load_log(wh, tmp_path / "log", "feedback", "api")
        assert len({r.load_id for r in loaded}) == 40 and sum(len(r.stored) for r in loaded) == 81
        assert wh.scalar("SELECT count(*) FROM feedback") == 81
        per_load = dict(wh.rows("SELECT file, rows_loaded + rows_already_loaded FROM loads"))
        assert len(per_load) == 40 and set(per_load.values()) == {3}
        assert load_log(wh, tmp_path / "log", "feedback", "api") == []  # each line is loaded once


def test_the_log_is_loaded_once_whatever_the_crash_and_finished_segments_go(tmp_path):
    from patron.ingest import intake_log

    log = tmp_path / "log"
    with open_warehouse(tmp_path / "w.duckdb") as wh:
        writer = intake_log.LogWriter(log, "feedback")
        writer.submit([{"feedback_id": "a", "channel": "web", "text": "one"}], "api:k").result()
        writer.close()
        first = intake_log.segments(log)[0]
        with open(first, "ab") as f:
            f.write(b'{"origin":"api:k","rows":[{"feedback_id":"torn"')  # a write killed half-way, never acknowledged
        assert len(intake_log.load_log(wh, log, "feedback", "api")) == 1
        writer = intake_log.LogWriter(log, "feedback")  # the next run starts a segment of its own
        writer.submit([{"feedback_id": "b", "channel": "web", "text": "two", "received_at": "2026-05-01T10:00:00"}],
                      "api:k").result()
        writer.close()
        intake_log.load_log(wh, log, "feedback", "api")
        assert sorted(r[0] for r in wh.rows("SELECT feedback_id FROM feedback")) == ["a", "b"]
        assert str(wh.scalar("SELECT received_at FROM feedback WHERE feedback_id = 'b'")) == "2026-05-01 10:00:00"
        assert [s.name for s in intake_log.segments(log)] != [first.name] and not first.exists()
        with pytest.raises(PatronError, match="another `patron serve`"):
            held = intake_log.LogWriter(log, "feedback")
            intake_log.LogWriter(log, "feedback")
        held.close()


def test_stored_items_are_scored_shortly_after(api):
    api.post([ITEM, ITEM | {"feedback_id": "f2", "text": "Thanks, the fix works great!"}])
    with api.settled() as wh:
        labels = dict(wh.rows("SELECT item_id, sentiment_label FROM enrichment WHERE source_table = 'feedback'"))
    assert labels == {"f1": "negative", "f2": "positive"}


def test_items_that_arrive_join_the_stored_themes(tmp_path):
    from patron.listen.themes import discover

    db = tmp_path / "w.duckdb"
    with open_warehouse(db) as wh:
        key = create_key(wh, "t")
    seed = [{"feedback_id": f"s{i}", "channel": "web",
             "text": ["Refund the wrong invoice charge please", "The Slack integration drops messages",
                      "Dashboards load slowly every morning"][i % 3] + f" (case {i})"} for i in range(90)]
    with TestClient(create_app(db)) as client:
        client.post("/api/feedback", json=seed, headers={"Authorization": f"Bearer {key}"})
    with open_warehouse(db) as wh:
        discover(wh, k=3, taxonomy={"Sign-in": ["sso", "password"],
                                    "Billing": {"examples": ["they charged the wrong amount on our invoice"]}})
        wh.execute("DELETE FROM text_themes WHERE item_id IN ('s0', 's1')")  # as if the refit left them out
    with TestClient(create_app(db)) as client:
        client.post("/api/feedback", headers={"Authorization": f"Bearer {key}"}, json=[
            {"feedback_id": "n1", "channel": "web", "text": "Another wrong invoice, refund it"},
            {"feedback_id": "n2", "channel": "social", "text": "SSO password reset is broken"},
            {"feedback_id": "n3", "channel": "web", "text": "We love Slack"}])
    # the service loads, scores and assigns what arrived before it stops
    with open_warehouse(db) as wh:
        themes = dict(wh.rows("SELECT tt.item_id, t.name FROM text_themes AS tt JOIN themes AS t USING (theme_id) "
                              "WHERE tt.item_id IN ('n1', 'n2', 'n3', 's0', 's1')"))
    # by keyword, and by the terms your example named; one shared word is not enough; and what the
    # refit left out stays out until the next refit
    assert themes == {"n1": "Billing", "n2": "Sign-in"}


def test_other_commands_use_the_warehouse_while_the_service_runs(tmp_path):
    """A status and a key while `patron serve` takes items: nobody is locked out."""
    with _serving(tmp_path) as (db, url, key):
        with httpx.Client(headers={"Authorization": f"Bearer {key}"}) as c:
            assert c.post(f"{url}/api/feedback", json=ITEM).status_code == 200
        cli = [sys.executable, "-c", "from patron.cli.main import run; run()"]
        status = subprocess.run([*cli, "status", "--db", str(db), "--format", "json"], capture_output=True,
                                text=True, timeout=120)
        assert status.returncode == 0, status.stderr
        made = subprocess.run([*cli, "keys", "create", "second", "--db", str(db)], capture_output=True, text=True,
                              timeout=120)
        assert made.returncode == 0, made.stderr
        for _ in range(100):
            with open_warehouse(db) as wh:
                if wh.scalar("SELECT count(*) FROM feedback"):
                    break
            time.sleep(0.1)
        with open_warehouse(db) as wh:
            assert wh.scalar("SELECT count(*) FROM feedback") == 1

def test_limits_on_what_comes_in_are_answered_with_413_or_422_at_their_edge(api):
    from patron.api.app import MAX_BATCH, MAX_BODY
    from patron.api.models import MAX_FIELD, MAX_TEXT

    item = lambda i, **kw: {"feedback_id": f"L{i}", "channel": "web", "text": "ok"} | kw  # noqa: E731
    assert api.post([item(i) for i in range(MAX_BATCH)]).status_code == 200
    too_many = api.post([item(i) for i in range(MAX_BATCH + 1)])
    assert too_many.status_code == 413 and f"{MAX_BATCH:,}" in too_many.json()["detail"]
    huge = api.client.post("/api/feedback", content=b"[" + b" " * MAX_BODY + b"]",
                           headers=api.auth | {"Content-Type": "application/json"})
    assert huge.status_code == 413 and "MiB" in huge.json()["detail"]
    deep = api.client.post("/api/feedback", content=b"[" * 100_000 + b"]" * 100_000,
                           headers=api.auth | {"Content-Type": "application/json"})
    assert deep.status_code == 422 and "nested" in deep.json()["detail"]
    digits = api.client.post("/api/feedback", content=b'{"rating": ' + b"9" * 5000 + b"}",
                             headers=api.auth | {"Content-Type": "application/json"})
    assert digits.status_code == 422
    year_one = api.post(item("y1", received_at="0001-01-01T00:00:00+01:00"))
    assert year_one.status_code == 422 and "1900" in year_one.json()["errors"][0]["message"]
    r = api.post([item("t1", text="x" * MAX_TEXT), item("t2", text="x" * (MAX_TEXT + 1)),
                  item("x" * (MAX_FIELD + 1)), item("nul\x00id"), item("rlo\u202eid"),
                  item("old", received_at="1850-01-01T00:00:00"), item("zero", received_at="0001-01-01T00:00:00"),
                  item("clean", text="fine\x00 text\u202e here")])
    assert r.status_code == 422 and r.json()["stored"] == 2
    errors = {(e["index"], e["field"]): e["message"] for e in r.json()["errors"]}
    assert "at most 20,000" in errors[(1, "text")] and "at most 500" in errors[(2, "feedback_id")]
    assert "U+0000" in errors[(3, "feedback_id")] and "U+202E" in errors[(4, "feedback_id")]
    assert "before 1900" in errors[(5, "received_at")] and "before 1900" in errors[(6, "received_at")]
    with api.settled() as wh:
        assert wh.scalar("SELECT text FROM feedback WHERE feedback_id = 'Lclean'") == "fine text here"
        assert wh.scalar("SELECT length(text) FROM feedback WHERE feedback_id = 'Lt1'") == MAX_TEXT


def test_no_segment_is_lost_to_a_stray_file_or_a_clock_that_went_back(tmp_path):
    from patron.ingest import intake_log

    log = tmp_path / "log"
    log.mkdir()
    (log / "README.jsonl").write_text("not a segment\n")
    (log / f"{9 * 10**19:020d}-deadbeef.jsonl").write_bytes(b"")  # left by a run whose clock was ahead
    with open_warehouse(tmp_path / "w.duckdb") as wh:
        writer = intake_log.LogWriter(log, "feedback")
        writer.submit([{"feedback_id": "a", "channel": "web", "text": "one"}], "api:k").result()
        intake_log.load_log(wh, log, "feedback", "api")  # must not delete the segment being written
        writer.submit([{"feedback_id": "b", "channel": "web", "text": "two"}], "api:k").result()
        writer.close()
        intake_log.load_log(wh, log, "feedback", "api")
        assert sorted(r[0] for r in wh.rows("SELECT feedback_id FROM feedback")) == ["a", "b"]
        assert (log / "README.jsonl").exists()


def test_a_failed_write_is_undone_and_an_unreadable_line_is_quarantined_not_blocking(tmp_path, monkeypatch):
    from patron.ingest import intake_log

    log = tmp_path / "log"
    writer = intake_log.LogWriter(log, "feedback")
    real = intake_log.os.fsync
    calls = {"n": 0}

    def full_disk_once(fd):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError(28, "No space left on device")
        return real(fd)

    monkeypatch.setattr(intake_log.os, "fsync", full_disk_once)
    with pytest.raises(OSError):
        writer.submit([{"feedback_id": "a", "channel": "web", "text": "lost?"}], "api:k").result()
    monkeypatch.setattr(intake_log.os, "fsync", real)
    again = writer.submit([{"feedback_id": "a", "channel": "web", "text": "sent again"}], "api:k").result()
    assert again.stored == ["a"]  # the failed request was not remembered as stored
    writer.close()
    segment = intake_log.segments(log)[-1]
    with open(segment, "ab") as f:
        f.write(b"{broken json\n")
        f.write(b'{"origin":"api:k","rows":[{"feedback_id":"c","channel":"web","text":"after"}]}\n')
    with open_warehouse(tmp_path / "w.duckdb") as wh:
        intake_log.load_log(wh, log, "feedback", "api")
        assert sorted(r[0] for r in wh.rows("SELECT feedback_id, text FROM feedback")) == ["a", "c"]
        assert wh.scalar("SELECT text FROM feedback WHERE feedback_id = 'a'") == "sent again"
        assert wh.rows("SELECT record FROM quarantine WHERE reason LIKE '%intake log%'") == [("{broken json",)]


def test_a_revoked_key_is_refused_at_once_even_while_another_command_holds_the_warehouse(tmp_path):
    db = tmp_path / "w.duckdb"
    with open_warehouse(db) as wh:
        key = create_key(wh, "leaky")
    with TestClient(create_app(db)) as client:
        assert client.post("/api/feedback", json=ITEM, headers={"X-API-Key": key}).status_code == 200
        with open_warehouse(db) as wh:  # held: the service's loader cannot get in meanwhile
            revoke_key(wh, "leaky")
            refused = client.post("/api/feedback", json=ITEM | {"feedback_id": "f9"}, headers={"X-API-Key": key})
            assert refused.status_code == 401
    assert (db.parent / "w.duckdb.intake" / "keys.json").stat().st_mode & 0o077 == 0


def test_a_loader_that_died_is_started_again_and_loads_what_waited(api):
    loader = api.client.app.state.loader
    loader._proc.kill()
    loader._proc.join()
    assert api.post(ITEM).status_code == 200  # still acknowledged: it is in the log
    with api.settled() as wh:
        assert wh.scalar("SELECT count(*) FROM feedback") == 1


def test_an_id_another_source_uses_is_another_item_and_is_stored(tmp_path):
    from patron.ingest.intake import Request, store_requests

    with open_warehouse(tmp_path / "w.duckdb") as wh:
        store_requests(wh, "feedback", [Request([{"feedback_id": "fb_1", "channel": "web", "text": "file"}], "x")],
                       "feedback_web")
        (result,) = store_requests(wh, "feedback", [Request([{"feedback_id": "fb_1", "channel": "web",
                                                                "text": "from the API"}], "api:k")], "api")
        assert result.stored == ["fb_1"]
        assert wh.rows("SELECT source, text FROM feedback ORDER BY source") == [("api", "from the API"),
                                                                                ("feedback_web", "file")]


def test_no_docs_page_by_default_health_says_ok_only_and_cors_lets_only_the_listed_origins(tmp_path):
    db = tmp_path / "w.duckdb"
    with open_warehouse(db):
        pass
    with TestClient(create_app(db)) as client:
        assert [client.get(p).status_code for p in ("/api/docs", "/redoc", "/api/openapi.json")] == [404] * 3
        assert client.get("/api/health").json() == {"status": "ok"}
    widget = "https://www.example.com"
    with TestClient(create_app(db, cors_origins=[widget], openapi=True)) as client:
        asked = {"Origin": widget, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization,content-type"}
        assert client.options("/api/feedback", headers=asked).headers["access-control-allow-origin"] == widget
        other = client.options("/api/feedback", headers=asked | {"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
        assert client.get("/api/openapi.json").status_code == 200


def test_cors_origins_in_patron_yml_are_checked():
    from patron.config import ApiSettings
    from patron.errors import ConfigError  # noqa: F401 (the loader turns this into a ConfigError)

    assert ApiSettings(cors_origins=["https://www.example.com", "http://localhost:8080"]).cors_origins
    for bad in ("*", "https://example.com/path", "javascript:alert(1)"):
        with pytest.raises(ValueError, match="not an origin"):
            ApiSettings(cors_origins=[bad])


def test_a_key_that_floods_is_answered_429_with_the_seconds_to_wait(tmp_path):
    db = tmp_path / "w.duckdb"
    with open_warehouse(db) as wh:
        flood, other = create_key(wh, "flood"), create_key(wh, "other")
    with TestClient(create_app(db, requests_per_second=2, items_per_minute=1_000)) as client:
        codes = [client.post("/api/feedback", json=ITEM | {"feedback_id": f"r{i}"},
                             headers={"X-API-Key": flood}).status_code for i in range(6)]
        assert codes[:4] == [200] * 4 and 429 in codes[4:]  # a burst of twice the rate, then no more
        refused = client.post("/api/feedback", json=ITEM, headers={"X-API-Key": flood})
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        assert "'flood'" in refused.json()["detail"]
        batch = [ITEM | {"feedback_id": f"b{i}"} for i in range(1_000)]
        assert client.post("/api/feedback", json=batch, headers={"X-API-Key": other}).status_code == 200
        again = client.post("/api/feedback", json=batch[:10], headers={"X-API-Key": other})
        assert again.status_code == 429 and "1,000 items a minute" in again.json()["detail"]  # other keys' own budget


def test_a_folder_the_service_cannot_write_is_a_clear_error(tmp_path):
    from patron.ingest.intake_log import FolderLock

    blocked = tmp_path / "w.duckdb.intake"
    blocked.write_text("a file where the folder should be")
    with pytest.raises(PatronError, match="cannot keep the API's intake log here"):
        FolderLock(blocked)


def test_the_docs_page_is_patrons_own_with_no_script_and_lists_every_field_and_limit(tmp_path):
    db = tmp_path / "w.duckdb"
    with open_warehouse(db):
        pass
    with TestClient(create_app(db, docs=True)) as client:
        page = client.get("/api/docs")
        assert page.status_code == 200 and "script-src" not in page.headers["content-security-policy"]
        assert "default-src 'none'" in page.headers["content-security-policy"]
        html = page.text
        assert "<script" not in html and "http://" not in html.replace("http://127.0.0.1:8000", "")
        assert "https://" not in html
        for field in ("feedback_id", "channel", "text", "rating", "received_at"):
            assert f"<code>{field}</code>" in html
        assert "at most 5" in html and "1,000 items a request" in html and "<code>429</code>" in html
        assert client.get("/api/openapi.json").status_code == 404  # the schema stays behind its own setting


def test_the_api_refuses_dates_past_the_projects_future_tolerance_as_file_loads_do(tmp_path):
    from datetime import UTC, datetime, timedelta

    db = tmp_path / "w.duckdb"
    with open_warehouse(db) as wh:
        key = create_key(wh, "web")
    soon = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%S")
    item = ITEM | {"received_at": soon}
    with TestClient(create_app(db)) as client:
        answer = client.post("/api/feedback", json=item, headers={"X-API-Key": key})
        assert answer.status_code == 422
        assert answer.json()["errors"][0]["message"] == "in the future (more than 1 day ahead)"
    with TestClient(create_app(db, future_tolerance_days=7)) as client:
        assert client.post("/api/feedback", json=item, headers={"X-API-Key": key}).status_code == 200


def test_an_item_with_a_flood_of_unknown_fields_is_refused_at_once_with_a_small_answer(api):
    flood = {f"k{i}": 0 for i in range(200_000)} | {"channel": "web", "text": "hi"}
    answer = api.post(flood)
    assert answer.status_code == 422 and len(answer.content) < 2_000
    assert "200,000 unknown fields" in answer.json()["errors"][0]["message"]
    many = [{"channel": "web", "text": "x", "rating": 9, "received_at": "soon", "feedback_id": "\u202e"}] * 1_000
    answer = api.post(many)
    assert answer.status_code == 422 and len(answer.json()["errors"]) == 1_001  # the first 1,000 and a count


def test_hidden_characters_true_as_a_rating_and_odd_key_names_are_refused(api, tmp_path):
    for bad in ("fb\U000e0041x", "fb\u2028x"):
        answer = api.post(ITEM | {"feedback_id": bad})
        assert answer.status_code == 422 and "invisible" in answer.json()["errors"][0]["message"]
    answer = api.post(ITEM | {"rating": True})
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "rating"
    from patron.errors import PatronError

    with open_warehouse(tmp_path / "k.duckdb") as wh, pytest.raises(PatronError, match="is not a key name"):
        create_key(wh, "cli\x1b]0;T\x07")


def test_a_patron_error_while_storing_is_one_json_answer_not_a_500(api, monkeypatch):
    from patron.errors import PatronError

    def fail(*_a, **_k):
        raise PatronError("intake folder w.duckdb.intake: cannot be written (disk full)")

    monkeypatch.setattr(api.client.app.state.writer, "submit", fail)
    answer = api.post(ITEM)
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "30"
    assert answer.json() == {"detail": "intake folder w.duckdb.intake: cannot be written (disk full)"}
