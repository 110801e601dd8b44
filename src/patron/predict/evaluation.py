"""How well scores ranked what happened: AUC, PR-AUC, top-decile lift and Brier score, each with
its n and a 95% bootstrap interval (a backtest's test snapshot is a sample of customers)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

RESAMPLES = 400
MIN_EACH = 10  # customers with the outcome, and without, before a figure means anything


@dataclass(frozen=True)
class Estimate:
    value: float | None
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True)
class Evaluation:
    n: int
    positives: int
    auc: Estimate
    pr_auc: Estimate
    top_decile_lift: Estimate
    brier: Estimate
    base_rate: float | None  # None with no customers: a share of nobody is no number
    calibration: list[dict]  # per tenth of scores: mean predicted, share observed, n
    note: str = ""  # why a figure is missing (one class only, too few)

    def to_dict(self) -> dict:
        return asdict(self)


def _lift(y: np.ndarray, p: np.ndarray) -> float:
    k = max(1, int(np.ceil(len(p) / 10)))
    top = np.argsort(-p, kind="stable")[:k]
    base = y.mean()
    return float(y[top].mean() / base) if base > 0 else float("nan")


def _figures(y: np.ndarray, p: np.ndarray, probabilities: bool) -> tuple[float, float, float, float]:
    both = 0 < y.sum() < len(y)
    return (float(roc_auc_score(y, p)) if both else float("nan"),
            float(average_precision_score(y, p)) if both else float("nan"),
            _lift(y, p),
            float(brier_score_loss(y, p)) if probabilities else float("nan"))


def _resampled(y: np.ndarray, p: np.ndarray, probabilities: bool, rng: np.random.Generator) -> np.ndarray:
    """The four figures of RESAMPLES bootstrap draws, each computed from counts per distinct
    score. sklearn sorts every draw again (n log n, with overhead per call): on a million
    customers, 400 draws took minutes; counts per distinct score (p never changes between draws)
    take a few seconds. Ties are shared as sklearn shares them (half for AUC, one threshold for
    PR-AUC); the top tenth takes a tied score's customers in proportion."""
    n = len(y)
    values, group = np.unique(-p, return_inverse=True)  # groups from the highest score down
    score = -values
    k = max(1, int(np.ceil(n / 10)))
    out = []
    for _ in range(RESAMPLES):
        i = rng.integers(0, n, n)
        g = group[i]
        total = np.bincount(g, minlength=len(score)).astype(float)
        pos = np.bincount(g, weights=y[i], minlength=len(score))
        neg = total - pos
        npos, nneg = pos.sum(), neg.sum()
        if npos == 0 or nneg == 0:
            continue
        # AUC: each positive against the negatives scored below it, ties at half
        below = nneg - np.cumsum(neg)
        auc = float((pos * (below + neg / 2)).sum() / (npos * nneg))
        tp, seen = np.cumsum(pos), np.cumsum(total)
        ap = float((pos / npos * np.where(seen > 0, tp / np.maximum(seen, 1), 0)).sum())
        before = seen - total
        take = np.clip(k - before, 0, total)  # how many of each score the top tenth holds
        lift = float((take * pos / np.maximum(total, 1)).sum() / k / (npos / n))
        brier = float((total * score ** 2 - 2 * score * pos + pos).sum() / n) if probabilities else float("nan")
        out.append((auc, ap, lift, brier))
    return np.array(out)


def evaluate(y: np.ndarray, p: np.ndarray, *, probabilities: bool = True, seed: int = 0) -> Evaluation:
    """The figures of scores `p` (higher: more likely) against outcomes `y` (1: it happened).
    With `probabilities` false (a 0-100 health score turned around, say) there is no Brier score."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    n, pos = len(y), int(y.sum())
    none = Estimate(None, None, None)
    if min(pos, n - pos) < MIN_EACH:
        note = "no customers" if n == 0 else (f"{pos} of the {n} customers had the outcome; at least {MIN_EACH} "
                                              f"with it and {MIN_EACH} without are needed to tell how well it ranks")
        return Evaluation(n, pos, none, none, none, none, round(pos / n, 4) if n else None, [], note)
    point = _figures(y, p, probabilities)
    arr = _resampled(y, p, probabilities, np.random.default_rng(seed))

    def est(k: int) -> Estimate:
        if np.isnan(point[k]):
            return none
        lo, hi = np.nanpercentile(arr[:, k], [2.5, 97.5])
        return Estimate(round(point[k], 4), round(float(lo), 4), round(float(hi), 4))

    order = np.argsort(p, kind="stable")
    calibration = [{"predicted": round(float(p[c].mean()), 4), "observed": round(float(y[c].mean()), 4), "n": len(c)}
                   for c in np.array_split(order, 10) if len(c)]
    return Evaluation(n, pos, est(0), est(1), est(2), est(3), round(pos / n, 4), calibration if probabilities else [])
