"""`patron run`: every stage in its order, each only when it has work."""

from __future__ import annotations

import json
import subprocess

from conftest import PATRON


def _run(cwd) -> tuple[int, dict]:
    r = subprocess.run([*PATRON, "run", "--format", "json"], cwd=cwd, capture_output=True, text=True, timeout=600)
    return r.returncode, json.loads(r.stdout)


def test_run_does_only_what_has_work_and_stores_the_catalog(demo_copy):
    project = demo_copy / "patron-demo"
    code, first = _run(project)
    assert code == 0
    assert [s["stage"] for s in first["stages"]] == ["ingest", "identity", "enrich", "themes", "spikes", "metrics",
                                                     "predict", "plays"]
    did = {s["stage"]: s["did"] for s in first["stages"]}
    assert first["ingest"]["totals"]["loaded"] == 0  # `patron demo` loaded everything already
    assert did["identity"] == "nothing new loaded since the last run" and first["identity"] is None
    assert did["enrich"] == "no new texts" and first["metric_values"] > 0
    assert did["predict"] == "nothing loaded since the last churn run" and first["churn"] is None
    assert did["plays"] == "nothing the plays read has changed since their last run"  # `patron demo` ran them
    # a new ticket: ingest loads it, identity runs (a new row), enrich scores it
    tickets = project / "exports" / "helpdesk" / "tickets.jsonl"
    row = json.loads(tickets.read_text().splitlines()[0])
    row.update({"id": "T-extra-1", "subject": "Export to CSV fails with a timeout every morning"})
    with tickets.open("a") as f:
        f.write(json.dumps(row) + "\n")
    code, second = _run(project)
    assert code == 0
    assert second["ingest"]["totals"]["loaded"] == 1
    assert second["identity"] is not None and second["enrich"]["items"] == 1
    assert second["churn"]["evaluation"]["auc"]["value"] > 0.5  # a new load: risk scored again
    code, third = _run(project)
    assert third["identity"] is None and third["enrich"]["items"] == 0


def test_run_exits_1_naming_a_refused_source_and_runs_the_rest(tmp_path):
    (tmp_path / "c.csv").write_text("id,name\nA,Acme\nB,Beta\n")
    (tmp_path / "t.csv").write_text("id,cust,opened\n" + "".join(f"t{i},A,soon\n" for i in range(5)))
    (tmp_path / "patron.yml").write_text(
        "sources:\n  crm: {path: c.csv, table: customers, customer_ref: id}\n"
        "  desk: {path: t.csv, table: tickets, customer_ref: cust, columns: {ticket_id: id, opened_at: opened}}\n")
    code, out = _run(tmp_path)
    assert code == 1
    assert out["ingest"]["refused"][0]["source"] == "desk" and out["ingest"]["totals"]["loaded"] == 2
    assert out["identity"]["customers"] == 2 and [s["stage"] for s in out["stages"]][-3:] == ["metrics", "predict",
                                                                                                  "plays"]
    assert "need subscriptions" in out["stages"][-2]["did"]  # too little data: said, not a failure


def test_a_row_loaded_for_a_customer_identity_knows_carries_its_master_id_at_once(demo_copy):
    from patron.warehouse import open_warehouse

    project = demo_copy / "patron-demo"
    tickets = project / "exports" / "helpdesk" / "tickets.jsonl"
    first = json.loads(tickets.read_text().splitlines()[0])
    with tickets.open("a") as f:
        f.write(json.dumps(first | {"id": "T-known-1"}) + "\n")
    r = subprocess.run([*PATRON, "ingest"], cwd=project, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    with open_warehouse(project / "patron.duckdb") as wh:  # no `identity resolve` ran in between
        ids = dict(wh.rows("SELECT ticket_id, customer_id FROM tickets WHERE ticket_id IN (?, 'T-known-1')",
                           [first["id"]]))
    assert ids["T-known-1"] is not None and ids["T-known-1"] == ids[first["id"]]
