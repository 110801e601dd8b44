"""`project.predict`: who is likely to leave and why, tested on a snapshot the model never saw."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from patron.errors import PredictError

if TYPE_CHECKING:
    import pandas as pd

    from patron.config import ChurnSettings, PredictSettings, ProjectConfig
    from patron.predict.churn import ChurnRun
    from patron.predict.clv import HoldoutCheck
    from patron.predict.drivers import Drivers
    from patron.predict.health import HealthRun, Proposal
    from patron.predict.value import ValueRun
    from patron.project import Project


class Predict:
    """`.churn` trains, tests and scores churn risk and keeps the run; `.risk` and `.risk_by`
    read the latest run; `.health` scores the health scorecard and checks it; `.learn_health`
    proposes weights."""

    def __init__(self, project: Project) -> None:
        self._project = project

    def all_settings(self) -> PredictSettings:
        """patron.yml's predict section (its defaults without a patron.yml)."""
        from patron.config import PredictSettings

        cfg = self._project.config
        return cfg.predict if cfg else PredictSettings()

    def settings(self) -> ChurnSettings:
        return self.all_settings().churn

    def churn(self, as_of: date | None = None) -> ChurnRun:
        """Backtest on the latest snapshot whose outcome is known, then score every paying customer
        on `as_of` (default: the data's last day); both are stored."""
        from patron.predict.churn import run

        return run(self._project.existing_warehouse(), self.settings(), as_of)

    def health(self, as_of: date | None = None) -> HealthRun:
        """Score every paying account's health at each of the last twelve month ends and on `as_of`,
        check the score against who left since a quarter ago, and keep the run."""
        from patron.predict.health import run

        return run(self._project.existing_warehouse(), self.all_settings().health, as_of)

    def learn_health(self, as_of: date | None = None) -> Proposal:
        """Weights fitted on earlier snapshots, checked on the same later one as the configured
        weights: a proposal for a person to accept into patron.yml, never applied by itself."""
        from patron.predict.health import learn

        return learn(self._project.existing_warehouse(), self.all_settings().health, as_of=as_of)

    def risk(self, bands: tuple[str, ...] = ("high", "medium"), run_id: str | None = None) -> pd.DataFrame:
        """The accounts of the latest churn run (or of `run_id`: the run a command just made, which
        `--as-of` an earlier day is not the latest)."""
        from patron.predict.risk import accounts

        return accounts(self._project.existing_warehouse(), bands, run_id)

    def risk_by(self, column: str) -> pd.DataFrame:
        from patron.predict.risk import by_group

        return by_group(self._project.existing_warehouse(), column)

    def risk_totals(self, column: str) -> pd.DataFrame:
        """One row per owner or segment: accounts, how many high and medium risk, ARR, and the ARR
        at stake in high and medium risk accounts and in all of them."""
        from patron.predict.risk import totals

        return totals(self._project.existing_warehouse(), column)

    def protected_features(self, run: dict | None = None) -> dict[str, str]:
        """The latest churn run's (or `run`'s) features that are protected characteristics (gender,
        age...), each with what it is, read by name and by the column patron.yml reads it from."""
        from patron.predict.risk import features, protected_features

        run = run if run is not None else self.last_run()
        cfg = self._project.config
        columns: dict[str, list[str | None]] = {}
        for src in (cfg.sources.values() if cfg else ()):
            for name, attr in src.attributes.items():
                columns.setdefault(name, []).extend([attr.column, attr.expression])
        return protected_features(features(run), columns)

    def renewals_summary(self, days: int = 90) -> dict:
        """Renewals due within `days`, as the briefing tells them: count, ARR due, expected and at
        risk, the accounts with most at risk, or a note that says why there are none."""
        from patron.predict.renewals import summary

        return summary(self._project.existing_warehouse(), days)

    def renewals(self, days: int = 90) -> pd.DataFrame:
        """Contracts longer than monthly renewing within `days` of the latest churn run's day, with
        the probability each renews and the ARR expected and at risk."""
        from patron.predict.renewals import due

        return due(self._project.existing_warehouse(), days)

    @staticmethod
    def renewals_by(frame: pd.DataFrame, column: str) -> pd.DataFrame:
        from patron.predict.renewals import by_group

        return by_group(frame, column)

    def drivers(self, outcome: str = "nps", among: str = "touchpoints", *, by: str | None = None,
                months: int = 12) -> Drivers:
        """What moves `outcome` (nps or churn) most among touchpoints, themes or behaviours; the
        analysis is kept as a run."""
        from patron.predict.drivers import analyse, keep

        wh = self._project.existing_warehouse()
        result = analyse(wh, outcome, among, by=by, months=months, horizon_months=self.settings().horizon_months)
        keep(wh, result, months)
        return result

    def value(self, as_of: date | None = None) -> ValueRun:
        """Every customer's lifetime value as of `as_of`: subscribers from the latest churn run,
        buyers from BG/NBD and Gamma-Gamma fitted on the orders known that day; the run is kept."""
        from patron.predict.value import run

        return run(self._project.existing_warehouse(), self.all_settings().clv, as_of)

    def clv_holdout(self, calibration_end: date, holdout_end: date) -> HoldoutCheck:
        """The purchases a fit on what was known at `calibration_end` expects up to `holdout_end`,
        against those made."""
        from patron.predict.clv import holdout_check

        return holdout_check(self._project.existing_warehouse(), calibration_end, holdout_end)

    def last_run(self, model: str = "churn", run_id: str | None = None) -> dict | None:
        """The latest run of `model` (None when it never ran), or the run `run_id`; a run identity
        resolution has overtaken is refused, saying so, rather than shown against ids given out
        again."""
        from patron.predict.store import latest_run

        run = latest_run(self._project.existing_warehouse(), model, run_id)
        if run is not None and run["stale"]:
            raise PredictError(run["stale"], "churn risk" if model == "churn" else model)
        return run


def config_problems(cfg: ProjectConfig) -> list[str]:
    """patron.yml's predict section against the attributes its sources keep: an outcome or a
    stable attribute no source keeps, a personal one, an outcome that cannot say yes or no.
    (`patron check` lists them with the rest; the run would stop on the first.)"""
    churn = cfg.predict.churn
    kinds: dict[str, set[str]] = {}
    personal: set[str] = set()
    for src in cfg.sources.values():
        for name, attr in src.attributes.items():
            kinds.setdefault(name, set()).add(attr.type)
            if attr.is_personal(name):
                personal.add(name)
    kept = ", ".join(sorted(kinds)) or "(none: declare them under a source's attributes:)"
    out = []
    if churn.outcome is not None:
        at = "predict.churn.outcome"
        if churn.outcome not in kinds:
            out.append(f"{at}: {churn.outcome!r} is not an attribute any source keeps; attributes are: {kept}")
        elif churn.outcome in personal:
            out.append(f"{at}: {churn.outcome!r} is personal data; name an attribute that is not")
        elif not kinds[churn.outcome] & {"bool", "int"}:
            out.append(f"{at}: {churn.outcome!r} is {'/'.join(sorted(kinds[churn.outcome]))}; it must say yes or no "
                       "(type: bool, or an int of 0 and 1)")
    for i, name in enumerate(churn.attributes):
        at = f"predict.churn.attributes.{i}"
        if name not in kinds:
            out.append(f"{at}: {name!r} is not an attribute any source keeps; attributes are: {kept}")
        elif name in personal:
            out.append(f"{at}: {name!r} is personal data, never a feature")
        elif name == churn.outcome:
            out.append(f"{at}: {name!r} is the outcome itself")
    return out
