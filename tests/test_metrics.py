"""The metric catalog against hand computations, on every engine's dialect, with honest tests."""

from __future__ import annotations

import math
import re

import pandas as pd
import pytest
import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st_h
from scipy import stats as st

from conftest import write
from patron.errors import ConfigError, MetricError
from patron.metrics import builtin_catalog, compile_group, compile_metric, render, with_overrides
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
    p.ingest.file(tmp_path / "r.csv", "responses")
    p.ingest.file(tmp_path / "t.csv", "tickets")
    yield p
    p.close()


def test_nps_csat_ces_and_percentiles_by_hand(project):
    nps = project.metrics.evaluate("nps", ["touchpoint"])
    assert nps["value"].iloc[0] == pytest.approx(100 * (13 - 42) / 57)  # 3+10 promoters, 2+40 detractors
    assert nps["n"].iloc[0] == 57
    jan = project.metrics.evaluate("nps", [], "month").iloc[0]
    assert jan["value"] == pytest.approx(100 * (3 - 2) / 7) and jan["n"] == 7
    pp, pd_ = 4 / 10, 3 / 10  # adjusted Wald: one pseudo-response per group
    half = 1.959964 * math.sqrt((pp + pd_ - (pp - pd_) ** 2) / 10)
    assert jan["ci_low"] == pytest.approx(100 * (pp - pd_ - half), abs=1e-3)
    csat = project.metrics.evaluate("csat").iloc[0]
    assert (csat["value"], csat["n"]) == (pytest.approx(2 / 3), 3)
    ces = project.metrics.evaluate("ces").iloc[0]
    lo, hi = st.t.interval(0.95, 3, loc=4.5, scale=st.sem([2, 3, 7, 6]))
    assert (ces["value"], ces["ci_low"], ces["ci_high"]) == (pytest.approx(4.5), pytest.approx(lo), pytest.approx(hi))
    p90 = project.metrics.evaluate("first_response_hours_p90", ["priority"]).set_index("priority")
    assert p90.loc["low", "value"] == pytest.approx(1 + 0.9 * 2)  # continuous quantile of 1h and 3h
    assert p90.loc["high", "n"] == 1  # the unanswered ticket is not counted
    assert project.metrics.evaluate("tickets").iloc[0]["value"] == 4


def test_a_change_is_flagged_only_when_significant(project):
    monthly = project.metrics.evaluate("nps", [], "month")
    feb = monthly.iloc[1]
    assert feb["previous"] == pytest.approx(100 / 7)
    assert feb["p_value"] < 0.05 and feb["significant"]
    assert monthly.iloc[0]["significant"] is None  # nothing before January to compare with


def test_no_data_is_not_zero(project):
    wh = project.warehouse
    wh.execute("DELETE FROM responses WHERE survey = 'csat'")
    empty = project.metrics.evaluate("csat").iloc[0]
    assert pd.isna(empty["value"]) and empty["n"] == 0 and pd.isna(empty["ci_low"])
    assert empty["note"].startswith("not available")


def test_evaluations_are_kept_as_history(project):
    project.metrics.evaluate("nps", ["touchpoint"], "month")
    project.metrics.evaluate("nps", ["touchpoint"], "month")
    runs, rows = project.warehouse.rows("SELECT count(DISTINCT run_id), count(*) FROM metric_values")[0]
    assert runs == 2 and rows == 4
    assert project.warehouse.scalar("SELECT slice FROM metric_values LIMIT 1") == '{"touchpoint": "support"}'


def test_bad_slices_periods_and_names_are_refused(project):
    with pytest.raises(MetricError, match="cannot be sliced by colour"):
        project.metrics.evaluate("nps", ["colour"])
    with pytest.raises(MetricError, match="period must be one of"):
        project.metrics.evaluate("nps", [], "fortnight")
    with pytest.raises(ConfigError, match="no metric 'npss'"):
        project.metrics.evaluate("npss")


@pytest.mark.parametrize("dialect", ["spark", "postgres", "snowflake", "bigquery"])
def test_every_catalog_metric_transpiles(dialect):
    catalog = builtin_catalog()
    for spec in catalog.values():
        for by, period in (([], None), (spec.dimensions[:2], "month")):
            sql = render(compile_metric(spec, by, period, catalog), dialect)
            sqlglot.parse_one(sql, read=dialect)  # and reads back in that dialect
    revenue = [s for s in catalog.values() if s.kind == "revenue"]
    sqlglot.parse_one(render(compile_group(revenue, ["segment"], "month"), dialect), read=dialect)


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
        by_segment = project.metrics.evaluate("nps", ["segment"])
        total = project.metrics.evaluate("nps")
    assert set(by_segment["segment"].dropna()) == {"smb", "mid_market", "enterprise"}
    assert by_segment["n"].sum() == total["n"].iloc[0]


def test_order_metrics_slice_by_the_golden_record(resolved_demo):
    config, db = resolved_demo
    with Project.open(config, db) as project:
        by_segment = project.metrics.evaluate("active_customers", ["segment"], "month")
        total = project.metrics.evaluate("active_customers", [], "month")
        repeat = project.metrics.evaluate("repeat_purchase_rate", ["segment"])
    sums = by_segment.groupby("period")["value"].sum()
    assert sums.tolist() == total.set_index("period")["value"].loc[sums.index].tolist() and total["value"].sum() > 0
    assert set(repeat["segment"].dropna()) <= {"smb", "mid_market", "enterprise"}
    assert ((repeat["ci_low"] <= repeat["value"]) & (repeat["value"] <= repeat["ci_high"])).all()


@pytest.fixture(scope="module")
def resolved_demo(demo_loaded, tmp_path_factory):
    import shutil

    config, db, _ = demo_loaded
    copy = tmp_path_factory.mktemp("metrics") / "w.duckdb"
    shutil.copy(db, copy)
    with Project.open(config, copy, require_config=True) as project:
        project.identity.resolve()
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
    p.ingest.file(tmp_path / "s.csv", "subscriptions")
    yield p
    p.close()


def _by_month(project, name):
    df = project.metrics.evaluate(name)
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
        revenue.metrics.evaluate("grr_monthly", [], "quarter")


def test_revenue_months_end_at_the_datas_last_month_whatever_the_end_dates_say(tmp_path):
    """Billing's last row is in March, support runs to June: open subscriptions pay through June
    (not only to billing's last row), and an end in 2099 or 9999-12-31 (billing's "no end") pays
    through June too, never expanded into the months after it."""
    from datetime import date

    from patron.relations import ARR_NOW, CUSTOMER_MONTHS, REVENUE_MONTHS

    write(tmp_path / "s.csv", "subscription_id,customer_ref,mrr,start_date,end_date\n"
                              "a,A,100,2024-01-05,\nb,B,200,2024-02-01,9999-12-31\nc,C,50,2024-03-03,2099-01-01\n"
                              "d,D,80,2024-01-02,2024-03-10\n")
    write(tmp_path / "t.csv", "ticket_id,customer_ref,opened_at\nt1,A,2024-06-12 10:00\n")
    with Project.open(None, tmp_path / "w.duckdb") as p:
        p.ingest.file(tmp_path / "s.csv", "subscriptions")
        p.ingest.file(tmp_path / "t.csv", "tickets")
        wh = p.warehouse
        assert p.as_of() == date(2024, 6, 12)
        assert wh.scalar(f"WITH {REVENUE_MONTHS.strip()} SELECT last_month FROM bounds") == date(2024, 6, 1)
        assert wh.scalar(f"SELECT max(month) FROM ({CUSTOMER_MONTHS}) AS c") == date(2024, 6, 1)
        mrr = {m: r["value"] for m, r in _by_month(p, "mrr").items()}
        assert mrr == {"2024-01": 180, "2024-02": 380, "2024-03": 350, "2024-04": 350, "2024-05": 350,
                       "2024-06": 350}
        assert dict(wh.rows(f"SELECT customer, arr FROM ({ARR_NOW}) AS a ORDER BY 1")) == {
            "A": 1200, "B": 2400, "C": 600}


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
        p.ingest.file(folder / "s.csv", "subscriptions")
        raw = p.warehouse.df(render(compile_metric(builtin_catalog()["mrr"])))
        moves = raw["new"] + raw["reactivation"] + raw["expansion"] - raw["contraction"] - raw["churn"]
        assert (((raw["mrr_end"] - raw["mrr_start"]) - moves).abs() < 1e-6).all()
        grr = p.metrics.evaluate("grr_monthly")["value"].dropna()
        nrr = p.metrics.evaluate("nrr_monthly")["value"].dropna()
        assert (grr <= 1 + 1e-12).all() and (grr >= 0).all() and (nrr >= 0).all()
        grr_ttm = p.metrics.evaluate("grr_ttm")["value"].dropna()
        assert (grr_ttm <= 1 + 1e-12).all() and (grr_ttm >= 0).all()


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

    specs = with_overrides(builtin_catalog(), {"nps": {"owner": "VP Customer Success", "target": 20},
                                               "csat": {"target": 0.9}, "ces": {"target": 4}})
    headlines = {h.metric: h for h in build(project.warehouse, specs).headlines}
    nps = headlines["nps"]
    # data runs into February, so January is the last complete month: 3 promoters, 2 detractors of 7
    assert (nps.period, nps.value, nps.n) == ("Jan 2024", pytest.approx(100 / 7), 7)
    assert nps.owner == "VP Customer Success" and nps.on_target is False
    assert nps.ci_low < nps.value < nps.ci_high
    assert headlines["csat"].target == 0.9 and headlines["csat"].on_target is False
    assert headlines["ces"].on_target is True  # 4.5 against a target of 4, higher is better
    assert "mrr" not in headlines  # no billing loaded: the briefing leads with support and voice
    assert nps.trend == [("2024-01", pytest.approx(100 / 7))]


def test_headline_trends_come_from_the_catalog_by_month(contracts):
    from patron.report import build
    from patron.report.briefing import last_complete_month

    assert str(last_complete_month(pd.Timestamp("2024-01-31").date())) == "2024-01-01"
    assert str(last_complete_month(pd.Timestamp("2024-01-30").date())) == "2023-12-01"
    b = build(contracts.warehouse, builtin_catalog())  # data through 2024-01-20: December is reported
    mrr = next(h for h in b.headlines if h.metric == "mrr")
    assert mrr.period == "Dec 2023" and mrr.value == 150 + 30 + 80 + 120 + 60
    assert mrr.previous == mrr.value  # nothing changed in December
    assert [m for m, _ in mrr.trend] == [f"2023-{m:02d}" for m in range(1, 13)]
    assert contracts.warehouse.scalar("SELECT count(*) FROM metric_values") == 0  # a report writes nothing


# A year of billing for the cohort, renewal, LTV and formula metrics (hand computations below).
# The cohort paying at the end of 2023-01: A 100, B 200, C 50, F 120, G 60.
CONTRACTS = """subscription_id,customer_ref,mrr,start_date,end_date,term_months
sa,A,100,2023-01-01,2023-06-10,12
sa,A,150,2023-06-10,,12
sb,B,200,2023-01-01,2023-08-15,12
sc,C,50,2023-01-01,2023-03-05,1
sc,C,30,2023-03-05,,1
sd,D,80,2023-05-01,,12
sf,F,120,2023-01-10,2024-01-12,12
sg,G,60,2023-01-03,2024-01-05,12
sg,G,40,2024-01-05,,12
se,E,10,2024-01-20,,1
"""


@pytest.fixture
def contracts(tmp_path):
    write(tmp_path / "s.csv", CONTRACTS)
    write(tmp_path / "t.csv", "ticket_id,customer_ref,opened_at\n"
                              "t1,A,2023-08-02 10:00\nt2,C,2023-08-09 11:00\nt3,C,2023-08-30 09:00\n")
    write(tmp_path / "o.csv", "order_id,customer_ref,ordered_at,amount,category\n"
                              "o1,A,2023-08-03,1000,services\no2,D,2023-08-20,500,services\n"
                              "o3,D,2023-08-21,300,license\n")
    write(tmp_path / "c.csv", "month,cost_center,amount\n2023-08-01,professional_services,600\n"
                              "2023-08-01,support,200\n2023-09-01,professional_services,100\n")
    p = Project.open(None, tmp_path / "w.duckdb")
    for name, table in (("s", "subscriptions"), ("t", "tickets"), ("o", "orders"), ("c", "costs")):
        p.ingest.file(tmp_path / f"{name}.csv", table)
    yield p
    p.close()


def test_trailing_twelve_month_cohort_retention_by_hand(contracts):
    grr, nrr = _by_month(contracts, "grr_ttm"), _by_month(contracts, "nrr_ttm")
    # now: A 150 (capped at 100 for GRR), B 0, C 30, F 0 (left in January), G 40
    assert nrr["2024-01"]["value"] == pytest.approx(220 / 530)
    assert grr["2024-01"]["value"] == pytest.approx(170 / 530)
    assert grr["2024-01"]["n"] == 5  # D and E joined after the cohort month
    assert pd.isna(grr["2023-06"]["value"]) and grr["2023-06"]["n"] == 0  # no year of history yet


def test_renewal_rates_by_count_and_revenue_by_hand(contracts):
    count, revenue = _by_month(contracts, "renewal_rate"), _by_month(contracts, "renewal_rate_revenue")
    # up in 2024-01: sa (150, renewed), sc (monthly, 30, renewed), sf (120, left), sg (60 -> 40)
    assert (count["2024-01"]["value"], count["2024-01"]["n"]) == (0.75, 4)
    assert count["2024-01"]["ci_low"] < 0.75 < count["2024-01"]["ci_high"]
    assert revenue["2024-01"]["value"] == pytest.approx((150 + 30 + 0 + 40) / (150 + 30 + 120 + 60))
    # mid-year only the monthly contract is up; B leaving mid-term is churn, not a lost renewal
    assert (count["2023-08"]["value"], count["2023-08"]["n"]) == (1.0, 1)


def test_movement_metrics_ltv_and_formulas_by_hand(contracts):
    assert _by_month(contracts, "mrr_churn")["2023-08"]["value"] == 200
    assert _by_month(contracts, "mrr_expansion")["2023-06"]["value"] == 50
    assert _by_month(contracts, "mrr_contraction")["2023-03"]["value"] == 20
    assert _by_month(contracts, "mrr_new")["2023-05"]["value"] == 80
    ltv = _by_month(contracts, "ltv")
    # August: 6 paying at the start, B left; 440 MRR over 5 customers at the end
    assert ltv["2023-08"]["value"] == pytest.approx(440 / 5 * 0.75 / (1 / 6))
    assert pd.isna(ltv["2023-07"]["value"]) and "no customer churned" in ltv["2023-07"]["note"]
    assert _by_month(contracts, "tickets_per_customer")["2023-08"]["value"] == pytest.approx(3 / 5)
    margin = _by_month(contracts, "services_gross_margin") if False else {
        str(r["period"])[:7]: r for _, r in contracts.metrics.evaluate("services_gross_margin", [], "month").iterrows()}
    assert (margin["2023-08"]["value"], margin["2023-08"]["n"]) == (pytest.approx((1500 - 600) / 1500), 2)
    # September has services costs and no services orders: the reason names the input that is missing
    assert pd.isna(margin["2023-09"]["value"])
    assert margin["2023-09"]["note"] == "services_revenue has no data in this slice and period"


def test_gross_margin_is_a_parameter_of_ltv(contracts):
    specs = with_overrides(builtin_catalog(), {"ltv": {"params": {"gross_margin": 0.5}}})
    from patron.metrics import evaluate

    out = evaluate(contracts.warehouse, specs["ltv"], catalog=specs)
    aug = out[out["period"].astype(str) == "2023-08-01"].iloc[0]
    assert aug["value"] == pytest.approx(440 / 5 * 0.5 / (1 / 6))


def test_absent_data_says_not_available_with_the_reason(revenue):
    out = revenue.metrics.evaluate("nps", [], "month")
    assert len(out) == 1 and pd.isna(out.iloc[0]["value"])
    assert out.iloc[0]["note"] == "not available: no responses are loaded"
    revenue.warehouse.execute("DELETE FROM subscriptions")
    assert revenue.metrics.evaluate("mrr").iloc[0]["note"] == "not available: no subscriptions are loaded"


def test_a_reason_names_the_input_that_is_missing_not_the_table(revenue, project, tmp_path):
    # eight subscription rows, December to March, none with a contract term
    note = revenue.metrics.evaluate("renewal_rate").iloc[0]["note"]
    assert note == ("not available: 8 subscription rows are loaded, but none with MRR above 0 has a "
                    "term_months, so no contract term ends")
    note = revenue.metrics.evaluate("grr_ttm").iloc[0]["note"]
    assert note == ("not available: 8 subscription rows are loaded (Dec 2023 to Mar 2024), but no month has "
                    "customers paying at the end of the month twelve months earlier: 4 months of billing, and a "
                    "year-on-year comparison needs 13")
    # a month of billing, nobody has left: LTV has no churn rate to divide by, and says why
    write(tmp_path / "one.csv", "subscription_id,customer_ref,mrr,start_date\na,A,100,2024-01-05\nb,B,50,2024-01-09\n")
    with Project.open(None, tmp_path / "one.duckdb") as p:
        p.ingest.file(tmp_path / "one.csv", "subscriptions")
        for name in ("ltv", "logo_churn_monthly"):
            note = p.metrics.evaluate(name).iloc[0]["note"]
            assert "no subscriptions" not in note
            assert note == ("not available: 2 subscription rows are loaded (Jan 2024 to Jan 2024), but no month has "
                            "customers paying at the start of the month: one month of billing has no month before it")
        assert p.metrics.evaluate("mrr").iloc[0]["value"] == 150
        p.warehouse.execute("UPDATE subscriptions SET mrr = 0")
        assert p.metrics.evaluate("mrr").iloc[0]["note"] == (
            "not available: 2 subscription rows are loaded, but none has an MRR above 0")
    # survey answers of other kinds, tickets nobody rated
    assert project.metrics.evaluate("ticket_csat").iloc[0]["note"] == (
        "not available: 4 tickets rows are loaded, but none where csat IS NOT NULL")
    project.warehouse.execute("DELETE FROM responses WHERE survey = 'nps'")
    assert project.metrics.evaluate("nps").iloc[0]["note"] == (
        "not available: 7 responses rows are loaded, but none where survey = 'nps'")


def test_a_formula_names_the_input_it_lacks(contracts):
    contracts.warehouse.execute("DELETE FROM costs")
    aug = contracts.metrics.evaluate("services_gross_margin", [], "month").iloc[0]
    assert pd.isna(aug["value"]) and aug["n"] == 2  # the services orders are there; their costs are not
    assert aug["note"] == "services_cost has no data (no costs are loaded)"
    contracts.warehouse.execute("DELETE FROM tickets")
    out = contracts.metrics.evaluate("tickets_per_customer", [], "month")
    assert out["note"].eq("tickets has no data (no tickets are loaded)").all() and out["value"].isna().all()


def test_the_whole_catalog_in_one_pass_matches_metric_by_metric(contracts):
    from patron.metrics import evaluate_catalog

    specs = builtin_catalog()
    together = evaluate_catalog(contracts.warehouse, specs, period="month", store=False)
    assert set(together["metric"]) == set(specs)
    for name in ("grr_ttm", "renewal_rate", "tickets_per_customer", "services_gross_margin", "nps"):
        alone = contracts.metrics.evaluate(name, [], "month")
        mine = together[together["metric"] == name].reset_index(drop=True)
        pd.testing.assert_frame_equal(mine[["period", "value", "n"]], alone[["period", "value", "n"]],
                                      check_dtype=False)


def test_revenue_by_cohort_month(contracts):
    out = contracts.metrics.evaluate("mrr", ["cohort_month"])
    jan = out[out["period"].astype(str) == "2024-01-01"].set_index("cohort_month")["value"]
    assert jan[pd.Timestamp("2023-01-01").date()] == 150 + 30 + 40  # A, C, G; B and F left
    assert jan[pd.Timestamp("2023-05-01").date()] == 80
    assert jan[pd.Timestamp("2024-01-01").date()] == 10


def test_a_month_with_no_activity_is_not_compared_across(tmp_path):
    write(tmp_path / "r.csv", "response_id,customer_ref,survey,score,submitted_at\n"
                              "a,A,nps,10,2024-01-03\nb,B,nps,2,2024-01-04\nc,A,nps,9,2024-03-05\n")
    with Project.open(None, tmp_path / "w.duckdb") as p:
        p.ingest.file(tmp_path / "r.csv", "responses")
        monthly = p.metrics.evaluate("nps", [], "month")
    assert [str(d) for d in monthly["period"]] == ["2024-01-01", "2024-03-01"]  # February: no row, not 0
    march = monthly.iloc[1]
    assert pd.isna(march["previous"]) and pd.isna(march["p_value"])  # nothing in February to compare with
    assert march["n"] == 1 and march["ci_low"] < 0 < march["value"]  # one response: a wide interval


@pytest.mark.parametrize("field, sql, named", [
    ("value", "read_text('/etc/passwd')", "function read_text()"),
    ("value", "(SELECT count(*) FROM read_csv('/etc/passwd'))", "subquery"),
    ("filter", "(SELECT count(*) FROM api_keys) > 0", "subquery"),
    ("filter", "score IN (SELECT 1 FROM identity_map)", "is not allowed"),
    ("value", "(SELECT count(*) FROM glob('/root/*'))", "subquery"),
    ("value", "score; DROP TABLE responses", "holds a ';'"),
    ("value", "getenv('HOME')", "function getenv()"),
    ("value", "loads.rows_read", "named alone"),
    ("value", "key_hash", "'key_hash' is not a column"),
])
def test_a_metric_expression_that_could_reach_outside_is_refused_with_what_is_wrong(field, sql, named):
    from patron.errors import ConfigError
    from patron.metrics.spec import builtin_catalog, with_overrides

    catalog = builtin_catalog()
    evil = {k: v for k, v in catalog["csat"].model_dump().items() if k != "name"} | {field: sql}
    with pytest.raises(ConfigError, match=re.escape(named)) as refused:
        with_overrides(catalog, {"evil": evil})
    assert f"metrics.evil.{field}" in str(refused.value)


def test_every_built_in_metric_is_on_the_allow_list():
    from patron.expressions import refused
    from patron.metrics.spec import EXPRESSIONS, builtin_catalog

    assert not [(s.name, f) for s in builtin_catalog().values() for f in EXPRESSIONS
                if getattr(s, f) and refused(getattr(s, f), None)]


def test_a_slice_no_row_has_names_the_rows_without_none(capsys):
    """mrr is computed, not read from one table: the note says "row", never "None row"."""
    from patron.cli.metrics import show_values

    df = pd.DataFrame({"tier": [None], "value": [10.0], "ci_low": [None], "ci_high": [None], "n": [3],
                       "significant": [None], "note": [""]})
    show_values(df, builtin_catalog()["mrr"], ["tier"], None, None, 40)
    shown = " ".join(capsys.readouterr().out.split())
    assert "No row behind mrr has a tier" in shown and "None" not in shown
