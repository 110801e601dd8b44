"""`project.metrics`: the catalog, one definition of each number, and its values."""

from __future__ import annotations

from typing import TYPE_CHECKING

from patron.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

    from patron.metrics import MetricSpec
    from patron.project import Project


class Metrics:
    """`project.metrics()` evaluates many metrics (default: the whole catalog) in as few queries as
    they allow; `.evaluate` one metric; `.catalog` the definitions themselves."""

    def __init__(self, project: Project) -> None:
        self._project = project

    def __call__(self, names: list[str] | None = None, by: list[str] | None = None,
                 period: str | None = "month") -> pd.DataFrame:
        """One long table (a `metric` column, then each metric's rows), stored in metric_values."""
        from patron.metrics import evaluate_catalog

        specs = self.catalog()
        if names is None:  # the whole catalog, less the metrics that cannot be sliced that way
            names = [n for n, s in specs.items() if set(by or []) <= set(s.dimensions)]
        return evaluate_catalog(self._project.existing_warehouse(), specs, by, period, only=names)

    def evaluate(self, name: str, by: list[str] | None = None, period: str | None = None) -> pd.DataFrame:
        """One metric by slice and period (stored in metric_values); a pandas table."""
        from patron.metrics import evaluate

        specs = self.catalog()
        if name not in specs:
            raise ConfigError(f"no metric {name!r}; metrics are: {', '.join(sorted(specs))}", key="metrics")
        return evaluate(self._project.existing_warehouse(), specs[name], by, period, catalog=specs)

    def catalog(self) -> dict[str, MetricSpec]:
        """The built-in metrics with patron.yml's owners, targets and definitions laid over them."""
        from patron.metrics.spec import builtin_catalog, with_overrides

        config = self._project.config
        from patron.config import declared_attributes

        return with_overrides(builtin_catalog(), config.metrics if config else {},
                              attributes=declared_attributes(config))
