"""Whether the programs (loyalty, community, training, certification) go with better retention and NPS.

Each program's participants are compared with comparable customers who had not taken part, by
coarsened exact matching (Iacus, King and Porro, 2012): a participant meets only non-participants
of the same stratum, that is the same month end before joining, segment, tenure band, ARR quartile
and prior health level, and each stratum's comparisons are weighted to count as many times as it
has participants (the difference for those who joined). CEM needs no model of who joins, its
balance is set by the coarsening chosen rather than hoped for and checked afterwards (as with
propensity scores), and a stratum is a sentence a person can read. Everything is measured at the
month end before joining and every outcome after it, and a comparison is chosen by what was known
then: a customer that joins later is a comparison until it joins (leaving out everyone who ever
joins would keep out those who stayed long enough to join, and flatter the program; keeping them
can only understate a program that works).

Without a holdout the difference is an association: customers who join may differ in ways patron
cannot see. A program whose rows list a holdout (arm = holdout: invited, deliberately not enrolled)
compares its participants with that holdout instead, and the difference is the program's effect.

Only the warehouse's tables are read: `programs`, the shared revenue relations, the golden record,
usage, survey answers and the health runs the predictive stage kept.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
from scipy import stats as st

from patron import stats
from patron.errors import ActionError
from patron.relations import COHORTS, CUSTOMER_MONTHS, DATA_LAST_DAY
from patron.stats import Z95, Estimate

if TYPE_CHECKING:
    import pandas as pd

    from patron.warehouse import Warehouse

MONTHS = 6  # the retention horizon by default: still paying six months after joining
MIN_PARTICIPANTS = 20  # matched participants (with the outcome known) below which no figure is given
MIN_ANSWERS = 20  # NPS answers on each side below which no NPS figure is given
USAGE_DAYS = 30  # prior usage: events in the days up to the month end before joining
NPS_DAYS = 365  # prior NPS: the last answer within this many days before it

ASSOCIATION = ("an association, not proof the program causes it: customers who join may differ in ways patron "
               "cannot see")
EFFECT = ("an effect: participants are compared with the program's holdout, customers invited but deliberately "
          "not enrolled")
# prior health, by what the month end before joining has: the health band a health run gave it and
# the customer's own word (its last NPS answer in the year, or none: success teams often invite their
# promoters, which a band alone does not absorb), else the one of them there is, else how much it
# used the product
PRIOR_WORDS = {
    "health_nps": f"the health band at the month end before joining and the last NPS answer in the {NPS_DAYS} "
                  "days before",
    "health": "the health band at the month end before joining (no NPS answers in the year before)",
    "nps": f"the last NPS answer in the {NPS_DAYS} days before (no health run scored that month end)",
    "usage": f"product usage in the {USAGE_DAYS} days before (no health run or NPS answers covered it)",
    "none": "nothing (no health run, NPS answer or usage before joining)",
}
LABELS = {"retention": "retention", "nps": "NPS"}
STRATA = "anchor, segment, tenure_band, size_band, prior_kind, prior_level"


@dataclass(frozen=True)
class Outcome:
    """One outcome of one program: participants, their comparison, and the difference."""

    outcome: str  # retention or nps
    measure: str  # what was measured, in words
    participants: Estimate | None = None  # retention share 0-1, NPS points; n = customers, answers
    comparison: Estimate | None = None
    difference: Estimate | None = None  # participants minus comparison; n = participants counted
    p_value: float | None = None
    significant: bool | None = None
    unmatched_difference: Estimate | None = None  # against every non-participant of the same months
    note: str | None = None  # why there is no figure


@dataclass(frozen=True)
class ProgramResult:
    program: str
    design: str  # "matched" (an association) or "holdout" (an effect)
    participants: int  # customers with a participant row
    paying_before: int  # of them, paying at the month end before joining
    matched: int  # of them, in a stratum with at least one comparison customer
    comparison: int  # comparison customers (non-participants, or the holdout) given weight
    holdout: int  # customers held out (0 without a holdout)
    prior: dict[str, int] = field(default_factory=dict)  # how prior health was measured: kind -> matched
    retention: Outcome | None = None
    nps: Outcome | None = None
    conclusion: str = ""  # association or effect, in words
    summary: str = ""  # the figures in one sentence, or why there are none
    note: str | None = None  # too few: no figures at all

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ProgramsReport:
    as_of: date | None
    months: int
    method: str
    programs: list[ProgramResult]

    def to_dict(self) -> dict:
        return {"as_of": self.as_of, "months": self.months, "method": self.method,
                "programs": [p.to_dict() for p in self.programs]}


def method(months: int) -> str:
    """How the comparison is made, in a sentence for the reader."""
    return (f"Participants are compared with customers who had not taken part, paying at the same month end "
            f"before joining and matched exactly on segment, tenure band, ARR quartile and prior health (coarsened "
            f"exact matching, weighted to the participants); a program with a holdout is compared with it. "
            f"Retention: still paying at the end of the month {months} months after the month of joining, counted "
            f"only for those whose {months} months have passed. NPS: answers in the {months} whole months after "
            f"the month of joining (so far, for those who joined recently: their comparison is read over the same "
            f"months). A customer held out and enrolled later counts in the holdout. 95% intervals; a difference "
            f"is significant when its interval leaves out 0.")


def analyse(wh: Warehouse, months: int = MONTHS) -> ProgramsReport:
    """Every program in the `programs` table, each against its comparison."""
    from patron.warehouse.as_of import data_as_of

    if not 1 <= int(months) <= 60:
        raise ActionError(f"{months} months: the horizon must be 1 to 60 months", "programs")
    months = int(months)
    names = [r[0] for r in wh.rows("SELECT program FROM programs GROUP BY program ORDER BY program")]
    if not names:
        raise ActionError("no program participants loaded: configure a source with `table: programs` in "
                          "patron.yml, or load a file with `patron ingest FILE --into programs`", "programs")
    if not wh.scalar("SELECT COUNT(*) FROM subscriptions WHERE mrr > 0"):
        raise ActionError("needs subscriptions: retention, tenure and size come from billing", "programs")
    golden = wh.scalar("SELECT COUNT(*) FROM customer_golden") > 0
    return ProgramsReport(data_as_of(wh), months, method(months),
                          [_program(wh, name, months, golden) for name in names])


def _program(wh: Warehouse, name: str, months: int, golden: bool) -> ProgramResult:
    takes_part, held_out = wh.rows(
        "SELECT SUM(CASE WHEN holdout THEN 0 ELSE 1 END), SUM(CASE WHEN holdout THEN 1 ELSE 0 END) "
        f"FROM ({_MEMBERS}) AS m", [name])[0]
    randomized = bool(held_out)
    frame = wh.df(relation(months, randomized, golden), [name])
    return result(name, frame, months, randomized, int(takes_part or 0), int(held_out or 0))


# each customer in a program, by its first row: held out if it was held out first (one enrolled
# later anyway still counts in the holdout it was drawn to, as a randomised comparison must count it),
# and the day of that first row
_HELD = "CASE WHEN COALESCE(arm, 'participant') = 'holdout' THEN joined_at END"
_TOOK = "CASE WHEN COALESCE(arm, 'participant') <> 'holdout' THEN joined_at END"
_MEMBERS = (
    f"SELECT customer, CASE WHEN holdout THEN held ELSE took END AS joined_at, holdout FROM ("
    f"SELECT COALESCE(customer_id, customer_ref) AS customer, MIN({_HELD}) AS held, MIN({_TOOK}) AS took, "
    f"MIN({_HELD}) IS NOT NULL AND (MIN({_TOOK}) IS NULL OR MIN({_HELD}) <= MIN({_TOOK})) AS holdout "
    "FROM programs WHERE program = ? GROUP BY COALESCE(customer_id, customer_ref)) AS firsts")


def _segments(golden: bool) -> str:
    """Each customer's segment: its golden record's, else its sources' (before identity runs)."""
    if golden:
        return "SELECT customer_id AS customer, segment FROM customer_golden"
    return ("SELECT COALESCE(customer_id, customer_ref) AS customer, MAX(segment) AS segment FROM customers "
            "GROUP BY COALESCE(customer_id, customer_ref)")


def relation(months: int, randomized: bool, golden: bool) -> str:
    """SQL (one parameter: the program's name): one row per participant and comparison customer,
    with its weights and outcomes summed over the month ends it was compared at.

    A customer is compared at the month end before a participant joined (its anchor) when it paid
    then; its tenure, ARR and prior health are read there, its retention at the end of the month
    `months` after the joining month, its NPS from the answers in the `months` whole months after it.
    Weights: a participant 1; a comparison customer the participants of its stratum over the
    comparisons there (the matched weight `w`), and the same within the anchor only (`w0`, the
    unmatched comparison). With a holdout, the holdout is the comparison, all in one stratum."""
    n = int(months)
    other = "holdout" if randomized else "comparison"
    strata = "" if randomized else f"PARTITION BY {STRATA}"
    same_months = "" if randomized else "PARTITION BY anchor"
    # the customer's last NPS answer before the anchor, as a level
    said = ("CASE WHEN pn.score IS NULL THEN 'none' WHEN pn.score >= 9 THEN 'promoter' WHEN pn.score >= 7 "
            "THEN 'passive' ELSE 'detractor' END")
    # whole months from the customer's first paying month (its cohort) to the anchor
    tenure = ("((EXTRACT(YEAR FROM c.anchor) - EXTRACT(YEAR FROM t.cohort_month)) * 12 "
              "+ EXTRACT(MONTH FROM c.anchor) - EXTRACT(MONTH FROM t.cohort_month))")
    return f"""
WITH d AS ({DATA_LAST_DAY}),
cm AS ({CUSTOMER_MONTHS}),
cohorts AS ({COHORTS}),
members AS ({_MEMBERS}),
anchors AS (SELECT anchor, CAST(anchor + INTERVAL 1 MONTH - INTERVAL 1 DAY AS DATE) AS anchor_end FROM (
    SELECT DISTINCT CAST(DATE_TRUNC('month', joined_at) - INTERVAL 1 MONTH AS DATE) AS anchor FROM members) AS a),
pool AS (
    SELECT a.anchor, a.anchor_end, c.customer, 12 * c.mrr AS arr,
        CASE WHEN m.customer IS NULL OR m.joined_at >= a.anchor + INTERVAL 2 MONTH THEN 'comparison'
            WHEN m.holdout THEN 'holdout' ELSE 'participant' END AS role
    FROM anchors AS a JOIN cm AS c ON c.month = a.anchor
    LEFT JOIN members AS m ON m.customer = c.customer
    WHERE m.customer IS NULL OR m.joined_at >= a.anchor + INTERVAL 1 MONTH),
cand AS (SELECT * FROM pool WHERE role IN ('participant', '{other}')),
size_cuts AS (
    SELECT anchor, PERCENTILE_CONT(0.25) WITHIN GROUP (ORDER BY arr) AS q1,
        PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY arr) AS q2, PERCENTILE_CONT(0.75) WITHIN GROUP (ORDER BY arr) AS q3
    FROM cand GROUP BY anchor),
health_runs AS (
    SELECT run_id, created_at FROM prediction_runs WHERE model = 'health'
    AND created_at >= COALESCE((SELECT MAX(resolved_at) FROM identity_map), created_at)),
health AS (
    SELECT p.customer_id AS customer, p.as_of, p.band, ROW_NUMBER() OVER (PARTITION BY p.customer_id, p.as_of
        ORDER BY h.created_at DESC, p.run_id) AS k
    FROM predictions AS p JOIN health_runs AS h ON h.run_id = p.run_id WHERE p.model = 'health'),
health_ends AS (SELECT DISTINCT as_of FROM health),
usage_span AS (SELECT MIN(day) AS first_day, MAX(day) AS last_day FROM usage),
prior_use AS (
    SELECT a.anchor, COALESCE(u.customer_id, u.customer_ref) AS customer, SUM(u.events) AS events
    FROM anchors AS a JOIN usage AS u ON u.day > a.anchor_end - {USAGE_DAYS} AND u.day <= a.anchor_end
    GROUP BY a.anchor, COALESCE(u.customer_id, u.customer_ref)),
use_cuts AS (
    SELECT c.anchor, PERCENTILE_CONT(1.0 / 3) WITHIN GROUP (ORDER BY u.events) AS t1,
        PERCENTILE_CONT(2.0 / 3) WITHIN GROUP (ORDER BY u.events) AS t2
    FROM cand AS c JOIN prior_use AS u ON u.anchor = c.anchor AND u.customer = c.customer
    WHERE u.events > 0 GROUP BY c.anchor),
prior_nps AS (
    SELECT anchor, customer, score FROM (
        SELECT a.anchor, COALESCE(r.customer_id, r.customer_ref) AS customer, r.score,
            ROW_NUMBER() OVER (PARTITION BY a.anchor, COALESCE(r.customer_id, r.customer_ref)
                ORDER BY r.submitted_at DESC, r.response_id DESC) AS k
        FROM anchors AS a JOIN responses AS r ON r.survey = 'nps' AND CAST(r.submitted_at AS DATE) <= a.anchor_end
            AND CAST(r.submitted_at AS DATE) > a.anchor_end - {NPS_DAYS}) AS x WHERE k = 1),
kinds AS (
    SELECT anchor, CASE WHEN health AND nps THEN 'health_nps' WHEN health THEN 'health' WHEN nps THEN 'nps'
        WHEN used THEN 'usage' ELSE 'none' END AS prior_kind FROM (
        SELECT a.anchor, EXISTS (SELECT 1 FROM health_ends AS e WHERE e.as_of = a.anchor_end) AS health,
            EXISTS (SELECT 1 FROM prior_nps AS p WHERE p.anchor = a.anchor) AS nps,
            COALESCE(s.first_day <= a.anchor_end - {USAGE_DAYS - 1} AND s.last_day >= a.anchor_end, FALSE) AS used
        FROM anchors AS a CROSS JOIN usage_span AS s) AS covered),
answers AS (
    SELECT c.anchor, c.customer, COUNT(*) AS k, SUM(CASE WHEN r.score >= 9 THEN 1 ELSE 0 END) AS pro,
        SUM(CASE WHEN r.score <= 6 THEN 1 ELSE 0 END) AS det
    FROM cand AS c JOIN responses AS r ON COALESCE(r.customer_id, r.customer_ref) = c.customer AND r.survey = 'nps'
        AND r.submitted_at >= c.anchor + INTERVAL 2 MONTH AND r.submitted_at < c.anchor + INTERVAL {n + 2} MONTH
    GROUP BY c.anchor, c.customer),
measured AS (
    SELECT c.anchor, c.customer, c.role, COALESCE(s.segment, 'unknown') AS segment,
        CASE WHEN {tenure} IS NULL THEN 'unknown' WHEN {tenure} < 6 THEN '0-5' WHEN {tenure} < 12 THEN '6-11'
            WHEN {tenure} < 24 THEN '12-23' ELSE '24+' END AS tenure_band,
        CASE WHEN c.arr <= q.q1 THEN 1 WHEN c.arr <= q.q2 THEN 2 WHEN c.arr <= q.q3 THEN 3 ELSE 4 END AS size_band,
        k.prior_kind,
        CASE k.prior_kind WHEN 'health_nps' THEN COALESCE(h.band, 'unscored') || ' / ' || {said}
            WHEN 'health' THEN COALESCE(h.band, 'unscored') WHEN 'nps' THEN {said}
            WHEN 'usage' THEN CASE WHEN COALESCE(u.events, 0) = 0 THEN 'none' WHEN u.events <= uc.t1 THEN 'low'
                WHEN u.events <= uc.t2 THEN 'middle' ELSE 'high' END
            ELSE '' END AS prior_level,
        CAST(c.anchor + INTERVAL {n + 2} MONTH AS DATE) <= d.last_day + INTERVAL 1 DAY AS known,
        o.customer IS NOT NULL AS retained,
        COALESCE(ans.k, 0) AS k, COALESCE(ans.pro, 0) AS pro, COALESCE(ans.det, 0) AS det
    FROM cand AS c CROSS JOIN d
    JOIN kinds AS k ON k.anchor = c.anchor
    JOIN size_cuts AS q ON q.anchor = c.anchor
    LEFT JOIN cohorts AS t ON t.customer = c.customer
    LEFT JOIN ({_segments(golden)}) AS s ON s.customer = c.customer
    LEFT JOIN health AS h ON h.customer = c.customer AND h.as_of = c.anchor_end AND h.k = 1
    LEFT JOIN prior_use AS u ON u.anchor = c.anchor AND u.customer = c.customer
    LEFT JOIN use_cuts AS uc ON uc.anchor = c.anchor
    LEFT JOIN prior_nps AS pn ON pn.anchor = c.anchor AND pn.customer = c.customer
    LEFT JOIN cm AS o ON o.customer = c.customer AND o.month = CAST(c.anchor + INTERVAL {n + 1} MONTH AS DATE)
    LEFT JOIN answers AS ans ON ans.anchor = c.anchor AND ans.customer = c.customer),
counted AS (
    SELECT *, SUM(CASE WHEN role = 'participant' THEN 1 ELSE 0 END) OVER ({strata}) AS nt,
        SUM(CASE WHEN role = 'participant' THEN 0 ELSE 1 END) OVER ({strata}) AS nc,
        SUM(CASE WHEN role = 'participant' THEN 1 ELSE 0 END) OVER ({same_months}) AS nt0,
        SUM(CASE WHEN role = 'participant' THEN 0 ELSE 1 END) OVER ({same_months}) AS nc0
    FROM measured),
weighted AS (
    SELECT *, CASE WHEN nt = 0 OR nc = 0 THEN 0.0 WHEN role = 'participant' THEN 1.0 ELSE 1.0 * nt / nc END AS w,
        CASE WHEN nt0 = 0 OR nc0 = 0 THEN 0.0 WHEN role = 'participant' THEN 1.0 ELSE 1.0 * nt0 / nc0 END AS w0
    FROM counted)
SELECT role, customer, MAX(prior_kind) AS prior_kind, MAX(w) > 0 AS matched,
    SUM(CASE WHEN known THEN w ELSE 0 END) AS w_ret, SUM(CASE WHEN known AND retained THEN w ELSE 0 END) AS wy_ret,
    SUM(w * k) AS w_k, SUM(w * (pro - det)) AS w_z,
    SUM(CASE WHEN w > 0 THEN k ELSE 0 END) AS k, SUM(CASE WHEN w > 0 THEN pro ELSE 0 END) AS pro,
    SUM(CASE WHEN w > 0 THEN det ELSE 0 END) AS det,
    SUM(CASE WHEN known THEN w0 ELSE 0 END) AS w0_ret, SUM(CASE WHEN known AND retained THEN w0 ELSE 0 END) AS w0y_ret,
    SUM(w0 * k) AS w0_k, SUM(w0 * (pro - det)) AS w0_z
FROM weighted GROUP BY role, customer"""


def result(name: str, frame: pd.DataFrame, months: int, randomized: bool, takes_part: int,
           held_out: int) -> ProgramResult:
    """The figures of one program from `relation`'s rows."""
    part = frame[frame["role"] == "participant"]
    other = frame[frame["role"] != "participant"]
    matched = part[part["matched"].astype(bool)]
    weighted = other[other["matched"].astype(bool)]
    prior = {} if randomized else {str(k): int(v) for k, v in matched["prior_kind"].value_counts().items()}
    base = dict(program=name, design="holdout" if randomized else "matched", participants=takes_part,
                paying_before=len(part), matched=len(matched), comparison=len(weighted), holdout=held_out,
                prior=prior, conclusion=EFFECT if randomized else ASSOCIATION)
    few = _too_few(base, randomized)
    if few:
        return ProgramResult(**base, summary=few, note=few)
    retention, nps = _retention(part, other, months), _nps(part, other, months)
    if randomized:  # the holdout is the whole comparison: nothing to match, so no unmatched figure
        retention, nps = (replace(o, unmatched_difference=None) for o in (retention, nps))
    return ProgramResult(**base, retention=retention, nps=nps,
                         summary=summary(base, retention, nps, months, randomized))


def _too_few(base: dict, randomized: bool) -> str | None:
    """Why a program gets no figures at all, with its numbers; None when there are enough."""
    if base["matched"] >= MIN_PARTICIPANTS and base["comparison"] >= MIN_PARTICIPANTS:
        return None
    who = "customers held out" if randomized else "comparable non-participants"
    return (f"Too few to compare: {base['participants']:,} participants, {base['paying_before']:,} of them paying at "
            f"the month end before joining, {base['matched']:,} matched with {base['comparison']:,} {who}; at least "
            f"{MIN_PARTICIPANTS} of each are needed.")


def _ratio(num: pd.Series, den: pd.Series) -> tuple[float, float]:
    """sum(num) / sum(den) and its variance with each customer as a cluster (the linearisation of a
    weighted ratio): a customer compared at several month ends, or who answered several times, counts
    as one source of noise, not several."""
    a, b = np.asarray(num, float), np.asarray(den, float)
    total = b.sum()
    m = a.sum() / total
    return float(m), float(((a - m * b) ** 2).sum() / total**2)


def _difference(mt: float, vt: float, mc: float, vc: float, n: int, scale: float) -> tuple[Estimate, float | None]:
    """Participants minus comparison, with its 95% interval and two-sided p value (normal)."""
    d, se = mt - mc, math.sqrt(vt + vc)
    p = (None if d == 0 else 0.0) if se == 0 else float(2 * st.norm.sf(abs(d) / se))
    return Estimate(scale * d, n, scale * (d - Z95 * se), scale * (d + Z95 * se)), p


def _around(m: float, v: float, n: int, scale: float, low: float, high: float) -> Estimate:
    half = Z95 * math.sqrt(v)
    return Estimate(scale * m, n, scale * max(m - half, low), scale * min(m + half, high))


def _retention(part: pd.DataFrame, other: pd.DataFrame, months: int) -> Outcome:
    measure = f"still paying at the end of the month {months} months after the month of joining"
    t, c = part[part["w_ret"] > 0], other[other["w_ret"] > 0]
    if len(t) < MIN_PARTICIPANTS or len(c) < MIN_PARTICIPANTS:
        return Outcome("retention", measure, note=(
            f"too few whose {months} months have passed: {len(t):,} matched participants and {len(c):,} comparison "
            f"customers; at least {MIN_PARTICIPANTS} of each are needed"))
    mt, vt = _ratio(t["wy_ret"], t["w_ret"])
    mc, vc = _ratio(c["wy_ret"], c["w_ret"])
    diff, p = _difference(mt, vt, mc, vc, len(t), 1.0)
    t0, c0 = part[part["w0_ret"] > 0], other[other["w0_ret"] > 0]
    naive, _ = _difference(*_ratio(t0["w0y_ret"], t0["w0_ret"]), *_ratio(c0["w0y_ret"], c0["w0_ret"]), len(t0), 1.0)
    return Outcome("retention", measure, stats.proportion(int(round(t["wy_ret"].sum())), len(t)),
                   _around(mc, vc, len(c), 1.0, 0.0, 1.0), diff, p, p is not None and p < 0.05, naive)


def _nps(part: pd.DataFrame, other: pd.DataFrame, months: int) -> Outcome:
    measure = f"NPS of the answers in the {months} whole months after the month of joining"
    t, c = part[part["w_k"] > 0], other[other["w_k"] > 0]
    kt, kc = int(t["k"].sum()), int(c["k"].sum())
    if kt < MIN_ANSWERS or kc < MIN_ANSWERS:
        return Outcome("nps", measure, note=(
            f"too few answers: {kt:,} from matched participants and {kc:,} from their comparison; at least "
            f"{MIN_ANSWERS} of each are needed"))
    mt, vt = _ratio(t["w_z"], t["w_k"])
    mc, vc = _ratio(c["w_z"], c["w_k"])
    diff, p = _difference(mt, vt, mc, vc, kt, 100.0)
    t0, c0 = part[part["w0_k"] > 0], other[other["w0_k"] > 0]
    naive, _ = _difference(*_ratio(t0["w0_z"], t0["w0_k"]), *_ratio(c0["w0_z"], c0["w0_k"]), int(t0["k"].sum()),
                           100.0)
    pro, det = int(t["pro"].sum()), int(t["det"].sum())
    return Outcome("nps", measure, stats.nps(pro, kt - pro - det, det), _around(mc, vc, kc, 100.0, -1.0, 1.0),
                   diff, p, p is not None and p < 0.05, naive)


def _said(o: Outcome, unit: str, spec: str, scale: float) -> str:
    """One outcome's difference in words: value, interval, significance and the unmatched figure."""
    if o.note:
        return f"{LABELS[o.outcome]}: {o.note}"
    d, u = o.difference, o.unmatched_difference
    sig = "significant" if o.significant else "not significant"
    unmatched = "" if u is None else f"; unmatched {scale * u.value:+{spec}}"
    return (f"{LABELS[o.outcome]} {scale * d.value:+{spec}} {unit} (95% interval {scale * d.ci_low:+{spec}} to "
            f"{scale * d.ci_high:+{spec}}; {sig}{unmatched})")


def summary(base: dict, retention: Outcome, nps: Outcome, months: int, randomized: bool) -> str:
    """The figures of one program in a sentence."""
    against = (f"the {base['comparison']:,} customers held out" if randomized else
               f"{base['comparison']:,} comparable non-participants")
    return (f"{base['matched']:,} of the {base['participants']:,} participants against {against}: {months}-month "
            f"{_said(retention, 'points', '.1f', 100)}; {_said(nps, 'points', '.0f', 1)}.")
