"""What moves loyalty most: each predictor's share of the outcome's R² (dominance analysis, LMG).

A predictor's share is its Shapley value in R²: the R² it adds, averaged over every order in which
the predictors could enter the regression. Unlike coefficients, the shares add up to the model's R²
and stay meaningful when predictors are correlated (customers who like support tend to like
billing too): shared variance is split between them instead of going to whichever came first.

Every subset's R² follows from the correlation matrix alone. A depth-first walk over the subsets
adds one predictor at a time by a single elimination step (the sweep operator), so the 2^k subsets
cost 2^k small updates, run for every bootstrap resample at once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from patron.errors import PredictError

MAX_PREDICTORS = 15  # 2^15 subsets; each one more doubles the work
MIN_ROWS = 30
MIN_BOOTSTRAP = 100
_TOL = 1e-10  # residual variance, as a share of a column's own, below which it adds nothing new
_CHUNK = 1 << 21  # resample rows held in memory at once while forming the bootstrap moments


@dataclass(frozen=True)
class Driver:
    """One predictor's (or group's) share of R², in R² units and as a percent of the total.

    The intervals are 95% bootstrap percentile intervals (customers resampled with replacement).
    `chance`: the share pure noise in this predictor's place stays under in 97.5% of resamples;
    `is_driver`: the share is above it (see `relative_importance`). `clear_of_next`: the interval's
    lower bound is above the next-ranked predictor's upper bound, so "ranks above it" holds beyond
    doubt; False for the last-ranked.
    """

    predictor: str
    columns: tuple[str, ...]
    share: float
    percent: float
    ci_low: float
    ci_high: float
    percent_low: float
    percent_high: float
    rank: int
    chance: float
    is_driver: bool
    clear_of_next: bool


@dataclass(frozen=True)
class Importance:
    """The R² decomposition for one outcome over `n` complete rows; `drivers` in rank order, their
    shares summing to `r2`; `notes` say what was dropped and why."""

    outcome: str
    r2: float
    n: int
    drivers: tuple[Driver, ...]
    dropped_missing_outcome: int
    dropped_missing_predictor: int
    notes: tuple[str, ...]
    bootstrap: int
    seed: int

    def driver(self, predictor: str) -> Driver:
        return next(d for d in self.drivers if d.predictor == predictor)

    def to_frame(self) -> pd.DataFrame:
        rows = [{k: v for k, v in asdict(d).items() if k != "columns"} for d in self.drivers]
        return pd.DataFrame(rows).set_index("predictor")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SegmentSkip:
    segment: object
    n: int
    reason: str


@dataclass(frozen=True)
class SegmentImportance:
    """Per segment value its own decomposition; segments that could not be analysed, with why."""

    outcome: str
    segment_column: str
    segments: dict[object, Importance]
    skipped: tuple[SegmentSkip, ...]

    def to_frame(self) -> pd.DataFrame:
        parts = [r.to_frame().reset_index().assign(segment=s, n=r.n, r2=r.r2) for s, r in self.segments.items()]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def relative_importance(X: pd.DataFrame, y: pd.Series | Sequence[float] | np.ndarray, *, bootstrap: int = 1000,
                        seed: int = 0, groups: Mapping[str, Sequence[str]] | None = None) -> Importance:
    """Each predictor's Shapley share of R² in a linear regression of y on X, with bootstrap intervals.

    A 0/1 outcome (churned) is decomposed as a linear probability model, an accepted practice for
    relative importance: the shares rank predictors by how much of the outcome's variance they
    account for, which is the question, even though the linear model is not the one to score with.

    `groups` maps a name to several columns taken as one predictor (the 0/1 columns of a category,
    or the items of one touchpoint); columns in no group stand alone. At most 15 predictors.
    Rows missing the outcome or any predictor are dropped and counted; a constant predictor is
    dropped with a note.

    Why `is_driver` is not "the interval excludes zero": a share is never negative, and a predictor
    unrelated to the outcome still picks up about (1 - R²)/n of R² by chance, so its percentile
    interval never reaches zero and every predictor would pass. Chance is the honest zero: each
    resample also carries a shadow, fresh noise (for a group, as many columns as it spans), and for
    each predictor the share the shadow takes in its place (the same game, the predictor swapped
    for noise) is what it would get were it unrelated to everything. A predictor is a driver when its share is
    above the 97.5th percentile of that (`chance`), so an unrelated one is called a driver about
    2.5% of the time, the error of a 95% interval's lower bound. (Requiring the share's resamples
    to beat the shadow's instead counts the resampling noise twice and misses most modest drivers.)
    """
    d = _prepare(X, y, groups, bootstrap)
    p = len(d.names)
    share = _walk(d.corr[None], d.widths, _shapley_weights(p, []))[0]
    shadows = sorted(set(d.ranks))  # one noise player per distinct rank, to stand in for those predictors
    noise = _resampled_correlations(d.z, bootstrap, sum(shadows), np.random.default_rng(seed))
    boot = _walk(noise, d.widths + shadows, _shapley_weights(p, [shadows.index(r) for r in d.ranks]))
    boot_share, shadow = boot[:, :p], boot[:, p:]
    total = boot_share.sum(axis=1, keepdims=True)
    boot_pct = 100 * np.divide(boot_share, total, out=np.zeros_like(boot_share), where=total > 0)
    r2 = float(share.sum())
    pct = 100 * share / r2 if r2 > 0 else np.zeros_like(share)
    lo, hi = np.percentile(boot_share, [2.5, 97.5], axis=0)
    plo, phi = np.percentile(boot_pct, [2.5, 97.5], axis=0)
    chance = np.percentile(shadow, 97.5, axis=0)
    ranked = np.argsort(-share, kind="stable")
    drivers = []
    for r, j in enumerate(ranked):
        below = ranked[r + 1] if r + 1 < p else None
        drivers.append(Driver(d.names[j], d.columns[j], float(share[j]), float(pct[j]), float(lo[j]), float(hi[j]),
                              float(plo[j]), float(phi[j]), r + 1, float(chance[j]), bool(share[j] > chance[j]),
                              below is not None and bool(lo[j] > hi[below])))
    return Importance(d.outcome, r2, len(d.z), tuple(drivers), d.dropped_outcome, d.dropped_predictor, d.notes,
                      bootstrap, seed)


def by_segment(frame: pd.DataFrame, outcome: str, predictors: Sequence[str], segment_column: str, *,
               min_n: int = 100, bootstrap: int = 1000, seed: int = 0,
               groups: Mapping[str, Sequence[str]] | None = None) -> SegmentImportance:
    """`relative_importance` within each value of `segment_column` (rows without one are left out).

    A segment with fewer than `min_n` complete rows, or whose data cannot be decomposed (its outcome
    never varies, say), is listed in `skipped` with its n and the reason; problems that would stop
    every segment (a missing or non-numeric column, too many predictors) are raised at once.
    """
    model = f"key drivers of {outcome} by {segment_column}"
    absent = [c for c in [outcome, *predictors, segment_column] if c not in frame.columns]
    if absent:
        raise PredictError(f"no column {', '.join(map(repr, absent))}", model)
    _check_numeric(frame[[outcome, *predictors]], model)
    if len(_players(list(predictors), groups, model)) > MAX_PREDICTORS:
        raise PredictError(f"{len(_players(list(predictors), groups, model))} predictors; at most {MAX_PREDICTORS}",
                           model)
    need = max(min_n, MIN_ROWS, len(predictors) + 3)
    segments: dict[object, Importance] = {}
    skipped = []
    for value, part in frame.groupby(segment_column, sort=True, dropna=True, observed=True):
        usable = int(part[[outcome, *predictors]].notna().all(axis=1).sum())
        if usable < need:
            skipped.append(SegmentSkip(value, usable, f"{usable:,} rows with {outcome} and every predictor present; "
                                                      f"needs at least {need}"))
            continue
        try:
            segments[value] = relative_importance(part[list(predictors)], part[outcome], bootstrap=bootstrap,
                                                  seed=seed, groups=groups)
        except PredictError as e:
            skipped.append(SegmentSkip(value, usable, str(e).removeprefix(f"{e.model}: ")))
    return SegmentImportance(outcome, segment_column, segments, tuple(skipped))


class _Prepared(NamedTuple):
    outcome: str
    z: np.ndarray  # standardized: the predictors' columns in player order, the outcome last
    corr: np.ndarray
    names: list[str]
    columns: list[tuple[str, ...]]
    widths: list[int]
    ranks: list[int]  # columns each predictor adds beyond its own redundant ones
    notes: tuple[str, ...]
    dropped_outcome: int
    dropped_predictor: int


def _prepare(X: pd.DataFrame, y: object, groups: Mapping[str, Sequence[str]] | None, bootstrap: int) -> _Prepared:
    """Check the inputs, drop incomplete rows and constant predictors, and standardize."""
    outcome = str(y.name) if isinstance(y, pd.Series) and y.name is not None else "outcome"
    model = f"key drivers of {outcome}"
    if not isinstance(X, pd.DataFrame):
        raise PredictError("predictors must be a pandas DataFrame, one column per predictor", model)
    if isinstance(y, pd.Series) and not y.index.equals(X.index):
        raise PredictError("the outcome's index does not match the predictors' (align them first)", model)
    ys = y if isinstance(y, pd.Series) else pd.Series(np.asarray(y))
    if not _numeric(ys):
        raise PredictError(f"{outcome} is not numeric ({ys.dtype}); use a number, or 0/1 for yes/no", model)
    yv = ys.to_numpy(dtype=float, na_value=np.nan)
    if len(yv) != len(X):
        raise PredictError(f"the outcome has {len(yv)} values, the predictors {len(X)} rows", model)
    if bootstrap < MIN_BOOTSTRAP:
        raise PredictError(f"bootstrap={bootstrap}: needs at least {MIN_BOOTSTRAP} resamples for a 95% interval",
                           model)
    if not len(X.columns):
        raise PredictError("no predictors given", model)
    twice = sorted({str(c) for c in X.columns[X.columns.duplicated()]})
    if twice:
        raise PredictError(f"more than one column named {', '.join(twice)}", model)
    players = _players(list(X.columns), groups, model)
    _check_numeric(X, model)
    xv = np.column_stack([X[c].to_numpy(dtype=float, na_value=np.nan) for c in X.columns])
    bad = [str(c) for c, col in zip(X.columns, xv.T, strict=True) if np.isinf(col).any()]
    if np.isinf(yv).any():
        bad.append(outcome)
    if bad:
        raise PredictError(f"infinite values in {', '.join(bad)}", model)

    keep = ~np.isnan(yv)
    dropped_outcome = int((~keep).sum())
    missing = np.isnan(xv[keep]).sum(axis=0)
    notes = [f"{dropped_outcome:,} rows without {outcome} dropped"] if dropped_outcome else []
    notes += [f"{c} missing in {m:,} rows" for c, m in zip(X.columns, missing, strict=True) if m]
    keep &= ~np.isnan(xv).any(axis=1)
    dropped_predictor = int(len(yv) - dropped_outcome - keep.sum())
    if dropped_predictor:
        notes.append(f"{dropped_predictor:,} rows missing a predictor dropped")
    xv, yv = xv[keep], yv[keep]
    n, k = len(yv), len(X.columns)
    if n < max(MIN_ROWS, k + 3):
        raise PredictError(f"needs at least {MIN_ROWS} rows, and more than {k} predictors + 2, with {outcome} and "
                           f"every predictor present; has {n}" + (f" ({'; '.join(notes)})" if notes else ""), model)
    if np.ptp(yv) == 0:
        raise PredictError(f"{outcome} is the same ({yv[0]:g}) for all {n} rows: nothing to explain", model)

    column = {c: i for i, c in enumerate(X.columns)}
    constant = [c for c in X.columns if np.ptp(xv[:, column[c]]) == 0]
    notes += [f"{c} dropped: the same value in every row" for c in constant]
    players = [(name, [c for c in cols if c not in constant]) for name, cols in players]
    players = [(name, cols) for name, cols in players if cols]
    if not players:
        raise PredictError(f"every predictor is constant ({', '.join(map(str, constant))})", model)
    if len(players) > MAX_PREDICTORS:
        raise PredictError(f"{len(players)} predictors; at most {MAX_PREDICTORS} (each one more doubles the work), "
                           "so choose fewer or group related ones", model)
    data = np.column_stack([xv[:, [column[c] for _, cols in players for c in cols]], yv])
    z = (data - data.mean(axis=0)) / data.std(axis=0)
    corr = z.T @ z / n
    widths = [len(cols) for _, cols in players]
    ranks = _check_collinear(corr[:-1, :-1], [c for _, cols in players for c in cols],
                             [p for p, w in enumerate(widths) for _ in range(w)], model)
    return _Prepared(outcome, z, corr, [str(name) for name, _ in players],
                     [tuple(map(str, cols)) for _, cols in players], widths, ranks, tuple(notes), dropped_outcome,
                     dropped_predictor)


def _numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)


def _check_numeric(frame: pd.DataFrame, model: str) -> None:
    bad = [f"{c} ({frame[c].dtype})" for c in frame.columns if not _numeric(frame[c])]
    if bad:
        raise PredictError(f"not numeric: {', '.join(bad)}; turn a category into 0/1 columns "
                           "(and pass them as one group)", model)


def _players(columns: list, groups: Mapping[str, Sequence[str]] | None, model: str) -> list[tuple[str, list]]:
    """The predictors as (name, columns): each group at its first column's place, other columns alone."""
    owner: dict = {}
    for name, cols in (groups or {}).items():
        unknown = [str(c) for c in cols if c not in columns]
        if unknown or not cols:
            raise PredictError(f"group {name!r} names {'no column' if not cols else ', '.join(unknown)} "
                               "not among the predictors", model)
        for c in cols:
            if c in owner:
                raise PredictError(f"{c} is in two groups, {owner[c]!r} and {name!r}", model)
            owner[c] = name
    players: dict[str, list] = {}
    for c in columns:
        players.setdefault(owner.get(c, c), []).append(c)
    return list(players.items())


def _check_collinear(corr: np.ndarray, names: list, player: list[int], model: str) -> list[int]:
    """Name every column that is an exact linear combination of earlier ones in another predictor.

    Within one group that is harmless (all of a category's 0/1 columns, say): a group's share
    needs only the space its columns span. Across predictors the split between them is arbitrary.
    Returns each predictor's rank: its columns less those spanned by its others.
    """
    basis: list[int] = []
    found = []
    for i in range(len(names)):
        b = np.linalg.solve(corr[np.ix_(basis, basis)], corr[basis, i]) if basis else np.empty(0)
        if corr[i, i] - corr[basis, i] @ b > _TOL:
            basis.append(i)
            continue
        on = [basis[j] for j in np.flatnonzero(np.abs(b) > 1e-6 * np.abs(b).max())]
        if {player[j] for j in on} != {player[i]}:
            found.append(f"{names[i]} = a linear combination of {', '.join(str(names[j]) for j in on)}")
    if found:
        raise PredictError(f"perfectly collinear predictors ({'; '.join(found)}): their shares cannot be told "
                           "apart; drop one, or pass them as one group", model)
    return [sum(player[i] == p for i in basis) for p in range(max(player) + 1)]


def _shapley_weights(p: int, stand_in: list[int]) -> np.ndarray:
    """Rows by subset bitmask; Shapley value j = R² (per subset) @ column j.

    Shapley's formula regrouped by subset: a subset S holding j counts +w(|S|-1), one without it
    -w(|S|), where w(s) = s!(p-1-s)!/p!. Bits from p on are noise players; the first p columns are
    the predictors' values in the game without noise, and when `stand_in` is given, p more give the
    value of noise player p + stand_in[j] in the game where it takes predictor j's place.
    """
    bits = p + (max(stand_in) + 1 if stand_in else 0)
    masks = np.arange(1 << bits)
    member = ((masks[:, None] >> np.arange(bits)) & 1).astype(bool)
    size = member.sum(axis=1)
    w = np.array([1 / (p * math.comb(p - 1, s)) for s in range(p)] + [0.0, 0.0])
    gain, loss = w[np.maximum(size - 1, 0)], -w[np.minimum(size, p)]
    noise = member[:, p:]
    coef = np.where(member[:, :p], gain[:, None], loss[:, None]) * ~noise.any(axis=1)[:, None]
    shadow = [np.where(noise[:, s], gain, loss) * ~member[:, j] * ~np.delete(noise, s, axis=1).any(axis=1)
              for j, s in enumerate(stand_in)]
    return np.column_stack([coef, *shadow])


def _eliminate(a: np.ndarray) -> np.ndarray:
    """Condition the rest of a stack of covariance matrices on their first column (one sweep step).

    A pivot below _TOL means the column is already spanned by those conditioned on: it is skipped,
    adding no R² (a column constant in a resample, a 0/1 column within a full set of them).
    """
    pivot = a[:, 0, 0]
    inv = np.divide(1.0, pivot, out=np.zeros_like(pivot), where=pivot > _TOL)
    v = a[:, 1:, 0]
    return a[:, 1:, 1:] - (v * inv[:, None])[:, :, None] * v[:, None, :]


def _walk(corr: np.ndarray, widths: list[int], coef: np.ndarray) -> np.ndarray:
    """Shapley values (one row per matrix) from R² of every subset of the predictors.

    `corr` stacks correlation matrices whose columns are the predictors' columns in order, outcome
    last. Each subset is reached from the one without its highest predictor by eliminating that
    predictor's columns; the outcome's remaining variance is 1 - R². R²s are gathered in blocks
    and turned into Shapley values by one matrix product per block.
    """
    starts = np.concatenate([[0], np.cumsum(widths)])
    size = min(1 << len(widths), 4096)
    r2, masks = np.empty((size, corr.shape[0])), np.empty(size, dtype=np.int64)
    out = np.zeros((corr.shape[0], coef.shape[1]))
    filled = [0]

    def flush() -> None:
        out[:] += r2[:filled[0]].T @ coef[masks[:filled[0]]]
        filled[0] = 0

    def visit(m: np.ndarray, first: int, mask: int) -> None:
        for p in range(first, len(widths)):
            a = m[:, starts[p] - starts[first]:, starts[p] - starts[first]:]
            for _ in range(widths[p]):
                a = _eliminate(a)
            r2[filled[0]], masks[filled[0]] = 1.0 - a[:, -1, -1], mask | (1 << p)
            filled[0] += 1
            if filled[0] == size:
                flush()
            if p + 1 < len(widths):
                visit(a, p + 1, mask | (1 << p))

    visit(corr, 0, 0)
    flush()
    return out


def _resampled_correlations(z: np.ndarray, bootstrap: int, noise: int, rng: np.random.Generator) -> np.ndarray:
    """Correlation matrices of `bootstrap` resamples of the rows of z, with `noise` columns before the last.

    A resample is a vector of counts (how often each row was drawn), so its moments are matrix
    products over all resamples of a chunk rather than a loop. The noise is drawn for every draw,
    so a row drawn twice gets two values: in a resample of n rows it behaves as an unrelated
    predictor does in the sample. A column constant within a resample gets zero correlations,
    which `_eliminate` skips.
    """
    n, m = z.shape
    q = m - 1 + noise  # the outcome's place
    outer = (z[:, :, None] * z[:, None, :]).reshape(n, m * m)
    out = np.empty((bootstrap, q + 1, q + 1))
    step = max(1, _CHUNK // (n * (1 + noise)))
    put = np.r_[np.arange(m - 1), q]  # where z's columns go
    at = np.arange(m - 1, q)  # where the noise goes
    for lo in range(0, bootstrap, step):
        b = min(step, bootstrap - lo)
        drawn = (rng.integers(0, n, size=(b, n)) + (np.arange(b) * n)[:, None]).ravel()
        count = np.bincount(drawn, minlength=b * n).reshape(b, n).astype(float)
        e = rng.standard_normal((b, n, noise))
        per_row = np.stack([np.bincount(drawn, e[:, :, t].ravel(), b * n).reshape(b, n) for t in range(noise)], -1)
        moment = np.empty((b, q + 1, q + 1))
        moment[:, put[:, None], put] = (count @ outer).reshape(b, m, m) / n
        cross = np.einsum("bnt,nm->btm", per_row, z) / n
        moment[:, at[:, None], put] = cross
        moment[:, put[:, None], at] = cross.transpose(0, 2, 1)
        moment[:, at[:, None], at] = np.einsum("bnt,bnu->btu", e, e) / n
        mean = np.empty((b, q + 1))
        mean[:, put], mean[:, at] = count @ z / n, e.sum(axis=1) / n
        cov = moment - mean[:, :, None] * mean[:, None, :]
        var = np.diagonal(cov, axis1=1, axis2=2)
        ok = var > 1e-12
        sd = np.sqrt(np.where(ok, var, 1.0))
        corr = cov / sd[:, :, None] / sd[:, None, :] * (ok[:, :, None] & ok[:, None, :])
        idx = np.arange(q + 1)
        corr[:, idx, idx] = ok
        corr[:, q, q] = 1.0  # an outcome constant in a resample: nothing explained there
        out[lo:lo + b] = corr
    return out
