"""What the accounts do, as each system records it: contacts, tickets, surveys, feedback, usage.

Every function returns one export (in that system's own column names and formats) plus, where
there is text, the truth behind it (sentiment and theme).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from patron.demo.comments import SENTIMENTS, THEMES, write_comments, write_subjects
from patron.demo.identities import person_names
from patron.demo.simulate import (
    DRIVER,
    DRIVER_EFFECT,
    MONTHS,
    TOUCHPOINTS,
    Accounts,
    Subscriptions,
    month_days,
    month_share,
    month_starts,
)
from patron.demo.words import (
    FEATURE_PROPENSITY,
    FEATURES,
    PRIORITIES,
    ROLES,
    TICKET_CHANNEL_SHARE,
    TICKET_CHANNELS,
)

TOUCHPOINT_THEMES = {
    "sales_handoff": ("onboarding",), "implementation": ("onboarding",), "training": ("onboarding", "usability"),
    "product": ("usability", "reliability", "reporting", "integrations"), "support": ("support",),
    "documentation": ("usability",), "billing": ("billing",), "renewal": ("pricing",),
    "account_management": ("support", "pricing"),
}
T = {t: i for i, t in enumerate(THEMES)}
STAGE_OF = {tp: s for s, tps in {
    "onboard": ("sales_handoff", "implementation", "training"),
    "adopt": ("product", "support", "documentation"),
    "renew": ("billing", "renewal", "account_management")}.items() for tp in tps}


@dataclass
class Context:
    rng: np.random.Generator
    acc: Accounts
    subs: Subscriptions
    as_of: np.datetime64
    refs: dict[str, list[str]]  # system -> per-customer id
    domains: list[str]
    names: list[str]
    id_prefix: str  # makes ids unique across chunks


def iso(days: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(days.astype("datetime64[D]"))


def iso_ts(seconds: np.ndarray) -> np.ndarray:
    return np.char.add(np.datetime_as_string(seconds.astype("datetime64[s]")), "Z")


def _sentiment_from(score: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return np.where(score <= lo, 0, np.where(score >= hi, 2, 1))


def _day_in_month(ctx: Context, month: np.ndarray) -> np.ndarray:
    """A day spread evenly over the month's days (the current month's: up to as-of)."""
    span = month_days(ctx.as_of)[month]
    return month_starts(ctx.as_of)[month] + (ctx.rng.random(len(month)) * span).astype(np.int64)


def _customer_months(ctx: Context, rate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Poisson events per active customer-month: returns (customer position, month) per event.
    The current month gets its elapsed share of a month's events."""
    counts = ctx.rng.poisson(rate * ctx.subs.active * month_share(ctx.as_of))
    c, m = np.nonzero(counts)
    reps = counts[c, m]
    return np.repeat(c, reps), np.repeat(m, reps)


def contacts(ctx: Context) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    """CRM contacts; returns the export, each contact's customer position and true email."""
    acc, rng = ctx.acc, ctx.rng
    per = np.array([1, 3, 5])[acc.segment] + rng.integers(0, 2, len(acc.idx))
    who = np.repeat(np.arange(len(acc.idx)), per)
    k = len(who)
    full, firsts, lasts = person_names(rng, k)
    personal = rng.random(k) < 0.05
    mails = [
        f"{f}.{la}{i % 97}@{'gmail.com' if p else ctx.domains[w]}" if p else f"{f}.{la}@{ctx.domains[w]}"
        for i, (f, la, w, p) in enumerate(zip(firsts, lasts, who, personal, strict=True))
    ]
    shown = np.where(rng.random(k) < 0.08, "", np.array(mails, dtype=object))
    typo = np.flatnonzero(rng.random(k) < 0.002)  # a few addresses typed without the @
    shown[typo] = [str(mails[i]).replace("@", "") for i in typo]
    df = pd.DataFrame({
        "Contact ID": [f"CON-{ctx.id_prefix}{i:07d}" for i in range(k)],
        "Account ID": [ctx.refs["crm"][w] for w in who],
        "Full Name": full,
        "Email": shown,
        "Phone": [f"+1-555-{(w * 7 + i) % 900 + 100:03d}-{i % 10000:04d}" for i, w in enumerate(who)],
        "Title": [ROLES[r] for r in rng.integers(0, len(ROLES), k)],
    })
    return df, who, mails


def _contact_of(ctx: Context, cust: np.ndarray, contact_cust: np.ndarray) -> np.ndarray:
    """A random contact of each customer (positions into the contacts list)."""
    first = np.searchsorted(contact_cust, cust, side="left")
    count = np.searchsorted(contact_cust, cust, side="right") - first
    return first + (ctx.rng.random(len(cust)) * count).astype(np.int64)


def _variant_email(email: str, r: float) -> str:
    """The same person under another address: a changed format or an old alias."""
    local, _, dom = email.partition("@")
    if r < 0.5 and "." in local:
        f, _, la = local.partition(".")
        return f"{f[0]}{la}@{dom}"
    return f"{local.replace('.', '_')}@{dom}"


def tickets(ctx: Context, contact_cust: np.ndarray, emails: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    acc, rng = ctx.acc, ctx.rng
    base = np.array([0.08, 0.25, 0.7])[acc.segment][:, None]
    # a price-sensitive account writes in about the price from the month it rose
    protest = (acc.price_sensitive[:, None] & (ctx.subs.risen[:, None] >= 0)
               & (np.arange(acc.health.shape[1])[None, :] >= ctx.subs.risen[:, None]))
    rate = base * (0.3 + 1.6 * (1 - acc.health)) + 0.35 * acc.pain[:, None] + 0.7 * protest
    cust, month = _customer_months(ctx, rate)
    k = len(cust)
    h = acc.health[cust, month]
    pain = acc.pain[cust]
    weights = np.tile(np.array([1, 1.2, 1.5, 0.6, 1.2, 0.9, 0.5, 0.9, 0.8]), (k, 1))
    weights[:, T["support"]] += 2.5 * pain
    weights[:, T["pricing"]] += 12.0 * protest[cust, month]
    weights[:, T["reliability"]] += 2.0 * (1 - h)
    weights /= weights.sum(1, keepdims=True)
    theme = (weights.cumsum(1) > rng.random(k)[:, None]).argmax(1)
    sentiment = np.where(rng.random(k) < 0.75, 0, 1)
    opened = _day_in_month(ctx, month) * 86400 + rng.integers(6 * 3600, 20 * 3600, k)
    now = int(ctx.as_of.astype(np.int64)) * 86400 + 23 * 3600
    opened = np.minimum(opened, now - 3600)
    priority = rng.choice(4, k, p=(0.3, 0.45, 0.2, 0.05))
    first_h = rng.lognormal(np.log([10, 6, 3, 1])[priority] + 1.0 * pain, 0.8)
    resolve_h = first_h + rng.lognormal(np.log(20) + 0.6 * pain, 1.0)
    first_at = opened + (first_h * 3600).astype(np.int64)
    resolved_at = opened + (resolve_h * 3600).astype(np.int64)
    rated = (resolved_at <= now) & (rng.random(k) < 0.4)
    csat = np.clip(np.round(2.9 + 2.2 * h - 0.6 * pain - 0.35 * np.log1p(resolve_h / 24) + rng.normal(0, 0.7, k)), 1, 5)
    who = _contact_of(ctx, cust, contact_cust)
    changed = rng.random(k) < 0.04
    req = [(_variant_email(emails[w], r) if c else emails[w])
           for w, c, r in zip(who, changed, rng.random(k), strict=True)]
    no_org = rng.random(k) < 0.1
    ids = np.arange(k)
    df = pd.DataFrame({
        "id": [f"{ctx.id_prefix}{i:08d}" for i in ids],
        "organization_id": np.where(no_org, None, np.array([ctx.refs["helpdesk"][c] for c in cust], dtype=object)),
        "requester_email": req,
        "created_at": iso_ts(opened),
        "first_reply_at": np.where(first_at <= now, iso_ts(first_at), None),
        "solved_at": np.where(resolved_at <= now, iso_ts(resolved_at), None),
        "via": np.array(TICKET_CHANNELS)[rng.choice(4, k, p=TICKET_CHANNEL_SHARE)],
        "priority": np.array(PRIORITIES)[priority],
        "type": np.array(THEMES)[theme],
        "subject": write_subjects(theme, rng),
        "description": write_comments(theme, sentiment, rng),
        "satisfaction_score": np.where(rated, csat, np.nan),
    })
    truth = pd.DataFrame({"source": "helpdesk_tickets", "source_key": df["id"],
                          "sentiment": np.array(SENTIMENTS)[sentiment], "theme": np.array(THEMES)[theme]})
    return df, truth


def responses(ctx: Context, contact_cust: np.ndarray, emails: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Relationship NPS twice a year; CSAT and CES after touchpoints. Plants the NPS driver."""
    acc, rng, subs = ctx.acc, ctx.rng, ctx.subs
    n = len(acc.idx)
    q = acc.quality
    parts = []
    # relationship NPS, a rolling programme: each month a sixth of the contacts of active
    # accounts are asked (so each is asked twice a year) and 30% of them answer
    wave = rng.integers(0, 6, len(contact_cust))
    share = month_share(ctx.as_of)
    for m in range(MONTHS):
        answered = (subs.active[contact_cust, m] & (wave == m % 6)
                    & (rng.random(len(contact_cust)) < 0.3 * share[m]))
        who = np.flatnonzero(answered)
        c = contact_cust[who]
        others = np.delete(q[c], TOUCHPOINTS.index(DRIVER), axis=1).sum(1)
        score = np.clip(np.round(
            7.0 + 4.0 * (acc.health[c, m] - 0.5) + DRIVER_EFFECT * q[c, TOUCHPOINTS.index(DRIVER)]
            + 0.3 * others / np.sqrt(len(TOUCHPOINTS) - 1) + rng.normal(0, 1.3, len(c))), 0, 10)
        parts.append(dict(contact=who, cust=c, month=np.full(len(c), m), survey=np.zeros(len(c), int),
                          score=score, tp=np.full(len(c), -1)))
    # transactional CSAT / CES: each customer, each touchpoint, a few times over the window
    rate = np.full((n, MONTHS), 0.12)
    cust, month = _customer_months(ctx, rate)
    tp = rng.integers(0, len(TOUCHPOINTS), len(cust))
    is_ces = rng.random(len(cust)) < 0.3
    qual = q[cust, tp]
    h = acc.health[cust, month]
    csat = np.clip(np.round(3.6 + 1.0 * qual + 1.0 * (h - 0.5) + rng.normal(0, 0.7, len(cust))), 1, 5)
    ces = np.clip(np.round(4.8 + 1.1 * qual + rng.normal(0, 1.0, len(cust))), 1, 7)
    who = _contact_of(ctx, cust, contact_cust)
    parts.append(dict(contact=who, cust=cust, month=month, survey=np.where(is_ces, 2, 1),
                      score=np.where(is_ces, ces, csat), tp=tp))
    r = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    k = len(r["cust"])
    surveys = np.array(["nps", "csat", "ces"])[r["survey"]]
    sentiment = np.select(
        [r["survey"] == 0, r["survey"] == 1],
        [_sentiment_from(r["score"], 6, 9), _sentiment_from(r["score"], 2, 4)],
        _sentiment_from(r["score"], 3, 6),
    )
    with_comment = rng.random(k) < 0.45
    theme = np.empty(k, np.int64)
    for i, name in enumerate(TOUCHPOINTS):
        m = r["tp"] == i
        opts = [T[t] for t in TOUCHPOINT_THEMES[name]]
        theme[m] = np.array(opts)[rng.integers(0, len(opts), m.sum())]
    rel = r["tp"] == -1
    worst = q[r["cust"][rel]].argmin(1)  # a relationship comment speaks of the weakest touchpoint
    theme[rel] = [T[TOUCHPOINT_THEMES[TOUCHPOINTS[w]][0]] for w in worst]
    text = np.full(k, "", dtype=object)
    idx = np.flatnonzero(with_comment)
    text[idx] = write_comments(theme[idx], sentiment[idx], rng)
    submitted = _day_in_month(ctx, r["month"]) * 86400 + rng.integers(7 * 3600, 22 * 3600, k)
    account = np.array([ctx.refs["crm"][c] for c in r["cust"]], dtype=object)
    account[rng.random(k) < 0.15] = ""  # the survey link lost its account id
    tps = np.array(TOUCHPOINTS + ("",))[r["tp"]]
    score_text = r["score"].astype(np.int64).astype(str).astype(object)
    bad = np.flatnonzero((r["survey"] == 0) & (rng.random(k) < 0.001))  # an old form that allowed 11
    score_text[bad] = "11"
    df = pd.DataFrame({
        "Response ID": [f"R_{ctx.id_prefix}{i:08d}" for i in range(k)],
        "Survey": np.array(["NPS", "CSAT", "CES"])[r["survey"]],
        "Score": score_text,
        "Recorded Date": pd.to_datetime(submitted, unit="s").strftime("%d/%m/%Y %H:%M"),
        "Email": [emails[c] for c in r["contact"]],
        "Account": account,
        "Touchpoint": tps,
        "Stage": [STAGE_OF.get(t, "") for t in tps],
        "Channel": np.array(["email", "in_app", "web"])[rng.integers(0, 3, k)],
        "Comment": text,
    })
    truth = pd.DataFrame({"source": "survey_responses", "source_key": df["Response ID"],
                          "sentiment": np.array(SENTIMENTS)[sentiment], "theme": np.array(THEMES)[theme],
                          "survey": surveys})
    return df, truth[with_comment].drop(columns="survey")


def usage(ctx: Context, days: int) -> pa.Table:
    """Daily usage per feature for the last `days` days; a row only where something happened.

    Built as an Arrow table with dictionary-encoded ids: this is the bulk of the demo's rows.
    """
    acc, rng, subs = ctx.acc, ctx.rng, ctx.subs
    today = int(ctx.as_of.astype(np.int64))
    day = np.arange(today - days + 1, today + 1)
    starts = month_starts(ctx.as_of)
    month = np.searchsorted(starts, day, side="right") - 1
    wf = np.where(((day + 3) % 7) < 5, 1.0, 0.25).astype(np.float32)  # 1970-01-01 was a Thursday
    base = ((acc.seats[:, None] ** 0.7) * (0.15 + acc.health[:, month]) * subs.active[:, month]).astype(np.float32)
    lam = base[:, :, None] * wf[None, :, None] * (1.5 * np.asarray(FEATURE_PROPENSITY, np.float32))
    used = rng.random(lam.shape, dtype=np.float32) < (1 - np.exp(-lam / 3))
    c, d, f = np.nonzero(used)  # C order: sorted by customer, then day, then feature
    events = 1 + rng.poisson(lam[c, d, f])
    h = acc.health[c, month[d]]
    users = np.minimum(acc.seats[c], 1 + rng.poisson(0.1 * acc.seats[c] * h * wf[d]))
    return pa.table({
        "workspace_id": pa.DictionaryArray.from_arrays(pa.array(c.astype(np.int32)), pa.array(ctx.refs["product"])),
        "date": pa.array(day[d].astype(np.int32), pa.date32()),
        "feature": pa.DictionaryArray.from_arrays(pa.array(f.astype(np.int8)), pa.array(FEATURES)),
        "events": pa.array(events.astype(np.int64)),
        "active_users": pa.array(users.astype(np.int64)),
    })


def feedback(
    ctx: Context, emails: list[str], contact_cust: np.ndarray, spike: tuple[int, int],
) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """In-app, social, review and field feedback. Plants the spike of `login` on social."""
    acc, rng, subs = ctx.acc, ctx.rng, ctx.subs
    n = len(acc.idx)
    today = int(ctx.as_of.astype(np.int64))
    out = {}

    def themed(k: int, h: np.ndarray, pain: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        w = np.tile(np.array([0.8, 0.8, 1.2, 0.8, 1.3, 0.9, 0.8, 1.0, 0.5]), (k, 1))
        w[:, T["support"]] += 1.5 * pain
        w /= w.sum(1, keepdims=True)
        theme = (w.cumsum(1) > rng.random(k)[:, None]).argmax(1)
        p_neg = np.clip(1.1 - 1.3 * h, 0.05, 0.9)
        r = rng.random(k)
        sentiment = np.where(r < p_neg, 0, np.where(r < p_neg + 0.2, 1, 2))
        return theme, sentiment

    # in-app widget
    cust, month = _customer_months(ctx, np.full((n, MONTHS), 0.04) * (acc.seats[:, None] ** 0.3))
    k = len(cust)
    theme, sent = themed(k, acc.health[cust, month], acc.pain[cust])
    rating = np.where(rng.random(k) < 0.6, np.array([1, 3, 5])[sent] - (rng.random(k) < 0.3) * (sent == 2), np.nan)
    who = _contact_of(ctx, cust, contact_cust)
    df = pd.DataFrame({
        "id": [f"fb_{ctx.id_prefix}{i:07d}" for i in range(k)],
        "workspace": np.array(ctx.refs["product"], dtype=object)[cust],
        "user_email": [emails[w] for w in who],
        "created": iso_ts(_day_in_month(ctx, month) * 86400 + rng.integers(0, 86400, k)),
        "message": write_comments(theme, sent, rng),
        "stars": rating,
    })
    out["feedback_web"] = (df, _truth("feedback_web", df["id"], sent, theme))

    # social mentions: not tied to an account; the planted spike lives here
    days = np.arange(today - MONTHS * 30 + 1, today + 1)
    per_day = max(n / 400.0, 0.5)
    counts = rng.poisson(per_day, len(days))
    day = np.repeat(days, counts)
    k = len(day)
    theme, sent = themed(k, np.full(k, 0.45), np.zeros(k))
    first, last = spike
    in_spike = (days >= first) & (days <= last)
    # an outage's worth: the channel's volume triples or more while it lasts (at least fifteen more
    # posts a day), plain on the channel's first day at any size of company
    lam = max(15.0, 2 * per_day)
    extra = np.maximum(rng.poisson(lam, in_spike.sum()), int(lam))
    sday = np.repeat(days[in_spike], extra)
    day = np.concatenate([day, sday])
    theme = np.concatenate([theme, np.full(len(sday), T["login"])])
    sent = np.concatenate([sent, np.where(rng.random(len(sday)) < 0.85, 0, 1)])
    k = len(day)
    order = np.argsort(day, kind="stable")
    day, theme, sent = day[order], theme[order], sent[order]
    handles = [f"@{w}{x % 1000}" for w, x in zip(np.array(["sam", "dev", "ops", "jo", "kai", "ana", "ml", "pm"])[
        rng.integers(0, 8, k)], rng.integers(0, 10**6, k), strict=True)]
    df = pd.DataFrame({
        "post_id": [f"{ctx.id_prefix}{i:09d}" for i in range(k)],
        "handle": handles,
        "posted_at": iso_ts(day * 86400 + rng.integers(0, 86400, k)),
        "text": write_comments(theme, sent, rng),
    })
    out["feedback_social"] = (df, _truth("feedback_social", df["post_id"], sent, theme))

    # review sites: a few accounts review the product once
    reviewer = np.flatnonzero(rng.random(n) < 0.06)
    last_m = np.where(subs.active[reviewer].any(1), MONTHS - 1 - np.argmax(subs.active[reviewer, ::-1], 1), 0)
    elapsed = np.cumsum(month_share(ctx.as_of))  # a month is as likely as its share of time gone by
    month = np.searchsorted(elapsed, rng.random(len(reviewer)) * elapsed[last_m], side="right")
    h = acc.health[reviewer, month]
    theme, sent = themed(len(reviewer), h, acc.pain[reviewer])
    stars = np.clip(np.array([1.6, 3.0, 4.6])[sent] + rng.normal(0, 0.5, len(reviewer)), 1, 5).round()
    full, _, _ = person_names(rng, len(reviewer))
    df = pd.DataFrame({
        "review_id": [f"rv-{ctx.id_prefix}{i:06d}" for i in range(len(reviewer))],
        "reviewer": [f"{p.split()[0]} {p.split()[1][0]}., {ctx.names[c]}" for p, c in zip(full, reviewer, strict=True)],
        "published": (_day_in_month(ctx, month) * 86400 * 1_000_000).astype("datetime64[us]"),
        "stars": stars.astype(np.int64),
        "review": write_comments(theme, sent, rng),
    })
    out["feedback_reviews"] = (df, _truth("feedback_reviews", df["review_id"], sent, theme))

    # field notes from account owners, mostly for bigger accounts
    rate = np.array([0.01, 0.08, 0.25])[acc.segment][:, None] * np.ones((1, MONTHS))
    cust, month = _customer_months(ctx, rate)
    theme, sent = themed(len(cust), acc.health[cust, month], acc.pain[cust])
    df = pd.DataFrame({
        "note_id": [f"N{ctx.id_prefix}{i:07d}" for i in range(len(cust))],
        "account_id": [ctx.refs["crm"][c] for c in cust],
        "written_by": [ctx.refs["owner"][c] for c in cust],
        "note_date": pd.to_datetime(_day_in_month(ctx, month), unit="D").strftime("%m/%d/%Y"),
        "note": ["Call notes: " + t for t in write_comments(theme, sent, rng)],
    })
    out["feedback_field"] = (df, _truth("feedback_field", df["note_id"], sent, theme))
    return out


def _truth(source: str, keys: pd.Series, sentiment: np.ndarray, theme: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"source": source, "source_key": keys.to_numpy(),
                         "sentiment": np.array(SENTIMENTS)[sentiment], "theme": np.array(THEMES)[theme]})
