"""The prediction stage on small hand-made companies at its edges: a gap in who pays, nothing
that varies, a name twice, runaway fits, and runs that no longer match the data."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import yaml

from patron.config import ChurnSettings
from patron.errors import PredictError
from patron.predict import churn
from patron.project import Project


def subscriptions_company(root: Path, rows: list[tuple], extra: dict | None = None, **tables: pd.DataFrame) -> Path:
    """A company of subscriptions (id, customer, mrr, start, end, term[, renewal date]) and any other tables given
    as frames (file name -> frame, each loaded as the table of that name); returns its patron.yml."""
    columns = ["subscription_id", "customer", "mrr", "start_date", "end_date", "term_months", "renewal_date"]
    pd.DataFrame(rows, columns=columns[:max(len(r) for r in rows)]).to_csv(root / "subscriptions.csv", index=False)
    sources = {"subs": {"path": "subscriptions.csv", "table": "subscriptions", "customer_ref": "customer",
                        "system": "billing"}}
    for name, frame in tables.items():
        frame.to_csv(root / f"{name}.csv", index=False)
        sources[name] = {"path": f"{name}.csv", "table": name, "customer_ref": "customer", "system": "billing"}
    (root / "patron.yml").write_text(yaml.safe_dump({"sources": sources, **(extra or {})}))
    return root / "patron.yml"


def loaded(root: Path, yml: Path) -> Project:
    project = Project.open(yml, root / "w.duckdb", require_config=True)
    project.ingest()
    return project


def test_nobody_paying_on_the_test_day_is_one_clear_error(tmp_path):
    """Forty customers who all left by September 2025, then a gap, then newcomers in September
    2026: the month end the backtest tests on has no payer."""
    rows = [(f"a{i}", f"a{i}", 100, "2025-04-05", f"2025-0{6 + i % 4}-10", 1) for i in range(40)]
    rows += [(f"b{i}", f"b{i}", 200, f"2026-09-0{1 + i % 8}", None, 1) for i in range(20)]
    tickets = pd.DataFrame({"ticket_id": ["t1"], "customer": ["b1"], "opened_at": ["2026-11-20T10:00:00Z"]})
    with loaded(tmp_path, subscriptions_company(tmp_path, rows, tickets=tickets)) as project, \
            pytest.raises(PredictError, match=r"no customer was paying on the test day 2026-07-31"):
        churn.run(project.warehouse, ChurnSettings())


def _flat_rows() -> list[tuple]:
    # eighty customers alike in all but when they leave: same price, same start, monthly
    return [(f"s{i}", f"c{i}", 100, "2025-06-01", f"2026-0{3 + i % 6}-15" if i < 40 else None, 1) for i in range(80)]


def test_no_feature_that_varies_is_refused_before_boosting(tmp_path):
    with loaded(tmp_path, subscriptions_company(tmp_path, _flat_rows())) as project, \
            pytest.raises(PredictError, match=r"no feature varies between the customers of the snapshot 2026-01"):
        churn.run(project.warehouse, ChurnSettings(snapshots=1))


def test_an_attribute_named_twice_is_refused_by_name(tmp_path):
    customers = pd.DataFrame({"customer": [f"c{i}" for i in range(80)], "name": [f"Firm {i}" for i in range(80)],
                              "tier": ["gold", "silver"] * 40})
    yml = subscriptions_company(tmp_path, _flat_rows(), customers=customers)
    doc = yaml.safe_load(yml.read_text())
    doc["sources"]["customers"]["attributes"] = {"tier": "tier"}
    yml.write_text(yaml.safe_dump(doc))
    with loaded(tmp_path, yml) as project, \
            pytest.raises(PredictError, match=r"predict.churn.attributes names 'tier' more than once"):
        churn.run(project.warehouse, ChurnSettings.model_construct(**{**ChurnSettings().model_dump(),
                                                                      "attributes": ["tier", "tier"]}))


def test_daily_active_users_are_the_most_of_any_feature_not_their_sum(tmp_path):
    """Usage rows are per customer, day and feature: three users in `reports` and two in `export`
    on one day are at most three users that day, never five; features.py and its pandas mirror
    (bench/churn_pandas.py) agree."""
    import sys
    from datetime import date, timedelta

    from patron.predict import features as F

    # c3 leaves in August: the billing reaches past the snapshot for the pandas mirror's months too
    rows = [(f"s{i}", f"c{i}", 100, "2025-01-01", None, 1) for i in range(3)] + [("s3", "c3", 100, "2025-01-01",
                                                                                  "2025-08-01", 1)]
    with loaded(tmp_path, subscriptions_company(tmp_path, rows)) as project:
        wh = project.warehouse
        day = date(2025, 6, 30)
        usage = []
        for k in range(100):  # every day of the 100 before the snapshot, so the usage windows are covered
            d = day - timedelta(days=k)
            usage += [("c0", d, "reports", 4, 3), ("c0", d, "export", 1, 2), ("c1", d, "reports", 2, 1)]
        usage += [("c2", day - timedelta(days=2), "reports", 5, 2), ("c2", day - timedelta(days=2), "export", 5, 4),
                  ("c2", day - timedelta(days=3), "export", 1, None)]
        for c, d, feature, events, users in usage:
            wh.execute("INSERT INTO usage (customer_ref, customer_id, day, feature, events, active_users) "
                       "VALUES (?, ?, ?, ?, ?, ?)", [c, c, d, feature, events, users])
        got = F.snapshot(wh, day).set_index("customer")
        assert got["active_users_30d"].to_dict() == pytest.approx({"c0": 3.0, "c1": 1.0, "c2": 4 / 30, "c3": 0.0})
        assert got["events_30d"].to_dict() == {"c0": 150.0, "c1": 60.0, "c2": 11.0, "c3": 0.0}

        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
        import churn_pandas as H

        (tmp_path / "parquet").mkdir()
        for t, cols in H.COLUMNS.items():
            wh.execute(f"COPY (SELECT {', '.join(cols)} FROM {t}) TO '{tmp_path}/parquet/{t}.parquet' "
                       "(FORMAT parquet)")
    mirror = H.Tables(H.read(tmp_path / "parquet")).snapshot(day).set_index("customer")
    assert mirror["active_users_30d"].to_dict() == pytest.approx(got["active_users_30d"].to_dict())


def _gap_rows() -> list[tuple]:
    # forty customers who all left by September 2025, then newcomers a year later
    return ([(f"a{i}", f"a{i}", 100, "2025-04-05", f"2025-0{6 + i % 4}-10", 1) for i in range(40)]
            + [(f"b{i}", f"b{i}", 200, f"2026-09-0{1 + i % 8}", None, 1) for i in range(20)])


def test_health_weighted_only_on_components_nobody_has_is_refused_in_words(tmp_path):
    from patron.config import HealthSettings
    from patron.predict import health

    with loaded(tmp_path, subscriptions_company(tmp_path, _flat_rows())) as project, \
            pytest.raises(PredictError, match=r"no account has data for the weighted components \(nps\) on "
                                              r"2026-08-15, so none of the 40 paying accounts can be scored"):
        health.run(project.warehouse, HealthSettings(weights={"nps": 100}))


def test_a_health_check_of_nobody_is_a_note_and_no_nan_is_kept(tmp_path):
    import json

    from patron.config import HealthSettings
    from patron.predict import health
    from patron.predict.evaluation import evaluate

    assert evaluate([], []).base_rate is None and json.dumps(evaluate([], []).to_dict(), allow_nan=False)
    tickets = pd.DataFrame({"ticket_id": ["t1"], "customer": ["b1"], "opened_at": ["2026-11-20T10:00:00Z"]})
    with loaded(tmp_path, subscriptions_company(tmp_path, _gap_rows(), tickets=tickets)) as project:
        wh = project.warehouse
        ran = health.run(wh, HealthSettings())
        assert ran.check is None and ran.note == ("health: no account was paying on 2026-07-31, the month end the "
                                                  "check scores against who left in the next 3 months")
        for (evaluation,) in wh.rows("SELECT evaluation FROM prediction_runs WHERE evaluation IS NOT NULL"):
            json.loads(evaluation, parse_constant=lambda c: pytest.fail(f"{c} kept in prediction_runs"))
        assert wh.scalar("SELECT count(*) FROM predictions WHERE isnan(score)") == 0


def test_a_contract_renews_from_its_renewal_date_or_the_running_subscription_not_the_first_one(tmp_path):
    """c9000 paid monthly from 2023, then signed a year from 2026-03-15 that the billing says renews
    2027-03-15; c3 turned annual on 2026-02-01 with no renewal date. Neither renews on an
    anniversary of its first, monthly, subscription."""
    from datetime import date

    from patron.predict import features as F
    from patron.predict import renewals
    from patron.predict.store import save

    rows = [("sA", "c9000", 800, "2023-01-10", "2026-03-15", 1, None),
            ("sB", "c9000", 800, "2026-03-15", None, 12, "2027-03-15"),
            ("sC", "c3", 100, "2024-05-20", "2026-02-01", 1, None),
            ("sD", "c3", 100, "2026-02-01", None, 12, None),
            ("sE", "c4", 100, "2025-01-10", None, 12, None),  # one subscription all along: as before
            ("sF", "c5", 50, "2025-01-01", "2026-11-11", 1, None)]
    day = date(2026, 11, 11)
    with loaded(tmp_path, subscriptions_company(tmp_path, rows)) as project:
        wh = project.warehouse
        f = F.snapshot(wh, day).set_index("customer")
        assert f.loc[["c9000", "c3", "c4"], "months_to_renewal"].tolist() == [5, 3, 2]
        t = renewals.terms(wh, day).set_index("customer_id")
        assert t.loc["c9000", "term"] == 12 and str(t.loc["c3", "first_start"])[:10] == "2026-02-01"
        frame = pd.DataFrame({"customer": ["c9000", "c3", "c4", "c5"], "score": 0.1, "band": "low",
                              "value": [9600.0, 1200.0, 1200.0, 600.0]}).assign(at_stake=lambda d: d["value"] / 10)
        save(wh, "churn", day, frame, version="test", settings={"horizon_months": 6})
        due = renewals.due(wh, 150).set_index("customer_id")["renewal_date"].astype(str).to_dict()
    assert due == {"c4": "2027-01-10", "c3": "2027-02-01", "c9000": "2027-03-15"}


@pytest.mark.parametrize(("anchor", "term", "after", "on", "want"), [
    (date(2027, 3, 15), 12, date(2026, 11, 11), True, date(2027, 3, 15)),  # a renewal date ahead
    (date(2025, 3, 15), 12, date(2026, 11, 11), True, date(2027, 3, 15)),  # one long past: rolled on
    (date(2026, 11, 11), 12, date(2026, 11, 11), True, date(2026, 11, 11)),  # due on the day
    (date(2026, 11, 11), 12, date(2026, 11, 11), False, date(2027, 11, 11)),  # a start on the day: a year on
])
def test_the_next_renewal_counts_from_an_anchor_either_side_of_the_day(anchor, term, after, on, want):
    from patron.predict.renewals import next_renewal

    assert next_renewal(anchor, term, after, on_the_day=on) == want


def test_a_run_made_before_identity_was_resolved_again_is_refused_not_shown(tmp_path):
    from patron.predict import renewals
    from patron.predict.store import latest_run, latest_scores, save

    customers = pd.DataFrame({"customer": [f"c{i}" for i in range(80)], "name": [f"Firm {i}" for i in range(80)]})
    with loaded(tmp_path, subscriptions_company(tmp_path, _flat_rows(), customers=customers)) as project:
        wh = project.warehouse
        project.identity.resolve()
        day = date(2026, 8, 15)

        def keep() -> None:
            ids = [c for c, in wh.rows("SELECT DISTINCT customer_id FROM subscriptions")]
            save(wh, "churn", day, pd.DataFrame({"customer": ids, "score": 0.2, "band": "medium", "value": 1200.0,
                                                 "at_stake": 240.0}), version="test",
                 settings={"horizon_months": 3})

        keep()
        assert latest_run(wh, "churn")["stale"] is None and len(latest_scores(wh, "churn")) == 80
        project.identity.resolve()  # nothing changed: every record keeps its id, and the run still holds
        assert latest_run(wh, "churn")["stale"] is None and len(latest_scores(wh, "churn")) == 80
        wh.execute("DELETE FROM identity_map")  # identity rebuilt: master ids may now belong to other customers
        project.identity.resolve()
        run = latest_run(wh, "churn")
        assert run["stale"] and "predates the identity resolution of" in run["stale"]
        assert "run `patron predict` again" in run["stale"]
        assert latest_scores(wh, "churn").empty and len(latest_scores(wh, "churn", stale_ok=True)) == 80
        with pytest.raises(PredictError, match="predates the identity resolution"):
            project.predict.last_run()
        with pytest.raises(PredictError, match="renewals: the last churn run .* predates the identity resolution"):
            renewals.due(wh)
        keep()  # predicted again: current
        assert latest_run(wh, "churn")["stale"] is None and project.predict.last_run() is not None


def test_accounts_with_no_weighted_component_are_unscored_and_null_in_json(tmp_path):
    """Weights on NPS only, and half the accounts answered: the others are unscored, shown as
    such, and null (never NaN) in `patron health --format json`."""
    import json
    import subprocess

    from conftest import PATRON

    responses = pd.DataFrame({"response_id": [f"r{i}" for i in range(20)],
                              "customer": [f"c{40 + i}" for i in range(20)], "survey": "nps",
                              "score": [i % 11 for i in range(20)],
                              "submitted_at": "2026-08-01T10:00:00Z"})
    yml = subscriptions_company(tmp_path, _flat_rows(), {"predict": {"health": {"weights": {"nps": 100}}}},
                                responses=responses)
    loaded(tmp_path, yml).close()
    r = subprocess.run([*PATRON, "health", "--db", "w.duckdb", "-f", "json"], capture_output=True, text=True,
                       cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout, parse_constant=lambda c: pytest.fail(f"{c} in the JSON"))
    scores = {a["customer_id"]: a for a in doc["accounts"]}
    assert sum(a["score"] is None and a["band"] == "unscored" for a in scores.values()) == 20
    assert all(a["score"] is not None for a in scores.values() if a["band"] != "unscored")
    r = subprocess.run([*PATRON, "health", "--db", "w.duckdb"], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0 and "20 unscored" in " ".join(r.stdout.split()), r.stdout
