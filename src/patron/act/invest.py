"""Where to invest: the customers to protect (value times the probability of losing it), the
accounts ripe for expansion, and the people who matter at each.

Everything is read from the warehouse: the per-customer signals (`signals.customer_relation`), the
latest runs' scores and reasons in `predictions`, the contacts and their survey answers. Each list
says how it is ranked, and each gap in the data is said in words rather than filled in: a value
at stake is a value times a probability, never a guess.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import pandas as pd

from patron.act.signals import attribute_fields, customer_relation, usable_runs, with_attributes
from patron.relations import DATA_LAST_DAY
from patron.warehouse.as_of import data_as_of

if TYPE_CHECKING:
    from patron.warehouse import Warehouse

GROWTH = 0.10  # usage growing: at least 10% more product events in the last 30 days than the 30 before
MIN_PRIOR_EVENTS = 50  # ... over at least this many events before, so that 3 to 9 events is no growth
PROMOTER_DAYS = 365  # a promoter's answer counts for a year
NEAR_LIMIT = 0.9  # near a plan limit: 90% of it in use
MIN_CRITERIA = 2  # an expansion candidate meets at least two of the criteria the data can read
CRITERIA = {"health": "green health", "usage": f"usage up {GROWTH:.0%} or more over 30 days",
            "promoter": f"a promoter's NPS (9-10) within {PROMOTER_DAYS} days",
            "near_limit": f"{NEAR_LIMIT:.0%} or more of a plan limit in use"}

# the words a role is read by: a champion uses the product and speaks for it, an economic buyer
# holds the budget
CHAMPION_WORDS = {"champion", "admin", "administrator", "sysadmin", "superuser", "poweruser", "advocate"}
CHAMPION_PHRASES = ("power user", "super user", "key user")
BUYER_WORDS = {"ceo", "cfo", "coo", "cto", "cio", "cro", "cco", "cmo", "chief", "vp", "svp", "evp", "president",
               "head", "director", "owner", "founder", "cofounder", "procurement", "purchasing", "finance",
               "financial", "budget", "buyer", "treasurer", "controller"}
BUYER_PHRASES = ("vice president", "general manager", "executive sponsor")

# the attribute names that say how much of a plan is in use and its limit (a source's own fields)
_UNITS = r"(seats?|licen[cs]es?|users?)"
LIMIT_NAME = re.compile(rf"^(?:(?:max|limit|licensed|purchased|contracted|allowed|paid|plan)_?{_UNITS}|"
                        rf"{_UNITS}_?(?:limit|cap|max|quota|purchased|licensed|contracted|allowed|paid|included))$")
USED_NAME = re.compile(rf"^(?:{_UNITS}_?(?:used|in_use|assigned|active|occupied|taken)|"
                       rf"(?:used|assigned|occupied)_?{_UNITS})$")


@dataclass
class Investment:
    """Both lists and what they rest on; `notes` say what the data cannot answer, and why."""

    as_of: date | None
    runs: dict[str, str]
    protect: pd.DataFrame  # most value at stake first
    expand: pd.DataFrame  # most criteria met first, then most value
    contacts: pd.DataFrame  # the people who matter at the customers of either list
    risk: str | None  # what the probability is: "churn" (the latest churn run's), or None without one
    value: str | None  # what the value is: "lifetime value", "ARR", "lifetime value, else ARR", None
    criteria: list[str] = field(default_factory=list)  # the expansion criteria the data can read
    cannot: dict[str, str] = field(default_factory=dict)  # criterion -> why the data cannot read it
    capacity: dict[str, str] | None = None  # {"used": name, "limit": name} when a source keeps them
    notes: list[str] = field(default_factory=list)
    customers: int = 0  # customers read (after the filters)

    @property
    def ranking(self) -> dict[str, str]:
        """How each list is ranked, in words a person can follow."""
        crit = ", ".join(CRITERIA[c] for c in self.criteria)
        need = min(MIN_CRITERIA, len(self.criteria))
        return {
            "protect": "most value at stake first: value (lifetime value where a clv run has it, else ARR) times "
                       "the probability of leaving; where no value is known, the most likely to leave first",
            "expand": f"most criteria met first, then most value; criteria: {crit}; a candidate meets at least "
                      f"{need} and is neither at high churn risk nor a detractor by its latest NPS answer" if need
            else "none: the data reads none of the criteria (" + ", ".join(CRITERIA.values()) + ")",
        }


def plan(wh: Warehouse, owner: str | None = None, segment: str | None = None) -> Investment:
    """Both lists from the latest usable runs, for one owner or segment where given (compared in
    full, any case; passed to the engine as parameters, never as SQL)."""
    runs, notes = usable_runs(wh)
    capacity = capacity_fields(attribute_fields(wh))
    frame = customers(wh, runs, capacity, owner, segment)
    shown_for = " and ".join(f"{k} {v!r}" for k, v in (("owner", owner), ("segment", segment)) if v is not None)
    if frame.empty:
        notes.append(f"no customer of {shown_for}" if shown_for else "no customers loaded")
    subs, orders = (int(wh.scalar(f"SELECT COUNT(*) FROM {t}") or 0) for t in ("subscriptions", "orders"))
    risk, why = _risk_basis(wh, runs, subs, orders)
    protect = protect_list(wh, frame, runs, risk)
    criteria, cannot = _criteria(wh, runs, subs, capacity)
    as_of = data_as_of(wh)
    expand = expansion(frame, criteria, as_of, capacity)
    value, unvalued = _value_basis(protect, expand, orders)
    listed = pd.concat([protect["customer_id"], expand["customer_id"]]).drop_duplicates()
    people, said = contacts(wh, listed)
    return Investment(as_of, runs, protect, expand, people, risk, value, criteria, cannot,
                      capacity, notes + why + unvalued + said, len(frame))


# -- the customers and what their lists rest on --

def _missing(v: Any) -> bool:
    return v is None or bool(pd.isna(v))


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Plain values for every reader: a nullable number's gap is None (never pd.NA, which no
    comparison survives), a day is a date."""
    out = frame.copy()
    for c in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[c]):
            out[c] = [None if _missing(v) else v.date() for v in out[c]]
        elif isinstance(out[c].dtype, pd.api.extensions.ExtensionDtype):
            out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out.reset_index(drop=True)


def capacity_fields(attributes: dict[str, str]) -> dict[str, str] | None:
    """The numeric attributes that say a plan's limit and how much of it is used (seats used and a
    seat limit), when a source keeps them; None when it keeps no limit. Without a `used` one, the
    limit is compared with the most people active on one day (product usage)."""
    numbers = sorted(n for n, t in attributes.items() if t in ("DOUBLE", "BIGINT"))
    limit = next((n for n in numbers if LIMIT_NAME.match(n)), None)
    if limit is None:
        return None
    used = next((n for n in numbers if USED_NAME.match(n)), None)
    return {"limit": limit, **({"used": used} if used else {})}


def customers(wh: Warehouse, runs: dict[str, str], capacity: dict[str, str] | None = None,
              owner: str | None = None, segment: str | None = None) -> pd.DataFrame:
    """Every customer's signals and its contract's term; only those of `owner` and `segment` where
    given."""
    relation = with_attributes(customer_relation(wh, runs), {n: "DOUBLE" for n in (capacity or {}).values()})
    where, params = [], []
    for column, value in (("owner", owner), ("segment", segment)):
        if value is not None:
            where.append(f"lower(trim(s.{column})) = lower(trim(CAST(? AS VARCHAR)))")
            params.append(value)
    sql = f"""
WITH d AS ({DATA_LAST_DAY}),
terms AS (SELECT COALESCE(x.customer_id, x.customer_ref) AS customer, MAX(COALESCE(x.term_months, 1)) AS term
    FROM subscriptions AS x CROSS JOIN d WHERE x.start_date <= d.last_day
    AND (x.end_date IS NULL OR x.end_date > d.last_day) GROUP BY 1)
SELECT s.*, t.term FROM ({relation}) AS s
LEFT JOIN terms AS t ON t.customer = s.customer_id
{"WHERE " + " AND ".join(where) if where else ""}"""
    frame = wh.df(sql, params or None)
    for flag in ("paying", "promoter", "detractor"):
        frame[flag] = frame[flag].astype("boolean").fillna(False).astype(bool)
    return frame


def _risk_basis(wh: Warehouse, runs: dict[str, str], subs: int, orders: int) -> tuple[str | None, list[str]]:
    """What the probability of losing a customer is, or why there is none, in words."""
    if "churn" in runs:
        return "churn", []
    if wh.scalar("SELECT COUNT(*) FROM prediction_runs WHERE model = 'churn'"):
        return None, []  # a run identity has overtaken: `usable_runs` said so
    if not subs and orders:
        # a buyer's P(alive) is no stand-in: fitted on a real shop's orders it reads 1 for every buyer
        return None, ["no churn risk, so no customer is weighed by value times risk: this company has orders and no "
                      "subscriptions, and churn risk needs who paid each month (or a churn flag named in "
                      "predict.churn.outcome); `patron clv` lists its buyers by lifetime value"]
    return None, ["no churn run yet: run `patron predict` first" if subs else
                  "no churn run yet: churn risk needs subscriptions (who paid each month) or a churn flag named in "
                  "predict.churn.outcome; then run `patron predict`"]


def _value_basis(protect: pd.DataFrame, expand: pd.DataFrame, orders: int) -> tuple[str | None, list[str]]:
    """What the value of the listed customers is, or why none is known, in words."""
    bases = {b for f in (protect, expand) for b in f["value_basis"] if b is not None}
    if bases:
        return {"clv": "lifetime value", "arr": "ARR"}[bases.pop()] if len(bases) == 1 else \
            "lifetime value, else ARR", []
    if protect.empty:
        return None, []
    return None, ["no value known: no ARR (no subscriptions)" + (" and no lifetime value (run `patron clv`)" if orders
                  else " and no orders to value") + ", so the customers to protect are ranked by the probability "
                  "of leaving alone, with nothing in money"]


# -- customers to protect --

def _reasons(wh: Warehouse, run: str) -> dict[str, list[dict]]:
    """customer -> the churn run's top reasons in words (the run's own JSON)."""
    out = {}
    for customer, text in wh.rows("SELECT customer_id, reasons FROM predictions WHERE model = 'churn' AND "
                                  "run_id = ? AND reasons IS NOT NULL", [run]):
        try:
            out[customer] = [r for r in json.loads(text) if isinstance(r, dict) and r.get("says")]
        except (TypeError, ValueError):
            continue
    return out


def protect_list(wh: Warehouse, frame: pd.DataFrame, runs: dict[str, str], risk: str | None) -> pd.DataFrame:
    """The customers with a probability of leaving, most value at stake first: value is lifetime
    value where the clv run has it, else ARR; at stake is value times that probability."""
    cols = ["customer_id", "name", "owner", "segment", "value", "value_basis", "arr", "clv", "risk", "band",
            "at_stake", "months_to_renewal", "term", "reasons"]
    if risk is None:
        return pd.DataFrame(columns=cols)
    out = frame.assign(risk=frame["churn_risk"], band=frame["risk_band"])
    out = out[out["risk"].notna()].copy()
    why = _reasons(wh, runs["churn"])
    out["reasons"] = [why.get(c, []) for c in out["customer_id"]]
    has_clv = out["clv"].notna()
    out["value"] = out["clv"].where(has_clv, out["arr"].where(out["arr"] > 0))
    out["value_basis"] = ["clv" if c else "arr" if not _missing(v) else None
                          for c, v in zip(has_clv, out["value"], strict=True)]
    out["at_stake"] = (out["value"] * out["risk"]).round(2)
    out = out.sort_values(["at_stake", "risk", "customer_id"], ascending=[False, False, True], na_position="last")
    return _plain(out[cols])


# -- expansion --

def _criteria(wh: Warehouse, runs: dict[str, str], subs: int,
              capacity: dict[str, str] | None) -> tuple[list[str], dict[str, str]]:
    """The expansion criteria the data can read, and why it cannot read the others."""
    usage = bool(wh.scalar("SELECT COUNT(*) FROM usage"))
    nps = bool(wh.scalar("SELECT COUNT(*) FROM responses WHERE survey = 'nps'"))
    cannot = {}
    if "health" not in runs:
        cannot["health"] = ("no health run yet: run `patron predict` (or `patron health`) first" if subs else
                            "the health score needs subscriptions (who paid each month); there are none")
    if not usage:
        cannot["usage"] = "no product usage loaded, so growth cannot be read"
    if not nps:
        cannot["promoter"] = "no NPS answers loaded, so no promoter is known"
    if capacity is None:
        cannot["near_limit"] = ("no source keeps a plan limit (a customer attribute such as seat_limit, with "
                                "seats_used or product usage beside it), so patron cannot tell who is near one")
    elif "used" not in capacity and not usage:
        cannot["near_limit"] = (f"{capacity['limit']!r} is kept, but neither how much of it is used (an attribute "
                                "such as seats_used) nor product usage is, so patron cannot tell who is near it")
    return [c for c in CRITERIA if c not in cannot], cannot


def _used(frame: pd.DataFrame, capacity: dict[str, str] | None) -> tuple[pd.Series, pd.Series]:
    """(in use, limit) per customer, where the data says both."""
    nothing = pd.Series(float("nan"), index=frame.index)
    if capacity is None:
        return nothing, nothing
    limit = pd.to_numeric(frame[capacity["limit"]], errors="coerce").where(lambda v: v > 0)
    used = (frame[capacity["used"]] if "used" in capacity else frame["active_users_30d"].where(
        frame["usage_30d"] > 0))
    return pd.to_numeric(used, errors="coerce"), limit


def _says(r: Any, criterion: str, capacity: dict[str, str] | None) -> str:
    """One criterion an account meets, with its own numbers."""
    if criterion == "health":
        return f"health {r.health:.0f} of 100 (green)"
    if criterion == "usage":
        return (f"usage up {r.usage_change:.0%} over 30 days ({r.usage_30d:,} product events, against "
                f"{r.usage_prior_30d:,} in the 30 days before)")
    if criterion == "promoter":
        return f"a promoter: latest NPS answer {int(r.nps_last)} of 10, on {pd.Timestamp(r.nps_last_at):%Y-%m-%d}"
    limit = (capacity or {}).get("limit", "limit")
    if "used" in (capacity or {}):
        return f"{capacity['used']} {r.in_use:,.0f} of {limit} {r.limit:,.0f} ({r.in_use / r.limit:.0%})"
    return (f"{r.in_use:,.0f} people active on its busiest day in 30 days, against {limit} {r.limit:,.0f} "
            f"({r.in_use / r.limit:.0%})")


def expansion(frame: pd.DataFrame, criteria: list[str], as_of: date | None,
              capacity: dict[str, str] | None = None) -> pd.DataFrame:
    """The accounts that meet at least MIN_CRITERIA of `criteria` (fewer where the data reads fewer),
    neither at high churn risk nor detractors; most criteria met first, then most value."""
    cols = ["customer_id", "name", "owner", "segment", "value", "value_basis", "arr", "clv", "met", "criteria",
            "reasons", "health", "usage_change", "usage_30d", "usage_prior_30d", "nps_last", "nps_last_at",
            "in_use", "limit"]
    if not criteria or frame.empty:
        return pd.DataFrame(columns=cols)
    f = frame.copy()
    f["in_use"], f["limit"] = _used(f, capacity)
    recent = pd.to_datetime(f["nps_last_at"]) > pd.Timestamp(as_of) - pd.Timedelta(days=PROMOTER_DAYS) \
        if as_of is not None else pd.Series(True, index=f.index)
    meets = {
        "health": f["health_band"].eq("green"),
        "usage": f["usage_change"].ge(GROWTH) & f["usage_prior_30d"].ge(MIN_PRIOR_EVENTS),
        "promoter": f["promoter"] & recent.fillna(False).astype(bool),
        "near_limit": (f["in_use"] / f["limit"]).ge(NEAR_LIMIT),
    }
    flags = pd.DataFrame({c: meets[c].fillna(False).astype(bool) for c in criteria})
    f["met"] = flags.sum(axis=1)
    keep = f["met"].ge(min(MIN_CRITERIA, len(criteria))) & ~f["risk_band"].eq("high") & ~f["detractor"]
    if f["paying"].any():  # a company that bills: only those paying today
        keep &= f["paying"]
    f, flags = f[keep].copy(), flags[keep]
    f["criteria"] = [[c for c in criteria if row[c]] for _, row in flags.iterrows()]
    f["reasons"] = [[{"criterion": c, "says": _says(r, c, capacity)} for c in met]
                    for r, met in zip(f.itertuples(), f["criteria"], strict=True)]
    f["value"] = f["clv"].where(f["clv"].notna(), f["arr"].where(f["arr"] > 0))
    f["value_basis"] = ["clv" if not _missing(c) else "arr" if not _missing(v) else None
                        for c, v in zip(f["clv"], f["value"], strict=True)]
    f = f.sort_values(["met", "value", "customer_id"], ascending=[False, False, True], na_position="last")
    return _plain(f[cols])


# -- the people who matter --

def _words(role: str | None) -> list[str]:
    text = re.sub(r"([a-z0-9])([A-Z])|([A-Z])([A-Z][a-z])", r"\1\3 \2\4", role or "").lower()  # ITAdmin: it admin
    return [w for w in re.split(r"[^a-z0-9]+", text) if w]


def role_kinds(role: str | None) -> set[str]:
    """What a role reads as: "champion" (champion, admin, power user), "economic buyer" (a budget
    holder: CEO, CFO, VP, head, director, owner, procurement, finance...), both or neither."""
    words = _words(role)
    joined = f" {' '.join(words)} "
    out = set()
    if CHAMPION_WORDS & set(words) or any(f" {p} " in joined for p in CHAMPION_PHRASES):
        out.add("champion")
    if BUYER_WORDS & set(words) or any(f" {p} " in joined for p in BUYER_PHRASES):
        out.add("economic buyer")
    return out


def _why(role: str | None, kinds: set[str], nps: Any, at: Any) -> str:
    """Why a contact matters, in words: its role and its latest NPS answer."""
    said = []
    answered = not _missing(nps)
    day = f" on {pd.Timestamp(at):%Y-%m-%d}" if answered and not _missing(at) else ""
    if "economic buyer" in kinds:
        said.append(f"economic buyer (role: {role})")
    if answered and nps >= 9:
        said.append(f"champion: NPS {int(nps)}{day}")
    elif "champion" in kinds:
        said.append(f"champion by role ({role})")
    if answered and nps <= 6:
        said.append(f"detractor: NPS {int(nps)}{day}")
    elif answered and nps < 9:
        said.append(f"latest NPS {int(nps)}{day}")
    return "; ".join(said)


def contacts(wh: Warehouse, customer_ids: pd.Series) -> tuple[pd.DataFrame, list[str]]:
    """The champions, economic buyers and detractors among the contacts of `customer_ids`, each
    with its latest NPS answer (matched by email, which is never shown) and why it matters; and
    what the data lacks to tell."""
    cols = ["customer_id", "contact_id", "name", "role", "champion", "economic_buyer", "detractor", "nps", "nps_at",
            "why"]
    if not wh.scalar("SELECT COUNT(*) FROM contacts"):
        return pd.DataFrame(columns=cols), ["no contacts loaded, so no champion, economic buyer or detractor is named"]
    notes = []
    if not wh.scalar("SELECT COUNT(*) FROM responses WHERE survey = 'nps' AND contact_email IS NOT NULL"):
        notes.append("no NPS answer names a contact's email, so champions are read from roles alone and no "
                     "contact is known as a detractor")
    ids = pd.DataFrame({"customer_id": pd.Series(customer_ids, dtype=object).astype(str).unique()})
    with wh.frame("_patron_invest_ids", ids) as listed:
        frame = wh.df(f"""
WITH n AS (SELECT lower(trim(contact_email)) AS email, score, CAST(submitted_at AS DATE) AS at,
    ROW_NUMBER() OVER (PARTITION BY lower(trim(contact_email)) ORDER BY submitted_at DESC, response_id DESC) AS k
    FROM responses WHERE survey = 'nps' AND contact_email IS NOT NULL AND trim(contact_email) <> '')
SELECT COALESCE(c.customer_id, c.customer_ref) AS customer_id, c.contact_id, c.name, c.role,
    CAST(n.score AS BIGINT) AS nps, n.at AS nps_at
FROM contacts AS c JOIN {listed} AS l ON l.customer_id = COALESCE(c.customer_id, c.customer_ref)
LEFT JOIN n ON n.email = lower(trim(c.email)) AND n.k = 1
ORDER BY 1, c.contact_id""")
    if frame.empty:
        return pd.DataFrame(columns=cols), notes
    kinds = [role_kinds(r) for r in frame["role"]]
    nps = pd.to_numeric(frame["nps"], errors="coerce").astype(float)
    frame["champion"] = [("champion" in k) or (n >= 9) for k, n in zip(kinds, nps, strict=True)]
    frame["economic_buyer"] = ["economic buyer" in k for k in kinds]
    frame["detractor"] = nps.le(6).to_numpy()
    frame["why"] = [_why(r, k, n, a) for r, k, n, a in zip(frame["role"], kinds, nps, frame["nps_at"], strict=True)]
    keep = frame["champion"] | frame["economic_buyer"] | frame["detractor"]
    frame = frame[keep].copy()
    # per customer: its budget holders first (a detractor among them first of all), then the other
    # detractors, then the champions
    frame["_order"] = [0 if b else 1 if d else 2 for b, d in zip(frame["economic_buyer"], frame["detractor"],
                                                                 strict=True)]
    frame = frame.sort_values(["customer_id", "_order", "detractor", "contact_id"], ascending=[True, True, False, True])
    return _plain(frame[cols]), notes


# -- totals --

def totals(found: Investment, column: str) -> pd.DataFrame:
    """Per owner or segment: the accounts to protect, their value and value at stake, and the
    expansion candidates with their value; most at stake first. The sums add up to the lists."""
    if column not in ("owner", "segment"):
        raise ValueError(f"sum by owner or segment, not {column!r}")
    cols = [column, "accounts", "high_risk", "value", "at_stake", "expansion", "expansion_value"]
    p = found.protect.assign(**{column: found.protect[column].fillna("(none)")})
    e = found.expand.assign(**{column: found.expand[column].fillna("(none)")})
    left = p.groupby(column, as_index=False).agg(
        accounts=("customer_id", "size"), high_risk=("band", lambda b: int((b == "high").sum())),
        value=("value", lambda v: v.sum(min_count=1)), at_stake=("at_stake", lambda v: v.sum(min_count=1)))
    right = e.groupby(column, as_index=False).agg(expansion=("customer_id", "size"),
                                                  expansion_value=("value", lambda v: v.sum(min_count=1)))
    out = left.merge(right, on=column, how="outer")
    for c in ("accounts", "high_risk", "expansion"):
        out[c] = pd.to_numeric(out[c], errors="coerce").fillna(0).astype(int)
    for c in ("value", "at_stake", "expansion_value"):
        out[c] = pd.to_numeric(out[c], errors="coerce").astype(float).round(2)
    out = out.sort_values(["at_stake", "expansion", column], ascending=[False, False, True], na_position="last")
    return out.reindex(columns=cols).reset_index(drop=True)
