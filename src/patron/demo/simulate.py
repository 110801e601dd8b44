"""The hidden life of each account: who it is, how healthy it is month by month, what it pays.

A latent health process per account (an AR(1) on the logit scale) drives everything the
exports show later. Churn is a competing-risks draw with three planted causes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from patron.demo.words import PLANS, PRICE_PER_SEAT, REGION_SHARE, REGIONS, SEGMENT_SHARE, SEGMENTS

MONTHS = 24
TOUCHPOINTS = (
    "sales_handoff", "implementation", "training",
    "product", "support", "documentation",
    "billing", "renewal", "account_management",
)
JOURNEY = {
    "onboard": ("sales_handoff", "implementation", "training"),
    "adopt": ("product", "support", "documentation"),
    "renew": ("billing", "renewal", "account_management"),
}
DRIVER = "implementation"  # the touchpoint whose experience drives relationship NPS
DRIVER_EFFECT = 1.6  # NPS points per standard deviation of experience there (others: 0.3)
CAUSES = ("low_usage", "support_pain", "price")
RISE_MONTH = 14  # the month of the window the list price rises (the last is the as-of month, 23)
# Two plays the success team ran, each with a random holdout. The save plan went to accounts at
# risk (hidden health below SAVE_BELOW at the end of the month before) and cut their chance of
# leaving at a renewal by SAVE_EFFECT for PLAY_WINDOW months; the reference request went to healthy
# accounts and changed nothing.
PLAY_MONTH = MONTHS - 9
PLAY_WINDOW = 6
SAVE_BELOW, SAVE_HOLDOUT, SAVE_EFFECT = 0.5, 0.3, 0.6
REFERENCE_ABOVE, REFERENCE_HOLDOUT = 0.8, 0.5


@dataclass
class Accounts:
    idx: np.ndarray  # global customer index
    segment: np.ndarray  # index into SEGMENTS
    region: np.ndarray
    industry: np.ndarray
    seats: np.ndarray
    plan: np.ndarray  # index into PLANS
    term: np.ndarray  # 1 or 12 months
    start_day: np.ndarray  # days since epoch of the first subscription
    start_month: np.ndarray  # month index (0 = first month of the window; may be negative)
    quality: np.ndarray  # (n, touchpoints) experience at each touchpoint, standard normal
    pain: np.ndarray  # planted support pain
    price_sensitive: np.ndarray
    health: np.ndarray  # (n, MONTHS) hidden health 0-1


@dataclass
class Subscriptions:
    cust: np.ndarray  # row -> position in the chunk
    seq: np.ndarray  # subscription number of that customer (reactivation starts a new one)
    start: np.ndarray
    end: np.ndarray  # -1 while active
    mrr: np.ndarray
    plan: np.ndarray
    term: np.ndarray
    churned_on: np.ndarray  # per customer: day of leaving, -1 if a customer at the end
    cause: np.ndarray  # per customer: index into CAUSES, -1 if none
    active: np.ndarray  # (n, MONTHS) a paying customer at the month's end
    risen: np.ndarray  # per customer: month of its price rise, negative if none
    save_arm: np.ndarray  # per customer: -1 not eligible for the save plan, 0 held out, 1 treated
    reference_arm: np.ndarray  # the same for the reference request
    leave_odds: np.ndarray  # (n, 2): chance of leaving within the window untreated and treated (save plan)


def month_starts(as_of: np.datetime64) -> np.ndarray:
    last = as_of.astype("datetime64[M]")
    return (last - np.arange(MONTHS - 1, -1, -1)).astype("datetime64[D]").astype(np.int64)


def month_days(as_of: np.datetime64) -> np.ndarray:
    """Days of each month of the window that have happened: the whole month, or up to as-of."""
    last = as_of.astype("datetime64[M]")
    ends = (last - np.arange(MONTHS - 2, -2, -1)).astype("datetime64[D]").astype(np.int64)
    ends[-1] = min(ends[-1], int(as_of.astype(np.int64)) + 1)
    return ends - month_starts(as_of)


def month_share(as_of: np.datetime64) -> np.ndarray:
    """The elapsed share of each month (1 but for the current one): a month's events arrive over
    all its days, so a month four days old has had four days' worth of them."""
    last = as_of.astype("datetime64[M]")
    full = ((last + 1).astype("datetime64[D]") - last.astype("datetime64[D]")).astype(np.int64)
    share = np.ones(MONTHS)
    share[-1] = month_days(as_of)[-1] / full
    return share


def make_accounts(rng: np.random.Generator, idx: np.ndarray, as_of: np.datetime64) -> Accounts:
    n = len(idx)
    segment = rng.choice(len(SEGMENTS), n, p=SEGMENT_SHARE)
    region = rng.choice(len(REGIONS), n, p=REGION_SHARE)
    industry = rng.integers(0, 12, n)
    seats = np.maximum(1, np.round(np.exp(rng.normal(2.4, 0.6, n)))).astype(np.int64)
    for s, mu in ((1, 3.9), (2, 5.7)):
        m = segment == s
        seats[m] = np.maximum(5, np.round(np.exp(rng.normal(mu, 0.6, m.sum()))))
    plan = np.where(segment == 0, (rng.random(n) < 0.3).astype(int),
                    np.where(segment == 1, 1 + (rng.random(n) < 0.3), 2))
    term = np.where((segment == 0) & (rng.random(n) < 0.7), 1, 12)
    # first days spread evenly over 30 months before the window and the window up to as-of
    first_month = as_of.astype("datetime64[M]") - (MONTHS - 1)
    earliest = (first_month - 30).astype("datetime64[D]").astype(np.int64)
    start_day = rng.integers(earliest, int(as_of.astype(np.int64)) + 1, n)
    start_month = (start_day.astype("datetime64[D]").astype("datetime64[M]") - first_month).astype(np.int64)
    quality = rng.normal(0, 1, (n, len(TOUCHPOINTS)))
    pain = rng.random(n) < 0.12
    quality[pain, TOUCHPOINTS.index("support")] -= 1.2
    price_sensitive = rng.random(n) < 0.15
    mu = rng.normal(0.9, 0.9, n) + 0.35 * quality[:, TOUCHPOINTS.index(DRIVER)]
    z = np.empty((n, MONTHS))
    z[:, 0] = mu + rng.normal(0, 0.6, n)
    for m in range(1, MONTHS):
        z[:, m] = mu + 0.8 * (z[:, m - 1] - mu) + 0.4 * rng.normal(0, 1, n) - 0.08 * pain
    health = 1 / (1 + np.exp(-z))
    return Accounts(idx, segment, region, industry, seats, plan, term, start_day, start_month,
                    quality, pain, price_sensitive, health)


def simulate_billing(rng: np.random.Generator, acc: Accounts, as_of: np.datetime64,
                     plays: np.random.Generator | None = None) -> Subscriptions:
    """Month by month: churn (three competing causes), upgrades, downgrades, price rises, returns;
    with `plays` (a generator of their own), the two plays' holdouts and the save plan's effect."""
    n = len(acc.idx)
    starts, days, share = month_starts(as_of), month_days(as_of), month_share(as_of)
    cap = n * 6
    cust = np.empty(cap, np.int64)
    seq = np.empty(cap, np.int64)
    start = np.empty(cap, np.int64)
    end = np.full(cap, -1, np.int64)
    mrr = np.empty(cap)
    plan = np.empty(cap, np.int64)
    term = np.empty(cap, np.int64)
    rows = 0

    def open_rows(who: np.ndarray, day: np.ndarray, value: np.ndarray, sub: np.ndarray) -> np.ndarray:
        nonlocal rows, cust, seq, start, end, mrr, plan, term
        k = len(who)
        while rows + k > len(cust):
            cust, seq, start, mrr, plan, term = (np.resize(a, len(a) * 2) for a in (cust, seq, start, mrr, plan, term))
            end = np.concatenate([end, np.full(len(end), -1, np.int64)])
        sl = slice(rows, rows + k)
        cust[sl], seq[sl], start[sl], mrr[sl] = who, sub[who], day, np.round(value, 2)
        plan[sl], term[sl] = acc.plan[who], acc.term[who]
        rows += k
        return np.arange(sl.start, sl.stop)

    price = np.array(PRICE_PER_SEAT)[acc.plan] * acc.seats
    cur = np.full(n, -1, np.int64)  # current open row per customer
    sub = np.zeros(n, np.int64)
    value = price.copy()
    churned_on = np.full(n, -1, np.int64)
    cause = np.full(n, -1, np.int64)
    left_month = np.full(n, -999, np.int64)
    risen = np.full(n, -1, np.int64)  # month of the account's price rise, -1 before it
    active = np.zeros((n, MONTHS), bool)
    save_arm, reference_arm = np.full(n, -1, np.int64), np.full(n, -1, np.int64)
    survive = np.ones((n, 2))  # chance of staying through the window, untreated and treated

    early = acc.start_month < 0
    cur[early] = open_rows(np.flatnonzero(early), acc.start_day[early], value[early], sub)
    for m in range(MONTHS):
        first, last = starts[m], starts[m] + days[m] - 1
        h = acc.health[:, m]
        if plays is not None and m == PLAY_MONTH:  # paying at the end of the month before, by health then
            paying = cur >= 0
            at_risk = np.flatnonzero(paying & (acc.health[:, m - 1] < SAVE_BELOW))
            save_arm[at_risk] = (plays.random(len(at_risk)) >= SAVE_HOLDOUT).astype(np.int64)
            healthy = np.flatnonzero(paying & (acc.health[:, m - 1] > REFERENCE_ABOVE))
            reference_arm[healthy] = (plays.random(len(healthy)) >= REFERENCE_HOLDOUT).astype(np.int64)
        joining = acc.start_month == m
        if joining.any():
            w = np.flatnonzero(joining)
            cur[w] = open_rows(w, acc.start_day[w], value[w], sub)
        on = cur >= 0
        tenure = m - acc.start_month
        renewal = on & ~joining & ((acc.term == 1) | ((tenure > 0) & (tenure % 12 == 0)))
        base = np.where(acc.term == 1, 0.012, 0.11)
        k_usage = base * np.exp(3.2 * (0.45 - h))
        k_support = base * acc.pain * (1.5 + 2.0 * (1 - h))
        # one list-price rise of 8% for the accounts of before, at each one's first renewal from
        # RISE_MONTH on; a price-sensitive account takes it, then leaves at a later renewal (the
        # rise shows in billing before the account leaves)
        price_rise = renewal & (m >= RISE_MONTH) & (risen == -1) & (acc.start_month < RISE_MONTH)
        k_price = np.where(renewal & acc.price_sensitive & (risen >= 0) & (m > risen),
                           np.where(acc.term == 1, 0.25, 0.6), 0.0)
        total = k_usage + k_support + k_price
        if PLAY_MONTH <= m < PLAY_MONTH + PLAY_WINDOW and plays is not None:
            # what the window would hold for each account at its renewals, either way (the truth)
            due = ~joining & ((acc.term == 1) | ((tenure > 0) & (tenure % 12 == 0)))
            odds = np.where(due, np.minimum(total * share[m], 1.0), 0.0)
            survive[:, 0] *= 1 - odds
            survive[:, 1] *= 1 - odds * (1 - SAVE_EFFECT)
            total = np.where(save_arm == 1, total * (1 - SAVE_EFFECT), total)
        leaves = renewal & (rng.random(n) < total * share[m])
        if leaves.any():
            w = np.flatnonzero(leaves)
            pick = rng.random(len(w)) * total[w]
            cause[w] = np.where(pick < k_usage[w], 0, np.where(pick < k_usage[w] + k_support[w], 1, 2))
            day = rng.integers(first, last + 1, len(w))
            end[cur[w]] = day
            churned_on[w] = day
            left_month[w] = m
            cur[w] = -1
        on = cur >= 0
        stay = on & ~joining
        up = stay & (rng.random(n) < (0.022 * h + 0.01 * (acc.segment == 2)) * share[m])
        down = stay & ~up & (rng.random(n) < 0.018 * (1 - h) * share[m])
        rise = stay & price_rise & ~up & ~down & (rng.random(n) < share[m])
        risen[rise] = m
        factor = np.ones(n)
        factor[up] = rng.uniform(1.15, 1.6, up.sum())
        factor[down] = rng.uniform(0.55, 0.85, down.sum())
        factor[rise] = 1.08
        change = up | down | rise
        if change.any():
            w = np.flatnonzero(change)
            day = rng.integers(first, last + 1, len(w))
            end[cur[w]] = day
            value[w] = value[w] * factor[w]
            cur[w] = open_rows(w, day, value[w], sub)
        back = (cur < 0) & (left_month >= 0) & (m - left_month >= 2) & (rng.random(n) < 0.03 * share[m])
        if back.any():
            w = np.flatnonzero(back)
            sub[w] += 1
            day = rng.integers(first, last + 1, len(w))
            value[w] = price[w]
            cur[w] = open_rows(w, day, value[w], sub)
            risen[w] = -2  # back at the new terms: no rise, no leaving over it
            churned_on[w] = -1
            cause[w] = -1
            left_month[w] = -999
        active[:, m] = cur >= 0
    sl = slice(0, rows)
    return Subscriptions(cust[sl], seq[sl], start[sl], end[sl], mrr[sl], plan[sl], term[sl],
                         churned_on, cause, active, risen, save_arm, reference_arm, 1 - survive)


def plan_names(plan_idx: np.ndarray) -> list[str]:
    return [PLANS[p] for p in plan_idx]
