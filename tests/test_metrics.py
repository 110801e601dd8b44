"""The metric catalog against hand computations, on every engine's dialect, with honest tests."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st_h
from scipy import stats as st

from conftest import write
from patron.errors import ConfigError, MetricError
from patron.metrics import builtin_catalog, compile_metric, render, with_overrides
from patron.project import Project


@pytest.fixture
def project(tmp_path):
    rows = ["response_id,customer_ref,survey,score,submitted_at,touchpoint"]
    # January: NPS scores 10,10,9,8,7,3,2 -> 3 promoters, 2 detractors of 7; CSAT 5,4,2 -> 2 of 3
    for i, s in enumerate([10, 10, 9, 8, 7, 3, 2]):
        rows.append(f"n{i},A,nps,{s},2024-01-1{i % 9},support")
    for i, s in enumerate([5, 4, 2]):
        rows.append(f"c{i},A,csat,{s},2024-01-05,onboarding")
    # February: 40 detractors, 10 promoters: a change big enough to be significant
    for i in range(50):
        rows.append(f"f{i},B,nps,{2 if i < 40 else 10},2024-02-0{1 + i % 9},support")
    for i, s in enumerate([2, 3, 7, 6]):
        rows.append(f"e{i},A,ces,{s},2024-01-07,support")
    write(tmp_path / "r.csv", "\n".join(rows) + "\n")
    write(tmp_path / "t.csv", (
        "ticket_id,customer_ref,opened_at,first_response_at,priority\n"
        "t1,A,2024-01-01 00:00,2024-01-01 01:00,low\n"
        "t2,A,2024-01-01 00:00,2024-01-01 03:00,low\n"
        "t3,A,2024-01-01 00:00,2024-01-01 05:00,high\n"
        "t4,A,2024-01-01 00:00,,high\n"
    ))
    p = Project.open(None, tmp_path / "w.duckdb")
    p.ingest_file(tmp_path / "r.csv", "responses")
    p.ingest_file(tmp_path / "t.csv", "tickets")
    yield p
    p.close()


def test_nps_csat_ces_and_percentiles_by_hand(project):
    nps = project.metric("nps", ["touchpoint"])
    assert nps["value"].iloc[0] == pytest.approx(100 * (13 - 42) / 57)  # 3+10 promoters, 2+40 detractors
    assert nps["n"].iloc[0] == 57
    jan = project.metric("nps", [], "month").iloc[0]
    assert jan["value"] == pytest.approx(100 * (3 - 2) / 7) and jan["n"] == 7
    var = (3 / 7 + 2 / 7 - (1 / 7) ** 2) / 7
    assert jan["ci_low"] == pytest.approx(100 * (1 / 7 - 1.959964 * math.sqrt(var)), abs=1e-3)
    csat = project.metric("csat").iloc[0]
    assert (csat["value"], csat["n"]) == (pytest.approx(2 / 3), 3)
    ces = project.metric("ces").iloc[0]
    lo, hi = st.t.interval(0.95, 3, loc=4.5, scale=st.sem([2, 3, 7, 6]))
    assert (ces["value"], ces["ci_low"], ces["ci_high"]) == (pytest.approx(4.5), pytest.approx(lo), pytest.approx(hi))
    p90 = project.metric("first_response_hours_p90", ["priority"]).set_index("priority")
    assert p90.loc["low", "value"] == pytest.approx(1 + 0.9 * 2)  # continuous quantile of 1h and 3h
    assert p90.loc["high", "n"] == 1  # the unanswered ticket is not counted
    assert project.metric("tickets").iloc[0]["value"] == 4


def test_a_change_is_flagged_only_when_significant(project):
    monthly = project.metric("nps", [], "month")
    feb = monthly.iloc[1]
    assert feb["previous"] == pytest.approx(100 / 7)
    assert feb["p_value"] < 0.05 and feb["significant"]
    assert monthly.iloc[0]["significant"] is None  # nothing before January to compare with


def test_no_data_is_not_zero(project):
    wh = project.warehouse
    wh.execute("DELETE FROM responses WHERE survey = 'csat'")
    empty = project.metric("csat").iloc[0]
    assert empty["value"] is None and empty["n"] == 0 and empty["ci_low"] is None


def test_evaluations_are_kept_as_history(project):
    project.metric("nps", ["touchpoint"], "month")
    project.metric("nps", ["touchpoint"], "month")
    runs, rows = project.warehouse.rows("SELECT count(DISTINCT run_id), count(*) FROM metric_values")[0]
    assert runs == 2 and rows == 4
    assert project.warehouse.scalar("SELECT slice FROM metric_values LIMIT 1") == '{"touchpoint": "support"}'


def test_bad_slices_periods_and_names_are_refused(project):
    with pytest.raises(MetricError, match="cannot be sliced by colour"):
        project.metric("nps", ["colour"])
    with pytest.raises(MetricError, match="period must be one of"):
        project.metric("nps", [], "fortnight")
    with pytest.raises(ConfigError, match="no metric 'npss'"):
        project.metric("npss")


@pytest.mark.parametrize("dialect", ["spark", "postgres", "snowflake", "bigquery"])
def test_every_catalog_metric_transpiles(dialect):
    for spec in builtin_catalog().values():
        for by, period in (([], None), (spec.dimensions[:2], "month")):
            sql = render(compile_metric(spec, by, period), dialect)
            sqlglot.parse_one(sql, read=dialect)  # and reads back in that dialect


def test_owners_targets_and_new_metrics_come_from_patron_yml():
    specs = with_overrides(builtin_catalog(), {
        "nps": {"owner": "VP Customer Success", "target": 40},
        "urgent_tickets": {"label": "Urgent tickets", "definition": "Tickets marked urgent.", "kind": "count",
                           "table": "tickets", "filter": "priority = 'urgent'", "time": "opened_at",
                           "unit": "count", "better": "lower", "dimensions": ["channel"]},
    })
    assert (specs["nps"].owner, specs["nps"].target) == ("VP Customer Success", 40)
    assert "t.priority = 'urgent'" in render(compile_metric(specs["urgent_tickets"]))
    with pytest.raises(ConfigError, match="metrics.bad"):
        with_overrides(builtin_catalog(), {"bad": {"kind": "nps"}})
    with pytest.raises(ConfigError, match="has no column 'created'"):
        with_overrides(builtin_catalog(), {"nps": {"time": "created"}})


def test_slicing_by_customer_attributes_uses_the_golden_record(resolved_demo):
    config, db = resolved_demo
    with Project.open(config, db) as project:
        by_segment = project.metric("nps", ["segment"])
        total = project.metric("nps")
    assert set(by_segment["segment"].dropna()) == {"smb", "mid_market", "enterprise"}
    assert by_segment["n"].sum() == total["n"].iloc[0]


@pytest.fixture(scope="module")
def resolved_demo(demo_loaded, tmp_path_factory):
    import shutil

    config, db, _ = demo_loaded
    copy = tmp_path_factory.mktemp("metrics") / "w.duckdb"
    shutil.copy(db, copy)
    with Project.open(config, copy, require_config=True) as project:
        project.resolve_identities()
    return config, copy


SUBSCRIPTIONS = """subscription_id,customer_ref,mrr,start_date,end_date
a,A,100,2024-01-05,2024-03-10
a,A,150,2024-03-10,
b,B,200,2024-01-01,2024-02-15
c,C,50,2024-02-03,
d,D,80,2024-01-02,2024-02-10
d2,D,90,2024-03-05,
e,E,300,2023-12-01,2024-02-20
e,E,200,2024-02-20,
"""


@pytest.fixture
def revenue(tmp_path):
    write(tmp_path / "s.csv", SUBSCRIPTIONS)
    p = Project.open(None, tmp_path / "w.duckdb")
    p.ingest_file(tmp_path / "s.csv", "subscriptions")
    yield p
    p.close()


def _by_month(project, name):
    df = project.metric(name)
    return {str(r["period"])[:7]: r for _, r in df.iterrows()}


def test_mrr_and_its_movements_by_hand(revenue):
    mrr = _by_month(revenue, "mrr")
    assert {m: r["value"] for m, r in mrr.items()} == {
        "2023-12": 300, "2024-01": 680, "2024-02": 350, "2024-03": 490}
    grr, nrr = _by_month(revenue, "grr_monthly"), _by_month(revenue, "nrr_monthly")
    assert grr["2024-02"]["value"] == pytest.approx(300 / 680)  # 680 - contraction 100 - churn 280
    assert nrr["2024-03"]["value"] == pytest.approx(400 / 350)  # + expansion 50; D's return is not retention
    assert grr["2024-03"]["value"] == pytest.approx(1.0)
    assert pd.isna(grr["2023-12"]["value"]) and grr["2023-12"]["n"] == 0  # nobody paid before: not 0%
    churn = _by_month(revenue, "logo_churn_monthly")
    assert (churn["2024-02"]["value"], churn["2024-02"]["n"]) == (0.5, 4)
    assert churn["2024-02"]["ci_low"] < 0.5 < churn["2024-02"]["ci_high"]
    rev = _by_month(revenue, "revenue_churn_monthly")
    assert rev["2024-02"]["value"] == pytest.approx(280 / 680)


def test_movements_add_up_to_the_change_in_mrr(revenue):
    raw = revenue.warehouse.df(render(compile_metric(builtin_catalog()["mrr"])))
    change = raw["mrr_end"] - raw["mrr_start"]
    moves = raw["new"] + raw["reactivation"] + raw["expansion"] - raw["contraction"] - raw["churn"]
    assert (change - moves).abs().max() < 1e-9
    assert raw.loc[raw["period"].astype(str).str.startswith("2024-03"), "reactivation"].iloc[0] == 90
    with pytest.raises(MetricError, match="monthly metric"):
        revenue.metric("grr_monthly", [], "quarter")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st_h.lists(st_h.tuples(st_h.integers(0, 5), st_h.integers(0, 11), st_h.integers(1, 14),
                              st_h.sampled_from([0, 50, 120, 300])), min_size=1, max_size=20))
def test_revenue_invariants_hold_for_any_subscriptions(tmp_path_factory, periods):
    """Movements add up to the change in MRR, GRR never exceeds 100%, NRR is never negative."""
    lines = ["subscription_id,customer_ref,mrr,start_date,end_date"]
    for i, (cust, start, length, mrr) in enumerate(periods):
        begin = pd.Timestamp("2023-01-01") + pd.DateOffset(months=start, days=i % 27)
        end = begin + pd.DateOffset(months=length) if length < 13 else None
        lines.append(f"s{i},C{cust},{mrr},{begin.date()},{end.date() if end is not None else ''}")
    folder = tmp_path_factory.mktemp("prop")
    write(folder / "s.csv", "\n".join(lines) + "\n")
    with Project.open(None, folder / "w.duckdb") as p:
        p.ingest_file(folder / "s.csv", "subscriptions")
        raw = p.warehouse.df(render(compile_metric(builtin_catalog()["mrr"])))
        moves = raw["new"] + raw["reactivation"] + raw["expansion"] - raw["contraction"] - raw["churn"]
        assert ((raw["mrr_end"] - raw["mrr_start"]) - moves).abs().max() < 1e-6
        grr = p.metric("grr_monthly")["value"].dropna()
        nrr = p.metric("nrr_monthly")["value"].dropna()
        assert (grr <= 1 + 1e-12).all() and (grr >= 0).all() and (nrr >= 0).all()


@settings(max_examples=40, deadline=None)
@given(st_h.integers(0, 200), st_h.integers(0, 200), st_h.integers(0, 200))
def test_nps_stays_within_100_points(pro, pas, det):
    from patron import stats

    e = stats.nps(pro, pas, det)
    if pro + pas + det == 0:
        assert e.value is None
    else:
        assert -100 <= e.ci_low <= e.value <= e.ci_high <= 100


def test_the_briefing_shows_owners_and_targets_from_the_catalog(project):
    from patron.report import build

    specs = with_overrides(builtin_catalog(), {"nps": {"owner": "VP Customer Success", "target": 0},
                                               "csat": {"target": 0.9}})
    headlines = {h.metric: h for h in build(project.warehouse, specs).headlines if h.metric}
    assert headlines["nps"].owner == "VP Customer Success"
    assert headlines["nps"].on_target is False  # February's detractors pull the 90-day NPS below 0
    assert headlines["csat"].target == 0.9 and headlines["csat"].on_target is False
