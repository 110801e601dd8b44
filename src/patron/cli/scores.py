"""What the prediction commands share: how an estimate, an amount, reasons and a renewal read, the
calibration table, and scores as the JSON documents list them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from patron.cli.formats import counted, number
from patron.cli.render import say, table

if TYPE_CHECKING:
    import pandas as pd

    from patron.predict.evaluation import Estimate


def est(e: Estimate | dict, spec: str = ".2f") -> str:
    d = e if isinstance(e, dict) else e.__dict__
    if d["value"] is None:
        return "–"
    return f"{format(d['value'], spec)} ({format(d['ci_low'], spec)}–{format(d['ci_high'], spec)})"


# the warehouse's currency, read once per command (`read_currency`): one process runs one command
_CURRENCY = {"code": None}


def read_currency(project: object) -> str:
    """The currency the warehouse's money is in, for every amount this command prints."""
    from patron.report.money import data_currency

    _CURRENCY["code"] = data_currency(project.existing_warehouse())  # type: ignore[attr-defined]
    return _CURRENCY["code"]


def money(v: float | None) -> str:
    if v is None or v != v:
        return "–"
    return number(v, "currency", _CURRENCY["code"]) if _CURRENCY["code"] else number(v, "currency")


def reasons(items: list[dict] | None) -> str:
    return "; ".join(r["says"] for r in items or []) or "–"


def renews(months: object, term: object) -> str:
    """When the contract renews, as the churn model saw it: "monthly", "in 1 month", "in 7 months";
    blank when the customer has no contract (a customer list with no billing)."""
    if months is None or months != months:
        return ""
    if term == 1:
        return "monthly"
    return f"in {counted(int(months), 'month')}"


ACCOUNT = ["customer_id", "name", "owner", "segment", "band", "score", "value", "at_stake", "months_to_renewal", "term",
           "reasons", "details"]


def records(frame: pd.DataFrame, keep: list[str] = ACCOUNT) -> list[dict]:
    """Rows as JSON lists them: NaN is null, numpy numbers plain numbers."""
    def value(v: object) -> object:
        if isinstance(v, list | dict):
            return v
        if v is None or v != v:
            return None
        return v.item() if hasattr(v, "item") else v

    return [{k: value(v) for k, v in r.items()} for r in frame[[c for c in keep if c in frame]].to_dict("records")]


def calibration(rows: list[dict], where: str) -> None:
    """The probabilities against what happened, tenth by tenth of the scores: a calibrated model's
    tenth that says 20% sees about a fifth of its customers leave."""
    if not rows:
        return
    table("Calibration: predicted against left, by tenth of scores",
          ["tenth", "customers", "predicted", "left", "gap"],
          [[f"{i}", f"{r['n']:,}", f"{r['predicted']:.1%}", f"{r['observed']:.1%}",
            f"{100 * (r['observed'] - r['predicted']):+.1f} pts"] for i, r in enumerate(rows, 1)],
          {"tenth", "customers", "predicted", "left", "gap"})
    worst = max(rows, key=lambda r: abs(r["observed"] - r["predicted"]))
    gap = 100 * abs(worst["observed"] - worst["predicted"])
    say(f"On {where}, least risky tenth first; the largest gap between the share predicted to leave and the "
        f"share that left is {gap:.1f} points (in a tenth of {counted(worst['n'], 'customer')}).", "dim")


def stake_line(stake: dict) -> str:
    """The ARR at stake, split: in high and medium risk accounts, and in all of them (low risk's
    expected loss too), so neither is read as the other."""
    if not stake["known"]:
        return "no revenue loaded, so nothing in money"
    rest = (stake["all"] or 0) - (stake["at_risk"] or 0)
    who = counted(stake["at_risk_accounts"], "high or medium risk account", "high and medium risk accounts")
    return (f"ARR at stake {money(stake['at_risk'])} in the {who} (of their {money(stake['at_risk_arr'])} ARR); "
            f"{money(stake['all'])} across every account scored, low risk's {money(rest)} included (ARR times the "
            "probability of leaving)")
