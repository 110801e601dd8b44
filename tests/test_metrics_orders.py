"""Order metrics (a retailer's: revenue, active and repeat customers, order value, cohort revenue
retention) against the same numbers computed independently with pandas, on a hand-made company
and on the real Online Retail invoices."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from patron.metrics import builtin_catalog, evaluate_catalog
from patron.project import Project

ORDER_METRICS = ["order_revenue", "active_customers", "first_time_customers", "repeat_customers",
                 "repeat_purchase_rate", "average_order_value", "orders_per_customer", "cohort_revenue_retention"]
FREQ = {"day": "D", "week": "W-SUN", "month": "M", "quarter": "Q", "year": "Y"}


def hand_made_orders() -> pd.DataFrame:
    """Eight customers over half a year: repeat buyers, one-off buyers, credits, a credit-only period."""
    rng = np.random.default_rng(7)
    rows = []
    for i in range(70):
        customer = f"C{rng.integers(0, 8)}"
        day = pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, 180)), hours=int(rng.integers(0, 24)))
        amount = round(float(rng.gamma(2.0, 40.0)), 2) * (-1 if rng.random() < 0.12 else 1)
        rows.append((f"o{i:03d}", customer, day, amount))
    rows.append(("o900", "C9", pd.Timestamp("2024-03-03 10:00"), -25.0))  # a customer with a credit only
    return pd.DataFrame(rows, columns=["order_id", "customer_ref", "ordered_at", "amount"])


def reference(orders: pd.DataFrame, period: str | None) -> pd.DataFrame:
    """Every order fact per period, the slow and obvious way: one period and one customer at a time."""
    o = orders.copy()
    if period is None:
        o["period"] = pd.Timestamp("1970-01-01")
    else:
        o["period"] = o["ordered_at"].dt.to_period(FREQ[period]).dt.start_time
    bought = o[o["amount"] > 0]
    first = bought.groupby("customer_ref")["period"].min()
    # each customer's revenue (credits included) in the period of its first purchase
    first_revenue = o[o["period"] == o["customer_ref"].map(first)].groupby("customer_ref")["amount"].sum()
    out = []
    for p in sorted(o["period"].unique()):
        now = o[o["period"] == p]
        buyers = set(now.loc[now["amount"] > 0, "customer_ref"])
        so_far = bought[bought["period"] <= p].groupby("customer_ref").size()
        earlier = list(first.index[first < p])
        start = first_revenue[earlier].sum()
        sales = now.loc[now["amount"] > 0, "amount"]
        out.append({
            "period": p, "revenue": now["amount"].sum(), "rows": len(now), "customers": len(buyers),
            "new": sum(first[c] == p for c in buyers), "repeat": sum(so_far[c] >= 2 for c in buyers),
            "orders": len(sales), "aov": sales.mean() if len(sales) else math.nan,
            "retention": now[now["customer_ref"].isin(earlier)]["amount"].sum() / start if earlier else math.nan,
            "cohort": len(earlier),
        })
    return pd.DataFrame(out).astype({"period": "datetime64[ns]"})


def load(tmp_path, orders: pd.DataFrame, name: str = "w") -> Project:
    path = tmp_path / f"{name}.csv"
    orders.assign(ordered_at=orders["ordered_at"].dt.strftime("%Y-%m-%d %H:%M:%S")).to_csv(path, index=False)
    project = Project.open(None, tmp_path / f"{name}.duckdb")
    result = project.ingest.file(path, "orders")
    assert result.total("quarantined") == 0
    return project


@pytest.fixture
def shop(tmp_path):
    orders = hand_made_orders()
    with load(tmp_path, orders) as project:
        yield project, orders


@pytest.mark.parametrize("period", ["month", "quarter", "week", None])
def test_order_metrics_match_pandas_by_period(shop, period):
    project, orders = shop
    ref = reference(orders, period).set_index("period")
    got = evaluate_catalog(project.warehouse, builtin_catalog(), [], period, store=False, only=ORDER_METRICS)
    if period is None:
        got = got.assign(period=pd.Timestamp("1970-01-01"))
    got["period"] = pd.to_datetime(got["period"]).astype("datetime64[ns]")
    m = {name: got[got["metric"] == name].set_index("period") for name in ORDER_METRICS}
    assert list(m["active_customers"].index) == list(ref.index)
    np.testing.assert_allclose(m["order_revenue"]["value"], ref["revenue"])
    assert (m["order_revenue"]["n"] == ref["rows"]).all()
    assert (m["active_customers"]["value"] == ref["customers"]).all()
    assert (m["first_time_customers"]["value"] == ref["new"]).all()
    assert (m["repeat_customers"]["value"] == ref["repeat"]).all()
    assert (m["repeat_customers"]["n"] == ref["customers"]).all()
    rate = m["repeat_purchase_rate"]
    has = ref["customers"] > 0
    np.testing.assert_allclose(rate["value"][has], (ref["repeat"] / ref["customers"])[has])
    np.testing.assert_allclose(m["average_order_value"]["value"][has], ref["aov"][has])
    assert (m["average_order_value"]["n"] == ref["orders"]).all()
    np.testing.assert_allclose(m["orders_per_customer"]["value"][has], (ref["orders"] / ref["customers"])[has])
    retention = m["cohort_revenue_retention"]
    np.testing.assert_allclose(retention["value"], ref["retention"])  # NaN where no earlier cohort
    assert (retention["n"] == ref["cohort"]).all()
    if period is None:  # the whole range is one period: nobody was acquired before it
        assert "earlier one" in retention["note"].iloc[0]
    else:
        assert retention["value"].notna().sum() == len(ref) - 1  # every period but the first has one


def test_repeat_purchase_rate_is_a_proportion_with_a_wilson_interval_and_a_tested_change(shop):
    project, orders = shop
    ref = reference(orders, "month").set_index("period")
    out = project.metrics.evaluate("repeat_purchase_rate", [], "month")
    out["period"] = pd.to_datetime(out["period"])
    z = st.norm.ppf(0.975)
    for _, r in out.iterrows():
        k, n = ref.loc[r["period"], "repeat"], ref.loc[r["period"], "customers"]
        p = k / n  # Wilson score interval, written out
        centre, half = (p + z * z / (2 * n)) / (1 + z * z / n), z / (1 + z * z / n) * math.sqrt(
            p * (1 - p) / n + z * z / (4 * n * n))
        assert (r["ci_low"], r["ci_high"]) == (pytest.approx(centre - half), pytest.approx(centre + half))
    second = out.iloc[1]
    k1, n1 = ref.iloc[1][["repeat", "customers"]]
    k0, n0 = ref.iloc[0][["repeat", "customers"]]
    pooled = (k0 + k1) / (n0 + n1)
    z_stat = (k1 / n1 - k0 / n0) / math.sqrt(pooled * (1 - pooled) * (1 / n0 + 1 / n1))
    assert second["p_value"] == pytest.approx(2 * st.norm.sf(abs(z_stat)))
    # counts and money are not sample estimates: no interval
    assert project.metrics.evaluate("average_order_value", [], "month")["ci_low"].isna().all()


def test_order_metrics_slice_by_customer_attributes_and_cohort(shop):
    project, orders = shop
    wh = project.warehouse
    segments = {f"C{i}": ("retail" if i % 2 else "wholesale") for i in range(10)}
    # what identity resolution would leave: a master id on every order and a golden record per customer
    wh.execute("UPDATE orders SET customer_id = customer_ref")
    for customer, segment in segments.items():
        wh.execute("INSERT INTO customer_golden (customer_id, segment, records, sources, built_at) "
                   "VALUES (?, ?, 1, ['shop'], now())", [customer, segment])
    by_segment = project.metrics.evaluate("active_customers", ["segment"], "month")
    total = project.metrics.evaluate("active_customers", [], "month")
    assert by_segment.groupby("period")["value"].sum().tolist() == total["value"].tolist()
    wholesale = orders[orders["customer_ref"].map(segments) == "wholesale"]
    ref = reference(wholesale, "month").set_index("period")
    mine = project.metrics.evaluate("repeat_purchase_rate", ["segment"], "month")
    mine = mine[mine["segment"] == "wholesale"].assign(period=lambda d: pd.to_datetime(d["period"])).set_index("period")
    assert (mine["n"] == ref["customers"]).all()
    assert (mine["value"] * mine["n"]).round().tolist() == ref["repeat"].tolist()

    # by cohort month (no subscriptions: the month of the first purchase), the cohort triangle
    tri = project.metrics.evaluate("cohort_revenue_retention", ["cohort_month"], "month")
    tri["period"] = pd.to_datetime(tri["period"])
    o = orders.assign(month=orders["ordered_at"].dt.to_period("M").dt.start_time)
    cohort = o[o["amount"] > 0].groupby("customer_ref")["month"].min().rename("cohort")
    o = o.join(cohort, on="customer_ref").dropna(subset=["cohort"])
    first_revenue = o[o["month"] == o["cohort"]].groupby("cohort")["amount"].sum()
    revenue = o.groupby(["cohort", "month"])["amount"].sum()
    for _, r in tri.dropna(subset=["value"]).iterrows():
        c = pd.Timestamp(r["cohort_month"])
        expected = revenue.get((c, r["period"]), 0.0) / first_revenue[c]
        assert r["value"] == pytest.approx(expected), (c, r["period"])
        assert r["n"] == (cohort == c).sum()
    assert len(tri.dropna(subset=["value"])) == sum(  # every cohort, every later month with orders
        (o["month"].drop_duplicates() > c).sum() for c in first_revenue.index)


def test_the_demo_company_has_order_metrics_too(demo_loaded):
    config, db, _ = demo_loaded
    with Project.open(config, db) as project:
        got = project.metrics(ORDER_METRICS, [], "month")
        orders = project.warehouse.df("SELECT customer_ref, ordered_at, amount FROM orders")
    last = got[got["metric"] == "active_customers"].dropna(subset=["value"]).iloc[-2]
    month = orders[orders["ordered_at"].dt.to_period("M").dt.start_time == pd.Timestamp(last["period"])]
    assert last["value"] == month.loc[month["amount"] > 0, "customer_ref"].nunique() > 0


def test_the_subscription_metrics_of_an_orders_only_company_say_why_they_are_empty(shop):
    project, _ = shop
    assert project.metrics.evaluate("mrr").iloc[0]["note"] == "not available: no subscriptions are loaded"
    assert project.metrics.evaluate("repeat_purchase_rate", [], "month")["note"].eq("").all()


def test_a_company_with_credits_only_is_told_so(tmp_path):
    credits = pd.DataFrame({"order_id": ["a", "b"], "customer_ref": ["A", "B"],
                            "ordered_at": pd.to_datetime(["2024-01-03", "2024-02-03"]), "amount": [-10.0, -5.0]})
    with load(tmp_path, credits) as project:
        note = project.metrics.evaluate("active_customers", [], "month").iloc[0]["note"]
        assert note == ("not available: 2 orders are loaded, but none has an amount above 0 (credits only), "
                        "so no customer made a purchase")
        assert project.metrics.evaluate("order_revenue").iloc[0]["value"] == -15


def _online_retail_orders(datasets) -> pd.DataFrame:
    """The invoice lines as orders: one per invoice of a known customer, amount = sum of quantity x
    unit price (cancellations, invoices starting with C, are credits)."""
    lines = pd.read_csv(datasets / "online_retail" / "online_retail.csv.gz", dtype={"InvoiceNo": str, "StockCode": str},
                        parse_dates=["InvoiceDate"], usecols=["InvoiceNo", "Quantity", "InvoiceDate", "UnitPrice",
                                                              "CustomerID"])
    lines = lines.dropna(subset=["CustomerID"])
    lines["amount"] = lines["Quantity"] * lines["UnitPrice"]
    orders = lines.groupby("InvoiceNo").agg(customer_ref=("CustomerID", "first"), ordered_at=("InvoiceDate", "min"),
                                            amount=("amount", "sum")).reset_index()
    orders["customer_ref"] = orders["customer_ref"].astype(int).astype(str)
    return orders.rename(columns={"InvoiceNo": "order_id"})


def test_online_retail_invoices_as_orders(datasets, tmp_path):
    orders = _online_retail_orders(datasets)
    assert len(orders) == 22_190 and orders["customer_ref"].nunique() == 4_372
    with load(tmp_path, orders, "retail") as project:
        got = evaluate_catalog(project.warehouse, builtin_catalog(), [], "month", store=False, only=ORDER_METRICS)
        tri = project.metrics.evaluate("cohort_revenue_retention", ["cohort_month"], "month")
        year = project.metrics.evaluate("repeat_purchase_rate", [], "year")
    got["period"] = pd.to_datetime(got["period"])
    m = {name: got[got["metric"] == name].set_index("period") for name in ORDER_METRICS}
    ref = reference(orders, "month").set_index("period")
    assert len(ref) == 13  # December 2010 to December 2011 (to the 9th)
    np.testing.assert_allclose(m["order_revenue"]["value"], ref["revenue"], rtol=1e-9)
    for col, metric in (("customers", "active_customers"), ("repeat", "repeat_customers"),
                        ("new", "first_time_customers")):
        assert m[metric]["value"].tolist() == ref[col].tolist(), metric
    np.testing.assert_allclose(m["cohort_revenue_retention"]["value"], ref["retention"], rtol=1e-9)
    # plausible for this shop: November 2011 is its busiest month, about £1.1M from known customers
    nov = pd.Timestamp("2011-11-01")
    assert 1.0e6 < m["order_revenue"].loc[nov, "value"] < 1.3e6
    assert m["active_customers"]["value"].idxmax() == nov and 1_500 < m["active_customers"].loc[nov, "value"] < 1_800
    # wholesale buyers come back: most of a late month's customers had bought before
    assert 0.6 < m["repeat_purchase_rate"].loc[nov, "value"] < 0.9
    assert 200 < m["average_order_value"].loc[nov, "value"] < 800
    # every customer is new in the first month, and the first cohort is still large a year on
    assert m["first_time_customers"]["value"].iloc[0] == m["active_customers"]["value"].iloc[0]
    dec10 = tri[tri["cohort_month"] == pd.Timestamp("2010-12-01").date()].set_index("period")["value"]
    assert 0.4 < dec10[pd.Timestamp("2011-11-01").date()] < 1.5
    # over the whole year, a majority of the shop's customers bought more than once
    y2011 = year[year["period"] == pd.Timestamp("2011-01-01").date()].iloc[0]
    bought = orders[(orders["amount"] > 0) & (orders["ordered_at"] < "2012-01-01")]
    before = set(bought.loc[bought["ordered_at"] < "2011-01-01", "customer_ref"])
    counts = bought.groupby("customer_ref").size()
    in_2011 = set(bought.loc[bought["ordered_at"] >= "2011-01-01", "customer_ref"])
    repeat = sum(1 for c in in_2011 if counts[c] >= 2 or c in before)
    assert (y2011["value"], y2011["n"]) == (pytest.approx(repeat / len(in_2011)), len(in_2011))
    assert 0.5 < y2011["value"] < 0.8 and y2011["ci_low"] < y2011["value"] < y2011["ci_high"]


def test_an_orders_only_company_sees_its_order_metrics_in_the_briefing(shop, tmp_path):
    from patron.report import build
    from patron.report.briefing import headline_metrics

    project, orders = shop
    assert headline_metrics(builtin_catalog(), orders_only=True)[:2] == ["order_revenue", "active_customers"]
    assert project.as_of() is not None  # the orders alone date the data
    b = build(project.warehouse, builtin_catalog())
    headlines = {h.metric: h for h in b.headlines}
    assert "mrr" not in headlines and "paying_customers" not in headlines
    active = headlines["active_customers"]
    assert active.period == "May 2024"  # orders run into June: May is the last complete month
    may = orders[(orders["ordered_at"] >= "2024-05-01") & (orders["ordered_at"] < "2024-06-01")]
    assert active.value == may.loc[may["amount"] > 0, "customer_ref"].nunique()
    assert headlines["order_revenue"].value == pytest.approx(may["amount"].sum())
    rate = headlines["repeat_purchase_rate"]
    assert rate.ci_low < rate.value <= rate.ci_high and rate.n == active.value
