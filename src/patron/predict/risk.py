"""Accounts at risk, read from the latest churn run: value at stake and reasons, with each
account's owner and segment from the golden record and its months to renewal, the ARR at risk
by owner or segment (in total and per band), and which features are protected characteristics."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pandas as pd

from patron.predict.store import latest_run, latest_scores

if TYPE_CHECKING:
    from patron.warehouse import Warehouse

BANDS = ("high", "medium", "low")
AT_RISK = ("high", "medium")  # the bands a person acts on; low risk still carries an expected loss


def accounts(wh: Warehouse, bands: tuple[str, ...] = AT_RISK, run_id: str | None = None) -> pd.DataFrame:
    """The latest run's accounts in `bands`, most at stake first, with name, owner, segment, the
    months to the contract's next renewal (from the run's details) and its term in months."""
    scores = latest_scores(wh, "churn", run_id=run_id)
    if scores.empty:
        return scores
    golden = wh.df("SELECT customer_id, name, owner, segment FROM customer_golden")
    out = scores.merge(golden, on="customer_id", how="left")
    out = out[out["band"].isin(bands)].copy()
    out["months_to_renewal"] = [(d or {}).get("months_to_renewal") for d in out["details"]]
    from patron.predict.renewals import terms

    contract = terms(wh, out["as_of"].max() if len(out) else None).drop(columns="renewal")
    out = out.merge(contract, on="customer_id", how="left")
    # most at stake first; where no revenue is known (a bank's customer list), most likely first
    return out.sort_values(["at_stake", "score", "customer_id"], ascending=[False, False, True],
                           na_position="last").reset_index(drop=True)


def _sum(v: pd.Series) -> float | None:
    return v.sum(min_count=1)


def by_group(wh: Warehouse, column: str) -> pd.DataFrame:
    """Accounts, ARR and ARR at stake per `column` (owner or segment) and band."""
    if column not in ("owner", "segment"):
        raise ValueError(f"group by owner or segment, not {column!r}")
    frame = accounts(wh, BANDS)
    if frame.empty:
        return pd.DataFrame(columns=[column, "band", "accounts", "arr", "at_stake"])
    frame[column] = frame[column].fillna("(none)")
    return (frame.groupby([column, "band"], as_index=False)
            .agg(accounts=("customer_id", "size"), arr=("value", _sum), at_stake=("at_stake", _sum))
            .sort_values(["at_stake", column], ascending=[False, True]).reset_index(drop=True))


def totals(wh: Warehouse, column: str) -> pd.DataFrame:
    """One row per owner or segment: accounts scored and how many are high and medium risk, their
    ARR, the ARR at stake in its high and medium risk accounts (`at_stake_at_risk`) and in all of
    them, low risk included (`at_stake`: each account's ARR times its probability of leaving);
    most at stake in high and medium risk accounts first."""
    if column not in ("owner", "segment"):
        raise ValueError(f"group by owner or segment, not {column!r}")
    cols = [column, "accounts", "high", "medium", "arr", "at_stake_at_risk", "at_stake"]
    frame = accounts(wh, BANDS)
    if frame.empty:
        return pd.DataFrame(columns=cols)
    frame[column] = frame[column].fillna("(none)")
    frame["at_risk"] = frame["band"].isin(AT_RISK)
    frame["stake_at_risk"] = frame["at_stake"].where(frame["at_risk"], 0.0).where(frame["at_stake"].notna())
    out = frame.groupby(column, as_index=False).agg(
        accounts=("customer_id", "size"), high=("band", lambda b: int((b == "high").sum())),
        medium=("band", lambda b: int((b == "medium").sum())), arr=("value", _sum),
        at_stake_at_risk=("stake_at_risk", _sum), at_stake=("at_stake", _sum))
    out = out.sort_values(["at_stake_at_risk", "at_stake", "high", "medium", column],
                          ascending=[False, False, False, False, True], na_position="last")
    out[["arr", "at_stake_at_risk", "at_stake"]] = out[["arr", "at_stake_at_risk", "at_stake"]].round(2)
    return out[cols].reset_index(drop=True)


def stake(frame: pd.DataFrame) -> dict:
    """The ARR at stake of scored accounts (`accounts(wh, BANDS)`): in high and medium risk ones,
    and in all (low risk's expected loss too); None where no revenue is known."""
    risky = frame[frame["band"].isin(AT_RISK)] if len(frame) else frame

    def total(f: pd.DataFrame, col: str) -> float | None:
        v = f[col].sum(min_count=1) if len(f) else None
        return None if v is None or pd.isna(v) else round(float(v), 2)

    return {"at_risk_accounts": len(risky), "at_risk_arr": total(risky, "value"),
            "at_risk": total(risky, "at_stake"), "all": total(frame, "at_stake"),
            "known": bool(len(frame) and frame["value"].notna().any())}


def run_info(wh: Warehouse) -> dict | None:
    return latest_run(wh, "churn")


# Characteristics that anti-discrimination law protects in most places: a model that learns from
# them may treat customers differently for who they are. patron says so wherever it uses one.
PROTECTED = {"gender": "gender", "genders": "gender", "sex": "sex", "age": "age", "ages": "age",
             "aged": "age", "race": "race", "racial": "race", "ethnicity": "ethnicity", "ethnic": "ethnicity",
             "religion": "religion", "religious": "religion", "faith": "religion", "marital": "marital status",
             "married": "marital status", "nationality": "nationality", "citizenship": "nationality",
             "disability": "disability", "disabled": "disability", "handicap": "disability"}


def protected(name: str, *also: str | None) -> str | None:
    """The protected characteristic an attribute is (by its name, or the file column or expression
    it is read from: `g: Gender` is gender), or None: gender, sex, age, race, ethnicity, religion,
    marital status, nationality or disability."""
    for text in (name, *also):
        if not text:
            continue
        words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text).lower()
        for word in re.split(r"[^a-z0-9]+", words):
            if word in PROTECTED:
                return PROTECTED[word]
    return None


def features(run: dict | None) -> list[str]:
    """The attributes a churn run learned from: all the non-personal ones of a one-snapshot run,
    those predict.churn.attributes named for a run over billing history."""
    if not run:
        return []
    settings = run.get("settings") or {}
    return list(settings.get("features") or settings.get("attributes") or [])


def protected_features(names: list[str], columns: dict[str, list[str | None]] | None = None) -> dict[str, str]:
    """Of a run's attribute features, the protected characteristics: feature -> what it is.
    `columns`: per attribute, the file columns or expressions patron.yml reads it from."""
    out = {}
    for n in names:
        kind = protected(n, *((columns or {}).get(n) or []))
        if kind:
            out[n] = kind
    return out


def protected_warning(found: dict[str, str], one_snapshot: bool = False) -> str | None:
    """The line a person reads when the model learned from protected characteristics; how to keep
    one out depends on how it got in (every attribute of a one-snapshot run, or those named)."""
    if not found:
        return None
    names = [f"{n!r} ({k})" if n != k else repr(n) for n, k in found.items()]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    it = "them" if len(found) > 1 else "it"
    how = (f"mark {it} personal: true under the source's attributes in patron.yml" if one_snapshot else
           f"take {it} out of predict.churn.attributes in patron.yml")
    return (f"Protected characteristic{'s' if len(found) > 1 else ''} used as a feature: the model learned from "
            f"{listed}, so its scores and reasons may treat customers differently for who they are. Check that "
            f"this is lawful and fair where you are, or keep {it} out of the model ({how}).")
