"""`project.predict`: who is likely to leave and why, tested on a snapshot the model never saw."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from patron.config import ChurnSettings, PredictSettings
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

    def risk(self, bands: tuple[str, ...] = ("high", "medium")) -> pd.DataFrame:
        from patron.predict.risk import accounts

        return accounts(self._project.existing_warehouse(), bands)

    def risk_by(self, column: str) -> pd.DataFrame:
        from patron.predict.risk import by_group

        return by_group(self._project.existing_warehouse(), column)

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

    def last_run(self, model: str = "churn") -> dict | None:
        from patron.predict.store import latest_run

        return latest_run(self._project.existing_warehouse(), model)
