"""The backtest's figures: each bootstrap draw gives what sklearn gives on the same draw, and the
interval holds the figure it is drawn around."""

from __future__ import annotations

import numpy as np
import pytest

from patron.predict import evaluation as E


@pytest.mark.parametrize("decimals", [2, 6])  # many tied scores, and nearly none
def test_each_bootstrap_draw_matches_sklearn_on_the_same_draw(decimals):
    rng = np.random.default_rng(1)
    p = np.round(rng.random(3000), decimals)
    y = (rng.random(3000) < p * 0.3).astype(float)
    fast = E._resampled(y, p, True, np.random.default_rng(5))
    draws = np.random.default_rng(5)
    slow = []
    for _ in range(E.RESAMPLES):
        i = draws.integers(0, len(y), len(y))
        slow.append(E._figures(y[i], p[i], True))
    slow = np.array(slow)
    assert fast.shape == slow.shape
    for k in (0, 1, 3):  # AUC, PR-AUC, Brier: exactly sklearn's
        np.testing.assert_allclose(fast[:, k], slow[:, k], atol=1e-12)
    # the top tenth's lift: a tied score's customers share the cut in proportion, not by row order
    tolerance = 1e-12 if decimals == 6 else 0.3
    np.testing.assert_allclose(fast[:, 2], slow[:, 2], atol=tolerance)


def test_the_intervals_hold_the_figures_and_one_class_gives_none():
    rng = np.random.default_rng(2)
    p = rng.random(2000)
    y = (rng.random(2000) < p * 0.2).astype(float)
    ev = E.evaluate(y, p)
    for est in (ev.auc, ev.pr_auc, ev.top_decile_lift, ev.brier):
        assert est.ci_low <= est.value <= est.ci_high
    assert 0.6 < ev.auc.value < 0.9
    assert E.evaluate(np.zeros(100), p[:100]).auc.value is None
