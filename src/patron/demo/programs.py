"""The demo company's certification program: who joined it, as the academy (an LMS) exports it.

It plants selection, not an effect: healthier and larger accounts enrol more often, and joining
changes no account's chance of leaving. A naive comparison of members with everyone else then
shows members staying more; a comparison matched on segment, tenure, size and prior health should
find (about) nothing. Billing is simulated before and apart from the program, and every draw here
comes from a generator of its own (seeded from the demo's seed and the block), so every other
export is byte-identical with or without the program: planting a true effect would have to change
who leaves, and with it billing and everything drawn after it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from patron.demo.simulate import MONTHS, Accounts, Subscriptions, month_days, month_share, month_starts

PROGRAM = "certification"
EXPORT = "academy/programs.csv"
LAUNCH_MONTH = MONTHS - 15  # the month of the window the program opens
STREAM = 0x70726F67  # "prog": this module's own random stream, apart from every other draw
# the odds of enrolling in a month: BASE_RATE, times NPS_PULL by the account's last NPS answer in
# the year before (none, detractor, passive, promoter: success teams invite their promoters) and
# (seats / 20) ** SIZE_PULL, at most 4 (larger accounts have more people to certify)
BASE_RATE, SIZE_PULL = 0.015, 0.35
NPS_PULL = (1.0, 0.4, 1.2, 3.0)
NPS_DAYS = 365
RETENTION_MONTHS = 6  # the horizon patron's default comparison reads


def rng_for(seed: int, block: int) -> np.random.Generator:
    """The program's generator for one block: its own stream, so no other export's draws move."""
    return np.random.default_rng([seed, block, STREAM])


def last_nps(responses: pd.DataFrame, contact_cust: np.ndarray, emails: list[str], n: int,
             as_of: np.datetime64) -> np.ndarray:
    """(n, MONTHS): each account's last NPS answer in the year up to the end of the month before,
    as patron reads it from the survey export: 0 none, 1 detractor, 2 passive, 3 promoter."""
    nps = responses[responses["Survey"] == "NPS"]
    score = pd.to_numeric(nps["Score"], errors="coerce").to_numpy()
    seconds = pd.to_datetime(nps["Recorded Date"], format="%d/%m/%Y %H:%M").to_numpy().astype("datetime64[s]")
    owner = dict(zip(emails, contact_cust, strict=True))
    cust = np.array([owner.get(e, -1) for e in nps["Email"]], dtype=np.int64)
    ok = (score >= 0) & (score <= 10) & (cust >= 0)  # an answer of 11 is quarantined
    cust, score, at = cust[ok], score[ok], seconds[ok].astype(np.int64)
    latest = np.argsort(-at, kind="stable")  # newest first
    cust, score, at = cust[latest], score[latest], at[latest]
    kind = np.where(score >= 9, 3, np.where(score >= 7, 2, 1))
    out = np.zeros((n, MONTHS), np.int64)
    for m, start in enumerate(month_starts(as_of)):
        inside = np.flatnonzero((at < start * 86400) & (at >= (start - NPS_DAYS) * 86400))
        who, last = np.unique(cust[inside], return_index=True)  # each account's newest answer
        out[who, m] = kind[inside[last]]
    return out


def enrolments(rng: np.random.Generator, acc: Accounts, subs: Subscriptions, as_of: np.datetime64,
               prior: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(account position, day joined) of each account that enrolled: month by month from the
    launch, an account paying at the end of the month before may join, more often when its last NPS
    answer (`prior`, from `last_nps`) was a promoter's and the larger (seats) it is."""
    starts, days, share = month_starts(as_of), month_days(as_of), month_share(as_of)
    joined = np.full(len(acc.idx), -1, np.int64)
    size = np.minimum((acc.seats / 20.0) ** SIZE_PULL, 4.0)
    for m in range(LAUNCH_MONTH, MONTHS):
        odds = BASE_RATE * np.asarray(NPS_PULL)[prior[:, m]] * size
        eligible = subs.active[:, m - 1] & (joined < 0)
        new = eligible & (rng.random(len(joined)) < odds / (1 + odds) * share[m])
        joined[new] = starts[m] + (rng.random(int(new.sum())) * days[m]).astype(np.int64)
    who = np.flatnonzero(joined >= 0)
    return who, joined[who]


def export(rng: np.random.Generator, acc: Accounts, subs: Subscriptions, as_of: np.datetime64,
           crm_refs: list[str], contact_cust: np.ndarray, emails: list[str], responses: pd.DataFrame) -> pd.DataFrame:
    """One row per person certified: the account's CRM id, the program, the learner's email, the
    day they enrolled and the day they left (the account's churn, or a lapse), else empty."""
    prior = last_nps(responses, contact_cust, emails, len(acc.idx), as_of)
    who, day = enrolments(rng, acc, subs, as_of, prior)
    today = int(as_of.astype(np.int64))
    first = np.searchsorted(contact_cust, who, side="left")
    count = np.searchsorted(contact_cust, who, side="right") - first
    learners = np.minimum(1 + rng.poisson(np.array([0.2, 0.8, 1.6])[acc.segment[who]]), count)
    row = np.repeat(np.arange(len(who)), learners)  # one per learner, the account's first learner first
    nth = np.arange(len(row)) - np.repeat(np.cumsum(learners) - learners, learners)
    offset = rng.integers(0, np.maximum(count, 1))[row]  # distinct contacts: consecutive from a random one
    contact = first[row] + (offset + nth) % count[row]
    joined = np.minimum(day[row] + np.where(nth > 0, rng.integers(0, 60, len(row)), 0), today)
    left = np.where(rng.random(len(row)) < 0.1, joined + rng.integers(60, 400, len(row)), -1)
    churned = subs.churned_on[who[row]]
    left = np.where(churned >= joined, np.where(left < 0, churned, np.minimum(left, churned)), left)
    left = np.where(left <= today, left, -1)
    return pd.DataFrame({
        "account_id": np.array(crm_refs, dtype=object)[who[row]], "program": PROGRAM,
        "learner_email": np.array(emails, dtype=object)[contact],
        "enrolled_on": _iso(joined), "left_on": np.where(left >= 0, _iso(np.maximum(left, 0)), ""),
    })


def _iso(days: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(days.astype(np.int64).astype("datetime64[D]"))


def planted(as_of: np.datetime64, learners: int) -> dict:
    """What truth/planted.json says about the program."""
    return {
        "program": PROGRAM,
        "source": "academy_programs",
        "launched": str(month_starts(as_of)[LAUNCH_MONTH].astype("datetime64[D]")),
        "eligible": "accounts paying at the end of the month before; each joins at most once (its first "
                    "learner's day), other learners of the account may follow",
        "selection": {
            "monthly_odds": BASE_RATE,
            "times_by_last_nps_answer": dict(zip(("none", "detractor", "passive", "promoter"), NPS_PULL, strict=True)),
            "nps_answer_window_days": NPS_DAYS,
            "times_by_size": f"min((seats / 20) ** {SIZE_PULL}, 4)",
            "meaning": "success teams invite their promoters, and larger accounts have more people to certify: "
                       "healthier, larger accounts join more often (the last NPS answer is read as of the month "
                       "end before joining, as patron reads it)",
        },
        "effect": {"retention": 0.0, "nps": 0.0,
                   "meaning": "joining changes nothing: a naive comparison overstates the program, a matched one "
                              "should find about 0 (billing is simulated apart from the program, so no other "
                              "export changes)"},
        "retention_months": RETENTION_MONTHS,
        "learners": learners,
    }
