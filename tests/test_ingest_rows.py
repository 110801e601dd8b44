"""Row-level validation: every kind of bad row is quarantined with its reason; counts add up."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from conftest import write
from patron.config import parse_project
from patron.ingest import ingest_file, ingest_sources
from patron.warehouse import open_warehouse

FUTURE = (date.today() + timedelta(days=30)).isoformat()
SOON = (date.today() + timedelta(days=1)).isoformat()


@pytest.fixture
def wh(tmp_path: Path):
    w = open_warehouse(tmp_path / "w.duckdb")
    yield w
    w.close()


def problems(wh, source: str | None = None) -> set[tuple[int, str, str]]:
    rows = wh.rows("SELECT row_number, field, reason FROM quarantine WHERE ? IS NULL OR source = ?", [source, source])
    return {(r, f, reason) for r, f, reason in rows}


def test_each_kind_of_bad_response_row_is_quarantined_with_its_reason(wh, tmp_path):
    f = write(tmp_path / "responses.csv", (
        "response_id,customer_ref,contact_email,survey,score,submitted_at,touchpoint,comment\n"
        "r1,A1,a@x.com,nps,9,2024-05-01T10:00:00Z,support,great\n"  # good
        "r2,A1,a@x.com,nps,11,2024-05-02,support,\n"  # nps out of range
        "r3,A2,not-an-email,csat,3,2024-05-03,onboarding,ok\n"  # bad email
        "r4,,,ces,4,2024-05-04,,\n"  # neither customer_ref nor email
        "r5,A3,c@x.com,nps,x,yesterday,,\n"  # two problems in one row
        "r1,A1,a@x.com,nps,9,2024-05-01T10:00:00Z,support,again\n"  # duplicate key
        f"r6,A4,d@x.com,nps,7,{FUTURE},support,future\n"  # too far in the future
        "r7,A5,e@x.com,poll,3,2024-05-03,,\n"  # unknown survey
        "r8,A6,f@x.com,csat,0,2024-05-03,,\n"  # csat below 1
        "r9,A6,f@x.com,ces,8,1850-01-01,,\n"  # ces above 7, implausible date
        ",A7,g@x.com,nps,5,2024-05-05,,\n"  # missing key
        "r10,A8,h@x.com,nps,7.5,2024-05-05,,\n"  # not a whole number
        f"r11,A9,i@x.com,NPS,10,{SOON},product,Loved it\n"  # good: case, tolerance
    ))
    result = ingest_file(wh, f, "responses")
    load = result.files[0]
    assert (load.read, load.loaded, load.quarantined, load.already_loaded) == (13, 2, 11, 0)
    assert problems(wh) == {
        (2, "score", "nps score must be 0-10"),
        (3, "contact_email", "not an email address"),
        (4, "customer_ref", "needs at least one of: customer_ref, contact_email"),
        (5, "score", "not a whole number"),
        (5, "submitted_at", "not a date and time (ISO 8601 expected, e.g. 2024-03-31)"),
        (6, "response_id", "duplicate key (response_id = r1) already on row 1"),
        (7, "submitted_at", "in the future (more than 1 day ahead)"),
        (8, "survey", "must be one of: nps, csat, ces"),
        (9, "score", "csat score must be 1-5"),
        (10, "score", "ces score must be 1-7"),
        (10, "submitted_at", "implausible date (before 1900)"),
        (11, "response_id", "required value is missing"),
        (12, "score", "not a whole number"),
    }
    assert wh.rows("SELECT response_id, survey, score, submitted_at FROM responses ORDER BY 1") == [
        ("r1", "nps", 9, __import__("datetime").datetime(2024, 5, 1, 10, 0)),
        ("r11", "nps", 10, __import__("datetime").datetime.fromisoformat(SOON)),
    ]
    # the whole raw record is kept, so nothing is lost
    record = wh.scalar("SELECT record FROM quarantine WHERE row_number = 3")
    assert '"contact_email":"not-an-email"' in record and '"comment":"ok"' in record


def test_time_zones_are_converted_to_utc(wh, tmp_path):
    f = write(tmp_path / "f.csv", (
        "feedback_id,channel,received_at,text\n"
        "1,web,2024-03-01T10:00:00+02:00,hello\n"
        "2,web,2024-03-01 10:00:00,naive is utc\n"
    ))
    ingest_file(wh, f, "feedback")
    got = [str(r[0]) for r in wh.rows("SELECT received_at FROM feedback ORDER BY feedback_id")]
    assert got == ["2024-03-01 08:00:00", "2024-03-01 10:00:00"]


def test_order_checks_and_negative_money(wh, tmp_path):
    f = write(tmp_path / "subs.csv", (
        "subscription_id,customer_ref,plan,mrr,start_date,end_date,term_months\n"
        "s1,A,pro,100,2024-01-01,2024-06-01,12\n"
        "s2,A,pro,-5,2024-01-01,,12\n"
        "s3,A,pro,100,2024-05-01,2024-04-01,12\n"
        "s4,A,pro,100,2024-05-01,,0\n"
        "s5,A,pro,1e2,2024-05-01,,1\n"
    ))
    load = ingest_file(wh, f, "subscriptions").files[0]
    assert (load.loaded, load.quarantined) == (2, 3)
    assert problems(wh) == {
        (2, "mrr", "must be at least 0"),
        (3, "end_date", "before start_date"),
        (4, "term_months", "must be at least 1"),
    }


def test_infinity_nan_and_absurd_sizes_are_quarantined_naming_what_is_wrong(wh, tmp_path):
    """inf, NaN and 1e300 read as numbers, and would make "ARR at stake $inf" and invalid JSON:
    each is quarantined with the one reason that fits it, the bound named."""
    from patron.model import NOT_FINITE

    money, other = "too large (beyond ±1,000,000,000,000)", "too large (beyond ±1,000,000,000,000,000)"
    orders = write(tmp_path / "orders.csv", (
        "order_id,customer_ref,ordered_at,amount\n"
        "o1,A,2024-05-01,100.5\n"  # good
        "o2,A,2024-05-01,inf\n"
        "o3,A,2024-05-01,-Infinity\n"
        "o4,A,2024-05-01,NaN\n"
        "o5,A,2024-05-01,nan\n"
        "o6,A,2024-05-01,1e300\n"
        "o7,A,2024-05-01,-2e12\n"
        "o8,A,2024-05-01,999999999999\n"  # good: within the bound
        "o9,A,2024-05-01,1e999\n"  # past what a double holds: infinity
        "o10,A,2024-05-01,-12.5\n"  # good: a credit
    ))
    load = ingest_file(wh, orders, "orders").files[0]
    assert (load.read, load.loaded, load.quarantined) == (10, 3, 7) and load.adds_up()
    assert problems(wh) == {(2, "amount", NOT_FINITE), (3, "amount", NOT_FINITE), (4, "amount", NOT_FINITE),
                            (5, "amount", NOT_FINITE), (6, "amount", money), (7, "amount", money),
                            (9, "amount", NOT_FINITE)}
    assert sorted(r[0] for r in wh.rows("SELECT amount FROM orders")) == [-12.5, 100.5, 999999999999]
    # whole numbers too: a score of infinity is not "not a whole number" but what it is
    responses = write(tmp_path / "responses.csv", (
        "response_id,customer_ref,survey,score,submitted_at\n"
        "r1,A,nps,9,2024-05-01\n"  # good
        "r2,A,nps,Infinity,2024-05-01\n"
        "r3,A,csat,NaN,2024-05-01\n"
        "r4,A,nps,1e300,2024-05-01\n"
        "r5,A,nps,7.5,2024-05-01\n"
        "r6,A,nps,abc,2024-05-01\n"
    ))
    load = ingest_file(wh, responses, "responses").files[0]
    assert (load.loaded, load.quarantined) == (1, 5)
    assert problems(wh, "file:responses.csv") == {
        (2, "score", NOT_FINITE), (3, "score", NOT_FINITE), (4, "score", other),
        (5, "score", "not a whole number"), (6, "score", "not a whole number")}
    usage = write(tmp_path / "usage.csv", "customer_ref,day,feature,events\nA,2024-05-01,x,3\nA,2024-05-02,x,2e15\n")
    ingest_file(wh, usage, "usage")
    assert problems(wh, "file:usage.csv") == {(2, "events", other)}
    # money that must be at least 0: -inf is not finite, and only that
    subs = write(tmp_path / "subs.csv", "subscription_id,customer_ref,mrr,start_date\ns1,A,-inf,2024-05-01\n"
                                        "s2,A,-1,2024-05-01\n")
    ingest_file(wh, subs, "subscriptions")
    assert problems(wh, "file:subs.csv") == {(1, "mrr", NOT_FINITE), (2, "mrr", "must be at least 0")}


def test_unreadable_csv_lines_are_quarantined_with_their_line(wh, tmp_path):
    good = "".join(f"f{i},web,2024-01-01,text {i}\n" for i in range(40))
    f = write(tmp_path / "f.csv", "feedback_id,channel,received_at,text\n" + good
              + "bad,web,2024-01-01,too,many,columns\n" + "short,web\n")
    load = ingest_file(wh, f, "feedback").files[0]
    assert (load.read, load.loaded, load.quarantined) == (42, 40, 2)
    lines = wh.rows("SELECT row_number, reason FROM quarantine ORDER BY row_number")
    assert [r[0] for r in lines] == [42, 43]
    assert all(r[1].startswith(f"line {n}: unreadable line") for n, r in zip((42, 43), lines, strict=True))


def test_loading_the_same_file_again_adds_nothing(wh, tmp_path):
    f = write(tmp_path / "c.csv", "customer_ref,name\nA,Acme\nB,Beta\nB,Beta again\n,No id\n")
    first = ingest_file(wh, f, "customers").files[0]
    q_before = wh.scalar("SELECT count(*) FROM quarantine")
    second = ingest_file(wh, f, "customers").files[0]
    assert (first.loaded, first.quarantined) == (2, 2)
    assert (second.read, second.loaded, second.already_loaded, second.quarantined) == (4, 0, 2, 2)
    assert second.new_in_quarantine == 0
    assert wh.scalar("SELECT count(*) FROM customers") == 2
    assert wh.scalar("SELECT count(*) FROM quarantine") == q_before


def test_a_changed_row_replaces_the_old_one(wh, tmp_path):
    ingest_file(wh, write(tmp_path / "a.csv", "customer_ref,name,segment\nA,Acme,smb\nB,Beta,smb\n"), "customers",
                source="crm")
    again = ingest_file(wh, write(tmp_path / "b.csv", "customer_ref,name,segment\nA,Acme,enterprise\nB,Beta,smb\n"),
                        "customers", source="crm").files[0]
    assert (again.loaded, again.updated, again.already_loaded) == (1, 1, 1)
    assert wh.rows("SELECT customer_ref, segment FROM customers ORDER BY 1") == [("A", "enterprise"), ("B", "smb")]


def test_mapping_renames_formats_values_and_constants(wh, tmp_path):
    write(tmp_path / "survey.csv", (
        "Id;Kind;Value;When;Who;Acct\n"
        "1;NPS;9;31/12/2023 14:05;X@Example.COM;A1\n"
        "2;Csat;4;01/02/2024 09:00;y@example.com;A2\n"
        "3;NPS;3;2024-02-03T10:00:00;z@example.com;A3\n"  # ISO still accepted
        "4;NPS;3;13/13/2024 10:00;z@example.com;A3\n"  # no such date
    ))
    cfg = parse_project({
        "sources": {"survey": {
            "path": "survey.csv", "table": "responses", "customer_ref": "Acct", "delimiter": ";",
            "columns": {"response_id": "Id", "survey": "Kind", "score": "Value", "submitted_at": "When",
                        "contact_email": "Who"},
            "date_format": "%d/%m/%Y %H:%M", "values": {"survey": {"Csat": "csat"}},
            "constants": {"channel": "email"},
        }},
    }, root=tmp_path)
    load = ingest_sources(wh, cfg).files[0]
    assert (load.loaded, load.quarantined) == (3, 1)
    assert wh.rows(
        "SELECT response_id, survey, customer_ref, contact_email, channel, strftime(submitted_at, '%Y-%m-%d %H:%M') "
        "FROM responses ORDER BY 1") == [
        ("1", "nps", "A1", "x@example.com", "email", "2023-12-31 14:05"),
        ("2", "csat", "A2", "y@example.com", "email", "2024-02-01 09:00"),
        ("3", "nps", "A3", "z@example.com", "email", "2024-02-03 10:00"),
    ]
    assert problems(wh) == {(4, "submitted_at", "not a date and time in format %d/%m/%Y %H:%M or ISO 8601")}
    lineage = wh.rows("SELECT r.source, r.source_key, l.file, r.source_row FROM responses r "
                      "JOIN loads l USING (load_id) WHERE response_id = '2'")
    assert lineage == [("survey", "2", "survey.csv", 2)]


def test_progress_is_reported_for_each_file_and_step(wh, tmp_path):
    f = write(tmp_path / "c.csv", "customer_ref,name\n" + "".join(f"C{i},Name {i}\n" for i in range(2000)))
    seen: list[tuple[str, str]] = []
    ingest_file(wh, f, "customers", progress=lambda file, step, pct: seen.append((file, step)))
    steps = [s for _, s in seen]
    assert steps[0] == "read" and steps[-1] == "done"
    assert {"read", "check", "load", "done"} <= set(steps)
    assert {file for file, _ in seen} == {str(f)}


def test_domains_are_cut_down_to_the_host(wh, tmp_path):
    f = write(tmp_path / "c.csv", "customer_ref,name,domain\nA,Acme,https://www.Acme.com/about\nB,Beta,beta.io\nC,C,\n")
    ingest_file(wh, f, "customers")
    assert wh.rows("SELECT domain FROM customers ORDER BY customer_ref") == [("acme.com",), ("beta.io",), (None,)]
