"""The plays the demo company's success team ran before patron, as its success tool exports them.

Who was eligible, treated and held out is drawn in the billing simulation (simulate.py), where the
save plan's effect acts on who leaves; this module writes the tool's export and the truth. The
statuses (done, or dismissed with a reason) and the days items closed come from a generator of
their own, so they move no other draw.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from patron.demo.simulate import (
    PLAY_MONTH,
    PLAY_WINDOW,
    REFERENCE_ABOVE,
    REFERENCE_HOLDOUT,
    SAVE_BELOW,
    SAVE_EFFECT,
    SAVE_HOLDOUT,
    Subscriptions,
    month_starts,
)

EXPORT = "success/plays.csv"
STREAM = 0x706C6179  # "play": the plays' own random stream
ASSIGN_STREAM = 0x61726D73  # "arms": who is held out, drawn in the billing simulation
PLAYS = {"save_plan": "Write and run a save plan", "reference_request": "Ask for a reference or a review"}


def rng_for(seed: int, block: int, stream: int = STREAM) -> np.random.Generator:
    return np.random.default_rng([seed, block, stream])


def export(rng: np.random.Generator, subs: Subscriptions, today: np.datetime64, crm_refs: list[str],
           owners: list[str]) -> pd.DataFrame:
    """One row per account each play found eligible: the CRM id, treated or held out, the day, and
    for the treated what became of the item."""
    day = int(month_starts(today)[PLAY_MONTH])
    rows = []
    for play, arms in (("save_plan", subs.save_arm), ("reference_request", subs.reference_arm)):
        for i in np.flatnonzero(arms >= 0):
            treated = arms[i] == 1
            done = treated and rng.random() < 0.8
            closed = day + int(rng.integers(2, 30)) if treated else None
            rows.append({"play": play, "customer": crm_refs[i], "arm": "treated" if treated else "holdout",
                         "assigned_on": str(np.datetime64(day, "D")), "title": PLAYS[play] if treated else "",
                         "owner": owners[i] if treated else "",
                         "status": ("done" if done else "dismissed") if treated else "",
                         "closed_on": str(np.datetime64(closed, "D")) if closed is not None else "",
                         "reason": "" if done or not treated else "the customer declined a call"})
    columns = ["play", "customer", "arm", "assigned_on", "title", "owner", "status", "closed_on", "reason"]
    return pd.DataFrame(rows, columns=columns)


class Truth:
    """What the plays planted, summed over the blocks."""

    def __init__(self) -> None:
        self.save_eligible = self.save_held = self.reference_eligible = self.reference_held = 0
        self.odds_untreated = self.odds_treated = 0.0

    def add(self, subs: Subscriptions) -> None:
        save = subs.save_arm >= 0
        self.save_eligible += int(save.sum())
        self.save_held += int((subs.save_arm == 0).sum())
        self.reference_eligible += int((subs.reference_arm >= 0).sum())
        self.reference_held += int((subs.reference_arm == 0).sum())
        self.odds_untreated += float(subs.leave_odds[save, 0].sum())
        self.odds_treated += float(subs.leave_odds[save, 1].sum())

    def planted(self, today: np.datetime64) -> dict:
        day = str(np.datetime64(int(month_starts(today)[PLAY_MONTH]), "D"))
        n = max(self.save_eligible, 1)
        untreated, treated = self.odds_untreated / n, self.odds_treated / n
        return {
            "save_plan": {
                "assigned_on": day, "window_months": PLAY_WINDOW, "eligible": self.save_eligible,
                "held_out": self.save_held, "holdout_share": SAVE_HOLDOUT,
                "eligible_when": f"paying at the end of the month before, hidden health below {SAVE_BELOW}",
                "hazard_cut": SAVE_EFFECT,
                "churn_untreated": round(untreated, 4), "churn_treated": round(treated, 4),
                "effect_on_churn": round(treated - untreated, 4),
                "meaning": "treated minus untreated chance of not paying at the end of the window's last "
                           "month, averaged over the eligible accounts (negative: the plan keeps customers)"},
            "reference_request": {
                "assigned_on": day, "window_months": PLAY_WINDOW, "eligible": self.reference_eligible,
                "held_out": self.reference_held, "holdout_share": REFERENCE_HOLDOUT,
                "eligible_when": f"paying at the end of the month before, hidden health above {REFERENCE_ABOVE}",
                "effect_on_churn": 0.0, "meaning": "no effect on anything: a play that does not work"},
        }
