"""Key-driver analysis: shares of R² against closed forms, brute force over orderings, and planted truth."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from patron.errors import PredictError
from patron.predict.importance import (
    MAX_PREDICTORS,
    _shapley_weights,
    _walk,
    by_segment,
    relative_importance,
)


def r2_by_least_squares(x: np.ndarray, y: np.ndarray) -> float:
    a = np.column_stack([np.ones(len(y)), x])
    resid = y - a @ np.linalg.lstsq(a, y, rcond=None)[0]
    return 1 - resid @ resid / ((y - y.mean()) @ (y - y.mean()))


def shapley_over_orderings(x: np.ndarray, y: np.ndarray, players: list[list[int]]) -> np.ndarray:
    """The definition: each player's R² gain, averaged over every order of entry."""
    value = np.zeros(len(players))
    orders = list(itertools.permutations(range(len(players))))
    for order in orders:
        before = 0.0
        for t, j in enumerate(order):
            cols = sorted(c for p in order[:t + 1] for c in players[p])
            after = r2_by_least_squares(x[:, cols], y)
            value[j] += after - before
            before = after
    return value / len(orders)


def planted(n: int = 1000, seed: int = 1) -> tuple[pd.DataFrame, pd.Series]:
    """y = 3·x1 + 1·x2 + 0·x3 + noise, independent predictors: shares 9/19, 1/19 and 0 of R² 10/19."""
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(rng.standard_normal((n, 3)), columns=["x1", "x2", "x3"])
    return x, pd.Series(3 * x.x1 + x.x2 + 3 * rng.standard_normal(n), name="nps")


def test_planted_structure_is_recovered():
    x, y = planted()
    r = relative_importance(x, y)
    assert [d.predictor for d in r.drivers] == ["x1", "x2", "x3"]
    x1, x2, x3 = r.drivers
    assert x1.rank == 1 and x1.clear_of_next  # "ranks first, clear of the others"
    assert x1.is_driver and x2.is_driver and not x3.is_driver
    assert x1.ci_low < 9 / 19 < x1.ci_high and x2.ci_low < 1 / 19 < x2.ci_high
    # why the rule is not "the interval excludes zero": a share is never negative and chance alone
    # gives x3 some, so even its interval stays above zero; it is not above what noise gets
    assert x3.ci_low > 0 and x3.share < x3.chance
    assert sum(d.share for d in r.drivers) == pytest.approx(r.r2, abs=1e-12)
    assert r.r2 == pytest.approx(r2_by_least_squares(x.to_numpy(), y.to_numpy()), abs=1e-12)
    assert sum(d.percent for d in r.drivers) == pytest.approx(100)
    assert (r.n, r.outcome, r.dropped_missing_outcome, r.dropped_missing_predictor) == (1000, "nps", 0, 0)
    assert list(r.to_frame().index) == ["x1", "x2", "x3"]


def test_unrelated_predictors_are_called_drivers_about_as_often_as_the_interval_errs():
    """Nominal 2.5% for an unrelated predictor, yet a modest real one is still found."""
    flagged = naive = found = 0
    for seed in range(40):
        rng = np.random.default_rng(100 + seed)
        x = pd.DataFrame(rng.standard_normal((200, 4)), columns=["a", "weak", "null1", "null2"])
        x["null3"] = (rng.random(200) < 0.2).astype(float)  # a skewed 0/1 one too
        y = pd.Series(x.a + 0.25 * x.weak + rng.standard_normal(200), name="y")
        r = relative_importance(x, y, bootstrap=200, seed=seed)
        nulls = [r.driver(c) for c in ("null1", "null2", "null3")]
        flagged += sum(d.is_driver for d in nulls)
        naive += sum(d.ci_low > 0 for d in nulls)
        found += r.driver("weak").is_driver
    assert naive == 120  # "lower bound above zero" would call every one of them a driver
    assert flagged <= 9  # P(more than 9 of 120 | 2.5%) < 0.3%
    assert found >= 28  # a predictor worth ~3.5 standard errors is found most of the time


def test_for_uncorrelated_predictors_the_shares_are_the_squared_standardized_coefficients():
    rng = np.random.default_rng(2)
    raw = rng.standard_normal((500, 4))
    q, _ = np.linalg.qr(raw - raw.mean(axis=0))  # exactly uncorrelated, centred columns
    y = q @ np.array([5.0, -2.0, 1.0, 0.3]) + 0.05 * rng.standard_normal(500)
    r = relative_importance(pd.DataFrame(q, columns=list("abcd")), pd.Series(y, name="y"), bootstrap=100)
    beta = np.linalg.lstsq(np.column_stack([np.ones(500), q]), y, rcond=None)[0][1:]
    standardized = beta * q.std(axis=0) / y.std()
    for name, b in zip("abcd", standardized, strict=True):
        assert r.driver(name).share == pytest.approx(b**2, rel=1e-10, abs=1e-14)


def test_exact_decomposition_matches_every_ordering_on_correlated_data():
    rng = np.random.default_rng(3)
    c = rng.standard_normal((4, 4))
    x = rng.multivariate_normal(np.zeros(4), c @ c.T + 0.2 * np.eye(4), size=300)
    y = x @ np.array([1.0, -0.5, 0.2, 0.0]) + rng.standard_normal(300)
    r = relative_importance(pd.DataFrame(x, columns=list("abcd")), pd.Series(y), bootstrap=100)
    expected = shapley_over_orderings(x, y, [[0], [1], [2], [3]])
    assert [r.driver(p).share for p in "abcd"] == pytest.approx(expected, abs=1e-12)
    assert r.outcome == "outcome"


def test_a_group_is_one_predictor_over_its_columns():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((300, 4))
    x[:, 3] += 0.7 * x[:, 0]
    y = x @ np.array([1.0, 0.5, -0.5, 0.3]) + rng.standard_normal(300)
    frame = pd.DataFrame(x, columns=["a", "b1", "b2", "c"])
    r = relative_importance(frame, pd.Series(y, name="y"), groups={"b": ["b1", "b2"]}, bootstrap=100)
    assert r.driver("b").columns == ("b1", "b2")
    expected = shapley_over_orderings(x, y, [[0], [1, 2], [3]])
    assert [r.driver(p).share for p in ("a", "b", "c")] == pytest.approx(expected, abs=1e-12)


def test_every_category_column_in_one_group_is_fine_though_they_sum_to_one():
    rng = np.random.default_rng(5)
    region = rng.integers(0, 3, 400)
    frame = pd.DataFrame({"effort": rng.standard_normal(400)})
    for k in range(3):
        frame[f"region_{k}"] = (region == k).astype(int)
    y = pd.Series(frame.effort + 0.8 * (region == 2) + rng.standard_normal(400), name="csat")
    r = relative_importance(frame, y, groups={"region": ["region_0", "region_1", "region_2"]}, bootstrap=200)
    expected = shapley_over_orderings(frame.to_numpy(float), y.to_numpy(), [[0], [1, 2]])  # two columns span it
    assert [r.driver(p).share for p in ("effort", "region")] == pytest.approx(expected, abs=1e-12)
    assert r.driver("region").is_driver


def test_the_chance_reference_is_noise_playing_in_the_predictors_place():
    rng = np.random.default_rng(6)
    z = rng.standard_normal((200, 5))
    z[:, 1] += z[:, 0]
    z[:, 4] += z[:, 0] + z[:, 2]  # predictors a, b, c; a noise column; the outcome last
    corr = np.corrcoef(z, rowvar=False)
    both = _walk(corr[None], [1, 1, 1, 1], _shapley_weights(3, [0, 0, 0]))[0]
    assert both[:3] == pytest.approx(_walk(np.delete(corr, 3, 0)[:, [0, 1, 2, 4]][None], [1, 1, 1],
                                           _shapley_weights(3, []))[0], abs=1e-14)
    for j in range(3):  # the noise's value in the game of the other two and itself
        keep = [i for i in range(5) if i != j]
        alone = _walk(corr[np.ix_(keep, keep)][None], [1, 1, 1], _shapley_weights(3, []))[0]
        assert both[3 + j] == pytest.approx(alone[2], abs=1e-14)


def test_the_same_seed_gives_the_same_answer():
    x, y = planted(300)
    a, b = relative_importance(x, y, bootstrap=200, seed=7), relative_importance(x, y, bootstrap=200, seed=7)
    assert a == b
    c = relative_importance(x, y, bootstrap=200, seed=8)
    assert [d.share for d in c.drivers] == [d.share for d in a.drivers]
    assert [d.ci_low for d in c.drivers] != [d.ci_low for d in a.drivers]


def test_a_binary_outcome_is_decomposed_as_a_linear_probability_model():
    rng = np.random.default_rng(9)
    x = pd.DataFrame(rng.standard_normal((2000, 3)), columns=["usage_drop", "tickets", "tenure"])
    churned = rng.random(2000) < 1 / (1 + np.exp(-(-2 + 1.5 * x.usage_drop + 0.5 * x.tickets)))
    r = relative_importance(x, pd.Series(churned, name="churned"), bootstrap=200)
    assert [d.predictor for d in r.drivers][:2] == ["usage_drop", "tickets"]
    assert r.drivers[0].clear_of_next and not r.driver("tenure").is_driver
    assert r.r2 == pytest.approx(r2_by_least_squares(x.to_numpy(), churned.astype(float)), abs=1e-12)


def test_a_rare_flag_that_vanishes_from_some_resamples_still_gives_finite_intervals():
    rng = np.random.default_rng(10)
    x = pd.DataFrame({"score": rng.standard_normal(60), "escalated": np.r_[1.0, 1.0, np.zeros(58)]})
    y = pd.Series(x.score + rng.standard_normal(60), name="y")
    r = relative_importance(x, y, bootstrap=300)
    frame = r.to_frame()
    assert np.isfinite(frame.select_dtypes("number").to_numpy()).all()


def test_rows_missing_values_are_dropped_and_counted():
    x, y = planted(200)
    x.loc[:9, "x2"] = np.nan
    x.loc[5:14, "x3"] = np.nan  # rows 5-9 miss both
    y.iloc[100:103] = np.nan
    r = relative_importance(x, y, bootstrap=100)
    assert (r.n, r.dropped_missing_outcome, r.dropped_missing_predictor) == (182, 3, 15)
    assert "x2 missing in 10 rows" in r.notes and "x3 missing in 10 rows" in r.notes


def test_a_constant_predictor_is_dropped_with_a_note():
    x, y = planted(200)
    x["region"] = 4
    r = relative_importance(x, y, bootstrap=100)
    assert [d.predictor for d in r.drivers] == ["x1", "x2", "x3"]
    assert any("region" in note and "same value" in note for note in r.notes)
    with pytest.raises(PredictError, match="every predictor is constant.*region"):
        relative_importance(x[["region"]], y, bootstrap=100)


def test_too_few_rows():
    x, y = planted(29)
    with pytest.raises(PredictError, match="at least 30 rows.*has 29$"):
        relative_importance(x, y)
    x, y = planted(40)
    y.iloc[:11] = np.nan
    with pytest.raises(PredictError, match="has 29 \\(11 rows without nps dropped\\)"):
        relative_importance(x, y)


def test_more_predictors_than_the_rows_allow():
    rng = np.random.default_rng(11)
    x = pd.DataFrame(rng.standard_normal((32, 30)), columns=[f"q{i}" for i in range(30)])
    groups = {"support": [f"q{i}" for i in range(15)], "billing": [f"q{i}" for i in range(15, 30)]}
    with pytest.raises(PredictError, match="more than 30 predictors \\+ 2.*has 32"):
        relative_importance(x, pd.Series(rng.standard_normal(32)), groups=groups)


def test_too_many_predictors_says_how_many_and_the_limit():
    rng = np.random.default_rng(12)
    x = pd.DataFrame(rng.standard_normal((100, 16)), columns=[f"q{i}" for i in range(16)])
    with pytest.raises(PredictError, match=f"16 predictors; at most {MAX_PREDICTORS}"):
        relative_importance(x, pd.Series(rng.standard_normal(100)))


def test_a_constant_outcome_is_refused():
    x, _ = planted(100)
    with pytest.raises(PredictError, match="nps is the same \\(9\\) for all 100 rows"):
        relative_importance(x, pd.Series(9.0, index=x.index, name="nps"))


def test_perfectly_collinear_predictors_are_named():
    x, y = planted(100)
    x["total"] = x.x1 + x.x2
    with pytest.raises(PredictError, match="collinear.*total = a linear combination of x1, x2"):
        relative_importance(x, y)


def test_non_numeric_columns_are_named():
    x, y = planted(100)
    x["plan"] = "pro"
    x["tier"] = pd.Categorical(["gold"] * 100)
    with pytest.raises(PredictError, match="not numeric: plan \\(object\\), tier \\(category\\)"):
        relative_importance(x, y)
    with pytest.raises(PredictError, match="nps is not numeric"):
        relative_importance(planted(100)[0], pd.Series(["yes"] * 100, name="nps"))


@pytest.mark.parametrize("call, match", [
    (lambda x, y: relative_importance(x, y, bootstrap=10), "bootstrap=10: needs at least 100"),
    (lambda x, y: relative_importance(x, y.reset_index(drop=True).set_axis(range(1, 101))), "index does not match"),
    (lambda x, y: relative_importance(x, y.to_numpy()[:50]), "50 values, the predictors 100 rows"),
    (lambda x, y: relative_importance(x, y, groups={"g": ["x1", "nope"]}), "group 'g' names nope"),
    (lambda x, y: relative_importance(x, y, groups={"g": ["x1"], "h": ["x1", "x2"]}), "x1 is in two groups"),
    (lambda x, y: relative_importance(x.assign(x2=np.inf), y), "infinite values in x2"),
    (lambda x, y: relative_importance(x[[]], y), "no predictors given"),
    (lambda x, y: relative_importance(x.set_axis(["x1", "x1", "x3"], axis=1), y), "more than one column named x1"),
])
def test_bad_arguments_are_named(call, match):
    x, y = planted(100)
    with pytest.raises(PredictError, match=match):
        call(x, y)


def test_by_segment_analyses_each_segment_and_skips_the_small_and_the_flat():
    rng = np.random.default_rng(13)
    sizes = {"enterprise": 300, "mid": 200, "startup": 20, "trial": 120}
    frame = pd.concat([pd.DataFrame({"segment": s, "support": rng.standard_normal(n), "price": rng.standard_normal(n)})
                       for s, n in sizes.items()], ignore_index=True)
    frame["nps"] = 2 * frame.support + 0.5 * frame.price + rng.standard_normal(len(frame))
    frame.loc[frame.segment == "trial", "nps"] = 7.0
    frame.loc[frame.index[:5], "segment"] = None
    out = by_segment(frame, "nps", ["support", "price"], "segment", min_n=100, bootstrap=100)
    assert list(out.segments) == ["enterprise", "mid"]
    assert (out.segments["enterprise"].n, out.segments["mid"].n) == (295, 200)
    assert out.segments["mid"].drivers[0].predictor == "support"
    skipped = {s.segment: s for s in out.skipped}
    assert skipped["startup"].n == 20 and "needs at least 100" in skipped["startup"].reason
    assert skipped["trial"].n == 120 and "nps is the same" in skipped["trial"].reason
    assert set(out.to_frame().segment) == {"enterprise", "mid"}


def test_by_segment_raises_at_once_for_what_would_stop_every_segment():
    x, y = planted(100)
    frame = x.assign(nps=y, segment="a", plan="pro")
    with pytest.raises(PredictError, match="no column 'nope'"):
        by_segment(frame, "nps", ["x1", "nope"], "segment")
    with pytest.raises(PredictError, match="not numeric: plan"):
        by_segment(frame, "nps", ["x1", "plan"], "segment")


def test_shapley_weights_share_out_the_grand_coalition_and_pay_an_additive_game_its_parts():
    coef = _shapley_weights(4, [])
    masks = np.arange(16)
    # efficiency: the shares add to R²(all) - R²(none)
    assert coef.sum(axis=1) == pytest.approx(np.select([masks == 15, masks == 0], [1.0, -1.0], 0.0))
    parts = np.array([0.4, 0.1, 0.25, 0.0])
    additive = np.array([parts[[j for j in range(4) if m >> j & 1]].sum() for m in masks])
    assert additive @ coef == pytest.approx(parts)
