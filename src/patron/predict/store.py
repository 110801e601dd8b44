"""Every run of a model kept with its scores: what it was, what it learned from, how well it did
on a snapshot it never saw, and what it said about each customer. Nothing is overwritten: the
history of a customer's risk is the history of the runs."""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import TYPE_CHECKING, Any

import pandas as pd

from patron._version import __version__

if TYPE_CHECKING:
    from patron.warehouse import Warehouse

COLUMNS = ("score", "band", "value", "at_stake", "reasons", "details")


def json_text(value: Any) -> str:
    """A value as the compact JSON text the predictions table keeps."""
    return _json(value)


def _json(value: Any) -> str:
    return json.dumps(value, default=str, separators=(",", ":"))


def save(wh: Warehouse, model: str, as_of: date, scores: pd.DataFrame, *, version: str, settings: dict,
         trained_on: list[date] | None = None, tested_on: date | None = None,
         evaluation: dict | None = None, as_of_column: str | None = None) -> str:
    """Store one run and its scores (a frame with `customer` and any of COLUMNS); returns the run id.
    `as_of_column`: the column holding each row's day, for a run that scores several months."""
    run = uuid.uuid4().hex[:12]
    days = pd.to_datetime(scores[as_of_column]) if as_of_column else pd.Timestamp(as_of)
    out = pd.DataFrame({"run_id": run, "model": model, "customer_id": scores["customer"].astype(str),
                        "as_of": days})
    for col in COLUMNS:
        if col not in scores:
            out[col] = None
        elif col in ("reasons", "details"):
            # text is JSON already (a run that built it as it went, to hold less in memory)
            out[col] = [None if v is None else v if isinstance(v, str) else _json(v) for v in scores[col]]
        else:
            out[col] = scores[col]
    with wh.transaction():
        wh.execute("INSERT INTO prediction_runs (run_id, model, version, as_of, created_at, settings, trained_on, "
                   "tested_on, evaluation) VALUES (?, ?, ?, ?, CAST(now() AS TIMESTAMP), ?, ?, ?, ?)",
                   # the engine's clock, as the loads table's: "loaded since this run" compares the two
                   [run, model, f"patron {__version__}; {version}", as_of, _json(settings),
                    None if trained_on is None else _json([d.isoformat() for d in trained_on]), tested_on,
                    None if evaluation is None else _json(evaluation)])
        if not len(out):  # a run that scores no one (drivers): only its run row
            return run
        with wh.frame("_patron_scores", out) as name:
            wh.execute(f"INSERT INTO predictions (run_id, model, customer_id, as_of, {', '.join(COLUMNS)}) "
                       f"SELECT run_id, model, customer_id, CAST(as_of AS DATE), {', '.join(COLUMNS)} FROM {name}")
    return run


def stale(wh: Warehouse, model: str, created_at: object) -> str | None:
    """Why a run made at `created_at` no longer matches the warehouse, else None: identity was
    resolved since, and a resolution may give a master id to another customer, so the run's
    scores would sit against the wrong accounts."""
    resolved = wh.scalar("SELECT MAX(resolved_at) FROM identity_map")
    if resolved is None or created_at is None or pd.isna(created_at) or pd.Timestamp(created_at) >= \
            pd.Timestamp(resolved):
        return None
    return (f"the last {model} run ({pd.Timestamp(created_at):%Y-%m-%d %H:%M:%S}) predates the identity "
            f"resolution of {pd.Timestamp(resolved):%Y-%m-%d %H:%M:%S} UTC, which may have given its customers' "
            "ids to others; run `patron predict` again")


def latest_run(wh: Warehouse, model: str, run_id: str | None = None) -> dict | None:
    """The newest run of `model` that scored the data's last day, else the newest of any day;
    None when it never ran. A run as of an earlier day (what it would have said then) never
    stands in for today's. `stale` says why the run no longer matches the data (identity
    resolved after it), else None. With `run_id`, that run (the one a command just made)."""
    from patron.relations import LATEST_RUNS

    if run_id is None:
        run_id = wh.scalar(f"SELECT run_id FROM ({LATEST_RUNS}) AS l WHERE model = ?", [model])
    rows = wh.df("SELECT * FROM prediction_runs WHERE model = ? AND run_id = ?", [model, run_id])
    if rows.empty:
        return None
    row = rows.iloc[0].to_dict()
    for key in ("as_of", "tested_on"):
        row[key] = None if pd.isna(row[key]) else pd.Timestamp(row[key]).date()
    for key in ("settings", "trained_on", "evaluation"):
        row[key] = json.loads(row[key]) if isinstance(row[key], str) else None
    row["stale"] = stale(wh, model, row.get("created_at"))
    return row


def latest_scores(wh: Warehouse, model: str, stale_ok: bool = False, run_id: str | None = None) -> pd.DataFrame:
    """The scores of the newest run of `model` (empty when it never ran, or when it is stale and
    not `stale_ok`: scores against ids identity has since given out again are no one's), reasons
    and details parsed. With `run_id`, that run's."""
    run = latest_run(wh, model, run_id)
    if run is None or (run["stale"] and not stale_ok):
        return pd.DataFrame(columns=["customer_id", "as_of", *COLUMNS])
    frame = wh.df("SELECT customer_id, as_of, score, band, value, at_stake, reasons, details FROM predictions "
                  "WHERE run_id = ?", [run["run_id"]])
    for col in ("reasons", "details"):
        frame[col] = [json.loads(v) if isinstance(v, str) else None for v in frame[col]]
    frame["as_of"] = [pd.Timestamp(v).date() for v in frame["as_of"]]
    return frame
