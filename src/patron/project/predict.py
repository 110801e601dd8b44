"""`project.predict`: who is likely to leave and why, tested on a snapshot the model never saw."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from patron.config import ChurnSettings
    from patron.predict.churn import ChurnRun
    from patron.project import Project


class Predict:
    """`.churn` trains, tests and scores churn risk and keeps the run; `.risk` and `.risk_by`
    read the latest run."""

    def __init__(self, project: Project) -> None:
        self._project = project

    def settings(self) -> ChurnSettings:
        from patron.config import ChurnSettings

        cfg = self._project.config
        return cfg.predict.churn if cfg else ChurnSettings()

    def churn(self, as_of: date | None = None) -> ChurnRun:
        """Backtest on the latest snapshot whose outcome is known, then score every paying customer
        on `as_of` (default: the data's last day); both are stored."""
        from patron.predict.churn import run

        return run(self._project.existing_warehouse(), self.settings(), as_of)

    def risk(self, bands: tuple[str, ...] = ("high", "medium")) -> pd.DataFrame:
        from patron.predict.risk import accounts

        return accounts(self._project.existing_warehouse(), bands)

    def risk_by(self, column: str) -> pd.DataFrame:
        from patron.predict.risk import by_group

        return by_group(self._project.existing_warehouse(), column)

    def last_run(self, model: str = "churn") -> dict | None:
        from patron.predict.store import latest_run

        return latest_run(self._project.existing_warehouse(), model)
