"""Did a play work? Its treated customers against its random holdout, on churn, NPS and revenue.

The comparison is by assignment (intention to treat): every customer drawn to be treated counts,
whether or not its item was done, since who gets done is not random and the holdout is. Outcomes
are read over the `months` after each customer's assignment, and only for customers whose window
has passed by the data's last day: a difference never rests on the future. A customer counts
towards churn and revenue when it paid in the month before its assignment.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from patron.act.rekey import first_draws
from patron.relations import CUSTOMER_MONTHS, DATA_LAST_DAY
from patron.stats import Difference, mean_difference, nps_difference, proportion_difference

if TYPE_CHECKING:
    from patron.warehouse import Warehouse

MIN_ARM = 20  # fewer customers than this in either group: too small to tell


@dataclass
class Outcome:
    name: str  # churn, nps or revenue
    unit: str  # share, points, currency a month
    treated: float | None
    holdout: float | None
    difference: Difference
    verdict: str
    p_adjusted: float | None = None  # Holm's, over the play's three outcomes: what the verdict reads

    def to_dict(self) -> dict[str, Any]:
        return {**{k: v for k, v in asdict(self).items() if k != "difference"},
                "difference": self.difference.to_dict()}


@dataclass
class PlayUplift:
    play: str
    months: int
    assigned: int  # every customer ever drawn, either way
    treated: int  # drawn to be treated, window passed
    holdout: int  # drawn to the holdout, window passed
    share: float | None  # the holdout share the play last had
    done: float | None  # share of the treated whose item was done
    outcomes: list[Outcome] = field(default_factory=list)
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**{k: v for k, v in asdict(self).items() if k != "outcomes"},
                "outcomes": [o.to_dict() for o in self.outcomes]}


def measure(wh: Warehouse, months: int = 6, play: str | None = None) -> list[PlayUplift]:
    """Every play that held customers out (or `play`), treated against holdout."""
    if not 1 <= months <= 36:
        raise ValueError(f"months must be from 1 to 36, not {months}")
    plays = [r[0] for r in wh.rows("SELECT play FROM play_assignments GROUP BY play "
                                   "HAVING SUM(CASE WHEN arm = 'holdout' THEN 1 ELSE 0 END) > 0 ORDER BY play")]
    if play is not None:
        plays = [p for p in plays if p == play]
    return [_one(wh, p, months) for p in plays]


def without_holdout(wh: Warehouse) -> list[str]:
    """Plays that assigned customers (run here or imported) but held none out: nothing to compare."""
    return [r[0] for r in wh.rows("SELECT play FROM play_assignments GROUP BY play "
                                  "HAVING SUM(CASE WHEN arm = 'holdout' THEN 1 ELSE 0 END) = 0 ORDER BY play")]


def _window(months: int) -> str:
    return f"CAST(a.as_of + INTERVAL {int(months)} MONTH AS DATE)"


# the last day a customer's outcome may be read: the data's last day, or the first release of the
# holdout after the customer was drawn (from then on the held-out customers were treated too)
_UNTIL = ("LEAST(d.last_day, COALESCE((SELECT CAST(MIN(r.released_at) AS DATE) FROM play_assignments AS r "
          "WHERE r.play = a.play AND r.released_at >= a.assigned_at), d.last_day))")


def _one(wh: Warehouse, play: str, months: int) -> PlayUplift:
    frame = wh.df(f"""
WITH d AS ({DATA_LAST_DAY}), cm AS ({CUSTOMER_MONTHS}),
a AS (SELECT play, customer_id, arm, mixed, as_of, CAST(DATE_TRUNC('month', as_of) AS DATE) AS m0, share,
      assigned_at, source FROM ({first_draws('play_assignments')}) AS f WHERE play = ?)
SELECT a.customer_id, a.arm, a.mixed, a.share, a.assigned_at, a.source, COALESCE(s.mrr, 0) AS mrr_start,
    COALESCE(e.mrr, 0) AS mrr_end, {_window(months)} <= {_UNTIL} AS known
FROM a CROSS JOIN d
LEFT JOIN cm AS s ON s.customer = a.customer_id AND s.month = CAST(a.m0 - INTERVAL 1 MONTH AS DATE)
LEFT JOIN cm AS e ON e.customer = a.customer_id AND e.month = CAST(a.m0 + INTERVAL {int(months) - 1} MONTH AS DATE)
""", [play])
    share = frame.sort_values("assigned_at")["share"].iloc[-1] if len(frame) else None
    mixed = frame["mixed"].fillna(False).astype(bool)
    known = frame[frame["known"].fillna(False).astype(bool) & ~mixed]
    out = PlayUplift(play, months, len(frame), int((known["arm"] == "treated").sum()),
                     int((known["arm"] == "holdout").sum()), None if share is None else float(share), None)
    notes = []
    released = wh.scalar("SELECT CAST(MIN(released_at) AS DATE) FROM play_assignments WHERE play = ?", [play])
    if released is not None:
        notes.append(f"its holdout was released on {released}: a customer drawn before a release counts only if "
                     f"its {months} months ended by then")
    if mixed.any():
        notes.append(f"{int(mixed.sum()):,} customers left out: identity merged customers drawn to different arms "
                     "into one")
    imported = sorted({str(v).removeprefix("import:") for v in frame["source"].dropna()
                       if str(v).startswith("import:")})
    if imported:
        notes.append(f"drawn outside patron (imported from {', '.join(imported)[:200]}): patron cannot check that "
                     "the holdout was chosen at random, so a difference may not be the play's effect")
    if known.empty and wh.scalar(f"SELECT last_day FROM ({DATA_LAST_DAY}) AS d") is None:
        notes.insert(0, "no outcome to compare: the data holds no dated activity (subscriptions, orders, survey "
                        "answers), so nothing says what became of the customers after they were drawn")
    elif known.empty:
        notes.insert(0, f"no outcome yet: none of its {len(frame):,} customers was assigned {months} months before "
                        f"{'the release' if released is not None else 'the data' + chr(39) + 's last day'}")
    elif len(known) > len(known[known["mrr_start"] > 0]):
        notes.append("churn and revenue count only the customers that paid in the month before they were drawn "
                     f"({int((known['mrr_start'] > 0).sum()):,} of {len(known):,})")
    out.note = "; ".join(notes) or None
    if known.empty:
        return out
    done = wh.df("SELECT i.customer_id, MAX(CASE WHEN i.status = 'done' THEN 1 ELSE 0 END) AS done "
                 "FROM action_items AS i WHERE i.play = ? GROUP BY i.customer_id", [play])
    treated_ids = set(known.loc[known["arm"] == "treated", "customer_id"])
    if treated_ids:
        out.done = float(done[done["customer_id"].isin(treated_ids)]["done"].sum()) / len(treated_ids)
    paying = known[known["mrr_start"] > 0]
    t, h = paying[paying["arm"] == "treated"], paying[paying["arm"] == "holdout"]
    churn = proportion_difference(int((t["mrr_end"] <= 0).sum()), len(t), int((h["mrr_end"] <= 0).sum()), len(h))
    out.outcomes.append(Outcome("churn", "share", _rate(t), _rate(h), churn, _verdict("churn", churn, "share")))
    change_t = (t["mrr_end"] - t["mrr_start"]).tolist()
    change_h = (h["mrr_end"] - h["mrr_start"]).tolist()
    revenue = mean_difference(change_t, change_h)
    out.outcomes.append(Outcome("revenue", "MRR change per customer", _mean(change_t), _mean(change_h), revenue,
                                _verdict("MRR change per customer", revenue, "money")))
    nps = _nps(wh, play, months)
    counts = {arm: (int((g >= 9).sum()), int(((g >= 7) & (g <= 8)).sum()), int((g <= 6).sum()))
              for arm, g in ((a, nps.loc[nps["arm"] == a, "score"]) for a in ("treated", "holdout"))}
    diff = nps_difference(counts["treated"], counts["holdout"])
    out.outcomes.append(Outcome("nps", "points", _nps_value(counts["treated"]), _nps_value(counts["holdout"]), diff,
                                _verdict("NPS", diff, "points")))
    _holm(out.outcomes)
    return out


def _holm(outcomes: list[Outcome]) -> None:
    """Three outcomes tested at once would call one in seven plays with no effect significant:
    each p-value is adjusted by Holm's step-down method, and the verdicts read the adjusted one."""
    tested = sorted((o for o in outcomes if o.difference.p_value is not None), key=lambda o: o.difference.p_value)
    running = 0.0
    for rank, o in enumerate(tested):
        running = max(running, min(1.0, (len(tested) - rank) * o.difference.p_value))
        o.p_adjusted = running
    for o in outcomes:
        kind = {"churn": "share", "nps": "points"}.get(o.name, "money")
        what = {"churn": "churn", "nps": "NPS"}.get(o.name, "MRR change per customer")
        o.verdict = _verdict(what, o.difference, kind, o.p_adjusted)


def _nps(wh: Warehouse, play: str, months: int) -> Any:
    """Each assigned customer's first NPS answer in the window after its assignment (one per
    customer: a customer who answers often would otherwise weigh more)."""
    return wh.df(f"""
WITH d AS ({DATA_LAST_DAY}),
a AS (SELECT play, customer_id, arm, as_of, assigned_at FROM ({first_draws('play_assignments')}) AS f
      WHERE play = ? AND NOT mixed)
SELECT customer_id, arm, score FROM (
    SELECT a.customer_id, a.arm, r.score, ROW_NUMBER() OVER (PARTITION BY a.customer_id
        ORDER BY r.submitted_at, r.response_id) AS k
    FROM a CROSS JOIN d JOIN responses AS r ON COALESCE(r.customer_id, r.customer_ref) = a.customer_id
    WHERE r.survey = 'nps' AND CAST(r.submitted_at AS DATE) > a.as_of
      AND CAST(r.submitted_at AS DATE) <= {_window(months)} AND {_window(months)} <= {_UNTIL}) AS firsts
WHERE k = 1""", [play])


def _rate(group: Any) -> float | None:
    return None if len(group) == 0 else float((group["mrr_end"] <= 0).mean())


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _nps_value(c: tuple[int, int, int]) -> float | None:
    n = sum(c)
    return None if n == 0 else 100.0 * (c[0] - c[2]) / n


def _verdict(what: str, d: Difference, kind: str, p_adjusted: float | None = None) -> str:
    """A person's sentence: the difference, whether it is real (by the adjusted p-value, where
    given), or why it cannot be told."""
    if d.n_a < MIN_ARM or d.n_b < MIN_ARM:
        return (f"too small to tell: {d.n_a:,} treated and {d.n_b:,} held out with an outcome "
                f"(at least {MIN_ARM} in each)")
    if d.value is None or d.p_value is None:
        if d.value:
            return (f"cannot be tested: every customer's {what} is the same within each group, treated and held "
                    "out apart; there is no spread to judge the difference by")
        return "cannot be measured: the outcome is the same for every customer in both groups"

    def amount(v: float) -> str:
        if kind == "share":
            return f"{abs(v) * 100:.1f} points"
        if kind == "points":
            return f"{abs(v):.1f} points"
        return f"{abs(v):,.2f}"

    def signed(v: float) -> str:
        return ("-" if v < 0 else "+") + amount(v)

    ci = "" if d.ci_low is None else f" (95% interval {signed(d.ci_low)} to {signed(d.ci_high)})"
    p = d.p_value if p_adjusted is None else p_adjusted
    told = "" if p_adjusted is None else " adjusted for the play's three outcomes"
    if p < 0.05:
        return (f"treated customers' {what} was {amount(d.value)} {'lower' if d.value < 0 else 'higher'}{ci}, "
                f"p = {p:.3f}{told}")
    return f"no significant difference in {what}: {signed(d.value)}{ci}, p = {p:.2f}{told}"
