"""Transactional CLV: BG/NBD and Gamma-Gamma reproduce Fader, Hardie and Lee's published CDNOW
estimates through patron's own loading; predictions match closed forms worked out here; nothing
after the as-of day is read; bad or thin data get a clear error."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from scipy.special import betaln, gammaln

import cdnow
from patron.errors import PredictError
from patron.predict import bgnbd, gamma_gamma
from patron.predict.clv import customer_summary, holdout_check, transactional_clv
from patron.project import Project

CALIBRATION_END = date(1997, 9, 30)  # week 39 of CDNOW, the papers' calibration period
HOLDOUT_END = date(1998, 6, 30)  # week 78, the end of the data
PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}  # Fader, Hardie and Lee (2005), table 1
PUBLISHED_GG = {"p": 6.25, "q": 3.74, "gamma": 15.44}  # "RFM and CLV" (2005); Hardie's Gamma-Gamma note
CDNOW_YML = """sources:
  cdnow:
    path: cdnow.csv
    table: orders
    customer_ref: customer
    date_format: '%Y%m%d'
    columns:
      order_id: order_id
      ordered_at: date
      amount: dollars
"""


def sig3(v: float) -> str:
    return f"{v:.3g}"


@pytest.fixture(scope="module")
def cdnow_project(tmp_path_factory: pytest.TempPathFactory):
    """CDNOW loaded as a customer would: the export converted to CSV, mapped in patron.yml, ingested."""
    root = tmp_path_factory.mktemp("cdnow")
    try:
        cdnow.write_orders_csv(root / "cdnow.csv")
    except cdnow.Unavailable as e:
        pytest.skip(str(e))
    (root / "patron.yml").write_text(CDNOW_YML)
    with Project.open(root / "patron.yml", root / "w.duckdb", require_config=True) as project:
        result = project.ingest()
        assert result.files[0].loaded == 6919 and result.files[0].quarantined == 0
        yield project


@pytest.fixture(scope="module")
def cdnow_clv(cdnow_project):
    return transactional_clv(cdnow_project.warehouse, CALIBRATION_END)


def test_the_cdnow_summary_is_the_papers(cdnow_project):
    s = customer_summary(cdnow_project.warehouse, CALIBRATION_END).set_index("customer")
    assert len(s) == 2357 and s["frequency"].sum() == 2457  # the paper's customers and repeat purchases
    assert (s["frequency"] > 0).sum() == 946
    # the first customer of Hardie's data: x = 2, t_x = 30.43, T = 38.86 (weeks to 30 September, not 1 October)
    one = s.loc["1"]
    assert (one["frequency"], round(one["recency"], 2), round(one["T"], 2)) == (2, 30.43, 38.86)
    assert one["monetary"] == pytest.approx((14.96 + 29.73) / 2)  # the two repeat days' values
    assert round(s["T"].min(), 2) == 27.0 and round(s["T"].max(), 2) == 38.86


def test_bgnbd_on_cdnow_matches_the_published_estimates(cdnow_clv):
    fit = cdnow_clv.purchases
    assert fit.converged and fit.n == 2357
    assert {k: sig3(getattr(fit, k)) for k in PUBLISHED_BGNBD} == {k: sig3(v) for k, v in PUBLISHED_BGNBD.items()}
    assert round(fit.log_likelihood, 1) == -9582.4


def test_gamma_gamma_on_cdnow_matches_the_published_estimates(cdnow_clv):
    fit = cdnow_clv.spend
    assert fit.converged and fit.n == 946
    assert {k: sig3(getattr(fit, k)) for k in PUBLISHED_GG} == {k: sig3(v) for k, v in PUBLISHED_GG.items()}
    assert round(fit.frequency_monetary_correlation, 2) == 0.11  # as Hardie's note reports: weak
    assert cdnow_clv.notes == ()


def test_cdnow_customers_get_purchases_spend_and_value(cdnow_clv):
    c = cdnow_clv.customers.set_index("customer")
    assert list(c.columns) == ["frequency", "recency", "T", "monetary", "expected_purchases", "probability_alive",
                               "expected_spend", "clv"]
    assert c["probability_alive"].between(0, 1).all() and (c.loc[c["frequency"] == 0, "probability_alive"] == 1).all()
    assert (c["clv"] > 0).all() and (c["clv"] < c["expected_purchases"] * c["expected_spend"]).all()  # discounted
    fit, spend = cdnow_clv.purchases, cdnow_clv.spend
    one = c.loc["1"]
    assert one["probability_alive"] == pytest.approx(p_alive_by_hand(fit, 2, one["recency"], one["T"]))
    assert one["expected_purchases"] == pytest.approx(expected_by_hand(fit, 52, 2, one["recency"], one["T"]))
    m = one["monetary"]
    assert one["expected_spend"] == pytest.approx(
        (spend.q - 1) / (2 * spend.p + spend.q - 1) * spend.p * spend.gamma / (spend.q - 1)
        + 2 * spend.p / (2 * spend.p + spend.q - 1) * m)


def test_the_cdnow_holdout_is_tracked_like_the_papers_figure(cdnow_project):
    check = holdout_check(cdnow_project.warehouse, CALIBRATION_END, HOLDOUT_END)
    assert check.weeks == 39
    assert list(check.by_frequency["frequency"]) == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert check.by_frequency["customers"].sum() == 2357
    orders = cdnow.transactions()
    later = orders[(orders["date"] > 19970930)].drop_duplicates(["customer", "date"])
    assert check.actual_total == len(later)  # purchase days in weeks 40-78
    assert check.predicted_total == pytest.approx(check.actual_total, rel=0.15)
    zero = check.by_frequency.iloc[0]  # the customers with no repeat purchase: the largest group
    assert zero["predicted"] == pytest.approx(zero["actual"], rel=0.1)
    assert 0 < check.mean_absolute_error < 1


# closed forms, written out here from the papers, to check the vectorised code against


def p_alive_by_hand(fit: bgnbd.BGNBDFit, x: int, tx: float, T: float) -> float:
    """Fader, Hardie and Lee's note on P(alive): 1 / (1 + a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x))."""
    if x == 0:
        return 1.0
    return 1 / (1 + fit.a / (fit.b + x - 1) * ((fit.alpha + T) / (fit.alpha + tx)) ** (fit.r + x))


def hyp2f1_series(a: float, b: float, c: float, z: float) -> float:
    """ln 2F1(a, b; c; z) by its power series, term by term in logs (so large arguments do not overflow)."""
    log_terms, log_t, n = [0.0], 0.0, 0
    while True:
        log_t += math.log(abs((a + n) * (b + n) / ((c + n) * (n + 1)) * z))
        n += 1
        log_terms.append(log_t)
        if n > 20 and log_t < max(log_terms) - 40:
            break
    top = max(log_terms)
    return top + math.log(sum(math.exp(v - top) for v in log_terms))


def expected_by_hand(fit: bgnbd.BGNBDFit, t: float, x: int, tx: float, T: float) -> float:
    """Equation (10) of the paper as printed, with the power and 2F1 multiplied in logs."""
    r, alpha, a, b = fit.r, fit.alpha, fit.a, fit.b
    z = t / (alpha + T + t)
    decay = math.exp((r + x) * math.log((alpha + T) / (alpha + T + t)) + hyp2f1_series(r + x, b + x, a + b + x - 1, z))
    return (a + b + x - 1) / (a - 1) * (1 - decay) * p_alive_by_hand(fit, x, tx, T)


PAPER = bgnbd.BGNBDFit(0.243, 4.414, 0.793, 2.426, -9582.4, 2357, True)


@pytest.mark.parametrize(("t", "x", "tx", "T"), [
    (39, 2, 30.43, 38.86),  # Hardie's first CDNOW customer
    (52, 0, 0.0, 10.0),  # never bought again: alive for sure
    (52, 7, 35.0, 38.0),
    (1000, 5, 20.0, 30.0),  # a long horizon: z near 1
    (52, 150, 300.0, 300.5),  # a frequent buyer, where 2F1 itself is around 1e+45
    (0.5, 3, 5.0, 6.0),  # a short horizon
])
def test_predictions_match_the_papers_closed_forms(t, x, tx, T):
    assert bgnbd.probability_alive(PAPER, x, tx, T)[0] == pytest.approx(p_alive_by_hand(PAPER, x, tx, T), rel=1e-12)
    assert bgnbd.expected_purchases(PAPER, t, x, tx, T)[0] == pytest.approx(expected_by_hand(PAPER, t, x, tx, T),
                                                                             rel=1e-9)


def test_predictions_stay_finite_and_sensible_at_the_extremes():
    x = np.array([0, 1, 40, 300, 2000])
    tx = np.array([0, 1.0, 10.0, 100.0, 700.0])
    T = np.array([10.0, 52, 400, 400, 730])
    p = bgnbd.probability_alive(PAPER, x, tx, T)
    e = bgnbd.expected_purchases(PAPER, 52, x, tx, T)
    assert np.isfinite(p).all() and np.isfinite(e).all() and (e >= 0).all()
    assert p[3] < 1e-100 and e[3] < 1e-100  # 300 purchases, then silent for 300 weeks: gone
    assert (bgnbd.expected_purchases(PAPER, 0, x, tx, T) == 0).all()
    grows = [bgnbd.expected_purchases(PAPER, t, 3, 20.0, 30.0)[0] for t in (1, 10, 100, 1000)]
    assert grows == sorted(grows)


# the fit itself, on data drawn from the model


def draw_bgnbd(n: int, r=0.25, alpha=4.0, a=0.8, b=2.5, seed=1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, t_x, T) of n customers from the BG/NBD process, times in whole days (as weeks)."""
    rng = np.random.default_rng(seed)
    lam, p = rng.gamma(r, 1 / alpha, n), rng.beta(a, b, n)
    T_days = rng.integers(26 * 7, 52 * 7 + 1, n)
    T = T_days / 7
    alive_for, events = rng.geometric(p), rng.poisson(lam * T)  # purchases before dropping out; in (0, T]
    x = np.minimum(alive_for, events)
    tx = np.zeros(n)
    rep = x > 0
    tx[rep] = T[rep] * rng.beta(x[rep], events[rep] - x[rep] + 1)  # the x-th of the events, uniform on (0, T]
    return x.astype(float), np.where(rep, np.clip(np.ceil(tx * 7), 1, T_days), 0) / 7, T


def loglik_by_hand(params: tuple[float, float, float, float], x, tx, T) -> float:
    """The paper's equation (6), customer by customer: ln[A1 (A2 + [x>0] A3)]."""
    r, alpha, a, b = params
    out = 0.0
    for xi, ti, Ti in zip(x, tx, T, strict=True):
        a1 = gammaln(r + xi) - gammaln(r) + r * math.log(alpha)
        a2 = betaln(a, b + xi) - betaln(a, b) - (r + xi) * math.log(alpha + Ti)
        a3 = betaln(a + 1, b + xi - 1) - betaln(a, b) - (r + xi) * math.log(alpha + ti) if xi > 0 else -math.inf
        out += a1 + np.logaddexp(a2, a3)
    return out


def test_the_fit_finds_the_maximum_of_the_papers_likelihood():
    x, tx, T = draw_bgnbd(1500, seed=2)
    fit = bgnbd.fit(x, tx, T)
    assert fit.converged and fit.n == 1500
    best = (fit.r, fit.alpha, fit.a, fit.b)
    assert fit.log_likelihood == pytest.approx(loglik_by_hand(best, x, tx, T), rel=1e-10)
    for i in range(4):
        for step in (0.98, 1.02):
            moved = list(best)
            moved[i] *= step
            assert loglik_by_hand(moved, x, tx, T) < fit.log_likelihood


def test_the_fit_recovers_the_parameters_it_was_drawn_with():
    x, tx, T = draw_bgnbd(40_000, seed=3)
    fit = bgnbd.fit(x, tx, T)
    assert fit.converged
    assert (fit.r, fit.alpha, fit.a, fit.b) == pytest.approx((0.25, 4.0, 0.8, 2.5), rel=0.15)


def test_identical_rows_are_grouped_with_their_total_weight():
    x, tx, T = draw_bgnbd(20_000, seed=4)
    w = np.random.default_rng(0).integers(1, 4, len(x)).astype(float)
    got = pd.DataFrame(dict(zip(["x", "tx", "T", "w"], bgnbd.compress(x, tx, T, w), strict=True)))
    want = pd.DataFrame({"x": x, "tx": tx, "T": T, "w": w}).groupby(["x", "tx", "T"], as_index=False)["w"].sum()
    assert len(got) == len(want) < len(x) / 2
    pd.testing.assert_frame_equal(got.sort_values(["x", "tx", "T"], ignore_index=True), want)


def test_weights_give_the_same_fit_as_the_rows_they_stand_for():
    x, tx, T = draw_bgnbd(3000, seed=4)
    rows = pd.DataFrame({"x": x, "tx": tx, "T": T})
    counted = rows.groupby(["x", "tx", "T"]).size().reset_index(name="n")
    assert len(counted) < len(rows) / 1.5
    plain = bgnbd.fit(x, tx, T)
    weighted = bgnbd.fit(counted["x"], counted["tx"], counted["T"], weights=counted["n"])
    for k in ("r", "alpha", "a", "b", "log_likelihood"):
        assert getattr(weighted, k) == pytest.approx(getattr(plain, k), rel=1e-6), k
    assert weighted.n == plain.n == 3000
    # a weight of 2 is the row twice
    doubled = bgnbd.fit(np.r_[x, x[:500]], np.r_[tx, tx[:500]], np.r_[T, T[:500]])
    w = np.r_[np.full(500, 2.0), np.ones(2500)]
    assert bgnbd.fit(x, tx, T, weights=w).r == pytest.approx(doubled.r, rel=1e-6)


def test_a_fit_that_runs_to_the_edge_says_it_did_not_converge():
    # identical customers: no spread in rates or dropout, so r, alpha, a, b head for infinity
    fit = bgnbd.fit(np.full(50, 3), np.full(50, 10.0), np.full(50, 20.0))
    assert not fit.converged and "ran off" in fit.message


def test_dropout_parameters_that_ran_away_say_the_fit_did_not_settle_and_warn_of_nothing():
    # the fit of a shop whose customers all stop buying with the same chance: a and b run away
    ran = bgnbd.BGNBDFit(0.3, 0.516, 1.8e6, 5.15e6, -1000.0, 300, False, "a parameter ran off")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(PredictError, match=r"the fit did not settle: its dropout parameters ran away "
                                               r"\(a = 1.8e\+06, b = 5.15e\+06\): customers look alike in how they "
                                               "stop buying") as e:
            bgnbd.expected_purchases(ran, 52, [1, 3], [2.0, 10.0], [20.0, 30.0])
    assert "divides by a - 1" not in str(e.value)


@pytest.mark.parametrize(("args", "message"), [
    (([1, -1], [1, 0], [2, 2]), "frequency has 1 negative value"),
    (([1, 1], [3, 1], [2, 2]), "recency is greater than T for 1 customer (the last"),
    (([0, 1], [1, 1], [2, 2]), "1 customer with frequency 0 but recency other than 0"),
    (([1, np.nan], [1, 0], [2, 2]), "frequency has 1 missing (NaN) value"),
    (([1, 1], [1, 1], [2, np.inf]), "T has 1 infinite value"),
    (([1.5, 1], [1, 1], [2, 2]), "frequency must count purchases"),
    (([1, 1], [1, 1], [2]), "differ in length"),
])
def test_bad_input_is_named(args, message):
    with pytest.raises(PredictError, match="BG/NBD") as e:
        bgnbd.fit(*args)
    assert message in str(e.value)
    with pytest.raises(PredictError):
        bgnbd.probability_alive(PAPER, *args)


def test_too_few_repeat_buyers_is_an_error_not_a_guess():
    x = np.r_[np.ones(19), np.zeros(500)]
    with pytest.raises(PredictError, match="19 customers with a repeat purchase; the model needs at least 20"):
        bgnbd.fit(x, x * 3, np.full(len(x), 10.0))


# Gamma-Gamma


def draw_gamma_gamma(n: int, p=6.0, q=4.0, gamma=15.0, seed=5) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 8, n).astype(float)
    nu = rng.gamma(q, 1 / gamma, n)
    return x, rng.gamma(p * x, 1 / (nu * x))  # the mean of x Gamma(p, nu) values


def test_gamma_gamma_recovers_its_parameters_and_shrinks_towards_the_mean():
    x, m = draw_gamma_gamma(20_000)
    fit = gamma_gamma.fit(np.r_[x, 0, 0], np.r_[m, np.nan, 0])  # no repeat purchase: passed over
    assert fit.converged and fit.n == 20_000
    assert (fit.p, fit.q, fit.gamma) == pytest.approx((6.0, 4.0, 15.0), rel=0.1)
    assert abs(fit.frequency_monetary_correlation) < 0.05
    spend = gamma_gamma.expected_average_spend(fit, [0, 1, 50], [0, 100.0, 100.0])
    assert spend[0] == pytest.approx(fit.mean_spend)
    assert fit.mean_spend < spend[1] < spend[2] < 100


def test_gamma_gamma_refuses_what_it_cannot_model():
    x, m = draw_gamma_gamma(100)
    with pytest.raises(PredictError, match="1 customer with repeat purchases: mean purchase value not above 0"):
        gamma_gamma.fit(x, np.r_[m[:-1], -3.0])
    with pytest.raises(PredictError, match="Gamma-Gamma: 10 customers with a repeat purchase; the model needs"):
        gamma_gamma.fit(x[:10], m[:10])
    flat = gamma_gamma.GammaGammaFit(1.0, 0.8, 1.0, 0.0, 10, True, 0.0)
    with pytest.raises(PredictError, match="q = 0.8 is not above 1"):
        gamma_gamma.expected_average_spend(flat, [1], [10.0])


# from the warehouse


def shop_orders(n: int = 400, seed: int = 6, until: date = date(2024, 6, 30)) -> pd.DataFrame:
    """Orders of n customers from the BG/NBD process, first purchases in early 2023, through `until`:
    some on the same day twice, some credits."""
    rng = np.random.default_rng(seed)
    start = datetime(2023, 1, 1)
    rows = []
    for c in range(n):
        lam, p = rng.gamma(0.8, 1 / 4.0), rng.beta(1.0, 4.0)  # purchases a week; dropout after each repeat
        at, bought = start + timedelta(days=float(rng.uniform(0, 90))), 0
        while at < datetime.combine(until + timedelta(days=1), datetime.min.time()):
            rows.append((f"C{c}", at, round(float(rng.gamma(4.0, 10.0)), 2)))
            if rng.random() < 0.1:
                rows.append((f"C{c}", at + timedelta(minutes=5), 5.0))  # a second order the same day
            if rng.random() < 0.05:
                rows.append((f"C{c}", at + timedelta(days=2), -10.0))  # a credit: not a purchase
            bought += 1
            if bought > 1 and rng.random() < p:
                break
            at += timedelta(days=float(rng.exponential(7 / max(lam, 1e-3))))
    df = pd.DataFrame(rows, columns=["customer_ref", "ordered_at", "amount"])
    df.insert(0, "order_id", [f"o{i}" for i in range(len(df))])
    return df


def load(tmp_path, orders: pd.DataFrame, name: str) -> Project:
    path = tmp_path / f"{name}.csv"
    orders.assign(ordered_at=orders["ordered_at"].dt.strftime("%Y-%m-%d %H:%M:%S")).to_csv(path, index=False)
    project = Project.open(None, tmp_path / f"{name}.duckdb")
    assert project.ingest.file(path, "orders").total("quarantined") == 0
    return project


AS_OF = date(2024, 1, 31)


def test_orders_after_the_as_of_day_change_nothing(tmp_path):
    orders = shop_orders()
    last_minute = pd.DataFrame({"order_id": ["late", "next"], "customer_ref": ["C1", "C1"], "amount": [99.0, 99.0],
                                "ordered_at": pd.to_datetime(["2024-01-31 23:59:59", "2024-02-01 00:00:00"])})
    orders = pd.concat([orders, last_minute], ignore_index=True)
    later = orders["ordered_at"] >= pd.Timestamp(AS_OF + timedelta(days=1))
    newcomers = pd.DataFrame({"order_id": [f"n{i}" for i in range(30)],
                              "customer_ref": [f"N{i // 3}" for i in range(30)],
                              "ordered_at": pd.Timestamp("2024-03-01") + pd.to_timedelta(np.arange(30) * 2, "D"),
                              "amount": 50.0})
    assert later.sum() > 100
    with load(tmp_path, orders[~later], "before") as before, \
            load(tmp_path, pd.concat([orders, newcomers]), "all") as everything:
        a = transactional_clv(before.warehouse, AS_OF)
        b = transactional_clv(everything.warehouse, AS_OF)
    assert a.purchases == b.purchases and a.spend == b.spend  # to the last digit
    pd.testing.assert_frame_equal(a.customers, b.customers, check_exact=True)
    assert not a.customers["customer"].str.startswith("N").any()
    c1 = a.customers.set_index("customer").loc["C1"]
    mine = orders[(orders["customer_ref"] == "C1") & ~later & (orders["amount"] >= 0)]
    assert c1["frequency"] == mine["ordered_at"].dt.normalize().nunique() - 1  # the 23:59:59 order counts


def test_the_summary_is_per_purchase_day_and_by_master_customer(tmp_path):
    orders = pd.DataFrame({
        "order_id": list("abcdefgh"),
        "customer_ref": ["A", "A", "A", "A", "B", "B", "C", "A"],
        "ordered_at": pd.to_datetime(["2024-01-01 09:00", "2024-01-01 17:00", "2024-01-15 10:00", "2024-01-20 00:00",
                                      "2024-01-08 08:00", "2024-01-22 08:00", "2024-01-29 08:00", "2024-02-05 08:00"]),
        "amount": [10.0, 5.0, 30.0, -30.0, 20.0, 0.0, 7.0, 1000.0],
    })
    with load(tmp_path, orders, "o") as project:
        wh = project.warehouse
        s = customer_summary(wh, AS_OF).set_index("customer")
        assert s.loc["A"].to_dict() == {"frequency": 1, "recency": 2.0, "T": 30 / 7, "monetary": 30.0}
        assert s.loc["B"].to_dict() == {"frequency": 1, "recency": 2.0, "T": 23 / 7, "monetary": 0.0}  # free: a visit
        assert s.loc["C"]["frequency"] == 0 and np.isnan(s.loc["C"]["monetary"]) and s.loc["C"]["T"] == 2 / 7
        # identity resolution says A and C are one customer: the master id wins over the source's
        wh.execute("UPDATE orders SET customer_id = 'M1' WHERE customer_ref IN ('A', 'C')")
        s = customer_summary(wh, AS_OF).set_index("customer")
        assert sorted(s.index) == ["B", "M1"] and s.loc["M1"]["frequency"] == 2
        assert s.loc["M1"]["monetary"] == pytest.approx((30 + 7) / 2)


def test_too_little_data_says_how_much_there_is_and_what_is_needed(tmp_path):
    with Project.open(None, tmp_path / "empty.duckdb") as project, \
            pytest.raises(PredictError, match=r"CLV: too little data: no orders on or before 2024-01-31"):
        transactional_clv(project.warehouse, AS_OF)
    with load(tmp_path, shop_orders(15), "few") as project:
        s = customer_summary(project.warehouse, AS_OF)
        repeaters = int((s["frequency"] > 0).sum())
        assert 0 < repeaters < 20
        with pytest.raises(PredictError, match=f"{len(s)} customers with orders on or before 2024-01-31, {repeaters} "
                                               "of them with a repeat purchase .*at least 20"):
            transactional_clv(project.warehouse, AS_OF)


def test_value_is_purchases_times_spend_times_margin_discounted(tmp_path):
    with load(tmp_path, shop_orders(), "shop") as project:
        flat = transactional_clv(project.warehouse, AS_OF, horizon_weeks=26, annual_discount=0.0, margin=0.5)
        discounted = transactional_clv(project.warehouse, AS_OF, horizon_weeks=26, annual_discount=0.2, margin=0.5)
        check = holdout_check(project.warehouse, AS_OF, date(2024, 6, 30))
    c = flat.customers
    np.testing.assert_allclose(c["clv"], 0.5 * c["expected_purchases"] * c["expected_spend"], rtol=1e-9)
    ratio = discounted.customers["clv"] / c["clv"]
    assert ((ratio < 1) & (ratio > 1 / 1.2 ** 0.5)).all()  # no purchase is discounted more than half a year's
    orders = shop_orders()
    after = orders[(orders["ordered_at"] >= "2024-02-01") & (orders["amount"] >= 0)]
    after = after[after["customer_ref"].isin(check.customers["customer"])]
    assert check.actual_total == len(after.assign(day=after["ordered_at"].dt.normalize())
                                     .drop_duplicates(["customer_ref", "day"]))
    assert check.predicted_total > 0 and check.mean_absolute_error > 0


def test_patron_clv_reports_the_published_fit_with_its_log_likelihood_and_each_customer(cdnow_project):
    """`patron clv --as-of 1997-09-30 --format json` on CDNOW loaded as orders: the fit to 3
    significant figures, the log-likelihood, and per customer its expected purchases and the
    probability it is still a customer; the holdout's purchases against what was expected."""
    import json
    import subprocess

    from conftest import PATRON

    root = cdnow_project.db.parent
    cdnow_project.close()  # the command opens the warehouse itself (the fixture reopens it when next asked)
    r = subprocess.run([*PATRON, "clv", "--db", "w.duckdb", "--as-of", "1997-09-30", "--holdout-end", "1998-06-30",
                        "-f", "json"],
                       cwd=root, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert {k: sig3(doc["bgnbd"][k]) for k in PUBLISHED_BGNBD} == {k: sig3(v) for k, v in PUBLISHED_BGNBD.items()}
    assert {k: sig3(doc["gamma_gamma"][k]) for k in PUBLISHED_GG} == {k: sig3(v) for k, v in PUBLISHED_GG.items()}
    assert round(doc["bgnbd"]["log_likelihood"], 1) == -9582.4
    customers = doc["customers"]
    assert len(customers) == 2357 and all(0 <= c["probability_alive"] <= 1 and c["expected_purchases"] >= 0
                                          for c in customers)
    assert doc["holdout"]["actual"] == 1882 and 0.85 < doc["holdout"]["predicted"] / 1882 < 1.0
    r = subprocess.run([*PATRON, "clv", "--db", "w.duckdb", "--as-of", "1997-09-30"], cwd=root,
                       capture_output=True, text=True, env=__import__("os").environ | {"COLUMNS": "100"})
    assert "log-likelihood -9,582.4 over 2,357 customers" in " ".join(r.stdout.split())


RETAIL_YML = """sources:
  retail_orders:
    path: {path}
    table: orders
    customer_ref: CustomerID
    filter: CustomerID IS NOT NULL
    columns: {{order_id: InvoiceNo, ordered_at: InvoiceDate}}
    expressions: {{amount: Quantity * UnitPrice}}
    rollup: {{amount: sum}}
"""


def test_online_retail_calibrated_to_june_expects_the_holdouts_purchases(datasets, tmp_path):
    """A real shop's invoice lines, mapped as the README maps them, fitted on December 2010 to
    June 2011 and checked on the five months after: the purchases expected against those made."""
    import json
    import subprocess

    from conftest import PATRON

    (tmp_path / "patron.yml").write_text(RETAIL_YML.format(path=datasets / "online_retail" / "online_retail.csv.gz"))
    assert subprocess.run([*PATRON, "ingest"], cwd=tmp_path, capture_output=True).returncode == 0
    r = subprocess.run([*PATRON, "clv", "--as-of", "2011-06-30", "--holdout-end", "2011-12-09", "-f", "json"],
                       cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    fit, hold = doc["bgnbd"], doc["holdout"]
    assert fit["converged"] and fit["n"] == 2959  # one customer whose only order was cancelled that day is none
    # wholesale buyers who all still buy: the fit is BG/NBD's no-dropout limit, and it says so
    assert fit["no_dropout"] and any("no customer is seen to drop out" in n for n in doc["notes"])
    assert hold["actual"] == 6369 and 0.8 < hold["predicted"] / hold["actual"] < 1.0  # the Christmas rush is more
    made = [g["actual"] for g in hold["by_frequency"]]
    expected = [g["predicted"] for g in hold["by_frequency"]]
    assert made == sorted(made) and expected == sorted(expected)  # who bought more before buys more after
    assert all(c["probability_alive"] == pytest.approx(1.0) for c in doc["customers"])
