"""The churn snapshot features by hand in pandas, as `patron/predict/features.py` defines them.

The warehouse's canonical tables are read from Parquet exports (`read`); `Tables` does, once,
what every snapshot shares (each row's customer as a number, a ticket's billing and urgency
flags, each text's sentiment, the MRR each customer pays at the end of each month); `snapshot`
then computes one month end's features window by window with masks and group-bys.

A customer is `customer_id` (the master customer) where identity resolution set it, else the
source's `customer_ref`. Only customers who ever paid can be in a snapshot, so each row's customer
is turned into its position among them (-1 for the others): group-bys run on integers, and the
positions follow the customers' sort order, so the output comes out sorted as patron's does.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

USAGE_DAYS = 90
BILLING_WORDS = "bill|pric|invoice|payment|refund"
# a paying customer with no usage row in the window: no events, features or users; the last use
# longer ago than the window
USAGE_DEFAULT = {"events_30d": 0.0, "features_30d": 0.0, "active_users_30d": 0.0, "days_since_use": USAGE_DAYS + 1.0}

# the columns of each canonical table the features read
COLUMNS = {
    "subscriptions": ["customer_id", "customer_ref", "subscription_id", "start_date", "end_date", "term_months", "mrr",
                      "renewal_date"],
    "tickets": ["customer_id", "customer_ref", "ticket_id", "opened_at", "resolved_at", "category", "priority",
                "csat"],
    "responses": ["customer_id", "customer_ref", "survey", "score", "submitted_at"],
    "feedback": ["customer_id", "customer_ref", "feedback_id", "received_at"],
    "usage": ["customer_id", "customer_ref", "day", "feature", "events", "active_users"],
    "enrichment": ["source_table", "item_id", "sentiment_label"],
    "orders": ["ordered_at"],
}
# repeated text columns, read as categories
DICTIONARY = {"customer_id", "customer_ref", "category", "priority", "survey", "feature", "source_table",
              "sentiment_label"}
NAMES = ("mrr", "mrr_change_12m", "months_to_renewal", "term_months", "tenure_months", "events_30d",
         "usage_change_90d", "features_30d", "active_users_30d", "days_since_use", "billing_tickets_90d",
         "tickets_90d", "open_tickets", "urgent_open", "negative_tickets_90d", "ticket_csat_180d", "nps_180d",
         "csat_180d", "ces_180d", "responses_180d", "feedback_90d", "negative_feedback_90d")


def read(folder: Path) -> dict[str, pd.DataFrame]:
    """The tables' Parquet exports (`<table>.parquet` in `folder`), the columns the features use.
    Usage is read whole only when it reaches back far enough for a usage feature (90 days before
    the data's last day); else its days alone (the first day and the last are all that is used)."""
    def one(t: str, cols: list[str]) -> pd.DataFrame:
        table = pq.read_table(folder / f"{t}.parquet", columns=cols,
                              read_dictionary=[c for c in cols if c in DICTIONARY])
        return table.to_pandas(date_as_object=False)

    out = {t: one(t, cols) for t, cols in COLUMNS.items() if t != "usage"}
    days = one("usage", ["day"])["day"]
    ends = [out[t][c].max() for t, c in (("responses", "submitted_at"), ("tickets", "opened_at"),
                                         ("feedback", "received_at"), ("orders", "ordered_at"),
                                         ("subscriptions", "start_date")) if len(out[t])]
    ends += [days.max()] if len(days) else []
    as_of = max(pd.Timestamp(e) for e in ends).normalize() if ends else None
    covered = len(days) > 0 and as_of is not None and days.min() <= as_of - pd.Timedelta(days=USAGE_DAYS)
    out["usage"] = one("usage", COLUMNS["usage"]) if covered else days.to_frame()
    return out


def month_key(d: np.ndarray | pd.Series) -> np.ndarray:
    """year * 12 + month - 1 of dates (datetime64)."""
    m = np.asarray(d, dtype="datetime64[M]").astype(np.int64)
    return m + 1970 * 12


def _key(d: date) -> int:
    return d.year * 12 + d.month - 1


def _codes(frame: pd.DataFrame, index: pd.Index) -> np.ndarray:
    """Each row's customer (customer_id, else customer_ref) as its position in `index`; -1 when it
    is none of them, or when it has no customer."""
    out = np.full(len(frame), -1, dtype=np.int64)
    known = np.zeros(len(frame), dtype=bool)
    for col in ("customer_id", "customer_ref"):
        c = frame[col]
        if not isinstance(c.dtype, pd.CategoricalDtype):
            c = c.astype("category")
        codes = c.cat.codes.to_numpy()
        lookup = np.append(index.get_indexer(c.cat.categories), -1)
        take = ~known & (codes >= 0)
        out[take] = lookup[codes[take]]
        known |= take
    return out


def _flag(c: pd.Series, fn) -> np.ndarray:
    """A yes/no of each row of a categorical column, computed once per category."""
    c = c if isinstance(c.dtype, pd.CategoricalDtype) else c.astype("category")
    per = np.append(np.asarray(fn(c.cat.categories.to_series()), dtype=bool), False)
    return per[c.cat.codes.to_numpy()]


def _negative(items: pd.Series, enrichment: pd.DataFrame, table: str) -> np.ndarray:
    """1.0 for a text scored negative, 0.0 for one scored otherwise, NaN when unscored (a left join
    on the item's id, as the SQL's)."""
    e = enrichment[enrichment["source_table"] == table]
    label = e["sentiment_label"].astype(object)
    neg = pd.DataFrame({"item_id": e["item_id"].to_numpy(),
                        "neg": np.where(label.isna(), np.nan, (label == "negative").astype(float))})
    joined = pd.DataFrame({"item_id": items.to_numpy()}).merge(neg, on="item_id", how="left")
    return joined["neg"].to_numpy()


class Tables:
    """What every snapshot shares, computed once from the tables `read` gives."""

    def __init__(self, t: dict[str, pd.DataFrame]):
        s = t["subscriptions"]
        cust = np.where(s["customer_id"].isna(), s["customer_ref"].astype(object), s["customer_id"].astype(object))
        codes, uniques = pd.factorize(cust, sort=True)
        self.customers = pd.Index(uniques)
        start = s["start_date"].to_numpy(dtype="datetime64[D]")
        end = s["end_date"].to_numpy(dtype="datetime64[D]")
        self.spans = (start, end, s["mrr"].to_numpy(dtype=float))
        self.subs = pd.DataFrame({"c": codes, "start": start, "end": end,
                                  "sid": pd.factorize(s["subscription_id"])[0],
                                  "renewal": s["renewal_date"].to_numpy(dtype="datetime64[D]"),
                                  "term": s["term_months"].fillna(1).to_numpy(dtype=np.int64)})

        # revenue months: a period pays at the end of each month from its start month to the month
        # before it ends (to the last month of billing while it runs); a customer pays in a month
        # when its periods there sum to MRR > 0
        first_k, end_k = month_key(start), month_key(end)
        last = month_key(np.array([np.maximum(start, np.where(np.isnat(end), start, end)).max()]))[0]
        stop = np.where(np.isnat(end), last, end_k - 1)
        n = np.maximum(stop - first_k + 1, 0)
        row = np.repeat(np.arange(len(s)), n)
        step = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
        months = pd.DataFrame({"c": codes[row], "m": first_k[row] + step, "mrr": s["mrr"].to_numpy(dtype=float)[row]})
        cm = months.groupby(["c", "m"], sort=True)["mrr"].sum().reset_index()
        cm = cm[cm["mrr"] > 0]
        self.by_month = {int(m): g.set_index("c")["mrr"] for m, g in cm.groupby("m", sort=False)}
        self.first_month = cm.groupby("c")["m"].min()

        k = t["tickets"]
        c = _codes(k, self.customers)
        k = k[c >= 0]
        self.tickets = pd.DataFrame({
            "c": c[c >= 0], "opened": k["opened_at"].to_numpy(dtype="datetime64[us]"),
            "resolved": k["resolved_at"].to_numpy(dtype="datetime64[us]"),
            "billing": _flag(k["category"], lambda x: x.str.lower().str.contains(BILLING_WORDS, regex=True)),
            "urgent": _flag(k["priority"], lambda x: x.str.lower().isin(["urgent", "high"])),
            "neg": _negative(k["ticket_id"], t["enrichment"], "tickets"),
            "csat": k["csat"].astype(float).to_numpy()})

        r = t["responses"]
        c = _codes(r, self.customers)
        r = r[c >= 0]
        survey = r["survey"].astype(object).to_numpy()
        score = r["score"].astype(float).to_numpy()
        self.responses = pd.DataFrame({
            "c": c[c >= 0], "at": r["submitted_at"].to_numpy(dtype="datetime64[us]"),
            **{name: np.where(survey == name, score, np.nan) for name in ("nps", "csat", "ces")}})

        f = t["feedback"]
        c = _codes(f, self.customers)
        f = f[c >= 0]
        self.feedback = pd.DataFrame({"c": c[c >= 0], "at": f["received_at"].to_numpy(dtype="datetime64[us]"),
                                      "neg": _negative(f["feedback_id"], t["enrichment"], "feedback")})

        u = t["usage"]
        days = u["day"].to_numpy(dtype="datetime64[D]")
        self.usage_from = days.min() if len(u) else None
        self.usage = None
        if "events" in u.columns:  # read whole: it covers a usage feature somewhere
            c = _codes(u, self.customers)
            keep = c >= 0
            self.usage = pd.DataFrame({"c": c[keep], "day": days[keep],
                                       "feature": u["feature"].cat.codes.to_numpy()[keep],
                                       "events": u["events"].to_numpy(dtype=np.int64)[keep],
                                       "users": u["active_users"].astype(float).to_numpy()[keep]})

        ends = [x.max() for x in (t["responses"]["submitted_at"], t["tickets"]["opened_at"],
                                  t["feedback"]["received_at"], t["orders"]["ordered_at"]) if len(x)]
        ends += [days.max()] if len(u) else []
        ends += [start.max()] if len(s) else []
        self.as_of = max(pd.Timestamp(e) for e in ends).date()
        paying = s["mrr"].to_numpy(dtype=float) > 0
        self.first_start = pd.Timestamp(start[paying].min()).date()

    def paying_rows(self, days: list[date]) -> int:
        """Paying subscriptions on each of these days, summed (what patron sizes its sample by)."""
        start, end, mrr = self.spans
        return int(sum(((start <= np.datetime64(d, "D")) & (np.isnat(end) | (end > np.datetime64(d, "D")))
                        & (mrr > 0)).sum() for d in days))

    def payers(self) -> pd.DataFrame:
        """Every customer with a paying subscription, in their sort order (patron's candidates)."""
        start, end, mrr = self.spans
        codes = np.unique(self.subs["c"].to_numpy()[mrr > 0])
        return pd.DataFrame({"customer": np.asarray(self.customers[codes], dtype=object)})

    def snapshot(self, day: date, horizon_months: int | None = None, only: pd.Index | None = None) -> pd.DataFrame:
        """One row per customer paying at the end of `day`'s month, every feature cut at `day`;
        with a horizon, `churned`: not paying at the end of the month that many months later.
        `only`: the customers (positions) to keep, a training sample."""
        k = _key(day)
        pop = self.by_month.get(k, pd.Series(dtype=float))
        if only is not None:
            pop = pop[pop.index.isin(only)]
        idx = pop.index
        out = pd.DataFrame({"customer": np.asarray(self.customers[idx.to_numpy()], dtype=object),
                            "snapshot": pd.Timestamp(day), "mrr": pop.to_numpy()})

        before = self.by_month.get(k - 12, pd.Series(dtype=float)).reindex(idx)
        out["mrr_change_12m"] = np.where(before > 0, pop.to_numpy() / before.to_numpy() - 1, np.nan)

        d = np.datetime64(day, "D")
        # the contract: of the subscriptions running on the day, the longest term's; it renews from
        # its renewal date (of a row running then) where there is one, else from its first period
        subs = self.subs[self.subs["start"] <= d]
        running = (subs["end"].isna() | (subs["end"] > d)).to_numpy()
        per = subs.assign(run=running, ren=subs["renewal"].where(running)).groupby(["c", "sid"]).agg(
            first=("start", "min"), term=("term", "max"), ren=("ren", "max"), run=("run", "max")).reset_index()
        per = per[per["run"]]
        per = per[per["term"] == per.groupby("c")["term"].transform("max")]
        contract = per.groupby("c").agg(first=("first", "min"), ren=("ren", "min"), term=("term", "max")).reindex(idx)
        anchor = pd.DatetimeIndex(contract["ren"].fillna(contract["first"]))
        since = ((day.year - anchor.year) * 12 + day.month - anchor.month - (day.day < anchor.day)).to_numpy(float)
        term = contract["term"].to_numpy(dtype=float)
        out["months_to_renewal"] = term - np.mod(since, term)
        out["term_months"] = term
        out["tenure_months"] = (k - self.first_month.reindex(idx)).to_numpy(dtype=float)

        for name, col in self._usage(day).items():
            if isinstance(col, pd.Series):
                col = col.reindex(idx)
                col = col if name == "usage_change_90d" else col.fillna(USAGE_DEFAULT[name])
                col = col.to_numpy(dtype=float)
            out[name] = col

        ts = np.datetime64(day + timedelta(days=1), "us")
        t90, t180 = (np.datetime64(day - timedelta(days=n - 1), "us") for n in (90, 180))
        t = self.tickets[self.tickets["opened"] < ts]
        recent = (t["opened"] >= t90).to_numpy()
        billing = t["billing"].to_numpy()
        still_open = (t["resolved"].isna() | (t["resolved"] >= ts)).to_numpy()
        resolved = ((t["resolved"] < ts) & (t["resolved"] >= t180)).to_numpy()
        tk = pd.DataFrame({"c": t["c"].to_numpy(), "tickets_90d": recent & ~billing,
                           "billing_tickets_90d": recent & billing, "open_tickets": still_open,
                           "urgent_open": still_open & t["urgent"].to_numpy(),
                           "negative_tickets_90d": np.where(recent, t["neg"].to_numpy(), np.nan),
                           "ticket_csat_180d": np.where(resolved, t["csat"].to_numpy(), np.nan)})
        tk = tk.groupby("c").agg(tickets_90d=("tickets_90d", "sum"), billing_tickets_90d=("billing_tickets_90d", "sum"),
                                 open_tickets=("open_tickets", "sum"), urgent_open=("urgent_open", "sum"),
                                 negative_tickets_90d=("negative_tickets_90d", "mean"),
                                 ticket_csat_180d=("ticket_csat_180d", "mean")).reindex(idx)
        for name in ("tickets_90d", "billing_tickets_90d", "open_tickets", "urgent_open"):
            out[name] = tk[name].fillna(0).to_numpy(dtype=float)
        for name in ("negative_tickets_90d", "ticket_csat_180d"):
            out[name] = tk[name].to_numpy(dtype=float)

        r = self.responses[(self.responses["at"] < ts) & (self.responses["at"] >= t180)]
        sv = r.groupby("c").agg(nps_180d=("nps", "mean"), csat_180d=("csat", "mean"), ces_180d=("ces", "mean"),
                                responses_180d=("nps", "size")).reindex(idx)
        for name in ("nps_180d", "csat_180d", "ces_180d"):
            out[name] = sv[name].to_numpy(dtype=float)
        out["responses_180d"] = sv["responses_180d"].fillna(0).to_numpy(dtype=float)

        f = self.feedback[(self.feedback["at"] < ts) & (self.feedback["at"] >= t90)]
        fb = f.groupby("c").agg(feedback_90d=("neg", "size"), negative_feedback_90d=("neg", "mean")).reindex(idx)
        out["feedback_90d"] = fb["feedback_90d"].fillna(0).to_numpy(dtype=float)
        out["negative_feedback_90d"] = fb["negative_feedback_90d"].to_numpy(dtype=float)

        if horizon_months is not None:
            later = self.by_month.get(k + horizon_months, pd.Series(dtype=float))
            out["churned"] = np.where(idx.isin(later.index), 0, 1)
        return out[["customer", "snapshot", *NAMES, *(["churned"] if horizon_months is not None else [])]]

    def _usage(self, day: date) -> dict[str, pd.Series | float]:
        """The usage features: missing unless the usage data reaches back 90 days before `day`."""
        d = np.datetime64(day, "D")
        names = ("events_30d", "usage_change_90d", "features_30d", "active_users_30d", "days_since_use")
        if self.usage is None or self.usage_from > d - USAGE_DAYS:
            return dict.fromkeys(names, np.nan)
        # the last use matters only within the cap (91 days: older is 91 as well)
        day = self.usage["day"].to_numpy()
        u = self.usage[(day <= d) & (day > d - (USAGE_DAYS + 1))]
        last = u.groupby("c")["day"].max()
        w = u[u["day"].to_numpy() > d - USAGE_DAYS]
        recent = (w["day"] > d - 30).to_numpy()
        early = (w["day"] <= d - 60).to_numpy()
        g = pd.DataFrame({"c": w["c"].to_numpy(), "e30": np.where(recent, w["events"].to_numpy(), 0),
                          "e61": np.where(early, w["events"].to_numpy(), 0)})
        g = g.groupby("c").agg(e30=("e30", "sum"), e61=("e61", "sum"))
        # a day's active users are the most of any feature's (a user of two features is one user)
        daily = w[recent].groupby(["c", "day"])["users"].max()
        g["u30"] = daily.groupby(level="c").sum().reindex(g.index, fill_value=0.0)
        feats = w[recent].groupby("c")["feature"].nunique()
        e30, e61 = g["e30"].astype(float), g["e61"].astype(float)
        change = pd.Series(np.where(e61 > 0, e30 / e61.where(e61 > 0) - 1, np.where(e30 > 0, 1.0, np.nan)),
                           index=g.index)
        since = (d - last.to_numpy()).astype("timedelta64[D]").astype(float)
        return {"events_30d": e30, "usage_change_90d": change, "features_30d": feats,
                "active_users_30d": g["u30"] / 30.0,
                "days_since_use": pd.Series(np.minimum(USAGE_DAYS + 1, since), index=last.index)}
