"""Accounts at risk, read from the latest churn run: value at stake and reasons, with each
account's owner and segment from the golden record, and the ARR at risk by owner or segment."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from patron.predict.store import latest_run, latest_scores

if TYPE_CHECKING:
    from patron.warehouse import Warehouse

BANDS = ("high", "medium", "low")


def accounts(wh: Warehouse, bands: tuple[str, ...] = ("high", "medium")) -> pd.DataFrame:
    """The latest run's accounts in `bands`, most at stake first, with name, owner and segment."""
    scores = latest_scores(wh, "churn")
    if scores.empty:
        return scores
    golden = wh.df("SELECT customer_id, name, owner, segment FROM customer_golden")
    out = scores.merge(golden, on="customer_id", how="left")
    out = out[out["band"].isin(bands)]
    # most at stake first; where no revenue is known (a bank's customer list), most likely first
    return out.sort_values(["at_stake", "score", "customer_id"], ascending=[False, False, True],
                           na_position="last").reset_index(drop=True)


def by_group(wh: Warehouse, column: str) -> pd.DataFrame:
    """Accounts, ARR and ARR at stake per `column` (owner or segment) and band."""
    if column not in ("owner", "segment"):
        raise ValueError(f"group by owner or segment, not {column!r}")
    frame = accounts(wh, BANDS)
    if frame.empty:
        return pd.DataFrame(columns=[column, "band", "accounts", "arr", "at_stake"])
    frame[column] = frame[column].fillna("(none)")
    return (frame.groupby([column, "band"], as_index=False)
            .agg(accounts=("customer_id", "size"), arr=("value", lambda v: v.sum(min_count=1)),
                 at_stake=("at_stake", lambda v: v.sum(min_count=1)))
            .sort_values(["at_stake", column], ascending=[False, True]).reset_index(drop=True))


def run_info(wh: Warehouse) -> dict | None:
    return latest_run(wh, "churn")
